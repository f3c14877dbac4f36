"""The chart header, hand-computed: baseline = first scored visit, change and % from it, category per
CLINICAL.md, disease duration from the diagnosis date, rater warning when raters differ."""

from __future__ import annotations

from datetime import date

import pandas as pd
import pytest

from analysis.patient_header import patient_header
from models.catalog import SITE_CODES


def assessments(rows) -> pd.DataFrame:
    """rows: (date, rater, total or None for incomplete)"""
    records = [{"patient_id": "P", "visit_date": pd.Timestamp(day), "rater": rater, **dict.fromkeys(SITE_CODES),
                "total": total, "incomplete": total is None} for day, rater, total in rows]
    return pd.DataFrame(records, columns=["patient_id", "visit_date", "rater", *SITE_CODES, "total", "incomplete"])


PATIENT = {"patient_id": "P", "diagnosis": "NSF", "diagnosis_date": date(2020, 1, 1)}


def test_two_raters_then_improvement():
    # baseline visit: raters 24 and 27 -> 25.5; latest 12 -> change -13.5, -52.9 % -> improved
    frame = assessments([("2021-01-10", "a", 24), ("2021-01-10", "b", 27), ("2021-06-01", "a", None),
                         ("2022-01-10", "a", 12)])
    header = patient_header(PATIENT, frame, today=date(2022, 7, 2))
    assert header.diagnosis_label == "Nephrogenic systemic fibrosis"
    assert header.disease_years == 2.5
    assert (header.baseline_mrss, header.latest_mrss, header.n_visits) == (25.5, 12.0, 2)
    assert header.baseline_date == date(2021, 1, 10) and header.latest_date == date(2022, 1, 10)
    assert header.change == -13.5
    assert header.change_pct == pytest.approx(-52.941, abs=1e-3)
    assert header.category == "improved"
    assert header.raters == ["a", "b"] and "2 raters" in header.rater_warning


@pytest.mark.parametrize(("latest", "category"), [(25, "stable"), (26, "progressed"), (15, "stable"), (14, "improved")])
def test_categories_at_the_thresholds(latest, category):
    # baseline 20: progressed needs > +5 and >= +25 % (26); improved needs < -5 and <= -25 % (14: -6, -30 %)
    frame = assessments([("2021-01-10", "a", 20), ("2022-01-10", "a", latest)])
    assert patient_header(PATIENT, frame).category == category


def test_baseline_zero_has_no_percentage_and_no_visits_has_no_scores():
    header = patient_header(PATIENT, assessments([("2021-01-10", "a", 0), ("2022-01-10", "a", 7)]))
    assert header.change == 7 and header.change_pct is None and header.category == "progressed"
    empty = patient_header({"diagnosis": "morphea"}, assessments([]))
    assert empty.n_visits == 0 and empty.baseline_mrss is None and empty.category is None
    assert empty.disease_years is None and empty.rater_warning is None
    single = patient_header(PATIENT, assessments([("2021-01-10", "a", 9)]))
    assert single.baseline_mrss == single.latest_mrss == 9 and single.change is None and single.category is None
