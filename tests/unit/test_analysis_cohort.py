"""Cohort analysis on hand-computed cohorts: summary table with the CI of the mean, the window tie rule,
visit criteria, spaghetti frames, waterfall and per-site change."""

from __future__ import annotations

import math
from datetime import date

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from analysis import (
    baselines,
    change_from_baseline,
    mean_confidence_interval,
    select_window_visits,
    summarise_patients,
    summarise_windows,
    visit_scores,
)
from analysis.cohort import (
    TABLE_COLUMNS,
    follow_up_days,
    mean_curve,
    sample_patients,
    select_by_visits,
    site_changes,
    summary_table,
    trajectories,
    visit_totals,
    waterfall_frame,
)
from models.catalog import SITE_CODES

DAY0 = pd.Timestamp("2021-01-01")
T_975_2 = 4.302652729749464  # Student's t, 0.975 quantile, 2 degrees of freedom (tables: 4.303)
T_975_3 = 3.182446305284263  # 3 degrees of freedom (tables: 3.182)


def visits_of(*rows):
    """Visit frame from (patient_id, day since 2021-01-01, mrss) tuples, as `visit_scores` returns."""
    return pd.DataFrame({
        "patient_id": pd.Series([r[0] for r in rows], dtype="str"),
        "visit_date": pd.Series([DAY0 + pd.Timedelta(days=r[1]) for r in rows], dtype="datetime64[us]"),
        "n_raters": 1,
        "mrss": pd.Series([r[2] for r in rows], dtype="float64"),
    })


def cohort(*rows, months=(3, 6), anchors=None):
    visits = visits_of(*rows)
    base = baselines(visits, anchors=anchors)
    with_change = change_from_baseline(visits, base)
    window_visits = select_window_visits(with_change, months)
    people = pd.DataFrame({"patient_id": sorted({r[0] for r in rows}), "diagnosis": "dcSSc"})
    summary = summarise_patients(people, visits, anchors=anchors)
    return visits, base, with_change, window_visits, summary


# Four patients. At 3 months (target day 91, ±45):
#   A 20 → 14 (−6, −30 %: improved), B 30 → 27 (−3), C 10 → 10 (0),
#   D 20: visits at day 81 (18) and day 101 (12) are both 10 days from the target: the earlier wins → −2.
# At 6 months (target 30.4375 × 6 = 182.625 → 183, window 138–228): A at day 228 (inside, 12 → −8),
#   B at day 229 (outside), C none, D at 183 (27: +7, +35 %: progressed).
FOUR = (
    ("A", 0, 20), ("A", 91, 14), ("A", 228, 12),
    ("B", 0, 30), ("B", 91, 27), ("B", 229, 20),
    ("C", 0, 10), ("C", 91, 10),
    ("D", 0, 20), ("D", 81, 18), ("D", 101, 12), ("D", 183, 27),
)


def test_summary_table_by_hand():
    _, _, _, window_visits, summary = cohort(*FOUR)
    table = summary_table(summary, summarise_windows(window_visits, (3, 6)))
    assert list(table.columns) == TABLE_COLUMNS
    assert table["row"].tolist() == ["Baseline mRSS", "Change at 3 months", "Change at 6 months"]

    baseline = table.iloc[0]  # 20, 30, 10, 20: mean 20, SD sqrt(200/3), median 20
    sd = math.sqrt(200 / 3)
    assert (baseline["n"], baseline["mean"], baseline["median"]) == (4, 20.0, 20.0)
    assert baseline["sd"] == pytest.approx(sd)
    assert baseline["ci_low"] == pytest.approx(20 - T_975_3 * sd / 2)
    assert baseline["ci_high"] == pytest.approx(20 + T_975_3 * sd / 2)
    assert pd.isna(baseline["n_improved"])

    three = table.iloc[1]  # −6, −3, 0, −2 (the tie goes to the earlier visit, day 81)
    changes = np.array([-6.0, -3.0, 0.0, -2.0])
    half = T_975_3 * changes.std(ddof=1) / 2
    assert three["n"] == 4
    assert three["mean"] == pytest.approx(-2.75)
    assert three["sd"] == pytest.approx(changes.std(ddof=1))
    assert three["median"] == pytest.approx(-2.5)
    assert (three["ci_low"], three["ci_high"]) == pytest.approx((-2.75 - half, -2.75 + half))
    assert (three["n_improved"], three["pct_improved"]) == (1, 25.0)
    assert (three["n_progressed"], three["pct_progressed"]) == (0, 0.0)

    six = table.iloc[2]  # A −8 (day 228, the window's last day), D +7; B's day 229 is outside
    assert six["n"] == 2
    assert six["mean"] == pytest.approx(-0.5)
    assert six["sd"] == pytest.approx(math.sqrt(112.5))
    half = 12.706204736174705 * math.sqrt(112.5) / math.sqrt(2)  # t_{0.975, 1} = 12.706
    assert (six["ci_low"], six["ci_high"]) == pytest.approx((-0.5 - half, -0.5 + half))
    assert (six["n_improved"], six["n_progressed"]) == (1, 1)  # A −8 and −40 %; D +7 and +35 %
    assert (six["pct_improved"], six["pct_progressed"]) == (50.0, 50.0)


