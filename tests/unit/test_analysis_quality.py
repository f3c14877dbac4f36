"""Data-quality drill-downs for the cohort screen, hand-computed."""

from __future__ import annotations

import numpy as np
import pandas as pd

from analysis import (
    baselines,
    change_from_baseline,
    implausible_measurements,
    incomplete_assessments,
    missed_windows,
    rater_changes,
    site_jumps,
    visit_scores,
)
from analysis.frames import ASSESSMENT_COLUMNS, MEASUREMENT_COLUMNS
from models.catalog import SITE_CODES


def assessment(patient_id, visit_date, rater="", sites=None, total=None):
    """An ASSESSMENT_COLUMNS row: `sites` overrides of an all-1 (total 17) score; `total` → total-only."""
    row = {"patient_id": patient_id, "visit_date": pd.Timestamp(visit_date), "rater": rater}
    if total is not None:
        row.update({code: np.nan for code in SITE_CODES})
        row["total"] = float(total)
    else:
        scores = {code: 1.0 for code in SITE_CODES} | (sites or {})
        row.update(scores)
        complete = not any(np.isnan(v) for v in scores.values())
        row["total"] = float(sum(scores.values())) if complete else np.nan
    row["incomplete"] = bool(np.isnan(row["total"]))
    return row


def frame(*rows):
    out = pd.DataFrame(list(rows), columns=ASSESSMENT_COLUMNS)
    out["patient_id"] = out["patient_id"].astype("str")
    out["rater"] = out["rater"].astype("str")
    return out


def test_incomplete_assessments_lists_missing_sites():
    rows = frame(
        assessment("B", "2020-01-01", "x", sites={"foot_r": np.nan, "foot_l": np.nan}),
        assessment("A", "2020-01-01", "x"),  # complete
        assessment("A", "2020-02-01", "", total=12),  # total-only: not incomplete
    )
    out = incomplete_assessments(rows)
    assert len(out) == 1
    assert out.loc[0, "patient_id"] == "B" and out.loc[0, "n_sites_scored"] == 15
    assert out.loc[0, "missing_sites"] == "foot_r;foot_l"


def test_rater_changes_between_consecutive_named_visits():
    rows = frame(
        assessment("A", "2020-01-01", "dr a"),
        assessment("A", "2020-02-01", "dr a"),  # same rater: fine
        assessment("A", "2020-03-01", ""),  # blank rater: ignored
        assessment("A", "2020-04-01", "dr b"),  # dr a → dr b: a change
        assessment("A", "2020-05-01", "dr b"),
        assessment("A", "2020-05-01", "dr c"),  # {b} → {b, c}: a change, sharing dr b
        assessment("A", "2020-06-01", "dr d", sites={"face": np.nan}),  # incomplete: not counted
        assessment("B", "2020-01-01", "dr b"),  # another patient: no comparison with A
    )
    out = rater_changes(rows)
    assert out["to_date"].tolist() == [pd.Timestamp("2020-04-01"), pd.Timestamp("2020-05-01")]
    assert out["from_date"].tolist() == [pd.Timestamp("2020-02-01"), pd.Timestamp("2020-04-01")]
    assert out["from_raters"].tolist() == ["dr a", "dr b"]
    assert out["to_raters"].tolist() == ["dr b", "dr b; dr c"]
    assert out["any_shared"].tolist() == [False, True]


def test_site_jumps_of_two_or_more_between_consecutive_scored_visits():
    rows = frame(
        assessment("A", "2020-01-01", "x", sites={"hand_r": 3, "face": 0}),
        assessment("A", "2020-02-01", "x", total=20),  # total-only: skipped for site chains
        assessment("A", "2020-03-01", "x", sites={"hand_r": 1, "face": 1}),  # hand_r 3 → 1: |−2| ≥ 2
        assessment("A", "2020-04-01", "x", sites={"hand_r": 2, "face": 3, "chest": 3}),
        assessment("A", "2020-04-01", "y", sites={"hand_r": 2, "face": 3, "chest": 2}),
        # 04-01: face mean (3 + 3) / 2 = 3, from 1: +2 → a jump;
        # chest mean (3 + 2) / 2 = 2.5, from 1: +1.5 → not a jump
        assessment("B", "2020-01-01", "x", sites={"hand_r": 0}),  # B's first visit: not compared with A
    )
    out = site_jumps(rows)
    assert out[["patient_id", "site"]].values.tolist() == [["A", "face"], ["A", "hand_r"]]  # catalogue order
    face = out.iloc[0]
    assert (face["from_date"], face["to_date"]) == (pd.Timestamp("2020-03-01"), pd.Timestamp("2020-04-01"))
    assert (face["from_score"], face["to_score"]) == (1.0, 3.0)
    hand = out.iloc[1]
    assert (hand["from_date"], hand["to_date"]) == (pd.Timestamp("2020-01-01"), pd.Timestamp("2020-03-01"))
    assert (hand["from_score"], hand["to_score"]) == (3.0, 1.0)


