"""After a large import on PostgreSQL the planner's statistics describe the imported tables (ANALYZE), so that the
first export or cohort after it is planned on real row counts: with none, an export's chunk ran a nested loop over
a hundred million row pairs. Small imports and dry runs leave the statistics to autovacuum."""

from __future__ import annotations

from sqlalchemy import text

from bench.bundle import write_bundle
from db import batch
from db.batch import BatchResult, refresh_statistics
from db.centres import add_centre
from db.engine import make_engine, write_session
from demo import DEMO_CENTRES, generate_registry
from exchange import import_bundle


def estimated_rows(engine, table: str) -> float:
    with engine.connect() as connection:
        return connection.execute(text("SELECT reltuples FROM pg_class WHERE oid = to_regclass(:t)"),
                                  {"t": table}).scalar()


def counted_rows(engine, table: str) -> int:
    with engine.connect() as connection:
        return connection.execute(text(f'SELECT count(*) FROM "{table}"')).scalar()  # noqa: S608 - a constant


def test_a_large_import_analyses_the_tables_it_filled(pg_url, tmp_path):
    engine = make_engine(pg_url)
    try:
        centre = DEMO_CENTRES[0]
        with write_session(engine) as session:
            add_centre(session=session, data={"code": centre.code, "name": centre.name, "country": centre.country},
                       actor="t")
        write_bundle(generate_registry(60, centres=(centre,)), tmp_path / "bundle")
        import_bundle(engine, tmp_path / "bundle", actor="t", dry_run=True)
        assert estimated_rows(engine, "assessment") <= 0  # a dry run writes nothing and analyses nothing
        import_bundle(engine, tmp_path / "bundle", actor="t")
        assessments, measurements = counted_rows(engine, "assessment"), counted_rows(engine, "measurement")
        assert assessments >= batch.ANALYZED_FROM and measurements >= batch.ANALYZED_FROM
        assert estimated_rows(engine, "assessment") == assessments  # ANALYZE counted the table exactly
        assert estimated_rows(engine, "measurement") == measurements
        assert estimated_rows(engine, "audit_event") == counted_rows(engine, "audit_event")
        assert estimated_rows(engine, "patient") <= 0  # 60 patients: below the threshold, left to autovacuum
    finally:
        engine.dispose()


def test_small_batches_and_sqlite_analyse_nothing(pg_url, sqlite_engine):
    engine = make_engine(pg_url)
    try:
        small = BatchResult(created={"assessment": batch.ANALYZED_FROM - 1}, updated={"assessment": 0})
        assert refresh_statistics(engine, small) == []
        large = BatchResult(created={"assessment": 600, "measurement": 5}, updated={"assessment": 400})
        assert refresh_statistics(engine, large) == ["assessment", "audit_event"]
        assert refresh_statistics(sqlite_engine, large) == []
    finally:
        engine.dispose()
