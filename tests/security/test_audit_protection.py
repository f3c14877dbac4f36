"""The audit trail cannot be rewritten by the app's own database role (issue 14, finding 8).

PostgreSQL: a throwaway role given the app's rights by `cli.py db grant-app-role` (the owner runs it) writes
patients and signs in (audit rows inserted), but UPDATE, DELETE and TRUNCATE of audit_event, ALTER TABLE ... DISABLE
TRIGGER, DROP TRIGGER and SET session_replication_role are refused. SQLite: the triggers refuse UPDATE and DELETE
(whoever holds the file can still drop them: README, "Security"). The pseudonym secret's creation is audited."""

from __future__ import annotations

import uuid

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from db.audit import load_audit
from db.engine import make_engine, write_session
from db.installation import INSTALLATION_ACTOR, grant_app_role, pseudonym_secret
from db.patients import create_patient, get_patient, update_patient
from db.users import create_user, sign_in_attempt
from exchange.deid import installation_secret
from models.errors import NotPermitted
from tests import factories
from tests.conftest import as_role  # app_role, the fixture, is in tests/conftest.py

PASSWORD = "correct horse battery"
TAMPERING = [
    "UPDATE audit_event SET actor = 'nobody'",
    "DELETE FROM audit_event",
    "TRUNCATE audit_event",
    "ALTER TABLE audit_event DISABLE TRIGGER USER",
    "ALTER TABLE audit_event DISABLE TRIGGER ALL",
    "DROP TRIGGER audit_event_no_change ON audit_event",
    "SET session_replication_role = replica",
]




def test_the_app_role_writes_and_audits_but_cannot_tamper_with_the_trail(app_role):
    role, engine, owner = app_role
    with engine.connect() as connection:
        assert connection.execute(text("SELECT current_user")).scalar_one() == role
    with write_session(owner) as session:
        create_user(session=session, actor="admin", data={"username": "alice", "role": "staff",
                                                          "password": PASSWORD})
    # the app's ordinary writes, as the app role: a patient, a correction, a sign-in (throttle counters too)
    with write_session(engine) as session:
        create_patient(session=session, actor="alice", data=factories.patient())
    with write_session(engine) as session:
        update_patient(session=session, actor="alice", patient_id="P-001", expected_version=1,
                       data={**factories.patient(), "name": "Corrected Name"})
    assert get_patient(engine, "P-001")["name"] == "Corrected Name"
    assert sign_in_attempt(engine, username="alice", password=PASSWORD, address="192.0.2.1").username == "alice"
    with engine.begin() as connection:  # INSERT into the trail is the one write it may make there
        connection.execute(text("INSERT INTO audit_event (at, actor, action, entity, reason, detail) "
                                "VALUES (now(), 'alice', 'export', 'bundle', '', 'direct insert')"))
    rows = len(load_audit(engine, limit=10_000))
    assert rows >= 5
    for statement in TAMPERING:
        with pytest.raises(DBAPIError) as refused, engine.begin() as connection:
            connection.execute(text(statement))
        assert any(word in str(refused.value.orig) for word in ("permission denied", "must be owner")), statement
    with engine.begin() as connection:  # granting itself more grants nothing (PostgreSQL only warns)
        connection.execute(text("GRANT UPDATE, DELETE, TRUNCATE ON audit_event TO PUBLIC"))
        assert not connection.execute(text(
            "SELECT has_table_privilege('audit_event', 'UPDATE') OR has_table_privilege('audit_event', 'DELETE') "
            "OR has_table_privilege('audit_event', 'TRUNCATE')")).scalar_one()
    assert len(load_audit(engine, limit=10_000)) == rows


def test_the_owner_cannot_grant_the_app_rights_to_itself(pg_url):
    owner = make_engine(pg_url)
    try:
        with pytest.raises(NotPermitted, match="superuser or owns the tables"):
            grant_app_role(owner, "postgres")
    finally:
        owner.dispose()


