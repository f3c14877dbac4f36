"""An export is the same file whichever database it comes from: SQLite, or PostgreSQL under a locale whose
collation sorts text differently (ICU English puts `dr a` before `Dr B`, code points put `Dr B` first)."""

from __future__ import annotations

import uuid

import pytest
from sqlalchemy import text
from sqlalchemy.engine import make_url

from db.engine import make_engine, upgrade_database
from exchange import export_bundle, import_bundle
from exchange.exporter import SHEET_ORDER
from tests.conftest import PG_BASE_URL, pg_schema_url  # noqa: F401 - the fixture decides skip or fail
from tests.exchange.conftest import write_bundle

BUNDLE = {
    "patients.csv": "patient_id,diagnosis\nb-2,SSc\nB-1,SSc\n_a,NSF\na-3,morphea\n",
    "skin_scores.csv": "patient_id,visit_date,rater,total\n"
                       "b-2,2020-01-01,dr a,10\nb-2,2020-01-01,Dr B,12\nb-2,2020-01-01,_x,11\n"
                       "B-1,2020-01-01,Dr B,3\nB-1,2020-01-01,dr a,4\n_a,2020-03-01,,20\na-3,2020-03-01,Z,1\n",
    "measurements.csv": "patient_id,date,measure,side,value,rater\n"
                        "b-2,2020-01-01,ftp_distance,R,2,dr a\nb-2,2020-01-01,ftp_distance,R,3,Dr B\n",
    "medications.csv": "patient_id,drug,dose,dose_unit,frequency,start_date\n"
                       "b-2,imatinib,200,mg,daily,2020-01-01\nb-2,methotrexate,15,mg,weekly,2020-01-01\n",
    "events.csv": "patient_id,date,kind,description,agent,dose,dose_unit,sites\n"
                  "b-2,2020-02-01,steroid_injection,right hand,triamcinolone,40,mg,hand_r\n"
                  "b-2,2020-02-01,steroid_injection,Left hand,Triamcinolone,40,mg,hand_r\n",
}


@pytest.fixture
def icu_engine(pg_schema_url):  # noqa: F811 - requesting it skips (or, under CI, fails) without a server
    """A PostgreSQL database of its own whose default collation is ICU English (not code-point order)."""
    name = f"skintrack_icu_{uuid.uuid4().hex[:8]}"
    admin = make_engine(PG_BASE_URL)
    with admin.connect() as connection:
        connection.execution_options(isolation_level="AUTOCOMMIT").execute(text(
            f"CREATE DATABASE {name} TEMPLATE template0 ENCODING 'UTF8' LOCALE_PROVIDER icu ICU_LOCALE 'en' "
            "LOCALE 'C.UTF-8'"))
    engine = make_engine(make_url(PG_BASE_URL).set(database=name).render_as_string(hide_password=False))
    upgrade_database(engine)
    yield engine
    engine.dispose()
    with admin.connect() as connection:
        connection.execution_options(isolation_level="AUTOCOMMIT").execute(text(f"DROP DATABASE {name}"))
    admin.dispose()


def test_the_same_files_from_sqlite_and_from_a_postgresql_with_another_collation(icu_engine, sqlite_engine,
                                                                                  tmp_path, monkeypatch):
    monkeypatch.setenv("SKINTRACK_SECRET", "one key for both installations")
    with icu_engine.connect() as connection:  # the premise: this server orders text otherwise
        ordered = connection.execute(text("SELECT x FROM (VALUES ('dr a'), ('Dr B')) AS v(x) ORDER BY x")).scalars()
        assert list(ordered) == ["dr a", "Dr B"]
    folder = write_bundle(tmp_path / "in", BUNDLE)
    for engine in (icu_engine, sqlite_engine):
        import_bundle(engine, folder, actor="t")
    for deidentify in (False, True):
        export_bundle(icu_engine, tmp_path / f"pg-{deidentify}", deidentify=deidentify, actor="t")
        export_bundle(sqlite_engine, tmp_path / f"sqlite-{deidentify}", deidentify=deidentify, actor="t")
        for name in SHEET_ORDER:
            pg = (tmp_path / f"pg-{deidentify}" / name).read_bytes()
            assert pg == (tmp_path / f"sqlite-{deidentify}" / name).read_bytes(), (name, deidentify)
    raters = [line.split(",")[2] for line in (tmp_path / "pg-False" / "skin_scores.csv").read_text().splitlines()[1:]]
    assert raters == ["Dr B", "dr a", "", "Z", "Dr B", "_x", "dr a"]  # B-1, _a, a-3, b-2: code points, raters too
