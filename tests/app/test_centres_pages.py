"""Centres on the screens (issue 16), in AppTest: the Centres screen (add, rename, deactivate and reactivate with a
confirmation; refused to an administrator of some centres), the centres of an account on the Users screen, a new
patient's centre and the transfer on the Patients screen, and the notice migration 0008 leaves for the
administrator."""

from __future__ import annotations

from sqlalchemy import insert, select

from db.audit import load_audit
from db.centres import (
    NOTICE_SETTING,
    add_centre,
    centre_keys,
    default_centre_notice,
    load_centres,
    load_user_centres,
    scope_for_user,
    set_user_centres,
)
from db.engine import write_session
from db.patients import create_patient, get_patient
from db.users import get_user
from models.setting import InstallationSetting
from tests import factories
from tests.app.conftest import PASSWORD, limit_admin, signed_in_app
from tests.app.test_access_pages import navigation_mode  # noqa: F401  (a fixture: every run goes through app.py)
from tests.app.test_centre_scope_pages import signed_in
from ui.forms import current_key

CENTRES_PAGE, USERS_PAGE, PATIENTS_PAGE = "pages/centres.py", "pages/users.py", "pages/patients.py"


def key(at, screen, action, name):
    return current_key(at.session_state, screen, action, name)


def add_centres(engine, *codes) -> dict[str, int]:
    with write_session(engine) as session:
        for code in codes:
            add_centre(session=session, data={"code": code, "name": f"Centre {code}"}, actor="t")
    return centre_keys(engine, codes)


def centre_row(engine, code):
    return load_centres(engine, visible_only=False).set_index("code").loc[code]


# --- the Centres screen -----------------------------------------------------------------------------------------


def test_admin_adds_renames_deactivates_and_reactivates_a_centre(with_users):
    at = signed_in_app("admin", CENTRES_PAGE)
    assert not at.exception
    assert list(at.dataframe[0].value["code"]) == ["MAIN"]
    at.text_input(key=key(at, "centres", "add", "code")).input("a b")
    at.text_input(key=key(at, "centres", "add", "name")).input("")
    at.form_submit_button(key=key(at, "centres", "add", "submit")).click().run()
    message = at.error[0].value
    assert message.startswith("Centre not added — 2 problems") and "**Code**" in message and "**Name**" in message
    at.text_input(key=key(at, "centres", "add", "code")).input("AMS")
    at.text_input(key=key(at, "centres", "add", "name")).input("Amsterdam UMC")
    at.text_input(key=key(at, "centres", "add", "country")).input("NL")
    at.form_submit_button(key=key(at, "centres", "add", "submit")).click().run()
    assert not at.error and "Centre AMS added" in at.success[0].value
    assert list(at.dataframe[0].value["code"]) == ["AMS", "MAIN"]
    assert at.text_input(key=key(at, "centres", "add", "code")).value == ""  # a fresh form

    at.selectbox(key="centres_chosen").set_value("AMS").run()
    at.text_input(key=key(at, "centres", "edit", "name")).input("Amsterdam UMC, rheumatology")
    at.form_submit_button(key=key(at, "centres", "edit", "submit")).click().run()
    assert "Centre AMS saved" in at.success[0].value
    assert centre_row(with_users, "AMS")["name"] == "Amsterdam UMC, rheumatology"

    at.selectbox(key="centres_chosen").set_value("AMS").run()
    deactivate = at.button(key=key(at, "centres", "active", "submit"))
    assert deactivate.label == "Deactivate centre" and deactivate.disabled  # not before the confirmation
    at.checkbox(key=key(at, "centres", "active", "sure")).check().run()
    at.button(key=key(at, "centres", "active", "submit")).click().run()
    assert "Centre AMS deactivated" in at.success[0].value and not centre_row(with_users, "AMS")["active"]
    assert list(at.dataframe[0].value["status"]) == ["inactive", "active"]

    at.selectbox(key="centres_chosen").set_value("AMS").run()
    assert at.button(key=key(at, "centres", "active", "submit")).label == "Reactivate centre"
    at.checkbox(key=key(at, "centres", "active", "sure")).check().run()
    at.button(key=key(at, "centres", "active", "submit")).click().run()
    assert centre_row(with_users, "AMS")["active"]
    assert list(load_audit(with_users, entity="centre")["action"]) == ["update", "update", "update", "create"]
    assert set(load_audit(with_users, entity="centre")["actor"]) == {"admin"}


