"""A measure's value at a date: the ±30-day rule of ENDPOINTS.md, hand-computed."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from analysis import values_at
from tests.unit.endpoint_frames import day, measurements


def at(m: pd.DataFrame, when, *codes, patient="P") -> list[float]:
    points = pd.DataFrame({"patient_id": [patient], "date": [when if when is pd.NaT else day(when)]})
    return values_at(m, points, codes or ("fvc_pct",)).iloc[0].tolist()


def test_the_same_day_value():
    assert at(measurements(("P", 0, "fvc_pct", 72)), 0) == [72]


def test_the_closest_date_wins():
    m = measurements(("P", -20, "fvc_pct", 60), ("P", 5, "fvc_pct", 70), ("P", 12, "fvc_pct", 80))
    assert at(m, 0) == [70]


def test_a_tie_takes_the_earlier_date():
    m = measurements(("P", -10, "fvc_pct", 68), ("P", 10, "fvc_pct", 72))
    assert at(m, 0) == [68]
    # recorded in the other order: the same
    assert at(measurements(("P", 10, "fvc_pct", 72), ("P", -10, "fvc_pct", 68)), 0) == [68]


@pytest.mark.parametrize(("offset", "found"), [(30, True), (-30, True), (31, False), (-31, False)])
def test_within_30_days_both_ends_included(offset, found):
    value = at(measurements(("P", offset, "fvc_pct", 70)), 0)[0]
    assert (value == 70) if found else math.isnan(value)


def test_several_values_on_one_date_count_as_their_mean():
    m = measurements(("P", 3, "patient_global", 4, "dr a"), ("P", 3, "patient_global", 7, "dr b"),
                     ("P", -3, "patient_global", 0))  # the earlier date of a tie, but a single value
    assert at(m, 0, "patient_global") == [0]
    assert at(m, 3, "patient_global") == [5.5]


def test_the_closest_date_is_chosen_before_averaging():
    # the mean is of the values of the chosen date only, never across dates
    m = measurements(("P", 2, "crp", 1.0), ("P", 2, "crp", 3.0), ("P", 5, "crp", 100.0))
    assert at(m, 0, "crp") == [2.0]


def test_other_patients_and_measures_never_leak():
    m = measurements(("Q", 0, "fvc_pct", 99), ("P", 0, "dlco_pct", 55), ("P", 40, "fvc_pct", 71))
    assert math.isnan(at(m, 0)[0])
    assert at(m, 0, "fvc_pct", "dlco_pct", "crp")[1:2] == [55]


def test_missing_date_or_value_is_not_recorded():
    m = measurements(("P", 0, "fvc_pct", np.nan))
    assert math.isnan(at(m, 0)[0])
    assert math.isnan(at(measurements(("P", 0, "fvc_pct", 70)), pd.NaT)[0])


def test_aligned_to_the_points_index_with_one_column_per_measure():
    m = measurements(("A", 0, "fvc_pct", 70), ("B", 100, "fvc_pct", 80), ("B", 100, "haq_di", 1.5))
    points = pd.DataFrame({"patient_id": ["B", "A", "B"], "date": [day(95), day(0), day(200)]}, index=[7, 3, 5])
    out = values_at(m, points, ["haq_di", "fvc_pct"])
    assert out.index.tolist() == [7, 3, 5] and out.columns.tolist() == ["haq_di", "fvc_pct"]
    assert out["fvc_pct"].tolist()[:2] == [80, 70] and math.isnan(out["fvc_pct"].iloc[2])
    assert out["haq_di"].iloc[0] == 1.5 and out["haq_di"].iloc[1:].isna().all()


def test_no_points_or_no_measurements():
    m = measurements(("A", 0, "fvc_pct", 70))
    empty_points = pd.DataFrame({"patient_id": pd.Series([], dtype="str"),
                                 "date": pd.Series([], dtype="datetime64[us]")})
    assert values_at(m, empty_points, ["fvc_pct"]).empty
    points = pd.DataFrame({"patient_id": ["A"], "date": [day(0)]})
    assert values_at(measurements(), points, ["fvc_pct"])["fvc_pct"].isna().all()


def _by_the_words(rows, patient, when, code):
    """ENDPOINTS.md's sentence, read literally: the closest date within ±30 days, the earlier on a tie,
    the mean of that date's values."""
    dates = sorted({d for p, d, c, v in rows if p == patient and c == code and abs(d - when) <= 30},
                   key=lambda d: (abs(d - when), d))
    if not dates:
        return math.nan
    values = [v for p, d, c, v in rows if p == patient and c == code and d == dates[0]]
    return sum(values) / len(values)


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(st.sampled_from(["A", "B"]), st.integers(-80, 80), st.sampled_from(["crp", "haq_di"]),
                          st.integers(0, 24).map(lambda v: v / 8)), max_size=25),
       st.lists(st.tuples(st.sampled_from(["A", "B", "C"]), st.integers(-100, 100)), min_size=1, max_size=8))
def test_values_at_follows_the_rule_as_written(rows, wanted):
    points = pd.DataFrame({"patient_id": [p for p, _ in wanted], "date": [day(d) for _, d in wanted]})
    out = values_at(measurements(*rows), points, ["crp", "haq_di"])
    for i, (patient, when) in enumerate(wanted):
        for code in ("crp", "haq_di"):
            expected = _by_the_words(rows, patient, when, code)
            got = out[code].iloc[i]
            assert (math.isnan(got) and math.isnan(expected)) or got == pytest.approx(expected)
