"""First run, sign-in, the browser's session (kept across reloads, ui/browser_session.py) and the idle timeout:
what stands between a visitor and the pages."""

from __future__ import annotations

import os
import secrets
import time

import streamlit as st

from db.browser_sessions import (
    MAX_HOURS,
    TOO_OLD,
    browser_session_state,
    end_browser_session,
    open_browser_session,
    resume_browser_session,
    touch_browser_session,
)
from db.centres import scope_for_user
from db.engine import write_session
from db.patients import count_patients
from db.scope import scoped
from db.users import create_user, get_user, record_sign_out, sign_in_attempt
from demo import generate_registry, load_registry
from models.errors import SkintrackError
from ui.browser_session import CLEAR_KEY, GRANT_KEY, cookie_token
from ui.messages import Labels, as_text, flash, show_error, show_flash
from ui.state import get_engine, installation_engine, refresh_scope, reset_session, touch

IDLE_MINUTES_VARIABLE = "SKINTRACK_SESSION_IDLE_MINUTES"
DEMO_PATIENTS = 60  # the size `python cli.py demo` loads by default too (tests/unit/test_demo_size.py)
FIRST_RUN_LABELS = Labels({"username": "Username", "display_name": "Display name",
                           "password": "Password (at least 10 characters)"})
SIGN_IN_LABELS = Labels({"username": "Username", "password": "Password"})
BROWSER_SESSION = "browser_session"  # session state: the id of this browser's session row
TOUCH_EVERY_SECONDS = 30  # how often a page run marks the browser's session active (one small write)
ENDED = {"signed out": "You signed out in another tab of this browser.",
         "idle": "Your session expired after a period of inactivity; please sign in again.",
         "account deactivated": "Your account is no longer active; ask an administrator.",
         "password changed": "Your password was changed (here, in another browser or by an administrator); please "
                             "sign in with the new one.",
         TOO_OLD: f"You have been signed in for {MAX_HOURS} hours; please sign in again."}


def idle_limit_seconds() -> float:
    """Idle time after which a session must sign in again (default 30 minutes)."""
    try:
        return max(1.0, float(os.environ.get(IDLE_MINUTES_VARIABLE, "30"))) * 60
    except ValueError:
        return 30 * 60.0


def expire_idle_session(now: float | None = None) -> None:
    """Sign the user out (audited, session state wiped) when the browser's session has ended elsewhere (signed
    out in another tab, deactivated) or no tab of it has run a page for longer than the idle limit."""
    now = time.time() if now is None else now
    user = st.session_state.get("user")
    last = st.session_state.get("last_activity") or 0.0
    session_id = st.session_state.get(BROWSER_SESSION)
    state = browser_session_state(get_engine(), session_id) if user and session_id else None
    if state is not None:
        last = max(last, state.last_seen_at.timestamp())
    if user and state is not None and state.ended:
        sign_out(detail=f"browser session ended ({state.end_reason})", reason=state.end_reason)
        flash("warning", ENDED.get(state.end_reason, "Your session has ended; please sign in again."))
    elif user and last and now - last > idle_limit_seconds():
        sign_out(detail=f"session expired after {int((now - last) // 60)} minutes without activity", reason="idle")
        flash("warning", ENDED["idle"])
    elif state is not None and now - state.last_seen_at.timestamp() > TOUCH_EVERY_SECONDS:
        touch_browser_session(get_engine(), session_id)
    touch()


def browser_session_id() -> int | None:
    """The id of this browser's session row (None when not signed in through the sign-in form): the one a password
    change made here keeps open (db/users.change_password)."""
    return st.session_state.get(BROWSER_SESSION)


def sign_out(*, detail: str = "", reason: str = "signed out") -> None:
    """End the session: audited, the browser's session row ended (its cookie opens nothing any more, in any tab),
    the cookie cleared, and every key of the session state dropped (not just the user)."""
    user = st.session_state.get("user")
    session_id = st.session_state.get(BROWSER_SESSION)
    if session_id:
        end_browser_session(get_engine(), session_id, reason=reason)
    if user:
        record_sign_out(get_engine(), username=user["username"], detail=detail)
    reset_session()
    st.session_state[CLEAR_KEY] = secrets.token_hex(8)


def refresh_signed_in_user() -> None:
    """Re-read the signed-in account and its centres on every run, so that a role change, a withdrawn export
    permission, a change of centres or a deactivation made by an administrator applies at once, not at the next
    sign-in."""
    user = st.session_state.get("user")
    if not user:
        return
    account = get_user(get_engine(), user["username"])
    if account is None or not account["active"]:
        sign_out(detail="account deactivated while signed in", reason="account deactivated")
        flash("warning", ENDED["account deactivated"])
        return
    st.session_state["user"] = _session_user(account)
    refresh_scope()