def test_waterfall_sorted_and_coloured_by_category():
    _, _, _, window_visits, _ = cohort(*FOUR)
    frame = waterfall_frame(window_visits, 6)
    assert frame["patient_id"].tolist() == ["D", "A"]  # largest rise first
    assert frame["category"].tolist() == ["progressed", "improved"]
    assert frame["change"].tolist() == [7.0, -8.0]
    assert frame["change_pct"].tolist() == pytest.approx([35.0, -40.0])


def test_waterfall_stable_between_the_thresholds():
    # 3 months: A −6 from 20 (−30 %) improved; B −3, C 0, D −2 stable
    _, _, _, window_visits, _ = cohort(*FOUR)
    frame = waterfall_frame(window_visits, 3)
    assert frame["patient_id"].tolist() == ["C", "D", "B", "A"]
    assert frame["category"].tolist() == ["stable", "stable", "stable", "improved"]
    assert waterfall_frame(window_visits, 12).empty


def test_tie_goes_to_the_earlier_visit():
    _, _, _, window_visits, _ = cohort(*FOUR)
    d = window_visits[(window_visits["patient_id"] == "D") & (window_visits["month"] == 3)].iloc[0]
    assert d["study_day"] == 81 and d["mrss"] == 18.0 and d["change"] == -2.0


def test_responder_boundaries_in_the_table_and_the_waterfall():
    """CLINICAL.md: more than 5 points *and* at least 25 %; a baseline of 0 meets the percentage for a rise."""
    _, _, _, window_visits, summary = cohort(
        ("P1", 0, 20), ("P1", 91, 15),      # −5 exactly (−25 %): not more than 5 → stable
        ("P2", 0, 22), ("P2", 91, 16.5),    # −5.5 and −25 % exactly → improved
        ("P3", 0, 30), ("P3", 91, 24.5),    # −5.5 but −18 % → stable
        ("P4", 0, 0), ("P4", 91, 5.5),      # +5.5 from 0 → progressed
        ("P5", 0, 20), ("P5", 91, 25),      # +5 exactly → stable
        months=(3,))
    three = summary_table(summary, summarise_windows(window_visits, (3,))).iloc[1]
    assert (three["n"], three["n_improved"], three["n_progressed"]) == (5, 1, 1)
    assert (three["pct_improved"], three["pct_progressed"]) == (20.0, 20.0)
    categories = waterfall_frame(window_visits, 3).set_index("patient_id")["category"].to_dict()
    assert categories == {"P1": "stable", "P2": "improved", "P3": "stable", "P4": "progressed", "P5": "stable"}


def test_empty_cohort_has_a_table_of_zeros():
    visits = visits_of()
    summary = summarise_patients(pd.DataFrame({"patient_id": [], "diagnosis": []}), visits)
    table = summary_table(summary, summarise_windows(select_window_visits(
        change_from_baseline(visits, baselines(visits)), (3, 6, 12, 24)), (3, 6, 12, 24)))
    assert table["n"].tolist() == [0, 0, 0, 0, 0]
    assert table["mean"].isna().all() and table["ci_low"].isna().all()


def test_one_patient_has_no_sd_or_ci():
    _, _, _, window_visits, summary = cohort(("A", 0, 20), ("A", 91, 14))
    table = summary_table(summary, summarise_windows(window_visits, (3,)))
    assert table["n"].tolist() == [1, 1]
    assert table.loc[1, "mean"] == -6.0 and table.loc[1, "median"] == -6.0
    assert pd.isna(table.loc[1, "sd"]) and pd.isna(table.loc[1, "ci_low"])


# --- visit criteria -------------------------------------------------------------------------------


