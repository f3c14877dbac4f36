"""Every role against every screen: the screens of its role render, every other one is refused (the page
script never runs); sign-out and idle expiry wipe the session; account changes apply at once."""

from __future__ import annotations

import time

import pytest
from streamlit.runtime.pages_manager import PagesManager
from streamlit.testing.v1 import AppTest

from db.audit import load_audit
from db.engine import write_session
from db.users import update_user
from models.access import SCREENS, may_open
from tests.app.conftest import APP, ROLES, signed_in_app

REFUSAL = "Your role does not give access to this screen"
CASES = [pytest.param(role, screen.path, id=f"{role}-{screen.url_path}") for screen in SCREENS for role in ROLES]


@pytest.fixture
def navigation_mode(monkeypatch):
    """Run app.py on every AppTest run, as a real server does once st.navigation has been called.

    Without it AppTest (like a freshly started server) is in Streamlit's legacy pages-directory mode, because
    the screens live in `pages/`: a page switched to runs without app.py, and only its own guard protects it.
    """
    original = PagesManager.__init__

    def init(self, *args, **kwargs):
        original(self, *args, **kwargs)
        PagesManager.uses_pages_directory = False

    monkeypatch.setattr(PagesManager, "__init__", init)


def refused(at: AppTest) -> bool:
    return any(REFUSAL in error.value for error in at.error)


@pytest.mark.parametrize("mode", ["page guard", "app navigation"])
@pytest.mark.parametrize(("role", "path"), CASES)
def test_every_screen_renders_or_refuses_as_the_role_table_says(with_demo, role, path, mode, request):
    if mode == "app navigation":
        request.getfixturevalue("navigation_mode")
    at = signed_in_app(role, path, timeout=60)
    assert not at.exception, at.exception
    if may_open(role, path):
        assert not refused(at), f"{role} was refused {path}"
        assert at.title, f"{path} rendered nothing for {role}"
    else:
        assert refused(at), f"{role} could open {path}"
        # The refusal replaces the page: nothing else of the screen is on it.
        assert [t.value for t in at.title] == [next(s.title for s in SCREENS if s.path == path)]
        assert len(at.main.children) <= 3


@pytest.mark.parametrize("mode", ["page guard", "app navigation"])
def test_signed_out_visitor_to_a_screen_url_gets_the_sign_in_form(with_users, mode, request):
    if mode == "app navigation":
        request.getfixturevalue("navigation_mode")
    at = AppTest.from_file(APP, default_timeout=30).run()
    at.switch_page("pages/users.py").run()
    assert at.title[0].value == "Sign in to Skintrack"
    assert not any(t.value == "Users" for t in at.title)


def test_sign_out_forgets_the_whole_session(with_demo, navigation_mode):
    at = signed_in_app("staff")
    at.session_state["patient_id"] = "DEMO-0001"
    at.session_state["some_filter"] = "dcSSc"
    at.button(key="sign_out").click().run()
    assert at.session_state["user"] is None
    assert at.session_state["patient_id"] is None
    assert "some_filter" not in at.session_state
    assert at.title[0].value == "Sign in to Skintrack"
    assert load_audit(with_demo, actor="staff", action="sign_out").shape[0] == 1


def test_idle_session_expires_and_must_sign_in_again(with_users, monkeypatch):
    monkeypatch.setenv("SKINTRACK_SESSION_IDLE_MINUTES", "30")
    at = signed_in_app("physician", "pages/account.py")
    at.session_state["patient_id"] = "DEMO-0001"
    at.session_state["last_activity"] = time.time() - 31 * 60
    at.run()
    assert at.session_state["user"] is None
    assert at.session_state["patient_id"] is None
    assert at.title[0].value == "Sign in to Skintrack"
    assert any("expired" in w.value for w in at.warning)
    expiry = load_audit(with_users, actor="physician", action="sign_out")
    assert "expired" in expiry["detail"].iloc[0]


def test_a_recent_session_does_not_expire(with_users, monkeypatch):
    monkeypatch.setenv("SKINTRACK_SESSION_IDLE_MINUTES", "30")
    at = signed_in_app("physician", "pages/account.py")
    at.session_state["last_activity"] = time.time() - 29 * 60
    at.run()
    assert at.session_state["user"]["username"] == "physician"
    assert at.title[0].value == "My account"


def test_idle_limit_is_configurable(with_users, monkeypatch):
    monkeypatch.setenv("SKINTRACK_SESSION_IDLE_MINUTES", "5")
    at = signed_in_app("staff", "pages/account.py")
    at.session_state["last_activity"] = time.time() - 6 * 60
    at.run()
    assert at.session_state["user"] is None


@pytest.mark.parametrize("mode", ["page guard", "app navigation"])
def test_role_change_and_deactivation_apply_at_the_next_page_view(with_users, mode, request):
    if mode == "app navigation":
        request.getfixturevalue("navigation_mode")
    at = signed_in_app("coordinator", "pages/account.py")
    with write_session(with_users) as session:
        update_user(session=session, username="coordinator", expected_version=1, actor="admin", data={
            "display_name": "Dr Coordinator", "role": "staff", "active": True, "can_export_identified": True})
    at.run()
    assert at.session_state["user"]["role"] == "staff"
    assert at.session_state["user"]["can_export_identified"] is True
    with write_session(with_users) as session:
        update_user(session=session, username="coordinator", expected_version=2, actor="admin", data={
            "display_name": "Dr Coordinator", "role": "staff", "active": False, "can_export_identified": False})
    at.run()
    assert at.session_state["user"] is None
    assert at.title[0].value == "Sign in to Skintrack"


def test_a_tampered_session_role_is_replaced_by_the_stored_one(with_users):
    at = AppTest.from_file(APP, default_timeout=30)
    at.session_state["user"] = {"username": "staff", "display_name": "x", "role": "admin",
                                "can_export_identified": True}
    at.run()
    assert at.session_state["user"]["role"] == "staff"
    assert at.session_state["user"]["can_export_identified"] is False
