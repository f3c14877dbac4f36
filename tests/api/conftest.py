"""Helpers of the API tests: accounts made without the cost of a password hash each, tokens, the rate-limit
table emptied (PostgreSQL keeps one schema per session, and the conftest's emptying does not know the table)."""

from __future__ import annotations

import time
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


class Api:
    """A TestClient on the API over `engine`, one account and token per role (usernames = roles; the admin may
    export identified data), and the demo registry of `PATIENTS` patients."""

    def __init__(self, engine, client, tokens: dict[str, str]) -> None:
        self.engine, self.client, self.tokens = engine, client, tokens

    def headers(self, role: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.tokens[role]}"}

    def get(self, role: str, url: str, **kwargs):
        return self.client.get(url, headers=self.headers(role), **kwargs)

    def send(self, method: str, role: str, url: str, **kwargs):
        return self.client.request(method, url, headers=self.headers(role), **kwargs)

    def bulk_export(self, role: str, url: str = "/fhir/$export", *, polls: int = 400):
        """Start a FHIR bulk export as `role` and poll its status URL until it is done: (status URL, the final
        response). Every answer before that is 202 with an X-Progress header."""
        started = self.get(role, url)
        assert started.status_code == 202, started.text
        status_url = started.headers["Content-Location"]
        for _ in range(polls):
            status = self.client.get(status_url, headers=self.headers(role))
            if status.status_code != 202:
                return status_url, status
            assert "X-Progress" in status.headers
            time.sleep(0.05)
        raise AssertionError(f"the export at {status_url} was not done after {polls} polls")


PATIENTS = 6
SECRET = "api-test-secret"


@pytest.fixture
def api(engine, monkeypatch):
    from fastapi.testclient import TestClient

    from api.app import create_app
    from db.api_tokens import create_token
    from demo import DEMO_CENTRES, generate_registry, load_registry

    monkeypatch.setenv("SKINTRACK_SECRET", SECRET)
    monkeypatch.setenv("SKINTRACK_FHIR_BASE", "https://skintrack.example.org/fhir")
    tokens = {}
    for role in ROLES:
        make_user(engine, role, role, identified=role == "admin")
        with write_session(engine) as session:
            tokens[role] = create_token(session=session, username=role, name=f"{role} script", days=30,
                                        actor=role).token
    # one centre (the demo's first): the records the tests write and the example bundle they import name none
    load_registry(engine, generate_registry(PATIENTS, centres=DEMO_CENTRES[:1]), actor="fixture")
    with TestClient(create_app(engine)) as client:
        yield Api(engine, client, tokens)
