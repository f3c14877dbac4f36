"""db/frames.read_bulk on PostgreSQL (rows as one COPY in CSV, parsed by pandas' C reader) gives exactly the frame
read_frame gives — text with commas, quotes, line breaks, "NA" and blanks, dates, numbers to the last bit, flags
— and the export's loads give the same records by either path."""

from __future__ import annotations

from datetime import date

import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import Boolean, Date, Float, String, cast, literal, select, union_all

from db import frames
from db.engine import make_engine
from db.frames import BOOL, DATE, FLOAT, INT, NULLABLE_BOOL, TEXT, read_bulk, read_frame
from db.measures import load_measurements
from db.visits import load_assessments
from demo import generate_registry, load_registry

TYPES = {"t": TEXT, "d": DATE, "f": FLOAT, "i": INT, "b": BOOL, "n": NULLABLE_BOOL}
TEXTS = st.one_of(st.none(), st.text(alphabet=st.characters(codec="utf-8", exclude_characters="\x00",
                                                              exclude_categories=("Cs",)), max_size=12),
                  st.sampled_from(["NA", "null", "NaN", " a ", '"', "a,b", "x\ny", "\\N", "", "1.0", "t"]))
ROWS = st.lists(st.tuples(TEXTS, st.one_of(st.none(), st.dates(min_value=date(1, 1, 1))),
                          st.one_of(st.none(), st.floats(allow_nan=False, allow_infinity=False)),
                          st.one_of(st.none(), st.integers(-2**53, 2**53)), st.booleans(),
                          st.one_of(st.none(), st.booleans())), min_size=1, max_size=15)


def statement(rows):
    """The rows as a SELECT of literals (UNION ALL), typed as the tables' columns are."""
    def one(row):
        t, d, f, i, b, n = row
        values = (("t", t, String), ("d", d, Date), ("f", f, Float), ("i", float(i) if i is not None else None, Float),
                  ("b", b, Boolean), ("n", n, Boolean))
        return select(*(cast(literal(value, kind), kind).label(name) for name, value, kind in values))
    return union_all(*map(one, rows)) if len(rows) > 1 else one(rows[0])


@pytest.fixture
def pg(pg_url):
    engine = make_engine(pg_url)
    yield engine
    engine.dispose()


def same(engine, stmt, types) -> None:
    bulk, plain = read_bulk(engine, stmt, types), read_frame(engine, stmt, types)
    assert list(bulk.dtypes) == list(plain.dtypes)
    pd.testing.assert_frame_equal(bulk, plain)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(rows=ROWS)
def test_bulk_reads_what_read_frame_reads(pg, rows):
    same(pg, statement(rows), TYPES)


def test_hand_picked_values(pg):
    rows = [("a,b", date(2024, 2, 29), 0.1, 7, True, None), (None, None, None, None, False, True),
            ("", date(1900, 1, 1), 1e-300, -3, True, False), ("say \"hi\"\nthere", None, 123456.789, 0, False, None),
            ("NA", date(2099, 12, 31), -0.0, 2**53, True, True)]
    same(pg, statement(rows), TYPES)
    same(pg, statement(rows).subquery().select().where(literal(False)), TYPES)  # no row: the same empty frame


def test_exports_loads_are_the_same_either_way(pg, monkeypatch):
    load_registry(pg, generate_registry(25), actor="t")
    bulk = (load_assessments(pg), load_measurements(pg))  # every patient: read_bulk
    monkeypatch.setattr(frames, "BULK", 10**9)
    monkeypatch.setattr(frames, "read_bulk", read_frame)
    ids = sorted(set(bulk[0]["patient_id"]))
    plain = (load_assessments(pg, ids), load_measurements(pg, ids))
    assert len(bulk[0]) > 100 and len(bulk[1]) > 100
    for one, two in zip(bulk, plain, strict=True):
        pd.testing.assert_frame_equal(one, two)


def test_a_percent_sign_reads_as_itself(pg):
    """Found by the property test above: '%' in a literal came back as '%%' (SQLAlchemy doubles it for the driver's
    placeholders, and COPY was sent without parameters); a patient_id holding one then matched nothing."""
    same(pg, statement([("50%", None, None, None, True, None), ("%%d %s %(x)s", None, None, None, False, None)]),
         TYPES)


def test_an_export_load_finds_a_patient_whose_id_holds_a_percent_sign(pg):
    from db.engine import write_session
    from db.patients import create_patient
    from db.visits import record_assessment

    with write_session(pg) as session:
        for patient_id in ("P1", "P%1", "P%%2"):  # P1: rows for the COPY (an empty one falls back to read_frame)
            create_patient(session=session, data={"patient_id": patient_id, "diagnosis": "dcSSc", "birth_year": 1970},
                           actor="t")
            record_assessment(session=session, data={"patient_id": patient_id, "visit_date": "2024-01-10",
                                                     "rater": "Dr A", "total": 12}, actor="t")
    ids = [f"P{n}" for n in range(frames.BULK)] + ["P%1", "P%%2"]  # enough identifiers for the COPY path
    assert load_assessments(pg, ids)["patient_id"].tolist() == ["P%%2", "P%1", "P1"]
