"""Baselines, change from baseline, responders and the per-patient summary, hand-computed."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from analysis import (
    SUMMARY_COLUMNS,
    baselines,
    change_and_percent,
    change_from_baseline,
    first_drug_starts,
    format_summary_for_export,
    improved_flags,
    is_improved,
    is_progressed,
    progressed_flags,
    response_categories,
    response_category,
    summarise_patients,
)
from analysis.frames import ASSESSMENT_COLUMNS, MEDICATION_COLUMNS, PATIENT_COLUMNS, VISIT_COLUMNS
from analysis.patient_header import patient_header
from models.catalog import SITE_CODES


def visits_frame(*rows):
    """VISIT_COLUMNS from (patient_id, date, mrss) tuples; one rater, no site scores."""
    out = pd.DataFrame(
        {
            "patient_id": pd.Series([r[0] for r in rows], dtype="str"),
            "visit_date": pd.to_datetime(pd.Series([r[1] for r in rows], dtype="str")),
            "n_raters": pd.Series([1] * len(rows), dtype="int64"),
            "mrss": pd.Series([r[2] for r in rows], dtype="float64"),
        }
    )
    for code in SITE_CODES:
        out[code] = np.nan
    return out[VISIT_COLUMNS]


def patients_frame(*rows):
    out = pd.DataFrame({c: pd.Series([""] * len(rows), dtype="str") for c in PATIENT_COLUMNS})
    out["patient_id"] = [r[0] for r in rows]
    out["diagnosis"] = [r[1] for r in rows]
    return out


def medications_frame(*rows):
    """MEDICATION_COLUMNS from (patient_id, drug, dose, start, end-or-None) tuples (mg, daily, oral)."""
    out = pd.DataFrame(
        {
            "patient_id": [r[0] for r in rows],
            "drug": [r[1] for r in rows],
            "dose": pd.Series([r[2] for r in rows], dtype="float64"),
            "dose_unit": "mg",
            "frequency": "daily",
            "route": "oral",
            "start_date": pd.to_datetime(pd.Series([r[3] for r in rows], dtype="str")),
            "end_date": pd.to_datetime(pd.Series([r[4] for r in rows], dtype="object")),
            "reason": "",
        },
        index=range(len(rows)),
    )
    return out[MEDICATION_COLUMNS]


def one(frame, patient_id):
    return frame.set_index("patient_id").loc[patient_id]


# --- first_drug_starts -----------------------------------------------------------------------------


def test_first_drug_starts_takes_the_first_period_and_the_exact_name():
    meds = medications_frame(
        ("A", "imatinib", 400, "2018-07-01", None),
        ("A", "imatinib", 200, "2018-01-20", "2018-06-30"),
        ("B", "Imatinib", 400, "2017-01-01", None),  # not the stored name "imatinib"
        ("C", "nintedanib", 150, "2019-01-01", None),
    )
    starts = first_drug_starts(meds, "imatinib")
    assert starts.to_dict() == {"A": pd.Timestamp("2018-01-20")}


# --- baselines -------------------------------------------------------------------------------------


def test_plain_baseline_is_the_earliest_visit_with_an_mrss():
    visits = visits_frame(("A", "2020-05-01", 20), ("A", "2020-01-01", 30), ("B", "2021-01-01", 10))
    base = baselines(visits)
    assert list(base.columns) == ["patient_id", "anchor_date", "baseline_date", "baseline_mrss"]
    assert one(base, "A")["baseline_date"] == pd.Timestamp("2020-01-01")
    assert one(base, "A")["baseline_mrss"] == 30
    assert pd.isna(one(base, "A")["anchor_date"])
    assert one(base, "B")["baseline_mrss"] == 10


ANCHOR = pd.Timestamp("2020-04-01")


@pytest.mark.parametrize(
    ("days_before", "included"),
    [(0, True), (1, True), (90, True), (91, False), (-1, False)],  # −1: the day after the start
)
def test_anchored_baseline_range_is_anchor_minus_90_to_anchor_inclusive(days_before, included):
    day = ANCHOR - pd.Timedelta(days=days_before)
    visits = visits_frame(("A", day.strftime("%Y-%m-%d"), 25))
    base = one(baselines(visits, anchors={"A": ANCHOR}), "A")
    assert base["anchor_date"] == ANCHOR
    if included:
        assert base["baseline_date"] == day and base["baseline_mrss"] == 25
    else:
        assert pd.isna(base["baseline_date"]) and math.isnan(base["baseline_mrss"])


def test_anchored_baseline_takes_the_latest_visit_in_range():
    # 2020-01-10 is 82 days before 2020-04-01 and 2020-03-01 is 31 days before: both in range
    visits = visits_frame(("A", "2020-01-10", 30), ("A", "2020-03-01", 28), ("A", "2020-05-01", 20))
    base = one(baselines(visits, anchors=pd.Series({"A": ANCHOR})), "A")
    assert base["baseline_date"] == pd.Timestamp("2020-03-01") and base["baseline_mrss"] == 28


def test_anchored_baselines_for_patients_without_the_drug_or_without_visits():
    visits = visits_frame(("A", "2020-03-31", 30), ("NODRUG", "2020-03-31", 12))
    base = baselines(visits, anchors={"A": ANCHOR, "NOVISITS": ANCHOR})
    assert base["patient_id"].tolist() == ["A", "NODRUG", "NOVISITS"]
    assert one(base, "A")["baseline_mrss"] == 30
    nodrug = one(base, "NODRUG")  # never took the drug: no anchor, no baseline
    assert pd.isna(nodrug["anchor_date"]) and pd.isna(nodrug["baseline_date"])
    novisits = one(base, "NOVISITS")
    assert novisits["anchor_date"] == ANCHOR and pd.isna(novisits["baseline_date"])


def test_rows_without_an_mrss_are_not_baselines():
    visits = visits_frame(("A", "2020-01-01", np.nan), ("A", "2020-02-01", 14))
    assert one(baselines(visits), "A")["baseline_date"] == pd.Timestamp("2020-02-01")


# --- change_from_baseline --------------------------------------------------------------------------


def test_change_study_day_and_percent():
    visits = visits_frame(("A", "2020-01-10", 31), ("A", "2020-04-12", 27), ("A", "2020-01-01", 33))
    out = change_from_baseline(visits, baselines(visits, anchors={"A": "2020-01-10"}))
    assert out.index.tolist() == [0, 1, 2]  # the rows of `visits`, in their order
    # 2020-01-10 → 2020-04-12: 21 + 29 + 31 + 12 = 93 days; 2020-01-01 is 9 days before
    assert out["study_day"].tolist() == [0, 93, -9]
    assert out["change"].tolist() == [0, -4, 2]  # 31 − 31, 27 − 31, 33 − 31
    # 100 × −4 / 31 = −12.903...; 100 × 2 / 31 = 6.4516...
    assert out["change_pct"].tolist() == pytest.approx([0, -400 / 31, 200 / 31])


def test_baseline_zero_has_no_percent_change():
    visits = visits_frame(("A", "2020-01-01", 0), ("A", "2020-06-01", 6))
    out = change_from_baseline(visits, baselines(visits))
    assert out["change"].tolist() == [0, 6]
    assert out["change_pct"].isna().all()


def test_patient_without_baseline_has_blank_change():
    visits = visits_frame(("A", "2020-01-01", 10), ("B", "2020-01-01", 20))
    out = change_from_baseline(visits, baselines(visits, anchors={"A": "2020-01-05"}))
    b = out[out["patient_id"] == "B"].iloc[0]
    assert pd.isna(b["study_day"]) and math.isnan(b["change"]) and math.isnan(b["change_pct"])
    assert out.loc[0, "study_day"] == 0


# --- responders ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("baseline", "value", "improved", "progressed"),
    [
        (20, 15, False, False),  # −5: not MORE than 5 points (25 % is met)
        (22, 16.5, True, False),  # −5.5 and 100 × −5.5 / 22 = −25.0 %: both met, 25 % inclusive
        (30, 24, False, False),  # −6 but 100 × −6 / 30 = −20 %: under 25 %
        (31, 17, True, False),  # −14, −45.2 % (EX-01)
        (32, 26, False, False),  # −6, −18.75 % (EX-02 at 3 months)
        (0, 6, False, True),  # +6 from 0: more than 5 points, % counts as met
        (0, 5, False, False),  # +5 from 0: not more than 5
        (0, 0, False, False),  # no change; a fall from 0 is impossible
        (20, 25.5, False, True),  # +5.5 and 27.5 %
        (24, 30, False, True),  # +6 and exactly 25 %
        (30, 36, False, False),  # +6 but 20 %
    ],
)
def test_responder_definitions(baseline, value, improved, progressed):
    assert is_improved(baseline, value) is improved
    assert is_progressed(baseline, value) is progressed
    expected = "improved" if improved else "progressed" if progressed else "stable"
    assert response_category(baseline, value) == expected
    assert improved_flags(pd.Series([baseline]), pd.Series([value])).tolist() == [improved]
    assert progressed_flags(pd.Series([baseline]), pd.Series([value])).tolist() == [progressed]
    assert response_categories(pd.Series([baseline]), pd.Series([value])).tolist() == [expected]


def test_responders_decided_on_unrounded_values():
    # baseline 20.004, value 15.0: change −5.004 (> 5 points, 25.01 %) → improved,
    # although both round to a change of −5.00 at 2 decimals
    assert is_improved(20.004, 15.0) is True
    # baseline 19.996 → change −4.996: not improved, though it too rounds to −5.00
    assert is_improved(19.996, 14.996 + 0.004) is False


def test_responders_missing_values_are_undecided():
    assert is_improved(None, 10) is None and is_progressed(10, float("nan")) is None
    assert response_category(None, 3) is None
    flags = improved_flags(pd.Series([np.nan, 30.0]), pd.Series([10.0, 20.0]))
    assert flags.isna().tolist() == [True, False] and bool(flags.iloc[1]) is True
    assert response_categories(pd.Series([np.nan]), pd.Series([1.0])).isna().all()


# --- summarise_patients ----------------------------------------------------------------------------


def test_summary_of_hand_made_patients():
    patients = patients_frame(("A", "dcSSc"), ("B", "lcSSc"), ("C", "NSF"), ("D", "morphea"))
    visits = visits_frame(
        ("A", "2020-01-01", 30),
        ("A", "2020-03-01", 28),
        ("A", "2021-01-01", 22.5),
        ("B", "2020-01-01", 0),
        ("B", "2020-06-01", 6),
        ("C", "2020-02-02", 7),
    )
    summary = summarise_patients(patients, visits)
    assert list(summary.columns) == SUMMARY_COLUMNS
    assert summary["patient_id"].tolist() == ["A", "B", "C", "D"]
    a = one(summary, "A")
    assert a["baseline_mrss"] == 30 and a["latest_mrss"] == 22.5 and a["n_visits"] == 3
    # change 22.5 − 30 = −7.5; 100 × −7.5 / 30 = −25 %: more than 5 points and 25 % → improved
    assert a["change"] == -7.5 and a["change_pct"] == -25
    assert bool(a["improved"]) is True and bool(a["progressed"]) is False
    b = one(summary, "B")  # baseline 0: no %, +6 → progressed
    assert b["change"] == 6 and math.isnan(b["change_pct"]) and bool(b["progressed"]) is True
    c = one(summary, "C")  # one visit: baseline = latest, change 0, stable
    assert c["change"] == 0 and c["change_pct"] == 0 and bool(c["improved"]) is False
    d = one(summary, "D")  # no scores at all
    assert d["diagnosis"] == "morphea" and d["n_visits"] == 0
    assert pd.isna(d["baseline_date"]) and pd.isna(d["latest_date"]) and pd.isna(d["improved"])


def test_anchored_summary_counts_all_visits_and_blanks_responders_without_baseline():
    patients = patients_frame(("A", "dcSSc"), ("B", "dcSSc"), ("N", "lcSSc"))
    visits = visits_frame(
        ("A", "2019-06-01", 40),  # before the anchored range: still counted in n_visits
        ("A", "2020-03-15", 31),  # baseline: 17 days before the anchor
        ("A", "2021-01-01", 17),
        ("B", "2020-06-01", 20),  # only after B's anchor: no baseline
        ("N", "2020-01-01", 9),  # never took the drug
    )
    anchors = {"A": "2020-04-01", "B": "2020-04-01"}
    summary = summarise_patients(patients, visits, anchors=anchors)
    a = one(summary, "A")
    assert a["anchor_date"] == pd.Timestamp("2020-04-01")
    assert a["baseline_date"] == pd.Timestamp("2020-03-15") and a["n_visits"] == 3
    assert a["change"] == -14 and a["change_pct"] == pytest.approx(-1400 / 31)  # −45.16 %
    b = one(summary, "B")
    assert pd.isna(b["baseline_date"]) and math.isnan(b["change"]) and pd.isna(b["improved"])
    assert b["latest_mrss"] == 20 and b["n_visits"] == 1  # latest stays filled
    n = one(summary, "N")
    assert pd.isna(n["anchor_date"]) and pd.isna(n["baseline_mrss"]) and n["latest_mrss"] == 9


def test_format_summary_rounds_and_writes_yes_no():
    patients = patients_frame(("A", "dcSSc"), ("B", "dcSSc"), ("C", "dcSSc"))
    visits = visits_frame(
        ("A", "2020-01-01", 31),
        ("A", "2021-01-01", 17),
        ("B", "2020-01-01", 3 * 10 + 1 / 3),  # a three-rater mean: 30.333...
        ("B", "2021-01-01", 23.125),
    )
    out = format_summary_for_export(summarise_patients(patients, visits))
    a, b, c = (one(out, p) for p in "ABC")
    assert a["change_pct"] == -45.2  # −1400 / 31 = −45.16 → −45.2
    assert (a["improved"], a["progressed"]) == ("yes", "no")
    assert b["baseline_mrss"] == 30.33  # 30.333... → 30.33
    # 23.125 − 30.333... = −7.2083 → −7.21; 100 × −7.2083 / 30.333 = −23.76 % → −23.8
    assert b["change"] == -7.21 and b["change_pct"] == -23.8
    assert b["latest_mrss"] == 23.13  # 23.125 exactly: half away from zero → 23.13
    assert (b["improved"], b["progressed"]) == ("no", "no")  # 23.8 % < 25 %
    assert (c["improved"], c["progressed"]) == ("", "")


def test_empty_cohort_gives_well_formed_frames():
    visits = visits_frame()
    patients = patients_frame(("A", "dcSSc"))
    summary = summarise_patients(patients, visits, anchors={"A": "2020-01-01"})
    assert list(summary.columns) == SUMMARY_COLUMNS
    assert summary.loc[0, "anchor_date"] == pd.Timestamp("2020-01-01")  # on the drug, never scored
    assert summary.loc[0, "n_visits"] == 0 and pd.isna(summary.loc[0, "baseline_date"])
    assert baselines(visits).empty and baselines(visits, anchors={}).empty
    assert change_from_baseline(visits, baselines(visits)).empty


# --- the one change formula -----------------------------------------------------------------------


def test_change_and_percent_scalars():
    change, pct = change_and_percent(30, 19)
    assert change == -11 and pct == pytest.approx(-36.666667, abs=1e-6)
    change, pct = change_and_percent(0, 4)  # a baseline of 0 has no % change
    assert change == 4 and math.isnan(pct)
    assert all(math.isnan(x) for x in change_and_percent(None, 4))
    assert all(math.isnan(x) for x in change_and_percent(20, float("nan")))


def test_change_and_percent_vectorised():
    change, pct = change_and_percent(pd.Series([20.0, 0.0, np.nan]), pd.Series([25.0, 3.0, 10.0]))
    assert change[:2].tolist() == [5, 3] and math.isnan(change[2])
    assert pct[0] == 25 and math.isnan(pct[1]) and math.isnan(pct[2])


def test_summary_change_visits_change_and_header_agree():
    # one formula behind summary.csv, visits.csv and the chart header
    visits = visits_frame(("P", "2020-01-01", 24.0), ("P", "2021-01-01", 15.5))
    summary = summarise_patients(patients_frame(("P", "dcSSc")), visits).iloc[0]
    with_change = change_from_baseline(visits, baselines(visits)).iloc[-1]
    rows = pd.DataFrame({"patient_id": ["P", "P"], "visit_date": visits["visit_date"], "rater": "",
                         "total": [24.0, 15.5], "incomplete": False})
    for code in SITE_CODES:
        rows[code] = np.nan
    header = patient_header({"diagnosis": "dcSSc"}, rows[ASSESSMENT_COLUMNS])
    assert summary["change"] == with_change["change"] == header.change == -8.5
    assert summary["change_pct"] == with_change["change_pct"] == header.change_pct == pytest.approx(-35.416667)
