"""Shared fixtures: a real, fresh database per test on SQLite and on PostgreSQL.

SQLite: a migrated template file is made once per session and copied for each test.
PostgreSQL (127.0.0.1:5432, database `test`): one schema per test session (and xdist worker),
migrated once and emptied before each test. Without a server the PostgreSQL cases are skipped with
the reason, except under CI=true, where a missing server is a failure.
"""

from __future__ import annotations

import os
import shutil
import uuid
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import pytest
from sqlalchemy import text

from db.engine import make_engine, upgrade_database

PG_BASE_URL = os.environ.get("SKINTRACK_TEST_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
DATA_TABLES = ("treatment_event", "medication_period", "measurement", "assessment", "patient", "app_user",
               "sign_in_throttle", "user_centre", "centre",
               "audit_event")


def pg_available() -> tuple[bool, str]:
    try:
        engine = make_engine(PG_BASE_URL)
        with engine.connect() as connection:
            connection.execute(text("SELECT 1"))
        engine.dispose()
        return True, ""
    except Exception as error:  # noqa: BLE001 - any failure means "no server"
        return False, f"PostgreSQL at {PG_BASE_URL} is not reachable: {str(error).splitlines()[0]}"


def pg_url_for_schema(schema: str) -> str:
    return f"{PG_BASE_URL}?options=-csearch_path%3D{schema}"


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("template") / "template.db"
    engine = make_engine(f"sqlite:///{path}")
    upgrade_database(engine)
    engine.dispose()
    return path


@pytest.fixture
def sqlite_url(tmp_path, sqlite_template) -> str:
    path = tmp_path / "skintrack.db"
    shutil.copyfile(sqlite_template, path)
    return f"sqlite:///{path}"


@pytest.fixture(scope="session")
def pg_schema_url():
    ok, reason = pg_available()
    if not ok:
        if os.environ.get("CI") == "true":
            pytest.fail(reason + " (CI=true: PostgreSQL is required)")
        pytest.skip(reason)
    worker = os.environ.get("PYTEST_XDIST_WORKER", "main")
    schema = f"t_{worker}_{uuid.uuid4().hex[:8]}"
    admin = make_engine(PG_BASE_URL)
    with admin.begin() as connection:
        # migration 0004 needs btree_gist; made once in public, so no test schema's DROP ... CASCADE takes it
        connection.execute(text("SELECT pg_advisory_xact_lock(7424)"))  # two workers creating it at once
        connection.execute(text("CREATE EXTENSION IF NOT EXISTS btree_gist WITH SCHEMA public"))
        connection.execute(text(f'CREATE SCHEMA "{schema}"'))
    url = pg_url_for_schema(schema)
    engine = make_engine(url)
    upgrade_database(engine)
    engine.dispose()
    yield url
    with admin.begin() as connection:
        connection.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
    admin.dispose()


def empty_pg(engine) -> None:
    with engine.begin() as connection:
        connection.execute(text("ALTER TABLE audit_event DISABLE TRIGGER USER"))
        connection.execute(text(f"TRUNCATE {', '.join(DATA_TABLES)} RESTART IDENTITY CASCADE"))
        connection.execute(text("ALTER TABLE audit_event ENABLE TRIGGER USER"))
        # what migration 0008 leaves in a new database: the one default centre, key 1
        connection.execute(text("INSERT INTO centre (code, name, country, active, version) "
                                "VALUES ('MAIN', 'Main centre', '', true, 1)"))


@pytest.fixture
def pg_url(pg_schema_url) -> str:
    engine = make_engine(pg_schema_url)
    empty_pg(engine)
    engine.dispose()
    return pg_schema_url


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request) -> str:
    """A fresh, migrated database URL: each test using it runs on SQLite and on PostgreSQL."""
    return request.getfixturevalue("sqlite_url" if request.param == "sqlite" else "pg_url")


@pytest.fixture
def engine(db_url):
    engine = make_engine(db_url)
    yield engine
    engine.dispose()


@pytest.fixture
def sqlite_engine(sqlite_url):
    engine = make_engine(sqlite_url)
    yield engine
    engine.dispose()


# --- a role the row-level security and the audit protection bind (not a superuser) ---------------------------


def as_role(url: str, role: str) -> str:
    parts = urlsplit(url)
    return urlunsplit(parts._replace(netloc=f"{role}@{parts.hostname}:{parts.port or 5432}"))


@pytest.fixture
def app_role(pg_url, monkeypatch):
    """A fresh login role with the app's grants on the test schema; dropped afterwards."""
    role = f"skintrack_app_{uuid.uuid4().hex[:8]}"
    monkeypatch.setenv("SKINTRACK_DATABASE_URL", pg_url)
    monkeypatch.delenv("SKINTRACK_MIGRATION_DATABASE_URL", raising=False)
    owner = make_engine(pg_url)
    with owner.begin() as connection:
        connection.execute(text(f"CREATE ROLE {role} LOGIN"))
    import cli

    return_code = cli.main(["db", "grant-app-role", role])  # as the owner: SKINTRACK_DATABASE_URL is pg_url
    assert return_code == cli.EXIT_OK
    engine = make_engine(as_role(pg_url, role))
    yield role, engine, owner
    engine.dispose()
    with owner.begin() as connection:
        connection.execute(text(f"DROP OWNED BY {role}"))
        connection.execute(text(f"DROP ROLE {role}"))
    owner.dispose()
