"""The guard every page calls first, right after its imports: `user = require(__file__)`.

app.py already refuses a screen the role may not open, but that is not enough on its own: because the
screens live in a folder named `pages/`, Streamlit starts each server process in its legacy
"pages directory" mode and, until some run has called `st.navigation`, serves `/users` by running
pages/users.py directly, without app.py (AppTest does the same on every `switch_page`). So each page
checks for itself: signed in, session not idle, account still active, role allowed.

The first run of a fresh server process is such a legacy run: Streamlit lists every file of `pages/` in the
sidebar ("app", "account", "audit trail", ...) and runs app.py as one of those pages, where its own navigation
fails. `leave_legacy_pages_mode` (called first by app.py and by `require`) switches the process to
`st.navigation` for good before that navigation is built, so the very first view is the app's own.
"""

from __future__ import annotations

from pathlib import Path

import streamlit as st

from db.users import count_users
from models.access import SCREENS_BY_PATH, may_open, role_can
from ui.gate import expire_idle_session, first_run_screen, refresh_signed_in_user, refuse, sign_in_screen
from ui.state import current_user, get_engine, init_session_state


def leave_legacy_pages_mode() -> bool:
    """Leave Streamlit's legacy `pages/` directory mode (see the module docstring); True when this run was such a
    legacy run.

    Streamlit decides the mode once per process (`PagesManager.uses_pages_directory`, which the first
    `st.navigation` call sets back to False, too late for the first run). app.py's `st.App` sets it when the
    server starts, before any page view; app.py's first lines and `require` set it too, for a server started
    another way. The very first page view is then the app's own: the sign-in form, without the raw list of page
    files, not even for a moment (tests/e2e/test_sessions.py)."""
    from streamlit import config
    from streamlit.runtime.pages_manager import PagesManager

    # AppTest puts every run back into legacy mode, where app.py's navigation already works.
    if config.get_option("global.appTest"):
        return False
    legacy = bool(PagesManager.uses_pages_directory)
    PagesManager.uses_pages_directory = False  # also before Streamlit has looked (None): it then never does
    return legacy


def require(page_file: str) -> dict:
    """Return the signed-in user when their role may open this page; otherwise show the first-run screen,
    the sign-in form or a refusal instead, and stop the run (nothing below the call executes)."""
    if leave_legacy_pages_mode():
        # The first run of a fresh server, opened at this page's URL: Streamlit ran this file without app.py.
        # Run app.py instead, which draws the app's navigation and runs this page (guarded again) under it.
        from app import main

        main()
        st.stop()
    path = f"pages/{Path(page_file).name}"
    init_session_state()
    expire_idle_session()
    refresh_signed_in_user()
    user = current_user()
    if user is None:
        if count_users(get_engine()) == 0:
            first_run_screen()
        else:
            sign_in_screen()
        st.stop()
    if not may_open(user["role"], path):
        screen = SCREENS_BY_PATH.get(path)
        refuse(screen.title if screen else "Not available")
        st.stop()
    return user


def allowed(capability: str) -> bool:
    """Whether the signed-in user holds a capability of `models.access.CAPABILITIES`, or
    "export_identified" (coordinator/admin role *and* the account's own permission)."""
    user = current_user()
    if not user:
        return False
    return role_can(user["role"], capability, can_export_identified=user.get("can_export_identified", False))