def test_the_centres_screen_counts_live_patients(with_users):
    keys = add_centres(with_users, "AMS")
    with write_session(with_users) as session:
        for patient_id in ("P1", "P2"):
            create_patient(session=session, data=factories.patient(patient_id=patient_id, centre_key=keys["AMS"]),
                           actor="t")
    at = signed_in_app("admin", CENTRES_PAGE)
    assert dict(zip(at.dataframe[0].value["code"], at.dataframe[0].value["patients"], strict=True)) == \
        {"AMS": 2, "MAIN": 0}


def test_an_administrator_of_some_centres_may_not_change_centres(with_users):
    add_centres(with_users, "AMS", "LYO")
    limit_admin(with_users, {"AMS": True})
    at = signed_in_app("admin", CENTRES_PAGE)
    assert not at.exception
    assert "Only an administrator of every centre may add or change centres" in at.info[0].value
    assert "AMS" in at.info[0].value
    assert list(at.dataframe[0].value["code"]) == ["AMS"]  # their centres only
    assert not at.text_input and not at.button  # no form to fill in vain


# --- the Users screen -------------------------------------------------------------------------------------------


def fill_new_account(at, username, role, centres=None, identified=False):
    at.text_input(key=key(at, "users", "add", "username")).input(username)
    at.selectbox(key=key(at, "users", "add", "role")).set_value(role)
    if identified:
        at.checkbox(key=key(at, "users", "add", "identified")).check()
    if centres is not None:
        at.multiselect(key=key(at, "users", "add", "centres")).set_value(centres)
    at.text_input(key=key(at, "users", "add", "password")).input(PASSWORD)
    at.text_input(key=key(at, "users", "add", "repeat")).input(PASSWORD)
    return at.form_submit_button(key=key(at, "users", "add", "submit")).click().run()


def test_a_single_centre_registry_asks_for_no_centres(with_users):
    at = signed_in_app("admin", USERS_PAGE)
    assert not at.multiselect
    assert "centres" not in at.dataframe[0].value.columns
    fill_new_account(at, "jsmith", "physician")
    assert not at.error and scope_for_user(with_users, "jsmith").everything


def test_a_new_account_of_a_multi_centre_registry_gets_its_centres(with_users):
    keys = add_centres(with_users, "AMS", "LYO")
    at = signed_in_app("admin", USERS_PAGE)
    fill_new_account(at, "jsmith", "physician", centres=[])
    assert "Account not added: **Centres**: choose one or more centres, or all centres" in at.error[0].value
    assert get_user(with_users, "jsmith") is None  # one transaction: no account without its centres
    fill_new_account(at, "jsmith", "physician", centres=["AMS"])
    assert not at.error, [e.value for e in at.error]
    assert scope_for_user(with_users, "jsmith").centres == {keys["AMS"]}
    fill_new_account(at, "ana", "coordinator", centres=["AMS", "LYO"], identified=True)
    scope = scope_for_user(with_users, "ana")
    assert scope.centres == scope.identified == {keys["AMS"], keys["LYO"]}
    fill_new_account(at, "boss", "admin", centres=["*"])
    assert scope_for_user(with_users, "boss").everything
    table = at.dataframe[0].value.set_index("username")
    assert table.loc["ana", "centres"] == "AMS, LYO · identified: AMS, LYO"
    assert table.loc["jsmith", "centres"] == "AMS" and table.loc["boss", "centres"] == "all centres"
    assert load_audit(with_users, entity="user_centre").shape[0] == 2  # all centres is the default: no change


def test_admin_changes_an_account_s_centres_and_its_role_keeps_them(with_users):
    add_centres(with_users, "AMS", "LYO")
    at = signed_in_app("admin", USERS_PAGE)
    at.selectbox(key="users_account").set_value("coordinator").run()
    at.radio(key=key(at, "users", "centres", "all")).set_value("some").run()
    at.multiselect(key=key(at, "users", "centres", "centres")).set_value(["AMS", "LYO"]).run()
    at.multiselect(key=key(at, "users", "centres", "identified")).set_value(["LYO"]).run()
    at.button(key=key(at, "users", "centres", "submit")).click().run()
    assert not at.error and "Centres of 'coordinator' saved" in at.success[0].value
    rows = load_user_centres(with_users)
    assert rows[rows["username"] == "coordinator"][["code", "can_export_identified"]].values.tolist() == \
        [["AMS", False], ["LYO", True]]
    audit = load_audit(with_users, entity="user_centre").iloc[0]
    assert audit["actor"] == "admin" and '"LYO": true' in audit["after"]

    # the account form (role, permission) leaves the centres as they are
    at.selectbox(key="users_account").set_value("coordinator").run()
    assert at.multiselect(key=key(at, "users", "centres", "centres")).value == ["AMS", "LYO"]
    at.checkbox(key=key(at, "users", "edit", "identified")).check()
    at.form_submit_button(key=key(at, "users", "edit", "submit")).click().run()
    assert not at.error
    assert get_user(with_users, "coordinator")["all_centres"] is False
    assert scope_for_user(with_users, "coordinator").codes == ("AMS", "LYO")

    at.selectbox(key="users_account").set_value("coordinator").run()
    at.radio(key=key(at, "users", "centres", "all")).set_value("some").run()
    at.multiselect(key=key(at, "users", "centres", "centres")).set_value([]).run()
    at.button(key=key(at, "users", "centres", "submit")).click().run()
    assert "Centres not changed: **Centres**: choose one or more centres" in at.error[0].value
    at.radio(key=key(at, "users", "centres", "all")).set_value("all").run()
    at.button(key=key(at, "users", "centres", "submit")).click().run()
    assert scope_for_user(with_users, "coordinator").everything


