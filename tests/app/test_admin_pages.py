"""The administrator's screens in AppTest: users, audit trail, deleted records, backup."""

from __future__ import annotations

from streamlit.testing.v1 import AppTest

from db.audit import load_audit
from db.centres import add_centre
from db.engine import write_session
from db.patients import delete_patient, get_patient
from db.users import get_user, sign_in_attempt
from tests.app.conftest import APP, PASSWORD, limit_admin, signed_in_app
from ui.forms import current_key


def form_key(at, action, name):
    return current_key(at.session_state, "users", action, name)


def test_admin_adds_an_account(with_users):
    sign_in_attempt(with_users, username="staff", password=PASSWORD)  # a last sign-in time to show
    at = signed_in_app("admin", "pages/users.py")
    assert not at.exception
    assert at.dataframe[0].value["last_sign_in_at"].notna().sum() == 1
    at.text_input(key=form_key(at, "add", "username")).input("jsmith")
    at.text_input(key=form_key(at, "add", "display_name")).input("J. Smith")
    at.selectbox(key=form_key(at, "add", "role")).set_value("physician")
    at.text_input(key=form_key(at, "add", "password")).input(PASSWORD)
    at.text_input(key=form_key(at, "add", "repeat")).input(PASSWORD)
    at.button(key=form_key(at, "add", "submit")).click().run()
    assert not at.exception
    assert get_user(with_users, "jsmith")["role"] == "physician"
    assert any("jsmith" in s.value for s in at.success)
    assert at.text_input(key=form_key(at, "add", "password")).value == ""  # an empty form: no password lingers
    assert load_audit(with_users, entity="app_user", action="create", actor="admin").shape[0] == 1


def test_bad_new_account_names_the_field(with_users):
    at = signed_in_app("admin", "pages/users.py")
    at.text_input(key=form_key(at, "add", "username")).input("J Smith!")
    at.text_input(key=form_key(at, "add", "password")).input("short")
    at.text_input(key=form_key(at, "add", "repeat")).input("short")
    at.button(key=form_key(at, "add", "submit")).click().run()
    assert not at.exception
    message = at.error[0].value
    assert "**Username**" in message and "**Password (at least 10 characters)**" in message
    assert get_user(with_users, "J Smith!") is None


def test_admin_changes_role_and_permission_and_resets_a_password(with_users):
    at = signed_in_app("admin", "pages/users.py")
    at.selectbox(key="users_account").set_value("coordinator").run()
    at.checkbox(key=form_key(at, "edit", "identified")).check()
    at.selectbox(key=form_key(at, "edit", "role")).set_value("physician")
    at.button(key=form_key(at, "edit", "submit")).click().run()
    assert not at.exception
    account = get_user(with_users, "coordinator")
    assert (account["role"], account["can_export_identified"]) == ("physician", True)
    at.selectbox(key="users_account").set_value("coordinator").run()
    at.text_input(key=form_key(at, "reset", "password")).input("a fresh password")
    at.text_input(key=form_key(at, "reset", "repeat")).input("a fresh password")
    at.button(key=form_key(at, "reset", "submit")).click().run()
    assert any("reset" in s.value for s in at.success)
    assert sign_in_attempt(with_users, username="coordinator", password="a fresh password")


def test_admin_cannot_demote_themselves(with_users):
    at = signed_in_app("admin", "pages/users.py")
    at.selectbox(key="users_account").set_value("admin").run()
    at.checkbox(key=form_key(at, "edit", "active")).uncheck()
    at.button(key=form_key(at, "edit", "submit")).click().run()
    assert not at.exception
    assert "yourself" in at.error[0].value
    assert get_user(with_users, "admin")["active"] is True


def test_audit_trail_filters_and_shows_before_and_after(with_demo):
    with write_session(with_demo) as session:
        delete_patient(session=session, expected_version=1,
                       patient_id="DEMO-0001", actor="physician", reason="duplicate record")
    sign_in_attempt_failed(with_demo)
    at = signed_in_app("admin", "pages/audit_trail.py")
    assert not at.exception
    at.text_input(key="audit_patient").input("DEMO-0001").run()
    at.selectbox(key="audit_actor").set_value("physician").run()
    frame = at.dataframe[0].value
    assert set(frame["actor"]) == {"physician"} and set(frame["action"]) == {"delete"}
    assert "deleted_at: — →" in frame["changes"].iloc[0]
    assert "Reason:** duplicate record" in at.markdown[-1].value or any(
        "duplicate record" in m.value for m in at.markdown)
    diff = at.dataframe[1].value
    assert diff["field"].tolist() == ["deleted_at"]
    # Failed sign-ins are events too.
    at.text_input(key="audit_patient").input("").run()
    at.selectbox(key="audit_actor").set_value("(any)").run()
    at.selectbox(key="audit_action").set_value("sign_in_failed").run()
    assert at.dataframe[0].value["actor"].tolist() == ["staff"]


def sign_in_attempt_failed(engine):
    try:
        sign_in_attempt(engine, username="staff", password="wrong password")
    except Exception:  # noqa: BLE001 - the failure is what we want
        pass


def test_audit_trail_with_a_hostile_patient_filter_shows_the_empty_state(with_demo):
    at = signed_in_app("admin", "pages/audit_trail.py")
    at.text_input(key="audit_patient").input("' OR 1=1 --").run()
    assert not at.exception
    assert "No audit events match" in at.info[0].value


