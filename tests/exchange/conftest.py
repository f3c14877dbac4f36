"""Helpers for the exchange tests: bundles written from text, fresh SQLite databases, table counts."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from sqlalchemy import func, select
from sqlmodel import SQLModel

from db.engine import make_engine
from models import Assessment, AuditEvent, Measurement, MedicationPeriod, Patient, TreatmentEvent

DATA = Path(__file__).resolve().parents[1] / "data"
EXAMPLE = DATA / "example_bundle"
ENDPOINTS_EXAMPLE = DATA / "example_bundle_endpoints"
EXPECTED = DATA / "example_expected"
TABLES = (Patient, Assessment, Measurement, MedicationPeriod, TreatmentEvent, AuditEvent)


def write_bundle(folder: Path, files: dict[str, str | bytes]) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for name, content in files.items():
        (folder / name).write_bytes(content if isinstance(content, bytes) else content.encode("utf-8"))
    return folder


def counts(engine) -> dict[str, int]:
    with engine.connect() as connection:
        return {t.__tablename__: connection.execute(select(func.count()).select_from(t)).scalar_one()
                for t in TABLES}


def snapshot(engine) -> dict[str, list[tuple]]:
    """Every row of every table, in primary-key order: "the database is unchanged" compares two of these."""
    out = {}
    with engine.connect() as connection:
        for table in SQLModel.metadata.sorted_tables:
            out[table.name] = [tuple(row) for row in connection.execute(
                select(table).order_by(*table.primary_key.columns))]
    return out


@pytest.fixture
def fresh_sqlite(sqlite_template, tmp_path):
    """A factory of fresh migrated SQLite engines (each its own file)."""
    engines = []

    def make(name: str = "extra"):
        path = tmp_path / f"{name}-{len(engines)}.db"
        shutil.copyfile(sqlite_template, path)
        engine = make_engine(f"sqlite:///{path}")
        engines.append(engine)
        return engine

    yield make
    for engine in engines:
        engine.dispose()