def test_an_administrator_of_every_centre_cannot_limit_their_own_centres(with_users):
    """Limiting oneself to some centres took away, for good, the management of accounts, centres and backups (the
    only way back: the command line); the screen now says why it refuses."""
    add_centres(with_users, "AMS", "LYO")
    at = signed_in_app("admin", USERS_PAGE)
    at.selectbox(key="users_account").set_value("admin").run()
    at.radio(key=key(at, "users", "centres", "all")).set_value("some").run()
    at.multiselect(key=key(at, "users", "centres", "centres")).set_value(["AMS"]).run()
    at.button(key=key(at, "users", "centres", "submit")).click().run()
    assert not at.exception
    assert "Centres not changed" in at.error[0].value and "your own centres" in at.error[0].value
    assert scope_for_user(with_users, "admin").everything


def test_an_administrator_of_some_centres_sees_the_centres_locked(with_users):
    add_centres(with_users, "AMS", "LYO")
    limit_admin(with_users, {"AMS": True})
    with write_session(with_users) as session:  # staff works in LYO only, the coordinator in AMS
        set_user_centres(session=session, username="staff", all_centres=False, centres={"LYO": False}, actor="t")
        set_user_centres(session=session, username="coordinator", all_centres=False, centres={"AMS": False},
                         actor="t")
    at = signed_in_app("admin", USERS_PAGE)
    assert not at.exception
    # no form that the write would refuse (db/users.py, db/centres.py): a notice instead, as on the Centres screen
    assert "Only an administrator of every centre may add or change accounts" in at.info[0].value
    assert not at.tabs and not at.get("form") and not at.button
    # the accounts that see AMS's patients: of every centre, or of AMS; not LYO's staff
    assert at.dataframe[0].value["username"].tolist() == ["admin", "coordinator", "physician", "root"]


# --- the Patients screen ----------------------------------------------------------------------------------------


def add_patient(at, patient_id, centre=None):
    if centre is not None:
        at.selectbox(key=key(at, "patients", "add", "centre")).set_value(centre)
    at.text_input(key=key(at, "patients", "add", "patient_id")).input(patient_id)
    at.selectbox(key=key(at, "patients", "add", "diagnosis")).select("NSF")
    return at.form_submit_button(key=key(at, "patients", "add", "submit")).click().run()


def test_a_new_patient_names_its_centre_when_the_account_has_several(with_users):
    keys = add_centres(with_users, "AMS")
    at = signed_in_app("staff", PATIENTS_PAGE)
    add_patient(at, "P-1")
    assert "Not saved: **Centre**: is required" in at.error[0].value
    assert get_patient(with_users, "P-1") is None
    add_patient(at, "P-1", centre=keys["AMS"])
    assert not at.error and get_patient(with_users, "P-1")["centre_key"] == keys["AMS"]
    frame = at.dataframe[0].value
    assert list(frame.columns[:2]) == ["patient_id", "centre"] and frame["centre"].tolist() == ["AMS"]
    assert "centre AMS" in at.subheader[0].value


def test_an_account_of_one_centre_adds_patients_to_it_without_asking(with_users):
    keys = add_centres(with_users, "AMS")
    with write_session(with_users) as session:
        set_user_centres(session=session, username="staff", all_centres=False, centres={"AMS": False}, actor="t")
    at = signed_in_app("staff", PATIENTS_PAGE)
    assert not any(str(box.key).endswith(":centre") for box in at.selectbox)  # nothing to choose
    add_patient(at, "P-1")
    assert not at.error, [e.value for e in at.error]
    assert get_patient(with_users, "P-1")["centre_key"] == keys["AMS"]


