"""Every endpoint × every role on SQLite and PostgreSQL: 401 without a valid token (none, unknown, revoked,
expired), 403 for a role the app's own table (models.access) does not allow, success for one that it does; and a
client address that keeps sending bad tokens waits (429, Retry-After), audited."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import update

from db.api_tokens import create_token, revoke_token
from db.audit import load_audit
from db.engine import write_session
from models import ApiToken
from models.base import utcnow
from tests.api.conftest import ROLES

ALL = set(ROLES)
EDIT = {"staff", "physician", "admin"}
EXPORT = {"coordinator", "admin"}
READS = [("GET", f"/{name}", None) for name in
         ("patients", "assessments", "measurements", "medication_periods", "events")] + [
    ("GET", "/patients/DEMO-0001", None), ("GET", "/fhir/Patient/DEMO-0001/$everything", None)]
ENDPOINTS = [
    *[(method, url, body, ALL) for method, url, body in READS],
    # The exports cost a second each even for one patient: here an allowed role is shown past the role check by
    # the refusal of a bad option (422 naming it), a refused role by 403; the export tests run them for real.
    ("GET", "/derived/summary?months=0", None, EXPORT),
    ("GET", "/exports?months=0", None, EXPORT),
    ("GET", "/fhir/$export?patients=DEMO-0001", None, EXPORT),
    ("GET", "/exports?deidentify=false&months=0", None, {"admin"}),  # the admin holds the permission
]
# writes: the refusals (the successes are the write tests')
WRITES = [("POST", "/assessments", {"patient_id": "DEMO-0001"}), ("PATCH", "/assessments/1", {}),
          ("PUT", "/measurements/1", {}), ("DELETE", "/events/1?expected_version=1&reason=x", None),
          ("POST", "/patients", {}), ("PATCH", "/medication_periods/1", {}), ("DELETE", "/patients/DEMO-0001?"
                                                                               "expected_version=1&reason=x", None)]
IMPORT = ("POST", "/imports")


def test_every_endpoint_refuses_a_missing_or_unknown_token(api, monkeypatch):
    monkeypatch.setattr("db.api_tokens.sign_in_delay", lambda failures: 0.0)  # the delay: the last test's
    for method, url, body, _ in ENDPOINTS + [(m, u, b, EDIT) for m, u, b in WRITES]:
        for headers in ({}, {"Authorization": "Bearer skt_not-a-token"}, {"Authorization": "Basic YTpi"}):
            response = api.client.request(method, url, json=body, headers=headers)
            assert response.status_code == 401, (method, url, headers, response.text)
            assert response.headers["WWW-Authenticate"].startswith("Bearer")
            assert response.json()["detail"][0]["field"] == "authorization"
    assert api.client.post("/imports", files={"bundle": ("b.zip", b"PK")}).status_code == 401


def test_role_by_endpoint(api, monkeypatch):
    monkeypatch.setattr("db.api_tokens.sign_in_delay", lambda failures: 0.0)
    for method, url, body, allowed in ENDPOINTS:
        for role in ROLES:
            response = api.send(method, role, url, json=body)
            if role in allowed:
                expected = 422 if "months=0" in url else 202 if "$export" in url else 200
                assert response.status_code == expected, (role, method, url, response.text)
                if expected == 422:
                    assert response.json()["detail"][0]["field"] == "months"
            else:
                assert response.status_code == 403, (role, method, url, response.text)
                assert response.json()["detail"][0]["msg"]
    for method, url, body in WRITES:
        for role in ALL - EDIT:
            response = api.send(method, role, url, json=body)
            assert response.status_code == 403, (role, method, url, response.text)
    for role in ALL - {"admin"}:
        response = api.send("POST", role, "/imports", files={"bundle": ("b.zip", b"PK")})
        assert response.status_code == 403, role


def test_revoked_and_expired_tokens_are_401(api):
    with write_session(api.engine) as session:
        revoke_token(session=session, username="staff", token_id=1, actor="staff")
        short = create_token(session=session, username="staff", name="short", days=1, actor="staff")
    assert api.get("staff", "/patients").status_code == 401
    assert "revoked" in api.get("staff", "/patients").json()["detail"][0]["msg"]
    fresh = {"Authorization": f"Bearer {short.token}"}
    assert api.client.get("/patients", headers=fresh).status_code == 200
    with write_session(api.engine) as session:
        session.execute(update(ApiToken).where(ApiToken.token_id == short.token_id)
                        .values(expires_at=utcnow() - timedelta(seconds=1)))
    refused = api.client.get("/patients", headers=fresh)
    assert refused.status_code == 401 and "expired" in refused.json()["detail"][0]["msg"]


def test_repeated_bad_tokens_from_one_address_wait(api):
    for _ in range(5):
        assert api.client.get("/patients", headers={"Authorization": "Bearer skt_guess"}).status_code == 401
    waiting = api.get("physician", "/patients")  # a good token from the same address waits too
    assert waiting.status_code == 429 and int(waiting.headers["Retry-After"]) >= 1
    assert "too many failed" in waiting.json()["detail"][0]["msg"]
    failures = load_audit(api.engine, action="api_auth_failed")
    assert len(failures) == 6 and set(failures["actor"]) == {"api client testclient"}


@pytest.mark.parametrize("path", ["/openapi.json"])
def test_the_openapi_document_has_examples_for_every_resource(api, path):
    spec = api.client.get(path).json()
    for name in ("patients", "assessments", "measurements", "medication_periods", "events"):
        operations = spec["paths"][f"/{name}"]
        assert operations["get"]["responses"]["200"]["content"]["application/json"]["example"]["items"]
        assert operations["post"]["requestBody"]["content"]["application/json"]["examples"]
    assert spec["components"]["securitySchemes"]["HTTPBearer"]["scheme"] == "bearer"
