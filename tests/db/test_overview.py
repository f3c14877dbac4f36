"""The patient list, hand-computed, on SQLite and PostgreSQL: last visit (incomplete ones count), latest visit
mRSS (mean of raters), change since the first visit, active treatments only, patients without visits kept."""

from __future__ import annotations

from datetime import date

import pandas as pd

from analysis.cohort import visit_totals
from analysis.summary import summarise_patients
from db.engine import write_session
from db.overview import load_overview
from db.patients import create_patient, load_patients
from db.treatments import start_medication
from db.visits import delete_assessment, load_assessments, record_assessment
from demo import generate_registry, load_registry
from models.catalog import SITE_CODES
from tests import factories


def test_overview_rows(engine):
    with write_session(engine) as session:
        create_patient(session=session, actor="t", data=factories.patient())
        create_patient(session=session, actor="t", data=factories.patient(patient_id="P-002", diagnosis="NSF"))
        record_assessment(session=session, actor="t", data=factories.assessment())  # 31
        record_assessment(session=session, actor="t", data=factories.total_only(total=24, visit_date="2019-01-10"))
        record_assessment(session=session, actor="t", data=factories.total_only(
            total=27, visit_date="2019-01-10", rater="dr b"))  # visit mRSS 25.5
        incomplete = {**factories.assessment(visit_date="2019-06-01"), SITE_CODES[0]: None}
        record_assessment(session=session, actor="t", data=incomplete)
        start_medication(session=session, actor="t", data=factories.medication())  # ongoing
        start_medication(session=session, actor="t", data=factories.medication(
            drug="methotrexate", dose=15, start_date="2018-01-20", end_date="2018-06-01"))  # ended
    frame = load_overview(engine, today=date(2020, 1, 1)).set_index("patient_id")
    first = frame.loc["P-001"]
    assert first["last_visit"] == pd.Timestamp("2019-06-01")
    assert (first["n_visits"], first["latest_mrss"], first["change"]) == (2, 25.5, -5.5)
    assert first["active_treatments"] == "imatinib 200 mg"
    second = frame.loc["P-002"]
    assert second["n_visits"] == 0 and second["active_treatments"] == "" and second["latest_mrss"] != second[
        "latest_mrss"]


def test_incomplete_only_and_deleted_visits(engine):
    with write_session(engine) as session:
        create_patient(session=session, actor="t", data=factories.patient())
        record_assessment(session=session, actor="t", data={**factories.assessment(), SITE_CODES[0]: None})
        gone = record_assessment(session=session, actor="t", data=factories.assessment(visit_date="2019-01-01"))
        delete_assessment(session=session, expected_version=1,
                          actor="t", assessment_id=gone.assessment_id, reason="wrong patient")
    first = load_overview(engine).set_index("patient_id").loc["P-001"]
    assert first["last_visit"] == pd.Timestamp("2018-01-10") and first["n_visits"] == 0
    assert first["latest_mrss"] != first["latest_mrss"] and first["change"] != first["change"]


def test_overview_matches_the_analysis_of_every_visit(sqlite_engine):
    """The set-based shortcut (only the first and last scored dates are read) gives the numbers of analysis/
    applied to all visits of a demo registry."""
    load_registry(sqlite_engine, generate_registry(25, seed=3), actor="t")
    people = load_patients(sqlite_engine)
    assessments = load_assessments(sqlite_engine)
    expected = summarise_patients(people, visit_totals(assessments)).set_index("patient_id")
    frame = load_overview(sqlite_engine).set_index("patient_id")
    assert list(frame.index) == list(expected.index)
    pd.testing.assert_series_equal(frame["latest_mrss"], expected["latest_mrss"], check_dtype=False)
    pd.testing.assert_series_equal(frame["change"], expected["change"], check_dtype=False)
    assert (frame["n_visits"] == expected["n_visits"]).all()
    last = assessments.groupby("patient_id")["visit_date"].max()
    assert (frame["last_visit"].dropna() == last.reindex(frame["last_visit"].dropna().index)).all()