def _session_user(account) -> dict:
    get = account.get if isinstance(account, dict) else lambda name: getattr(account, name)
    return {"username": get("username"), "display_name": get("display_name") or get("username"),
            "role": get("role"), "can_export_identified": bool(get("can_export_identified"))}


def sign_in(user) -> None:
    """Start a fresh session for `user` (nothing of a previous session survives), and a browser session whose
    cookie the page fetches on the next run (ui/browser_session.hand_over_cookie)."""
    reset_session()
    st.session_state["user"] = _session_user(user)
    opened = open_browser_session(get_engine(), username=st.session_state["user"]["username"])
    st.session_state[BROWSER_SESSION] = opened.session_id
    st.session_state[GRANT_KEY] = opened.grant
    touch()


def resume_signed_in_browser() -> None:
    """A reload or a second tab: carry on the browser's session named by its cookie, if it is still open."""
    if st.session_state.get("user"):
        return
    resumed = resume_browser_session(get_engine(), cookie_token(), idle_seconds=idle_limit_seconds())
    account = get_user(get_engine(), resumed.username) if resumed is not None else None
    if account is None or not account["active"]:
        return
    st.session_state["user"] = _session_user(account)
    st.session_state[BROWSER_SESSION] = resumed.session_id
    touch()


def first_run_screen() -> None:
    """On an empty database: create the first administrator; then offer the demo registry."""
    st.title("Welcome to Skintrack")
    st.write("Skintrack records modified Rodnan skin scores, range of motion and treatments per visit, "
             "and charts each patient's skin, site by site, against every treatment.")
    st.subheader("Create the administrator account")
    with st.form("first_admin"):
        username = st.text_input("Username", key="first_username", placeholder="e.g. admin")
        display_name = st.text_input("Display name", key="first_display_name", placeholder="e.g. Dr Rivera")
        password = st.text_input("Password (at least 10 characters)", type="password", key="first_password")
        repeat = st.text_input("Repeat the password", type="password", key="first_password_repeat")
        load_demo = st.checkbox(f"Also load the demo registry ({DEMO_PATIENTS} fictitious patients) to explore",
                                value=True, key="first_load_demo")
        submitted = st.form_submit_button("Create administrator", type="primary", key="first_create")
    if not submitted:
        return
    if password != repeat:
        st.error("**Repeat the password**: the two passwords differ; type the same password twice")
        return
    engine = installation_engine()  # nobody is signed in: the installation makes its first account (every centre)
    try:
        with write_session(engine) as session:
            user = create_user(session=session, data={
                "username": username, "display_name": display_name, "role": "admin", "password": password,
                "can_export_identified": True}, actor="first-run")
    except SkintrackError as error:
        show_error(error, prefix="Account not created", labels=FIRST_RUN_LABELS)
        return
    # the demo is loaded as the new administrator (every centre); this run's own engine acts for nobody yet
    admin = scoped(installation_engine(), scope_for_user(installation_engine(), user.username))
    if load_demo and count_patients(admin) == 0:
        bar = st.progress(0.0, text="Loading the demo registry…")
        load_registry(admin, generate_registry(DEMO_PATIENTS), actor=user.username,
                      progress=lambda done, total: bar.progress(done / total, text=f"Loading the demo registry… "
                                                                f"{done:,} of {total:,} records"))
    sign_in(user)
    flash("success", f"Welcome, {as_text(user.display_name)}. You are signed in as administrator.")
    st.rerun()


def sign_in_screen() -> None:
    st.title("Sign in to Skintrack")
    show_flash()
    with st.form("sign_in"):
        username = st.text_input("Username", key="sign_in_username")
        password = st.text_input("Password", type="password", key="sign_in_password")
        submitted = st.form_submit_button("Sign in", type="primary", key="sign_in_submit")
    if not submitted:
        return
    try:
        user = sign_in_attempt(get_engine(), username=username, password=password, address=client_address())
    except SkintrackError as error:
        show_error(error, prefix="Not signed in", labels=SIGN_IN_LABELS)
        return
    sign_in(user)
    st.rerun()


def client_address() -> str | None:
    """The browser's address as the server sees it (None when unknown, e.g. on localhost, or behind a proxy that
    Streamlit sees as the client: README, "Security"), for the sign-in throttle."""
    try:
        return st.context.ip_address or None
    except Exception:  # noqa: BLE001 - no request context (e.g. a bare run): no address
        return None


def refuse(title: str) -> None:
    """The refusal shown instead of a screen the signed-in role may not open (the page never runs)."""
    st.title(title)
    st.error("Your role does not give access to this screen. Ask an administrator if you need it.",
             icon=":material/block:")
