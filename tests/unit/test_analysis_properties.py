"""Properties of the definitions that must hold for any data (hypothesis)."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal

import numpy as np
import pandas as pd
from hypothesis import given, settings
from hypothesis import strategies as st

from analysis import (
    baselines,
    change_from_baseline,
    improved_flags,
    is_improved,
    is_progressed,
    on_treatment,
    progressed_flags,
    rater_total,
    round_half_away,
    select_window_visits,
    student_t_quantile,
    summarise_windows,
    visit_scores,
    window_target_day,
    window_tolerance,
)
from analysis.frames import ASSESSMENT_COLUMNS, MEDICATION_COLUMNS
from analysis.stats import student_t_cdf
from models.catalog import MRSS_MAX, SITE_CODES

site_scores = st.lists(st.integers(0, 3), min_size=17, max_size=17)
mrss_values = st.one_of(st.integers(0, 51).map(float), st.floats(0, 51, allow_nan=False))
START = pd.Timestamp("2015-06-01")
# Each example builds a few DataFrames: fewer examples and no per-example deadline.
frame_settings = settings(max_examples=40, deadline=None)


@given(site_scores)
def test_rater_total_is_between_0_and_51(scores):
    total = rater_total(dict(zip(SITE_CODES, scores, strict=True)))
    assert 0 <= total <= MRSS_MAX and total == sum(scores)


def test_all_threes_make_51():
    assert rater_total(dict.fromkeys(SITE_CODES, 3)) == 51


@frame_settings
@given(st.lists(st.tuples(st.integers(0, 3), st.one_of(st.none(), site_scores)), min_size=1, max_size=5))
def test_visit_mrss_lies_between_the_rater_totals(raters):
    rows = []
    for i, (fallback, scores) in enumerate(raters):
        sites = dict(zip(SITE_CODES, scores, strict=True)) if scores else {}
        total = rater_total(sites, None if scores else float(fallback * 10))
        row = {"patient_id": "P", "visit_date": START, "rater": f"r{i}", "total": total, "incomplete": False}
        row.update({code: float(sites[code]) if sites else np.nan for code in SITE_CODES})
        rows.append(row)
    assessments = pd.DataFrame(rows, columns=ASSESSMENT_COLUMNS)
    visits = visit_scores(assessments)
    totals = [r["total"] for r in rows]
    assert visits.loc[0, "n_raters"] == len(rows)
    assert min(totals) - 1e-9 <= visits.loc[0, "mrss"] <= max(totals) + 1e-9


@given(mrss_values, mrss_values)
def test_improved_and_progressed_are_exclusive_and_need_more_than_5_points(baseline, value):
    improved, progressed = is_improved(baseline, value), is_progressed(baseline, value)
    assert not (improved and progressed)
    if improved:
        assert value - baseline < -5 and value <= 0.75 * baseline + 1e-9
    if progressed:
        assert value - baseline > 5 and value >= 1.25 * baseline - 1e-9
    b, v = pd.Series([baseline]), pd.Series([value])
    assert improved_flags(b, v).tolist() == [improved] and progressed_flags(b, v).tolist() == [progressed]


visit_series = st.lists(
    st.tuples(st.integers(0, 1500), mrss_values), min_size=1, max_size=12, unique_by=lambda t: t[0]
)


def series_frame(points, shift_days=0, patient_id="P"):
    points = sorted(points)
    return pd.DataFrame(
        {
            "patient_id": pd.Series([patient_id] * len(points), dtype="str"),
            "visit_date": pd.Series(
                [START + pd.Timedelta(days=d + shift_days) for d, _ in points], dtype="datetime64[us]"
            ),
            "n_raters": 1,
            "mrss": [m for _, m in points],
        }
    )


@frame_settings
@given(visit_series)
def test_change_against_itself_is_zero_at_baseline(points):
    visits = series_frame(points)
    out = change_from_baseline(visits, baselines(visits))
    at_baseline = out[out["study_day"] == 0]
    assert len(at_baseline) == 1
    assert at_baseline["change"].iloc[0] == 0
    assert (out["study_day"] >= 0).all()


@settings(max_examples=25, deadline=None)
@given(visit_series, st.integers(-3000, 3000), st.integers(0, 1500))
def test_shifting_all_dates_changes_nothing_relative(points, shift, anchor_day):
    months = [3, 6, 12, 24]
    results = []
    for offset in (0, shift):
        visits = series_frame(points, offset)
        anchors = {"P": START + pd.Timedelta(days=anchor_day + offset)}
        for anchor in (None, anchors):
            table = change_from_baseline(visits, baselines(visits, anchors=anchor))
            chosen = select_window_visits(table, months)
            results.append(
                (
                    table[["study_day", "change", "change_pct"]].reset_index(drop=True),
                    chosen.drop(columns=["visit_date"]),
                    summarise_windows(chosen, months),
                )
            )
    for plain, shifted in ((results[0], results[2]), (results[1], results[3])):
        for a, b in zip(plain, shifted, strict=True):
            pd.testing.assert_frame_equal(a, b)


@frame_settings
@given(
    st.lists(
        st.tuples(st.sampled_from(["A", "B", "C"]), st.integers(-100, 900), mrss_values),
        min_size=1,
        max_size=40,
        unique_by=lambda t: (t[0], t[1]),
    ),
    st.sampled_from([1, 3, 6, 9, 12, 24]),
)
def test_window_pick_is_within_tolerance_and_nothing_eligible_is_closer(rows, month):
    visits = pd.DataFrame(
        {
            "patient_id": pd.Series([r[0] for r in rows], dtype="str"),
            "visit_date": pd.Series([START + pd.Timedelta(days=r[1]) for r in rows], dtype="datetime64[us]"),
            "n_raters": 1,
            "mrss": [r[2] for r in rows],
        }
    )
    table = change_from_baseline(visits, baselines(visits, anchors={"A": START, "B": START}))
    chosen = select_window_visits(table, [month]).set_index("patient_id")
    target, tolerance = window_target_day(month), window_tolerance(month)
    for patient_id, group in table.groupby("patient_id"):
        days = group["study_day"].dropna().astype(int).tolist()
        eligible = [d for d in days if abs(d - target) <= tolerance]
        if not eligible:
            assert patient_id not in chosen.index
            continue
        picked = int(chosen.loc[patient_id, "study_day"])
        assert abs(picked - target) <= tolerance
        assert all(abs(d - target) >= abs(picked - target) for d in eligible)
        ties = [d for d in eligible if abs(d - target) == abs(picked - target)]
        assert picked == min(ties)  # on a tie, the earlier visit


@given(st.integers(-10**6, 10**6), st.integers(0, 3))
def test_round_half_away_matches_decimal_rounding(units, decimals):
    # a number written with up to 4 decimals, as data and means of a few raters are
    text = f"{units / 10**4:.4f}"
    expected = Decimal(text).quantize(Decimal(1).scaleb(-decimals), rounding=ROUND_HALF_UP)
    assert round_half_away(float(text), decimals) == float(expected)


@settings(max_examples=50)
@given(st.floats(0.55, 0.999), st.integers(1, 200))
def test_t_quantile_inverts_the_distribution_function(p, df):
    assert abs(student_t_cdf(student_t_quantile(p, df), df) - p) < 1e-9


@frame_settings
@given(
    st.lists(
        st.tuples(
            st.sampled_from(["A", "B"]),
            st.sampled_from(["imatinib", "methotrexate", "prednisone"]),
            st.sampled_from([0.5, 5.0, 200.0, 400.0]),
            st.integers(0, 60),
            st.one_of(st.none(), st.integers(0, 30)),
        ),
        max_size=8,
    ),
    st.lists(st.tuples(st.sampled_from(["A", "B", "C"]), st.integers(0, 100)), min_size=1, max_size=10),
)
def test_on_treatment_matches_a_plain_loop(periods, visit_rows):
    meds = pd.DataFrame(
        {
            "patient_id": [p[0] for p in periods],
            "drug": [p[1] for p in periods],
            "dose": pd.Series([p[2] for p in periods], dtype="float64"),
            "dose_unit": "mg",
            "frequency": "daily",
            "route": "oral",
            "start_date": pd.Series(
                [START + pd.Timedelta(days=p[3]) for p in periods], dtype="datetime64[us]"
            ),
            "end_date": pd.Series(
                [pd.NaT if p[4] is None else START + pd.Timedelta(days=p[3] + p[4]) for p in periods],
                dtype="datetime64[us]",
            ),
            "reason": "",
        },
        index=range(len(periods)),
    )[MEDICATION_COLUMNS]
    visits = pd.DataFrame(
        {
            "patient_id": [v[0] for v in visit_rows],
            "visit_date": [START + pd.Timedelta(days=v[1]) for v in visit_rows],
        }
    )
    expected = []
    for pid, date in zip(visits["patient_id"], visits["visit_date"], strict=True):
        columns = [meds[c] for c in ("patient_id", "drug", "dose", "start_date", "end_date")]
        labels = sorted(
            (drug, f"{drug} {dose:g} mg daily")
            for p_id, drug, dose, start, end in zip(*columns, strict=True)
            if p_id == pid and start <= date and (pd.isna(end) or date <= end)
        )
        expected.append("; ".join(label for _, label in labels))
    assert on_treatment(visits, meds).tolist() == expected
