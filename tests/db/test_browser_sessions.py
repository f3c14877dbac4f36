"""Signed-in browsers on both databases: a grant is exchanged for the cookie's token once and only in time; the
token resumes the session within the idle limit; sign-out, idleness, age and deactivation end it for good; only
hashes are stored."""

from __future__ import annotations

from datetime import timedelta

from sqlmodel import Session, select

from db.browser_sessions import (
    GRANT_SECONDS,
    MAX_HOURS,
    browser_session_state,
    end_browser_session,
    open_browser_session,
    redeem_grant,
    resume_browser_session,
    touch_browser_session,
)
from db.engine import write_session
from db.users import change_password, create_user, update_user
from models import BrowserSession
from models.base import utcnow

IDLE = 30 * 60.0


def account(engine, username="nina"):
    with write_session(engine) as session:
        create_user(session=session, actor="t", data={"username": username, "display_name": "Nina Nurse",
                                                      "role": "staff", "password": "correct horse battery"})


def signed_in(engine, now=None):
    opened = open_browser_session(engine, username="nina", now=now)
    return opened, redeem_grant(engine, opened.grant, now=now)


def test_a_grant_gives_the_token_once_and_the_token_resumes_the_session(engine):
    account(engine)
    opened, token = signed_in(engine)
    assert token and redeem_grant(engine, opened.grant) is None  # once only
    resumed = resume_browser_session(engine, token, idle_seconds=IDLE)
    assert resumed is not None and (resumed.session_id, resumed.username) == (opened.session_id, "nina")
    assert resume_browser_session(engine, token + "x", idle_seconds=IDLE) is None
    assert resume_browser_session(engine, "", idle_seconds=IDLE) is None
    with Session(engine) as session:  # only hashes are kept: a copy of the database opens nothing
        row = session.exec(select(BrowserSession)).one()
        assert token not in (row.token_hash, row.grant_hash) and opened.grant not in (row.token_hash,)
        assert len(row.token_hash) == 64 and row.grant_hash is None


def test_a_late_grant_opens_nothing(engine):
    account(engine)
    now = utcnow()
    opened = open_browser_session(engine, username="nina", now=now)
    assert redeem_grant(engine, opened.grant, now=now + timedelta(seconds=GRANT_SECONDS + 1)) is None
    assert redeem_grant(engine, "", now=now) is None


def test_sign_out_ends_the_session_for_every_tab(engine):
    account(engine)
    opened, token = signed_in(engine)
    end_browser_session(engine, opened.session_id, reason="signed out")
    assert resume_browser_session(engine, token, idle_seconds=IDLE) is None
    state = browser_session_state(engine, opened.session_id)
    assert state.ended and state.end_reason == "signed out"
    assert redeem_grant(engine, opened.grant) is None


def test_idle_limit_counts_from_the_latest_activity_of_any_tab(engine):
    account(engine)
    start = utcnow()
    opened, token = signed_in(engine, now=start)
    touch_browser_session(engine, opened.session_id, now=start + timedelta(minutes=25))
    assert resume_browser_session(engine, token, idle_seconds=IDLE, now=start + timedelta(minutes=50)) is not None
    assert resume_browser_session(engine, token, idle_seconds=IDLE, now=start + timedelta(minutes=81)) is None
    assert browser_session_state(engine, opened.session_id).end_reason == "idle"
    assert resume_browser_session(engine, token, idle_seconds=IDLE, now=start + timedelta(minutes=82)) is None


def test_deactivation_and_age_end_the_session(engine):
    account(engine)
    account(engine, "other")
    start = utcnow()
    opened, token = signed_in(engine, now=start)
    late = start + timedelta(hours=MAX_HOURS, minutes=1)
    touch_browser_session(engine, opened.session_id, now=late)
    assert resume_browser_session(engine, token, idle_seconds=IDLE, now=late) is None
    assert browser_session_state(engine, opened.session_id).end_reason == f"older than {MAX_HOURS} hours"
    opened, token = signed_in(engine)
    with write_session(engine) as session:
        update_user(session=session, username="nina", actor="other", expected_version=1, data={
            "display_name": "Nina Nurse", "role": "staff", "active": False, "can_export_identified": False})
    assert resume_browser_session(engine, token, idle_seconds=IDLE) is None
    assert browser_session_state(engine, opened.session_id).end_reason == "account deactivated"


def test_a_password_change_ends_the_account_s_other_browsers_and_a_reset_ends_them_all(engine):
    """A password changed because it leaked must shut out whoever holds a session opened with the old one: the
    owner's change ends every other browser of the account (the one it was made in stays signed in); an
    administrator's reset ends them all. Other accounts' browsers are untouched."""
    account(engine)
    account(engine, "other")
    here, _ = signed_in(engine)
    there, there_token = signed_in(engine)
    others = open_browser_session(engine, username="other")
    with write_session(engine) as session:
        change_password(session=session, username="nina", actor="nina", current_password="correct horse battery",
                        new_password="another horse battery", keep_session=here.session_id)
    assert not browser_session_state(engine, here.session_id).ended
    assert browser_session_state(engine, there.session_id).end_reason == "password changed"
    assert resume_browser_session(engine, there_token, idle_seconds=IDLE) is None
    with write_session(engine) as session:
        change_password(session=session, username="nina", actor="other", new_password="a reset horse battery")
    assert browser_session_state(engine, here.session_id).end_reason == "password changed"
    assert not browser_session_state(engine, others.session_id).ended


def test_deactivation_ends_the_account_s_browsers_at_once(engine):
    """Deactivated then reactivated before the browser's next page: its old session must not come back."""
    account(engine)
    account(engine, "other")
    opened, token = signed_in(engine)
    for version, active in ((1, False), (2, True)):
        with write_session(engine) as session:
            update_user(session=session, username="nina", actor="other", expected_version=version, data={
                "display_name": "Nina Nurse", "role": "staff", "active": active, "can_export_identified": False})
    assert browser_session_state(engine, opened.session_id).end_reason == "account deactivated"
    assert resume_browser_session(engine, token, idle_seconds=IDLE) is None


def test_a_session_older_than_a_working_day_ends_however_active(engine):
    """A tab kept busy is never resumed (where the age was checked): its state says it ended all the same."""
    account(engine)
    start = utcnow()
    opened, _ = signed_in(engine, now=start)
    touch_browser_session(engine, opened.session_id, now=start + timedelta(hours=MAX_HOURS))
    assert not browser_session_state(engine, opened.session_id, now=start + timedelta(hours=MAX_HOURS)).ended
    late = browser_session_state(engine, opened.session_id, now=start + timedelta(hours=MAX_HOURS, minutes=1))
    assert late.ended and late.end_reason == f"older than {MAX_HOURS} hours"