def test_restore_screen_brings_a_patient_back_with_a_reason(with_demo):
    with write_session(with_demo) as session:
        delete_patient(session=session, expected_version=1,
                       patient_id="DEMO-0002", actor="staff", reason="entered twice")
    at = signed_in_app("admin", "pages/restore.py")
    assert not at.exception
    assert at.dataframe[0].value["patient_id"].tolist() == ["DEMO-0002"]
    assert "version" not in at.dataframe[0].value.columns  # bookkeeping, not for reading
    at.button(key=current_key(at.session_state, "restore", "restore", "submit")).click().run()
    assert "**Reason for the restore**" in at.error[0].value
    assert get_patient(with_demo, "DEMO-0002") is None
    at.text_input(key=current_key(at.session_state, "restore", "restore", "reason")).input("deleted by mistake")
    at.button(key=current_key(at.session_state, "restore", "restore", "submit")).click().run()
    assert not at.exception
    assert get_patient(with_demo, "DEMO-0002") is not None
    assert load_audit(with_demo, action="restore", actor="admin")["reason"].tolist() == ["deleted by mistake"]
    assert "No deleted patients" in at.info[0].value


def test_restore_screen_empty_state(with_users):
    at = signed_in_app("admin", "pages/restore.py")
    at.segmented_control(key="restore_kind").set_value("Treatment events").run()
    assert not at.exception
    assert "No deleted treatment events" in at.info[0].value


def test_backup_page_offers_the_download(with_users):
    at = signed_in_app("admin", "pages/backup.py")
    assert not at.exception
    assert at.get("download_button")[0].proto.label == "Download a backup"


def test_an_administrator_of_some_centres_is_told_why_there_is_no_backup(with_users):
    """The backup is made only when the button is clicked: refused there, the click gave nothing at all in the
    browser (a traceback in the server's log). The screen now says so before offering a button."""
    with write_session(with_users) as session:
        add_centre(session=session, data={"code": "LYO", "name": "Lyon"}, actor="t")
    limit_admin(with_users, {"LYO": True})
    at = signed_in_app("admin", "pages/backup.py")
    assert not at.exception
    assert not at.get("download_button")
    assert "only an administrator of every centre may back up" in at.info[0].value.lower()
    assert "LYO" in at.info[0].value


def signed_in_through_the_form(username: str, password: str = PASSWORD) -> AppTest:
    """A browser signed in by the sign-in form, so that it holds a browser session as a real one does."""
    at = AppTest.from_file(APP, default_timeout=30).run()
    at.text_input(key="sign_in_username").input(username)
    at.text_input(key="sign_in_password").input(password)
    at.button(key="sign_in_submit").click().run()
    assert at.session_state["user"]["username"] == username
    return at


def test_a_password_change_signs_the_account_out_of_its_other_browsers(with_users):
    """Someone who signed in with a leaked password keeps no session once the owner changes it (the browser the
    change was made in stays signed in), nor once an administrator resets it."""
    mine, theirs = signed_in_through_the_form("staff"), signed_in_through_the_form("staff")
    mine.switch_page("pages/account.py").run()
    scope = lambda name: current_key(mine.session_state, "account", "password", name)  # noqa: E731
    mine.text_input(key=scope("current")).input(PASSWORD)
    mine.text_input(key=scope("new")).input("a brand new password")
    mine.text_input(key=scope("repeat")).input("a brand new password")
    mine.button(key=scope("submit")).click().run()
    assert not mine.exception and any("Password changed" in s.value for s in mine.success)
    theirs.run()
    assert theirs.title[0].value == "Sign in to Skintrack" and theirs.session_state["user"] is None
    assert any("password was changed" in w.value for w in theirs.warning)
    mine.switch_page("pages/chart.py").run()
    assert mine.session_state["user"]["username"] == "staff" and mine.title[0].value != "Sign in to Skintrack"

    admin = signed_in_app("admin", "pages/users.py")
    admin.selectbox(key="users_account").set_value("staff").run()
    admin.text_input(key=form_key(admin, "reset", "password")).input("a temporary password")
    admin.text_input(key=form_key(admin, "reset", "repeat")).input("a temporary password")
    admin.button(key=form_key(admin, "reset", "submit")).click().run()
    assert any("reset" in s.value for s in admin.success)
    mine.run()
    assert mine.title[0].value == "Sign in to Skintrack" and mine.session_state["user"] is None


def test_an_empty_trail_without_filters_says_what_it_will_show(with_users):
    """An administrator of some centres, before any of their patients' events: no filter to clear, so the screen
    says so instead of "Clear a filter", and why account and sign-in events are not there."""
    with write_session(with_users) as session:
        add_centre(session=session, data={"code": "LYO", "name": "Lyon"}, actor="t")
    limit_admin(with_users, {"LYO": True})
    at = signed_in_app("admin", "pages/audit_trail.py")
    assert not at.exception
    assert at.info[0].value.startswith("No audit events yet of your centres' patients")
    assert any("works in LYO" in caption.value for caption in at.caption)


def test_my_account_names_the_role_as_the_users_screen_does(with_users):
    at = signed_in_app("coordinator", "pages/account.py")
    assert not at.exception
    assert "role **Trial coordinator**" in at.markdown[0].value


def test_a_tab_signed_in_for_more_than_a_working_day_signs_in_again(with_users):
    """However active the tab, after MAX_HOURS it signs in again (before, only a reload checked the age)."""
    from datetime import timedelta

    from sqlalchemy import update

    from db.browser_sessions import MAX_HOURS
    from models import BrowserSession
    from models.base import utcnow

    at = signed_in_through_the_form("staff")
    with write_session(with_users) as session:
        session.execute(update(BrowserSession).values(created_at=utcnow() - timedelta(hours=MAX_HOURS, minutes=1)))
    at.run()
    assert at.title[0].value == "Sign in to Skintrack" and at.session_state["user"] is None
    assert any(f"signed in for {MAX_HOURS} hours" in w.value for w in at.warning)
