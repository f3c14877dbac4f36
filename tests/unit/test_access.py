"""Hashing, the sign-in delay schedule and the role -> screens table (pure, no database)."""

from __future__ import annotations

import pytest

from db.users import hash_password, verify_password
from models.access import SCREENS, SCREENS_BY_PATH, may_open, role_can, screen_for_url
from models.catalog import ROLES
from models.user import FREE_ATTEMPTS, MAX_DELAY_SECONDS, sign_in_delay

# The table of issue 7, written out independently of models/access.py.
EXPECTED = {
    "staff": {"patients", "visit_entry", "treatments", "chart", "account"},
    "physician": {"patients", "visit_entry", "treatments", "chart", "account"},
    "coordinator": {"cohort", "export", "chart", "account"},
    "admin": {"patients", "visit_entry", "treatments", "chart", "cohort", "export", "import_bundle", "users",
              "centres", "audit_trail", "backup", "restore", "account"},
}


def test_argon2_hash_verifies_only_the_right_password():
    stored = hash_password("correct horse battery")
    assert stored.startswith("$argon2id$")
    assert "correct horse" not in stored
    assert verify_password(stored, "correct horse battery")
    assert not verify_password(stored, "correct horse batterY")
    assert not verify_password(stored, "")
    assert not verify_password("not a hash", "correct horse battery")


def test_the_same_password_hashes_differently_each_time():
    assert hash_password("correct horse battery") != hash_password("correct horse battery")


def test_delay_is_free_for_five_failures_then_doubles_up_to_fifteen_minutes():
    assert [sign_in_delay(n) for n in range(FREE_ATTEMPTS)] == [0.0] * FREE_ATTEMPTS
    assert [sign_in_delay(n) for n in range(5, 10)] == [2.0, 4.0, 8.0, 16.0, 32.0]
    assert sign_in_delay(13) == 512.0
    assert sign_in_delay(14) == MAX_DELAY_SECONDS
    assert sign_in_delay(15) == MAX_DELAY_SECONDS == 900
    assert sign_in_delay(10_000) == MAX_DELAY_SECONDS


@pytest.mark.parametrize("role", sorted(EXPECTED))
def test_role_table_matches_the_issue(role):
    for screen in SCREENS:
        assert may_open(role, screen.path) == (screen.url_path in EXPECTED[role])


def test_every_role_of_the_catalogue_has_screens_and_unknown_ones_have_none():
    assert set(ROLES) == set(EXPECTED)
    assert not any(may_open("nurse", screen.path) for screen in SCREENS)
    assert not may_open(None, "pages/patients.py")
    assert not may_open("", "pages/account.py")
    assert not may_open("admin", "pages/not_a_screen.py")


def test_screens_have_unique_paths_and_urls():
    assert len(SCREENS_BY_PATH) == len(SCREENS)
    assert len({s.url_path for s in SCREENS}) == len(SCREENS)
    assert screen_for_url("/users").path == "pages/users.py"
    assert screen_for_url("nowhere") is None


def test_identified_export_needs_the_role_and_the_account_permission():
    assert role_can("coordinator", "export")
    assert not role_can("coordinator", "export_identified")
    assert role_can("coordinator", "export_identified", can_export_identified=True)
    assert not role_can("staff", "export_identified", can_export_identified=True)
    assert not role_can("physician", "export")
    assert role_can("physician", "chart_review") and not role_can("staff", "chart_review")
    assert not role_can(None, "edit_clinical")


def test_every_screen_of_the_role_table_has_its_page_file():
    from pathlib import Path

    root = Path(__file__).resolve().parents[2]
    assert [s.path for s in SCREENS if not (root / s.path).is_file()] == []