def test_select_by_date_range_and_follow_up():
    visits, base, *_ = cohort(*FOUR, ("E", 400, 5))
    ids = ["A", "B", "C", "D", "E", "F"]  # F has no visits at all
    assert select_by_visits(visits, base, ids) == ids
    # day 91 = 2021-04-02; only A, B, C have a visit that day; D's visits are days 81, 101
    on_day = (DAY0 + pd.Timedelta(days=91)).date()
    assert select_by_visits(visits, base, ids, visits_from=on_day, visits_to=on_day) == ["A", "B", "C"]
    assert select_by_visits(visits, base, ids, visits_from=date(2022, 1, 1)) == ["E"]
    assert select_by_visits(visits, base, ids, visits_to=date(2020, 12, 31)) == []
    # follow-up ≥ 6 months = 183 days from baseline: A (228), B (229), D (183); C (91) and E (0) not
    assert follow_up_days(6) == 183
    assert select_by_visits(visits, base, ids, min_follow_up_months=6) == ["A", "B", "D"]
    assert select_by_visits(visits, base, ids, min_follow_up_months=8) == []  # 244 days


# --- spaghetti frames -----------------------------------------------------------------------------


def test_trajectories_align_on_the_drug_start():
    anchors = pd.Series({"A": DAY0 + pd.Timedelta(days=10), "B": DAY0 + pd.Timedelta(days=100)})
    _, base, with_change, _, _ = cohort(*FOUR, anchors=anchors)
    traj = trajectories(with_change, base)
    # A's baseline: latest visit in [day −80, day 10] = day 0; B: latest in [10, 100] = day 91.
    # C and D never took the drug: no baseline, not drawn.
    assert sorted(traj["patient_id"].unique()) == ["A", "B"]
    a = traj[traj["patient_id"] == "A"]
    assert a["day"].tolist() == [-10, 81, 218] and a["study_day"].tolist() == [0, 91, 228]
    b = traj[traj["patient_id"] == "B"]
    assert b["day"].tolist() == [-100, -9, 129] and b["study_day"].tolist() == [-91, 0, 138]


def test_trajectories_without_anchor_count_from_the_first_visit():
    _, base, with_change, _, _ = cohort(*FOUR)
    traj = trajectories(with_change, base)
    assert (traj["day"] == traj["study_day"]).all()
    assert len(traj) == len(FOUR)


def test_mean_curve_one_value_per_patient_per_bin():
    # bins of 3 months (91.3125 days): days 0 → bin 0; 81, 91, 101 → bin 1 (centre day 91); 183 → bin 2
    traj = pd.DataFrame({
        "patient_id": ["A", "A", "B", "B", "B", "C", "C"],
        "day": [0, 91, 0, 81, 101, 0, 183],
        "mrss": [20.0, 14.0, 30.0, 18.0, 12.0, 10.0, 9.0],
    })
    curve = mean_curve(traj)
    assert curve["day"].tolist() == [0, 91]  # bin 2 has one patient only: left out
    first = curve.iloc[0]
    assert (first["n"], first["mean"]) == (3, 20.0)
    assert (first["ci_low"], first["ci_high"]) == pytest.approx((20 - T_975_2 * 10 / math.sqrt(3),
                                                                  20 + T_975_2 * 10 / math.sqrt(3)))
    second = curve.iloc[1]  # A 14, B mean(18, 12) = 15 → mean 14.5 over n = 2 patients
    assert (second["n"], second["mean"]) == (2, 14.5)
    assert mean_curve(traj, min_patients=1)["day"].tolist() == [0, 91, 183]


def test_mean_curve_of_negative_days_and_nothing():
    # −46 days is past half of 91.3125 (bin −1, centre −91); −45 is not (bin 0)
    traj = pd.DataFrame({"patient_id": ["A", "B"], "day": [-46, -45], "mrss": [10.0, 12.0]})
    assert mean_curve(traj).empty  # one patient per bin
    single = mean_curve(traj, min_patients=1)
    assert single["day"].tolist() == [-91, 0] and single["n"].tolist() == [1, 1]
    assert single["ci_low"].isna().all()
    assert mean_curve(traj.iloc[0:0]).empty


def test_sample_patients_is_even_and_deterministic():
    traj = pd.DataFrame({"patient_id": [f"P{i:03d}" for i in range(100) for _ in range(2)], "day": 0, "mrss": 1.0})
    sample = sample_patients(traj, 10)
    ids = sorted(sample["patient_id"].unique())
    assert len(ids) == 10 and ids[0] == "P000" and ids[-1] == "P099"
    assert (sample.groupby("patient_id").size() == 2).all()
    assert sample_patients(traj, 10).equals(sample)
    assert sample_patients(traj, 500) is traj


# --- per-site change ------------------------------------------------------------------------------


def site_row(pid, day, **scores):
    row = {"patient_id": pid, "visit_date": DAY0 + pd.Timedelta(days=day)}
    row.update({code: scores.get(code, 1.0) for code in SITE_CODES})
    return row


