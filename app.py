"""Skintrack entry point: page config, database check, first run / sign-in gate (or the browser's session carried
over a reload), and the navigation of the screens the signed-in role may open (models/access.py).

Access control lives here, in one place: a page file runs only when `models.access.may_open` says the
signed-in role may open it. The screens a role may not open are registered as hidden pages so that a
direct URL (/users) or an `st.switch_page` lands on a clear refusal instead of Streamlit's
"page not found"; the page script itself never runs for them.

`streamlit run app.py` finds `app` below, an `st.App`: Streamlit served together with the one route that hands a
signed-in browser its HttpOnly session cookie (ui/browser_session.py), started by `starting`. Streamlit itself runs
this file as `__main__` on every page view; the ASGI server imports it as the module `app` and only needs `app`.
"""

from contextlib import asynccontextmanager

import streamlit as st

from db.users import count_users
from models.access import SCREENS, may_open
from ui.browser_session import ROUTES, hand_over_cookie
from ui.centres import show_default_centre_notice
from ui.gate import (
    expire_idle_session,
    first_run_screen,
    refresh_signed_in_user,
    refuse,
    resume_signed_in_browser,
    sign_in_screen,
    sign_out,
)
from ui.guard import leave_legacy_pages_mode
from ui.messages import as_text
from ui.state import current_scope, current_user, get_engine, init_session_state


@asynccontextmanager
async def starting(_app):
    """Before the server's first page view: leave Streamlit's legacy `pages/` mode (ui/guard.py), which would
    otherwise show the raw list of page files while the first run starts."""
    leave_legacy_pages_mode()
    yield


app = st.App(__file__, routes=ROUTES, lifespan=starting)


def screen_page(screen, *, hidden: bool) -> st.Page:
    return st.Page(screen.path, title=screen.title, icon=screen.icon, url_path=screen.url_path,
                   visibility="hidden" if hidden else "visible")


def main() -> None:
    leave_legacy_pages_mode()
    st.set_page_config(page_title="Skintrack", page_icon=":material/monitoring:", layout="wide")
    init_session_state()
    engine = get_engine()
    resume_signed_in_browser()  # a reload or a second tab of a signed-in browser
    expire_idle_session()
    refresh_signed_in_user()
    available = SCREENS

    if count_users(engine) == 0:
        st.navigation([st.Page(first_run_screen, title="Welcome", icon=":material/waving_hand:")],
                      position="hidden")
        first_run_screen()
        return
    if current_user() is None:
        # A bookmarked screen URL shows the sign-in form and, once signed in, opens that screen (if allowed).
        st.navigation([st.Page(sign_in_screen, title="Sign in", icon=":material/login:", default=True),
                       *(screen_page(screen, hidden=True) for screen in available)], position="hidden")
        hand_over_cookie()
        sign_in_screen()
        return
    user = current_user()
    registered: list[tuple[st.Page, object]] = []
    sections: dict[str, list] = {}
    for screen in available:
        if may_open(user["role"], screen.path):
            page = screen_page(screen, hidden=False)
            sections.setdefault(screen.section, []).append(page)
            registered.append((page, screen))
    for screen in available:
        if not may_open(user["role"], screen.path):  # hidden: never listed, only reached by URL, then refused
            page = screen_page(screen, hidden=True)
            sections.setdefault("Account", []).append(page)
            registered.append((page, screen))
    chosen = st.navigation(sections, expanded=True)  # every screen listed (an administrator has 13)
    screen = next((screen for page, screen in registered if page is chosen), None)
    with st.sidebar:
        scope = current_scope()
        centres = "" if scope.everything else f" · {as_text(scope.describe())}"
        st.caption(f"Signed in as **{as_text(user['display_name'])}** ({user['role']}){centres}")
        if st.button("Sign out", key="sign_out", icon=":material/logout:"):
            sign_out(detail="signed out")
            st.rerun()
        hand_over_cookie()
    if screen is not None and may_open(user["role"], screen.path):
        show_default_centre_notice(user)
        chosen.run()
    else:
        refuse(screen.title if screen is not None else "Not available")


if __name__ == "__main__":
    main()