def test_no_active_centre_no_add_form(with_users):
    add_centres(with_users, "AMS")
    with write_session(with_users) as session:
        set_user_centres(session=session, username="staff", all_centres=False, centres={"AMS": False}, actor="t")
    from db.centres import deactivate_centre

    with write_session(with_users) as session:
        deactivate_centre(session=session, code="AMS", actor="t")
    at = signed_in_app("staff", PATIENTS_PAGE)
    assert any("None of your centres takes new patients" in c.value for c in at.caption)
    assert not any(e.label == "Add a patient" for e in at.expander)


def test_transfer_to_another_centre_needs_a_reason_and_a_confirmation(with_users):
    keys = add_centres(with_users, "AMS", "LYO")
    with write_session(with_users) as session:
        create_patient(session=session, data=factories.patient(patient_id="P-1", centre_key=keys["AMS"]), actor="t")
    at = signed_in_app("physician")
    at.session_state["patient_id"] = "P-1"
    at.switch_page(PATIENTS_PAGE).run()
    assert not at.exception
    centre = at.selectbox(key=key(at, "patients", "transfer", "centre"))
    assert centre.options == ["LYO · Centre LYO", "MAIN · Main centre"]  # not the patient's own centre
    submit = at.button(key=key(at, "patients", "transfer", "submit"))
    assert submit.disabled
    centre.set_value("LYO")
    at.checkbox(key=key(at, "patients", "transfer", "sure")).check().run()
    at.button(key=key(at, "patients", "transfer", "submit")).click().run()
    assert "Not transferred: **Reason for the transfer**" in at.error[0].value
    assert get_patient(with_users, "P-1")["centre_key"] == keys["AMS"]
    at.text_input(key=key(at, "patients", "transfer", "reason")).input("moved to Lyon")
    at.button(key=key(at, "patients", "transfer", "submit")).click().run()
    assert not at.error and "Patient P-1 transferred to centre LYO" in at.success[0].value
    assert get_patient(with_users, "P-1")["centre_key"] == keys["LYO"]
    row = load_audit(with_users, action="transfer").iloc[0]
    assert (row["actor"], row["reason"], row["patient_id"]) == ("physician", "moved to Lyon", "P-1")
    assert "centre LYO" in at.subheader[0].value


def test_an_account_of_one_centre_has_no_transfer(with_users):
    keys = add_centres(with_users, "AMS")
    with write_session(with_users) as session:
        create_patient(session=session, data=factories.patient(patient_id="P-1", centre_key=keys["AMS"]), actor="t")
        set_user_centres(session=session, username="staff", all_centres=False, centres={"AMS": False}, actor="t")
    at = signed_in("staff", "staff", PATIENTS_PAGE)
    at.session_state["patient_id"] = "P-1"
    at.run()
    assert at.subheader and not any(e.label == "Transfer to another centre" for e in at.expander)


# --- the notice of migration 0008 ------------------------------------------------------------------------------


def leave_notice(engine):
    with write_session(engine) as session:
        session.execute(insert(InstallationSetting.__table__).values(key=NOTICE_SETTING, value="MAIN"))


def notice_shown(at) -> bool:
    return any("the existing patients were placed in centre **MAIN**" in i.value for i in at.info)


def test_the_administrator_sees_the_notice_until_dismissing_it(with_users, navigation_mode):  # noqa: F811
    leave_notice(with_users)
    assert not notice_shown(signed_in_app("physician"))  # administrators only
    at = signed_in_app("admin")
    assert notice_shown(at) and "“Main centre”" in next(i.value for i in at.info if "MAIN" in i.value)
    at.run()
    assert notice_shown(at)  # until dismissed
    at.button(key="centres_notice_dismiss").click().run()
    assert not at.exception and not notice_shown(at)
    assert any("Notice dismissed" in s.value for s in at.success)
    assert default_centre_notice(with_users) is None
    with write_session(with_users) as session:
        assert session.execute(select(InstallationSetting.key)).scalars().all() == []
    row = load_audit(with_users, entity="installation_setting").iloc[0]
    assert (row["actor"], row["action"]) == ("admin", "delete") and NOTICE_SETTING in row["detail"]
    assert not notice_shown(signed_in_app("admin"))


def test_the_notice_names_the_centre_as_renamed_and_not_for_a_centre_s_administrator(with_users):
    leave_notice(with_users)
    from db.centres import update_centre

    with write_session(with_users) as session:
        update_centre(session=session, code="MAIN", expected_version=1, name="Leiden UMC", actor="t")
    assert any("“Leiden UMC”" in i.value for i in signed_in_app("admin").info)
    add_centres(with_users, "AMS")
    limit_admin(with_users, {"MAIN": True})
    assert not notice_shown(signed_in_app("admin"))


def test_a_new_database_leaves_no_notice(with_users):
    assert default_centre_notice(with_users) is None
    assert not notice_shown(signed_in_app("admin"))
