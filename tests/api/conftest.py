"""Helpers of the API tests: accounts made without the cost of a password hash each, tokens, the rate-limit
table emptied (PostgreSQL keeps one schema per session, and the conftest's emptying does not know the table)."""

from __future__ import annotations

from functools import cache
from unittest.mock import patch

import pytest
from sqlalchemy import delete

from db.engine import write_session
from db.users import create_user, hash_password
from models import ApiClientFailure

PASSWORD = "correct horse battery"
ROLES = ("staff", "physician", "coordinator", "admin")


@cache
def _password_hash() -> str:
    return hash_password(PASSWORD)  # a real argon2 hash, made once: each costs half a second, and the API uses none


def make_user(engine, username: str, role: str, *, identified: bool = False) -> None:
    """An account made by db.users.create_user (audited), its password hashed once per test session."""
    with patch("db.users.hash_password", return_value=_password_hash()), write_session(engine) as session:
        create_user(session=session, actor="fixture", data={
            "username": username, "display_name": username.title(), "role": role, "password": PASSWORD,
            "can_export_identified": identified})


@pytest.fixture(autouse=True)
def _no_failures_left(request):
    """Failed-token counts of an earlier test (same PostgreSQL schema) must not delay this one."""
    if "engine" in request.fixturenames:
        engine = request.getfixturevalue("engine")
        with write_session(engine) as session:
            session.execute(delete(ApiClientFailure))
    yield
