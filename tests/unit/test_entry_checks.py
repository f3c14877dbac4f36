"""Visit-entry checks, hand-computed: rater change, site jumps of 2 or more, incomplete assessments, and the
refusal when nothing was entered."""

from __future__ import annotations

from datetime import date

import numpy as np
import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st

from analysis.entry_checks import (
    Previous,
    entry_warnings,
    form_values,
    live_total,
    measures_to_save,
    nothing_entered,
    out_of_range,
    previous_assessment,
    previous_measures,
    same_assessment,
)
from models.catalog import MEASURES_BY_CODE, SITE_CODES

ALL_ONES = dict.fromkeys(SITE_CODES, 1)
PREVIOUS = Previous(visit_date=date(2024, 1, 10), rater="Dr A", sites=dict(ALL_ONES), total=17.0)


def fields(warnings) -> list[str]:
    return [w.field for w in warnings]


def test_live_total_counts_only_scored_sites():
    assert live_total(ALL_ONES) == (17, 17)
    assert live_total({**ALL_ONES, "face": None, "chest": 3}) == (18, 16)
    assert live_total(dict.fromkeys(SITE_CODES)) == (0, 0)


def test_same_rater_same_scores_warns_nothing():
    assert entry_warnings(ALL_ONES, rater="Dr A", previous=PREVIOUS) == []
    assert entry_warnings(ALL_ONES, rater="Dr A", previous=None) == []


def test_rater_change_and_jumps_of_two_or_more_but_not_one():
    scores = {**ALL_ONES, "hand_r": 3, "hand_l": 2, "face": 0}  # +2 warns; +1 and -1 do not
    warnings = entry_warnings(scores, rater="Dr B", previous=PREVIOUS)
    assert fields(warnings) == ["rater", "hand_r"]
    assert "Dr A" in warnings[0].message and "5 points" in warnings[0].message
    assert "1 → 3" in warnings[1].message and "Dorsum of hand (R)" in warnings[1].message


def test_incomplete_assessment_names_the_missing_sites():
    warnings = entry_warnings({**ALL_ONES, "foot_l": None}, rater="Dr A", previous=PREVIOUS)
    assert fields(warnings) == ["sites"]
    assert "16 of 17" in warnings[0].message and "Dorsum of foot (L)" in warnings[0].message


def test_total_only_checks_only_the_rater():
    blank = dict.fromkeys(SITE_CODES)
    assert fields(entry_warnings(blank, rater="Dr B", previous=PREVIOUS, total_only=True)) == ["rater"]


def test_nothing_entered_is_refused_with_the_field():
    blank = dict.fromkeys(SITE_CODES)
    assert nothing_entered(blank, total_only=False, total=None).startswith("sites:")
    assert nothing_entered(blank, total_only=True, total=None).startswith("total:")
    assert nothing_entered(blank, total_only=True, total=27.0) is None
    assert nothing_entered({**blank, "face": 0}, total_only=False, total=None) is None


def rows_of(*visits) -> pd.DataFrame:
    """Assessment rows shaped like db.visits.load_assessment_rows (date, rater, sites, total)."""
    records = []
    for number, (day, rater, score) in enumerate(visits, start=1):
        sites = dict.fromkeys(SITE_CODES, float(score)) if score is not None else dict.fromkeys(SITE_CODES, np.nan)
        records.append({"assessment_id": number, "visit_date": pd.Timestamp(day), "rater": rater, **sites,
                        "total": np.nan if score is None else 17.0 * score, "incomplete": False, "notes": ""})
    return pd.DataFrame(records)


def test_previous_and_same_assessment():
    rows = rows_of(("2024-01-10", "Dr A", 1), ("2024-03-01", "Dr A", 2))
    assert previous_assessment(rows, date(2024, 1, 10)) is None
    before = previous_assessment(rows, date(2024, 3, 1))
    assert (before.visit_date, before.rater, before.total, before.sites["face"]) == (date(2024, 1, 10), "Dr A",
                                                                                      17.0, 1)
    assert previous_assessment(rows, date(2025, 1, 1)).total == 34.0
    assert previous_assessment(rows.iloc[:0], date(2025, 1, 1)) is None
    assert same_assessment(rows, date(2024, 3, 1), "Dr A")["assessment_id"] == 2
    assert same_assessment(rows, date(2024, 3, 1), "Dr B") is None


