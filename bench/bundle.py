"""The generated registry as a bundle on disk, and the raw dump that the export is compared with."""

from __future__ import annotations

import csv
from pathlib import Path

from sqlalchemy import Engine, literal_column, select, table

from bench.common import DATA_TABLES
from db.engine import is_sqlite
from models.catalog import SITE_CODES

FILES = (("patients", "patients.csv"), ("skin_scores", "skin_scores.csv"), ("measurements", "measurements.csv"),
         ("medications", "medications.csv"), ("events", "events.csv"))


def write_bundle(registry, folder: Path) -> dict[str, int]:
    """Write the registry's rows as the five bundle CSV files (header = the rows' own columns).

    Returns the rows written per file; an empty list writes no file (a bundle may leave a file out).
    """
    folder.mkdir(parents=True, exist_ok=True)
    written = {}
    for attribute, name in FILES:
        rows = getattr(registry, attribute)
        if not rows:
            continue
        header = list(rows[0])
        with open(folder / name, "w", newline="", encoding="utf-8") as handle:
            writer = csv.writer(handle)
            writer.writerow(header)
            writer.writerows([row[c] for c in header] for row in rows)
        written[name] = len(rows)
    return written


def site_score_count(registry) -> int:
    """Site scores in the registry: the filled site cells of skin_scores (a total-only row has none)."""
    return sum(1 for row in registry.skin_scores for code in SITE_CODES if row[code] != "")


def folder_bytes(folder: Path) -> int:
    return sum(p.stat().st_size for p in folder.rglob("*") if p.is_file())


def raw_dump(engine: Engine, folder: Path, chunk: int = 10_000) -> int:
    """`SELECT *` of the five data tables to CSV files, streamed in chunks; returns the rows written.

    The baseline the export is compared with: no validation, no formatting beyond str(), no joins.
    """
    folder.mkdir(parents=True, exist_ok=True)
    rows = 0
    options = {"yield_per": chunk} if not is_sqlite(engine) else {}
    with engine.connect() as connection:
        for name in DATA_TABLES:
            statement = select(literal_column("*")).select_from(table(name))
            result = connection.execution_options(**options).execute(statement)
            with open(folder / f"{name}.csv", "w", newline="", encoding="utf-8") as handle:
                writer = csv.writer(handle)
                writer.writerow(result.keys())
                while batch := result.fetchmany(chunk):
                    writer.writerows(batch)
                    rows += len(batch)
    return rows
