"""The process-wide engine, the key every cached read is filed under, and the per-session state (the signed-in
user and UI choices only)."""

from __future__ import annotations

import time

import streamlit as st
from sqlalchemy import Engine

from db.engine import database_url, ensure_schema, make_engine
from ui.messages import flash, show_flash  # noqa: F401  (re-exported: pages import them from here too)

SESSION_DEFAULTS = {
    "user": None,  # {"username", "display_name", "role", "can_export_identified"} once signed in
    "last_activity": 0.0,  # time.time() of the last page run, for the idle timeout
    "patient_id": None,  # the patient chosen on any clinic screen, shared between screens
    "flash": None,  # (kind, message) shown once on the next run, e.g. after a save
}


@st.cache_resource(show_spinner="Opening the database…")
def engine_for(url: str) -> Engine:
    """One engine per database URL and process; the schema is brought up to date on first use."""
    engine = make_engine(url)
    ensure_schema(engine)
    return engine


def get_engine() -> Engine:
    return engine_for(database_url())


def database_key(engine: Engine | None = None) -> str:
    """The first argument of every `st.cache_data` read: the database it read (password hidden), so that two
    databases in one process (tests, a URL change) never share a cached answer. The second argument is the
    version the read depends on: `db.audit.registry_version` for lists, `db.patients.patient_version` for one
    patient."""
    return (engine or get_engine()).url.render_as_string(hide_password=True)


def init_session_state() -> None:
    for key, value in SESSION_DEFAULTS.items():
        st.session_state.setdefault(key, value)


def reset_session() -> None:
    """Forget everything this browser session holds (user, chosen patient, filters, widget values) and
    start again from the defaults: after a sign-out or an expiry, the next person at the same browser
    inherits nothing from the previous one."""
    for key in list(st.session_state.keys()):
        del st.session_state[key]
    init_session_state()


def current_user() -> dict | None:
    return st.session_state.get("user")


def actor() -> str:
    """The username written into audit rows."""
    user = current_user()
    return user["username"] if user else "anonymous"


def touch() -> None:
    st.session_state["last_activity"] = time.time()
