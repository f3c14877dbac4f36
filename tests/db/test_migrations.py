"""Alembic migrations up and down on both databases; the models and the migrations agree."""

from __future__ import annotations

import subprocess
import sys
import uuid
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect, text
from sqlmodel import SQLModel

from db.engine import (
    current_revision,
    downgrade_database,
    ensure_schema,
    head_revision,
    make_engine,
    upgrade_database,
)
from tests.conftest import PG_BASE_URL, pg_url_for_schema

ROOT = Path(__file__).resolve().parents[2]

TABLES = {"patient", "assessment", "measurement", "medication_period", "treatment_event", "app_user",
          "audit_event"}


def test_down_to_base_and_up_again(engine):
    assert current_revision(engine) == head_revision()
    downgrade_database(engine, "base")
    assert current_revision(engine) is None
    assert not TABLES & set(inspect(engine).get_table_names())
    upgrade_database(engine)
    assert TABLES <= set(inspect(engine).get_table_names())
    ensure_schema(engine)  # current: a no-op
    assert current_revision(engine) == head_revision()


def test_models_match_the_migrations(engine):
    """A model change without a migration shows up here (autogenerate finds no difference)."""
    with engine.connect() as connection:
        differences = compare_metadata(MigrationContext.configure(connection), SQLModel.metadata)
    assert differences == []


def test_indexes_for_patient_lookups_exist(engine):
    names = {index["name"] for index in inspect(engine).get_indexes("assessment")}
    assert {"ux_assessment_key", "ix_assessment_patient_date", "ix_assessment_visit_date"} <= names


def _migrate_at_once(url: str, processes: int = 3) -> None:
    """Start `processes` interpreters that each migrate `url` as the app does on start-up."""
    code = ("import sys; from db.engine import ensure_schema, make_engine; "
            "ensure_schema(make_engine(sys.argv[1]))")
    started = [subprocess.Popen([sys.executable, "-c", code, url], cwd=ROOT, stderr=subprocess.PIPE, text=True)
               for _ in range(processes)]
    for process in started:
        _, err = process.communicate(timeout=240)
        assert process.returncode == 0, err[-2000:]


@pytest.mark.slow
def test_processes_starting_on_a_new_sqlite_file_at_once_all_migrate_it(tmp_path):
    url = f"sqlite:///{tmp_path / 'new.db'}"
    _migrate_at_once(url)
    engine = make_engine(url)
    assert current_revision(engine) == head_revision()
    assert TABLES <= set(inspect(engine).get_table_names())
    engine.dispose()


@pytest.mark.slow
def test_processes_starting_on_a_new_postgresql_schema_at_once_all_migrate_it(pg_schema_url):
    schema = f"t_migrate_{uuid.uuid4().hex[:8]}"
    admin = make_engine(PG_BASE_URL)
    with admin.begin() as connection:
        connection.execute(text(f'CREATE SCHEMA "{schema}"'))
    try:
        url = pg_url_for_schema(schema)
        _migrate_at_once(url)
        engine = make_engine(url)
        assert current_revision(engine) == head_revision()
        assert TABLES <= set(inspect(engine).get_table_names())
        engine.dispose()
    finally:
        with admin.begin() as connection:
            connection.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()