def test_site_jumps_from_visits_and_threshold():
    rows = frame(
        assessment("A", "2020-01-01", "x", sites={"chest": 0}),
        assessment("A", "2020-03-01", "x", sites={"chest": 1}),
    )
    visits = visit_scores(rows)
    assert site_jumps(visits).empty  # a move of 1 is under SITE_JUMP = 2
    out = site_jumps(visits, threshold=1)
    assert out["site"].tolist() == ["chest"]


def test_missed_windows_only_when_follow_up_went_past_the_window():
    visits = pd.DataFrame(
        {
            "patient_id": pd.Series(["A", "A", "B", "B", "C", "C", "D"], dtype="str"),
            "visit_date": pd.to_datetime(
                [
                    "2020-01-01", "2020-08-01", "2020-01-01", "2020-04-01", "2020-01-01", "2020-05-16",
                    "2020-01-01",
                ]
            ),  # fmt: skip
            "n_raters": 1,
            "mrss": [20.0, 18, 20, 18, 20, 18, 20],
        }
    )
    out = missed_windows(change_from_baseline(visits, baselines(visits)), [3])
    # month 3 = days 46..136. A: seen on day 213 only → missed. B: day 91 → seen.
    # C: day 136 (2020-05-16) is the window's last day → seen. D: only the baseline → not yet due.
    assert out["patient_id"].tolist() == ["A"]
    assert out.iloc[0][["target_day", "window_start_day", "window_end_day", "last_study_day"]].tolist() == [
        91, 46, 136, 213,
    ]  # fmt: skip
    # the same window in the patient's calendar, to look up on the chart: baseline 2020-01-01 + 46 / 136 / 213 days
    assert out.iloc[0][["baseline_date", "window_start_date", "window_end_date", "last_visit_date"]].tolist() == [
        pd.Timestamp("2020-01-01"), pd.Timestamp("2020-02-16"), pd.Timestamp("2020-05-16"), pd.Timestamp("2020-08-01"),
    ]  # fmt: skip


def test_implausible_measurements():
    measurements = pd.DataFrame(
        [
            ("A", "2020-01-01", "ftp_distance", "R", 4.0, "cm", ""),  # fine: 0–15
            ("A", "2020-01-01", "ftp_distance", "L", 15.0, "cm", ""),  # the upper end is plausible
            ("A", "2020-01-01", "fvc_pct", "", 9.0, "%", ""),  # below 10
            ("A", "2020-01-01", "oral_aperture", "", 81.0, "mm", ""),  # above 80
            ("A", "2020-01-01", "shoe_size", "", 42.0, "", ""),  # unknown measure
            ("A", "2020-01-01", "weight", "", np.nan, "kg", ""),  # no value
        ],
        columns=MEASUREMENT_COLUMNS,
    )
    measurements["date"] = pd.to_datetime(measurements["date"])
    out = implausible_measurements(measurements).set_index("measure")
    assert sorted(out.index) == ["fvc_pct", "oral_aperture", "shoe_size", "weight"]
    assert out.loc["fvc_pct", "reason"] == "below plausible range" and out.loc["fvc_pct", "low"] == 10
    assert out.loc["oral_aperture", "reason"] == "above plausible range"
    assert out.loc["shoe_size", "reason"] == "unknown measure" and np.isnan(out.loc["shoe_size", "low"])
    assert out.loc["weight", "reason"] == "missing value"