def test_form_values_of_a_saved_total_only_visit_and_of_a_blank_form():
    rows = rows_of(("2019-01-10", "Dr A", None))
    rows.loc[0, "total"] = 24.0
    measures = pd.DataFrame({"measurement_id": [7], "date": [pd.Timestamp("2019-01-10")], "measure": ["weight"],
                             "side": [""], "value": [61.5], "unit": ["kg"], "rater": ["Dr A"]})
    values = form_values(same_assessment(rows, date(2019, 1, 10), "Dr A"), measures)
    assert values["entry_total_only"] and values["entry_total"] == 24.0 and values["site_face"] is None
    assert values["measure_weight_"] == 61.5 and values["measure_ftp_distance_R"] is None
    blank = form_values(None, measures)
    assert not blank["entry_total_only"] and blank["measure_weight_"] is None and blank["entry_reason"] == ""


def test_measures_to_save_skips_unchanged_values_and_points_at_the_value_it_corrects():
    measures = pd.DataFrame({"measurement_id": [7, 8], "date": [pd.Timestamp("2024-03-01")] * 2,
                             "measure": ["ftp_distance"] * 2, "side": ["R", "L"], "value": [4.0, 6.0],
                             "unit": ["cm"] * 2, "rater": ["Dr A"] * 2})
    typed = {("ftp_distance", "R"): 4.0, ("ftp_distance", "L"): 5.0, ("weight", ""): 70.0, ("hai", "R"): None}
    out = measures_to_save(typed, measures, visit_date=date(2024, 3, 1), rater="Dr A")
    assert [(m.code, m.side, m.value, m.measurement_id) for m in out] == [("ftp_distance", "L", 5.0, 8),
                                                                        ("weight", "", 70.0, None)]
    assert [m.replaces for m in out] == [6.0, None]  # the saved value each one would replace
    other_rater = measures_to_save(typed, measures, visit_date=date(2024, 3, 1), rater="Dr B")
    assert all(m.measurement_id is None for m in other_rater) and len(other_rater) == 3
    # Correcting the visit's rater (Dr A -> Dr B) moves its measures with it: each saved one is corrected.
    moved = measures_to_save(typed, measures, visit_date=date(2024, 3, 1), rater="Dr B",
                             opened=(date(2024, 3, 1), "Dr A"))
    assert [(m.code, m.side, m.value, m.measurement_id) for m in moved] == [
        ("ftp_distance", "R", 4.0, 7), ("ftp_distance", "L", 5.0, 8), ("weight", "", 70.0, None)]


@pytest.mark.parametrize(("code", "value", "flagged"), [
    ("fvc_pct", 400, True), ("fvc_pct", 160, False), ("fvc_pct", 9.9, True), ("ftp_distance", 0, False),
    ("albumin", None, False), ("haq_di", 3.1, True)])
def test_out_of_range_names_the_measure_and_its_range(code, value, flagged):
    message = out_of_range(code, value)
    assert (message is not None) == flagged
    if flagged:
        measure = MEASURES_BY_CODE[code]
        assert message.startswith(measure.label) and f"{measure.low:g}–{measure.high:g}" in message


@given(st.dictionaries(st.sampled_from(SITE_CODES), st.one_of(st.none(), st.integers(0, 3))))
def test_live_total_is_the_sum_and_count_of_the_scored_sites(scores):
    total, scored = live_total(scores)
    assert scored == sum(v is not None for v in scores.values()) and total == sum(v or 0 for v in scores.values())
    assert 0 <= total <= 3 * scored


def test_previous_measures_are_the_latest_before_the_visit():
    measures = pd.DataFrame({"measurement_id": [1, 2, 3], "measure": ["weight"] * 3, "side": [""] * 3,
                             "date": pd.to_datetime(["2024-01-01", "2024-02-01", "2024-03-01"]),
                             "value": [60.0, 61.0, 62.0], "unit": ["kg"] * 3, "rater": ["a", "b", "a"]})
    assert previous_measures(measures, date(2024, 3, 1)) == {("weight", ""): 61.0}
    assert previous_measures(measures, date(2024, 1, 1)) == {}
