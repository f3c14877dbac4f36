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


OLD_ROWS = [  # written with the names of revision 0003
    "INSERT INTO audit_event (id, at, actor, action, entity, reason, detail) VALUES "
    "(1, '2024-01-01 00:00:00', 'admin', 'import', 'bundle', '', '')",
    "INSERT INTO patient (id, identifier, diagnosis, name, mrn, notes, data_version, import_id) VALUES "
    "(7, 'P-7', 'dcSSc', '', '', '', 3, 1)",
    "INSERT INTO assessment (id, patient_id, visit_date, rater, notes, total, incomplete) VALUES "
    "(11, 7, '2020-01-01', 'dr a', '', 12, false)",
    "INSERT INTO measurement (id, patient_id, date, measure, side, value, unit, rater) VALUES "
    "(12, 7, '2020-01-01', 'haq_di', '', 1.5, 'score', '')",
    "INSERT INTO medication_period (id, patient_id, drug, dose, dose_unit, frequency, route, start_date, reason) "
    "VALUES (13, 7, 'imatinib', 400, 'mg', 'daily', 'oral', '2020-01-02', '')",
    "INSERT INTO treatment_event (id, patient_id, date, kind, description, sites, agent, dose_unit, grade, serious) "
    "VALUES (14, 7, '2020-02-01', 'adverse_event', 'periorbital oedema', '', '', '', 1, false)",
]


def test_upgrade_to_0004_keeps_every_row_under_its_new_names_and_downgrade_gives_them_back(engine):
    """0003 -> 0004 renames in place (keys, foreign keys, the audit trail's patient), starts every version at 1
    and leaves an old adverse event's free-text term in its description (term blank); and back again."""
    downgrade_database(engine, "0003")
    with engine.begin() as connection:
        for statement in OLD_ROWS:
            connection.execute(text(statement))
    upgrade_database(engine)
    with engine.connect() as connection:
        patient = connection.execute(text("SELECT patient_key, patient_id, version, data_version, import_id "
                                          "FROM patient")).one()
        assert tuple(patient) == (7, "P-7", 1, 3, 1)
        for table, key in (("assessment", "assessment_id"), ("measurement", "measurement_id"),
                           ("medication_period", "period_id"), ("treatment_event", "event_id")):
            row = connection.execute(text(f"SELECT {key}, patient_key, version FROM {table}")).one()
            assert row[1:] == (7, 1) and row[0] > 10, table
        event = connection.execute(text("SELECT description, term, suspected_drug, relatedness, action_taken, "
                                         "outcome FROM treatment_event")).one()
        assert tuple(event) == ("periorbital oedema", "", "", "", "", "")
        assert connection.execute(text("SELECT audit_id FROM audit_event")).scalar_one() == 1
    downgrade_database(engine, "0003")
    with engine.connect() as connection:
        assert tuple(connection.execute(text("SELECT id, identifier FROM patient")).one()) == (7, "P-7")
        assert connection.execute(text("SELECT patient_id FROM assessment")).scalar_one() == 7
    upgrade_database(engine)


def test_postgresql_refuses_overlapping_periods_by_itself(pg_url):
    """ex_medication_overlap: even a raw INSERT that skips the write path cannot store two live periods of one
    drug that overlap; a deleted one does not count."""
    from sqlalchemy.exc import IntegrityError

    from db.batch import named_error
    from models.errors import OverlappingPeriod

    engine = make_engine(pg_url)
    insert = ("INSERT INTO medication_period (patient_key, drug, dose, dose_unit, frequency, route, start_date, "
              "end_date, reason, deleted_at) VALUES (1, 'imatinib', 400, 'mg', 'daily', '', :start, :end, '', "
              ":deleted)")
    with engine.begin() as connection:
        connection.execute(text("INSERT INTO patient (patient_key, patient_id, diagnosis, name, mrn, notes, "
                                "data_version, centre_key) VALUES (1, 'P-1', 'SSc', '', '', '', 0, 1)"))
        connection.execute(text(insert), {"start": "2020-01-01", "end": "2020-06-30", "deleted": None})
        connection.execute(text(insert), {"start": "2020-07-01", "end": None, "deleted": None})
        connection.execute(text(insert), {"start": "2020-03-01", "end": None, "deleted": "2021-01-01"})
    try:
        with engine.begin() as connection:
            connection.execute(text(insert), {"start": "2020-06-30", "end": "2020-06-30", "deleted": None})
        raise AssertionError("an overlapping period was stored")
    except IntegrityError as error:
        assert "ex_medication_overlap" in str(error)
        named = named_error(error)  # what the write path raises instead: a named refusal, not a traceback
        assert isinstance(named, OverlappingPeriod) and named.field == "start_date"
    engine.dispose()


def test_upgrade_to_0004_stops_on_overlapping_periods_and_names_them(pg_url):
    engine = make_engine(pg_url)
    downgrade_database(engine, "0003")
    with engine.begin() as connection:
        connection.execute(text(OLD_ROWS[1].replace(", import_id) VALUES", ") VALUES").replace(", 3, 1)", ", 3)")))
        for start in ("2020-01-01", "2020-05-01"):
            connection.execute(text("INSERT INTO medication_period (patient_id, drug, dose, dose_unit, frequency, "
                                    "route, start_date, reason) VALUES (7, 'imatinib', 400, 'mg', 'daily', '', "
                                    f"'{start}', '')"))
    try:
        upgrade_database(engine)
        raise AssertionError("the upgrade went through")
    except RuntimeError as error:
        assert "P-7 imatinib 2020-01-01 to ongoing and 2020-05-01 to ongoing" in str(error)
    assert current_revision(engine) == "0003"
    with engine.begin() as connection:
        connection.execute(text("DELETE FROM medication_period WHERE start_date = '2020-05-01'"))
    upgrade_database(engine)
    assert current_revision(engine) == head_revision()
    engine.dispose()


def test_sqlite_connections_keep_foreign_keys_on_after_a_migration(sqlite_url):
    """Migrations run with SQLite's foreign keys off (batch mode recreates tables others point at); the pooled
    connection the app reuses afterwards has them on again."""
    engine = make_engine(sqlite_url)
    downgrade_database(engine, "0007_audit_protection")
    upgrade_database(engine)
    with engine.connect() as connection:
        assert connection.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
    engine.dispose()
