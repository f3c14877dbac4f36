"""Import and export on a generated registry, against a raw `SELECT *`-to-CSV dump of the same tables.

    python -m bench.exchange_bench --patients 20000 [--url URL]

Prints figures (never asserts timings): load rate, export time, raw dump time and their ratio.
"""

from __future__ import annotations

import argparse
import csv
import tempfile
import time
from pathlib import Path

from sqlalchemy import text

from db.engine import make_engine, upgrade_database
from demo import generate_registry, load_registry
from exchange import export_bundle, import_bundle

TABLES = ("patient", "assessment", "measurement", "medication_period", "treatment_event")


def raw_dump(engine, folder: Path) -> None:
    with engine.connect() as connection:
        for table in TABLES:
            statement = text(f"SELECT * FROM {table}")  # noqa: S608 (fixed table names)
            result = connection.execution_options(stream_results=True).execute(statement)
            with open(folder / f"{table}.csv", "w", newline="", encoding="utf-8") as handle:
                writer = csv.writer(handle)
                writer.writerow(result.keys())
                while rows := result.fetchmany(10000):
                    writer.writerows(rows)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--patients", type=int, default=2000)
    parser.add_argument("--url", default=None, help="an empty database (default: a temporary SQLite file)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        root = Path(folder)
        engine = make_engine(args.url or f"sqlite:///{root / 'bench.db'}")
        upgrade_database(engine)
        started = time.perf_counter()
        registry = generate_registry(args.patients)
        print(f"generated {args.patients:,} patients in {time.perf_counter() - started:.1f} s: {registry.counts()}")
        started = time.perf_counter()
        load_registry(engine, registry, actor="bench")
        seconds = time.perf_counter() - started
        scores = len(registry.skin_scores)
        print(f"load_registry: {seconds:.1f} s ({scores * 17 / seconds:,.0f} site scores/s incl. all tables)")
        del registry
        (root / "raw").mkdir()
        started = time.perf_counter()
        raw_dump(engine, root / "raw")
        raw = time.perf_counter() - started
        started = time.perf_counter()
        export_bundle(engine, root / "export", actor="bench")
        exported = time.perf_counter() - started
        print(f"raw SELECT * dump: {raw:.2f} s; export (bundle + derived): {exported:.2f} s; "
              f"ratio {exported / raw:.2f}")
        target = make_engine(f"sqlite:///{root / 'target.db'}")
        upgrade_database(target)
        started = time.perf_counter()
        report = import_bundle(target, root / "export", actor="bench")
        seconds = time.perf_counter() - started
        print(f"import of the export: {seconds:.1f} s, "
              f"{report.created['skin_scores.csv'] * 17 / seconds:,.0f} site scores/s (all five files)")


if __name__ == "__main__":
    main()
