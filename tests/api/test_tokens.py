"""Personal API tokens on SQLite and PostgreSQL: shown once and kept as a SHA-256 only, refused when unknown,
revoked, expired or of an inactive account, last use recorded, every write and every failure audited, and a client
address that keeps failing waits the sign-in's doubling delay."""

from __future__ import annotations

import hashlib
from datetime import timedelta

import pytest
from sqlalchemy import select, text

from db.api_tokens import (
    TokenRefused,
    TokenUser,
    TooManyFailures,
    authenticate_token,
    create_token,
    load_tokens,
    revoke_token,
)
from db.audit import load_audit
from db.engine import write_session
from db.users import update_user
from models import ApiToken
from models.base import utcnow
from models.errors import InvalidValue, MissingValue, NotFound
from tests.api.conftest import make_user


def new_token(engine, username="ana", name="nightly pull", days=30, now=None):
    with write_session(engine) as session:
        return create_token(session=session, username=username, name=name, days=days, actor=username, now=now)


def test_a_token_is_shown_once_and_kept_as_its_sha256(engine):
    make_user(engine, "ana", "physician")
    created = new_token(engine)
    assert created.token.startswith("skt_") and len(created.token) == 4 + 43
    with engine.connect() as connection:
        stored = connection.execute(select(ApiToken.__table__)).mappings().one()
        audit_text = " ".join(str(v) for row in connection.execute(text("SELECT * FROM audit_event")) for v in row)
    assert stored["token_hash"] == hashlib.sha256(created.token.encode()).hexdigest()
    assert created.token not in " ".join(map(str, stored.values())) and created.token not in audit_text
    assert stored["last_used_at"] is None and stored["revoked_at"] is None
    created_rows = load_audit(engine, actor="ana", entity="api_token", action="create")
    assert created_rows["detail"].tolist() == ["API token 'nightly pull' of ana, valid 30 days"]


def test_use_records_the_last_use_and_acts_as_the_current_role(engine):
    make_user(engine, "ana", "physician")
    created = new_token(engine)
    who = authenticate_token(engine, created.token, address="10.0.0.1")
    assert who == TokenUser(user_id=who.user_id, username="ana", role="physician", can_export_identified=False,
                            token_id=created.token_id, token_name="nightly pull")
    assert who.actor == "ana via token 'nightly pull'"
    assert load_tokens(engine, "ana")["last_used_at"].notna().all()
    with write_session(engine) as session:
        update_user(session=session, username="ana", expected_version=1, actor="admin", data={
            "display_name": "Ana", "role": "coordinator", "active": True, "can_export_identified": True})
    assert authenticate_token(engine, created.token, address="10.0.0.1").role == "coordinator"
    with write_session(engine) as session:
        update_user(session=session, username="ana", expected_version=2, actor="admin", data={
            "display_name": "Ana", "role": "coordinator", "active": False, "can_export_identified": True})
    with pytest.raises(TokenRefused, match="inactive"):
        authenticate_token(engine, created.token, address="10.0.0.1")


def test_expired_revoked_unknown_and_missing_tokens_are_refused_and_audited(engine):
    make_user(engine, "ana", "staff")
    now = utcnow()
    created = new_token(engine, days=1, now=now)
    assert authenticate_token(engine, created.token, address="a", now=now + timedelta(hours=23)).username == "ana"
    with pytest.raises(TokenRefused, match="expired API token"):
        authenticate_token(engine, created.token, address="a", now=now + timedelta(days=1, seconds=1))
    other = new_token(engine, name="second")
    with write_session(engine) as session:
        revoke_token(session=session, username="ana", token_id=other.token_id, actor="ana")
    with pytest.raises(TokenRefused, match="revoked API token"):
        authenticate_token(engine, other.token, address="a")
    with pytest.raises(TokenRefused, match="unknown API token"):
        authenticate_token(engine, "skt_" + "x" * 43, address="a")
    with pytest.raises(TokenRefused, match="no API token"):
        authenticate_token(engine, None, address="a")
    statuses = load_tokens(engine, "ana", now=now + timedelta(days=2)).set_index("name")["status"].to_dict()
    assert statuses == {"nightly pull": "expired", "second": "revoked"}
    failures = load_audit(engine, action="api_auth_failed")
    assert set(failures["actor"]) == {"api client a"}
    assert sorted(failures["detail"]) == ["expired API token (token 'nightly pull' of ana)", "no API token",
                                          "revoked API token (token 'second' of ana)", "unknown API token"]
    assert load_audit(engine, actor="ana", action="revoke")["detail"].tolist() == [
        "API token 'second' of ana revoked"]


def test_a_failing_client_address_waits_a_doubling_delay(engine):
    make_user(engine, "ana", "staff")
    good = new_token(engine).token
    now = utcnow()
    for attempt in range(5):
        with pytest.raises(TokenRefused):
            authenticate_token(engine, "wrong", address="203.0.113.9", now=now + timedelta(seconds=attempt))
    late = now + timedelta(seconds=5)  # the 5th failure at +4 s: 2 s to wait
    with pytest.raises(TooManyFailures) as refused:
        authenticate_token(engine, good, address="203.0.113.9", now=late)  # even a good token waits
    assert refused.value.retry_after == 2
    assert authenticate_token(engine, good, address="198.51.100.1", now=late).username == "ana"  # others do not
    assert authenticate_token(engine, good, address="203.0.113.9", now=late + timedelta(seconds=1)).username == "ana"
    for attempt in range(5):  # the success cleared the count
        with pytest.raises(TokenRefused):
            authenticate_token(engine, "wrong", address="203.0.113.9", now=late + timedelta(seconds=2 + attempt))
    refusals = load_audit(engine, action="api_auth_failed")["detail"]
    assert refusals.str.startswith("refused: too many failed token attempts").sum() == 1


def test_names_days_owners_and_accounts_are_checked(engine):
    make_user(engine, "ana", "staff")
    make_user(engine, "bo", "staff")
    with pytest.raises(MissingValue) as missing:
        new_token(engine, name="  ")
    assert missing.value.field == "name"
    with pytest.raises(InvalidValue, match="at most 40") as long:
        new_token(engine, name="x" * 41)
    assert long.value.field == "name"
    with pytest.raises(InvalidValue) as control:
        new_token(engine, name="bad\x00name")
    assert control.value.field == "name"
    for days in (0, 367, 1.5, True):
        with pytest.raises(InvalidValue) as bad_days:
            new_token(engine, days=days)
        assert bad_days.value.field == "days"
    with pytest.raises(NotFound):
        new_token(engine, username="nobody")
    mine = new_token(engine, username="ana")
    with pytest.raises(NotFound), write_session(engine) as session:
        revoke_token(session=session, username="bo", token_id=mine.token_id, actor="bo")
    assert load_tokens(engine, "ana")["status"].tolist() == ["active"]


def test_a_long_username_and_name_fit_the_audit_actor():
    who = TokenUser(user_id=1, username="u" * 50, role="staff", can_export_identified=False, token_id=7,
                    token_name="n" * 40)
    assert who.actor == "u" * 50 + " via token #7"
    assert TokenUser(1, "u" * 64, "staff", False, 7, "n").actor == "u" * 64