def test_site_changes_by_hand():
    _, _, _, window_visits, _ = cohort(("A", 0, 20), ("A", 91, 14), ("B", 0, 30), ("B", 91, 27),
                                       ("C", 0, 10), ("C", 91, 10))
    sites = pd.DataFrame([
        site_row("A", 0, hand_r=3.0, face=float("nan")), site_row("A", 91, hand_r=1.0),
        site_row("B", 0, hand_r=2.0), site_row("B", 91, hand_r=2.0, face=0.0),
        site_row("C", 0, hand_r=2.5), site_row("C", 91, hand_r=1.5),
        site_row("C", 30, hand_r=0.0),  # not a baseline or window visit: ignored
    ])
    out = site_changes(sites, window_visits, 3)
    assert out["site"].tolist() == list(SITE_CODES)
    hand = out.set_index("site").loc["hand_r"]  # −2, 0, −1: mean −1, SD 1
    assert (hand["n"], hand["mean_change"]) == (3, -1.0)
    assert (hand["ci_low"], hand["ci_high"]) == pytest.approx((-1 - T_975_2 / math.sqrt(3),
                                                                -1 + T_975_2 / math.sqrt(3)))
    face = out.set_index("site").loc["face"]  # A's face not scored at baseline; B −1, C 0
    assert (face["n"], face["mean_change"]) == (2, -0.5)
    assert out.set_index("site").loc["chest", "mean_change"] == 0.0


def test_site_changes_without_window_visits():
    _, _, _, window_visits, _ = cohort(("A", 0, 20))
    out = site_changes(pd.DataFrame([site_row("A", 0)]), window_visits, 3)
    assert (out["n"] == 0).all() and out["mean_change"].isna().all()


# --- properties -----------------------------------------------------------------------------------


@settings(max_examples=30, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 51), st.integers(-20, 20), st.integers(46, 136)), min_size=1,
                max_size=25))
def test_window_row_is_the_mean_and_ci_of_the_changes(patients):
    rows = []
    for number, (start, delta, day) in enumerate(patients):
        pid = f"P{number:02d}"
        rows += [(pid, 0, float(start)), (pid, day, float(max(0, min(51, start + delta))))]
    _, _, _, window_visits, summary = cohort(*rows, months=(3,))
    table = summary_table(summary, summarise_windows(window_visits, (3,)))
    changes = np.array([max(0, min(51, s + d)) - s for s, d, _ in patients], dtype=float)
    row = table.iloc[1]
    assert row["n"] == len(changes)
    assert row["mean"] == pytest.approx(changes.mean())
    assert row["median"] == pytest.approx(np.median(changes))
    low, high = mean_confidence_interval(changes)
    if len(changes) >= 2:
        assert (row["ci_low"], row["ci_high"]) == pytest.approx((low, high))
        assert row["ci_low"] <= row["mean"] <= row["ci_high"]
    assert row["n_improved"] + row["n_progressed"] <= row["n"]


@settings(max_examples=40, deadline=None)
@given(st.lists(st.tuples(st.sampled_from(["A", "B", "C"]), st.integers(0, 4),
                          st.one_of(st.none(), st.floats(0, 51, allow_nan=False).map(lambda x: round(x * 2) / 2))),
                max_size=30))
def test_visit_totals_equals_visit_scores(rows):
    frame = pd.DataFrame({
        "patient_id": pd.Series([r[0] for r in rows], dtype="str"),
        "visit_date": pd.Series([DAY0 + pd.Timedelta(days=r[1]) for r in rows], dtype="datetime64[us]"),
        **{code: pd.Series([float("nan")] * len(rows), dtype="float64") for code in SITE_CODES},
        "total": pd.Series([np.nan if r[2] is None else r[2] for r in rows], dtype="float64"),
        "rater": "",
    })
    expected = visit_scores(frame)[["patient_id", "visit_date", "n_raters", "mrss"]]
    got = visit_totals(frame)
    assert got["patient_id"].tolist() == expected["patient_id"].tolist()
    assert got["visit_date"].tolist() == expected["visit_date"].tolist()
    assert got["n_raters"].tolist() == expected["n_raters"].tolist()
    assert np.allclose(got["mrss"].to_numpy(), expected["mrss"].to_numpy())


def test_the_benchmark_runs_in_memory(capsys):
    from bench.cohort_bench import main

    main(["--patients", "20", "--in-memory", "--repeat", "1"])
    out = capsys.readouterr().out
    assert "summarise_cohort, all patients: n=20," in out and "imatinib-anchored" in out