def test_the_triggers_refuse_update_and_delete_of_the_trail(engine):
    with write_session(engine) as session:
        create_patient(session=session, actor="alice", data=factories.patient())
    for statement in ("UPDATE audit_event SET actor = 'nobody'", "DELETE FROM audit_event"):
        with pytest.raises(DBAPIError, match="append-only"), engine.begin() as connection:
            connection.execute(text(statement))
    assert list(load_audit(engine)["actor"]) == ["alice"]


def test_the_pseudonym_secret_is_created_once_with_an_audit_row(engine, monkeypatch):
    monkeypatch.delenv("SKINTRACK_SECRET", raising=False)
    with engine.begin() as connection:
        connection.execute(text("DELETE FROM installation_setting"))
    secret = installation_secret(engine, actor="carol")
    assert len(secret) == 64 and installation_secret(engine, actor="dave") == secret
    assert pseudonym_secret(engine) == secret.decode()
    trail = load_audit(engine, entity="installation_setting")
    assert list(zip(trail["actor"], trail["action"], strict=True)) == [("carol", "create")]
    assert secret.decode() not in " ".join(trail["detail"]) and INSTALLATION_ACTOR == "skintrack"


def test_the_app_role_upgrades_through_the_owners_url(pg_url, monkeypatch):
    """SKINTRACK_MIGRATION_DATABASE_URL: an app role that may not create tables still brings a new schema to the
    head revision (the owner's connection runs the migrations); on its own it cannot."""
    from db.engine import current_revision, ensure_schema, head_revision
    from tests.conftest import PG_BASE_URL, pg_url_for_schema

    role, schema = f"skintrack_app_{uuid.uuid4().hex[:8]}", f"t_owner_{uuid.uuid4().hex[:8]}"
    admin = make_engine(PG_BASE_URL)
    with admin.begin() as connection:
        connection.execute(text(f"CREATE ROLE {role} LOGIN"))
        connection.execute(text(f'CREATE SCHEMA "{schema}"'))
        connection.execute(text(f'GRANT USAGE ON SCHEMA "{schema}" TO {role}'))
    owner_url = pg_url_for_schema(schema)
    app = make_engine(as_role(owner_url, role))
    try:
        monkeypatch.delenv("SKINTRACK_MIGRATION_DATABASE_URL", raising=False)
        with pytest.raises(DBAPIError, match="permission denied"):
            ensure_schema(app)
        monkeypatch.setenv("SKINTRACK_MIGRATION_DATABASE_URL", owner_url)
        ensure_schema(app)  # migrated as the owner, then the app role granted its rights
        assert current_revision(app) == head_revision()
        with write_session(app) as session:
            create_patient(session=session, actor="alice", data=factories.patient())
        with pytest.raises(DBAPIError, match="permission denied"), app.begin() as connection:
            connection.execute(text("DELETE FROM audit_event"))
    finally:
        app.dispose()
        with admin.begin() as connection:
            connection.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
            connection.execute(text(f"DROP OWNED BY {role}"))
            connection.execute(text(f"DROP ROLE {role}"))
        admin.dispose()


def _bundle_export(engine, out, actor):
    from exchange.exporter import export_bundle

    export_bundle(engine, out, deidentify=True, actor=actor)


def _fhir_export(engine, out, actor):
    from exchange.fhir import export_fhir_bulk

    export_fhir_bulk(engine, out, deidentify=True, actor=actor)  # its default FHIR base derives from the secret too


@pytest.mark.parametrize("export", [_bundle_export, _fhir_export], ids=["bundle", "fhir"])
def test_an_export_that_creates_the_secret_names_its_user(engine, monkeypatch, tmp_path, export):
    """The first de-identified export of an installation makes the pseudonym secret: its audit row names the user
    who exported, not the installation."""
    monkeypatch.delenv("SKINTRACK_SECRET", raising=False)
    monkeypatch.delenv("SKINTRACK_FHIR_BASE", raising=False)
    with engine.begin() as connection:
        connection.execute(text("DELETE FROM installation_setting"))
    with write_session(engine) as session:
        create_patient(session=session, actor="alice", data=factories.patient())
    export(engine, tmp_path / "out", "erin")
    trail = load_audit(engine, entity="installation_setting")
    assert list(zip(trail["actor"], trail["action"], strict=True)) == [("erin", "create")]
