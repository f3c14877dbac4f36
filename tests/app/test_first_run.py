"""First run on an empty database: create the administrator, load the demo, land signed in."""

from __future__ import annotations

from streamlit.testing.v1 import AppTest

from db.patients import count_patients
from db.users import get_user
from tests.app.conftest import APP, PASSWORD
from ui.gate import DEMO_PATIENTS


def test_empty_database_shows_the_first_run_screen(app_url):
    at = AppTest.from_file(APP, default_timeout=30).run()
    assert not at.exception
    assert at.title[0].value == "Welcome to Skintrack"
    assert at.button(key="first_create") is not None


def test_first_admin_with_demo_registry(app_engine):
    at = AppTest.from_file(APP, default_timeout=120).run()
    at.text_input(key="first_username").input("admin")
    at.text_input(key="first_display_name").input("Dr Rivera")
    at.text_input(key="first_password").input(PASSWORD)
    at.text_input(key="first_password_repeat").input(PASSWORD)
    at.button(key="first_create").click().run()
    assert not at.exception
    assert get_user(app_engine, "admin")["role"] == "admin"
    assert count_patients(app_engine) == DEMO_PATIENTS == 60
    assert at.session_state["user"]["username"] == "admin"


def test_mismatched_passwords_create_nothing(app_engine):
    at = AppTest.from_file(APP, default_timeout=30).run()
    at.text_input(key="first_username").input("admin")
    at.text_input(key="first_password").input(PASSWORD)
    at.text_input(key="first_password_repeat").input(PASSWORD + "x")
    at.button(key="first_create").click().run()
    assert "differ" in at.error[0].value
    assert get_user(app_engine, "admin") is None


def test_short_password_names_the_field(app_engine):
    at = AppTest.from_file(APP, default_timeout=30).run()
    at.text_input(key="first_username").input("admin")
    at.text_input(key="first_password").input("short")
    at.text_input(key="first_password_repeat").input("short")
    at.button(key="first_create").click().run()
    assert "**Password (at least 10 characters)**" in at.error[0].value and "10 characters" in at.error[0].value
    assert get_user(app_engine, "admin") is None


def test_sign_in_and_wrong_password(with_users):
    at = AppTest.from_file(APP, default_timeout=30).run()
    assert at.title[0].value == "Sign in to Skintrack"
    at.text_input(key="sign_in_username").input("staff")
    at.text_input(key="sign_in_password").input("wrong password")
    at.button(key="sign_in_submit").click().run()
    assert "wrong username or password" in at.error[0].value
    at.text_input(key="sign_in_password").input(PASSWORD)
    at.button(key="sign_in_submit").click().run()
    assert not at.exception
    assert at.session_state["user"]["role"] == "staff"
