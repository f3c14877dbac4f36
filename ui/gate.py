"""First run, sign-in and the idle timeout: what stands between a visitor and the pages."""

from __future__ import annotations

import os
import time

import streamlit as st

from db.engine import write_session
from db.patients import count_patients
from db.users import create_user, get_user, record_sign_out, sign_in_attempt
from demo import generate_registry, load_registry
from models.errors import SkintrackError
from ui.messages import show_error
from ui.state import flash, get_engine, reset_session, show_flash, touch

IDLE_MINUTES_VARIABLE = "SKINTRACK_SESSION_IDLE_MINUTES"
DEMO_PATIENTS = 40


def idle_limit_seconds() -> float:
    """Idle time after which a session must sign in again (default 30 minutes)."""
    try:
        return max(1.0, float(os.environ.get(IDLE_MINUTES_VARIABLE, "30"))) * 60
    except ValueError:
        return 30 * 60.0


def expire_idle_session(now: float | None = None) -> None:
    """Sign the user out (audited, session state wiped) when the last page run is older than the idle limit."""
    now = time.time() if now is None else now
    user = st.session_state.get("user")
    last = st.session_state.get("last_activity") or 0.0
    if user and last and now - last > idle_limit_seconds():
        sign_out(detail=f"session expired after {int((now - last) // 60)} minutes without activity")
        flash("warning", "Your session expired after a period of inactivity; please sign in again.")
    touch()


def sign_out(*, detail: str = "") -> None:
    """End the session: audited, and every key of the session state is dropped (not just the user)."""
    user = st.session_state.get("user")
    if user:
        record_sign_out(get_engine(), username=user["username"], detail=detail)
    reset_session()


def refresh_signed_in_user() -> None:
    """Re-read the signed-in account on every run, so that a role change, a withdrawn export permission
    or a deactivation made by an administrator applies at once, not at the next sign-in."""
    user = st.session_state.get("user")
    if not user:
        return
    account = get_user(get_engine(), user["username"])
    if account is None or not account["active"]:
        sign_out(detail="account deactivated while signed in")
        flash("warning", "Your account is no longer active; ask an administrator.")
        return
    st.session_state["user"] = _session_user(account)


def _session_user(account) -> dict:
    get = account.get if isinstance(account, dict) else lambda name: getattr(account, name)
    return {"username": get("username"), "display_name": get("display_name") or get("username"),
            "role": get("role"), "can_export_identified": bool(get("can_export_identified"))}


def sign_in(user) -> None:
    """Start a fresh session for `user` (nothing of a previous session survives)."""
    reset_session()
    st.session_state["user"] = _session_user(user)
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
        st.error("**password**: the two passwords differ; type the same password twice")
        return
    engine = get_engine()
    try:
        with write_session(engine) as session:
            user = create_user(session=session, data={
                "username": username, "display_name": display_name, "role": "admin", "password": password,
                "can_export_identified": True}, actor="first-run")
    except SkintrackError as error:
        show_error(error, prefix="Account not created")
        return
    if load_demo and count_patients(engine) == 0:
        bar = st.progress(0.0, text="Loading the demo registry…")
        load_registry(engine, generate_registry(DEMO_PATIENTS), actor=user.username,
                      progress=lambda done, total: bar.progress(done / total, text=f"Loading the demo registry… "
                                                                f"{done:,} of {total:,} records"))
    sign_in(user)
    flash("success", f"Welcome, {user.display_name}. You are signed in as administrator.")
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
        user = sign_in_attempt(get_engine(), username=username, password=password)
    except SkintrackError as error:
        show_error(error, prefix="Not signed in")
        return
    sign_in(user)
    st.rerun()


def refuse(title: str) -> None:
    """The refusal shown instead of a screen the signed-in role may not open (the page never runs)."""
    st.title(title)
    st.error("Your role does not give access to this screen. Ask an administrator if you need it.",
             icon=":material/block:")
