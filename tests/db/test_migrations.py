"""Alembic migrations up and down on both databases; the models and the migrations agree."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect
from sqlmodel import SQLModel

from db.engine import current_revision, downgrade_database, ensure_schema, head_revision, upgrade_database

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
