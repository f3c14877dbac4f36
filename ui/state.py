"""The process-wide engine, the signed-in account's centre scope on it, the key every cached read is filed under,
and the per-session state (the signed-in user and UI choices only).

`get_engine()` is the engine every page hands to `db/`: the installation's engine acting for the signed-in account's
centres (`db.scope.scoped`), resolved at every page run (`refresh_scope`, called by the gate right after it re-reads
the account), so an administrator's change of an account's centres applies at that account's next page run. Without
a signed-in account it acts for no centre: no patient's data at all. `database_key` carries the scope's cache key, so
two accounts of different centres never share a cached read.
"""

from __future__ import annotations

import time

import streamlit as st
from sqlalchemy import Engine

from db.centres import scope_for_user
from db.engine import database_url, ensure_schema, make_engine
from db.scope import scope_of, scoped
from models.scope import Scope
from ui.messages import flash, show_flash  # noqa: F401  (re-exported: pages import them from here too)

SESSION_DEFAULTS = {
    "user": None,  # {"username", "display_name", "role", "can_export_identified"} once signed in
    "last_activity": 0.0,  # time.time() of the last page run, for the idle timeout
    "patient_id": None,  # the patient chosen on any clinic screen, shared between screens
    "flash": None,  # (kind, message) shown once on the next run, e.g. after a save
}
SCOPE_KEY = "centre_scope"  # session state: (username, models.scope.Scope) of the signed-in account, this run's
NOBODY = Scope(frozenset(), frozenset())  # not signed in: no centre, no patient


@st.cache_resource(show_spinner="Opening the database…")
def engine_for(url: str) -> Engine:
    """One engine per database URL and process; the schema is brought up to date on first use."""
    engine = make_engine(url)
    ensure_schema(engine)
    return engine


def installation_engine() -> Engine:
    """The engine acting for every centre: only for the installation's own work that reads no patient (accounts,
    browser sessions, settings) or acts for a scope given explicitly. Pages use `get_engine()`."""
    return engine_for(database_url())


def get_engine() -> Engine:
    """The engine of the signed-in account's centres (no centre when nobody is signed in)."""
    return scoped(installation_engine(), current_scope())


def current_scope() -> Scope:
    """The signed-in account's centre scope as resolved at this run (NOBODY when nobody is signed in)."""
    user = st.session_state.get("user")
    if not user:
        return NOBODY
    held = st.session_state.get(SCOPE_KEY)
    if held is None or held[0] != user["username"]:
        return refresh_scope()
    return held[1]


def refresh_scope() -> Scope:
    """Read the signed-in account's centres again (the gate calls it at every page run, with the account)."""
    user = st.session_state.get("user")
    if not user:
        st.session_state.pop(SCOPE_KEY, None)
        return NOBODY
    scope = scope_for_user(installation_engine(), user["username"])
    st.session_state[SCOPE_KEY] = (user["username"], scope)
    return scope


def database_key(engine: Engine | None = None) -> str:
    """The first argument of every `st.cache_data` read: the database it read (password hidden) and the centre scope
    it read with, so that two databases in one process (tests, a URL change) or two accounts of different centres
    never share a cached answer. The second argument is the version the read depends on:
    `db.audit.registry_version` for lists, `db.patients.patient_version` for one patient."""
    engine = engine or get_engine()
    return f"{engine.url.render_as_string(hide_password=True)}#{scope_of(engine).cache_key}"


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
