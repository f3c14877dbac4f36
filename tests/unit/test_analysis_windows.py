"""Visit windows, cohort statistics, Student's t and the export rounding, hand-computed."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from analysis import (
    WINDOW_COLUMNS,
    WINDOW_EXPORT_COLUMNS,
    WINDOW_SCREEN_COLUMNS,
    WINDOW_VALUES_COLUMNS,
    baselines,
    change_from_baseline,
    confidence_half_width,
    describe,
    format_window_values_for_export,
    format_windows_for_export,
    mean_confidence_interval,
    parse_month,
    parse_months,
    round_half_away,
    select_window_visits,
    student_t_quantile,
    summarise_windows,
    window_choice,
    window_target_day,
    window_tolerance,
    window_values_frame,
)
from analysis.stats import regularized_incomplete_beta, student_t_cdf
from models.errors import InvalidValue

DAY0 = pd.Timestamp("2020-01-01")


def with_change(*rows):
    """Visits with change from the plain baseline, from (patient_id, study_day, mrss) tuples.

    The first day of a patient should be 0 (its baseline); days are counted from 2020-01-01.
    """
    visits = pd.DataFrame(
        {
            "patient_id": pd.Series([r[0] for r in rows], dtype="str"),
            "visit_date": pd.Series([DAY0 + pd.Timedelta(days=r[1]) for r in rows], dtype="datetime64[us]"),
            "n_raters": 1,
            "mrss": pd.Series([r[2] for r in rows], dtype="float64"),
        }
    )
    return change_from_baseline(visits, baselines(visits))


# --- target day and tolerance ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("month", "day"),
    [
        (3, 91),  # 30.4375 × 3 = 91.3125 → 91
        (6, 183),  # 182.625 → 183
        (12, 365),  # 365.25 → 365
        (24, 731),  # 730.5 → 731: half up (Python's round() would give 730)
        (2, 61),  # 60.875 → 61
        (8, 244),  # 243.5 → 244: half up
        (1, 30),  # 30.4375 → 30
        (36, 1096),  # 1095.75 → 1096
    ],
)
def test_window_target_day(month, day):
    assert window_target_day(month) == day


@pytest.mark.parametrize(("month", "tolerance"), [(1, 45), (3, 45), (6, 45), (7, 90), (12, 90), (24, 90)])
def test_window_tolerance(month, tolerance):
    assert window_tolerance(month) == tolerance


# --- selection -------------------------------------------------------------------------------------


def test_window_boundaries_are_inclusive():
    # month 3: target 91 ± 45 → days 46..136
    visits = with_change(
        ("IN_LOW", 0, 20), ("IN_LOW", 46, 18),
        ("OUT_LOW", 0, 20), ("OUT_LOW", 45, 18),
        ("IN_HIGH", 0, 20), ("IN_HIGH", 136, 18),
        ("OUT_HIGH", 0, 20), ("OUT_HIGH", 137, 18),
    )  # fmt: skip
    chosen = select_window_visits(visits, [3])
    assert sorted(chosen["patient_id"]) == ["IN_HIGH", "IN_LOW"]
    # month 12: target 365 ± 90 → days 275..455
    visits = with_change(
        ("A", 0, 20), ("A", 274, 10), ("B", 0, 20), ("B", 455, 10), ("C", 0, 20), ("C", 456, 10)
    )
    assert select_window_visits(visits, [12])["patient_id"].tolist() == ["B"]


def test_closest_visit_wins_and_a_tie_goes_to_the_earlier_visit():
    # month 6, target 183: A has 173 (10 away) and 190 (7 away) → 190;
    # B has 178 and 188, both 5 away → the earlier, 178
    visits = with_change(
        ("A", 0, 30), ("A", 173, 25), ("A", 190, 24),
        ("B", 0, 30), ("B", 178, 26), ("B", 188, 22),
    )  # fmt: skip
    chosen = select_window_visits(visits, [6]).set_index("patient_id")
    assert chosen.loc["A", "study_day"] == 190 and chosen.loc["A", "change"] == -6
    assert chosen.loc["B", "study_day"] == 178 and chosen.loc["B", "change"] == -4
    assert chosen.loc["B", "visit_date"] == DAY0 + pd.Timedelta(days=178)


def test_window_visit_columns_and_flags():
    # baseline 31; day 369 → 17: change −14, −45.16 % → improved (EX-01 at month 12)
    visits = with_change(("A", 0, 31), ("A", 92, 27), ("A", 369, 17))
    chosen = select_window_visits(visits, [3, 12, 24])
    assert chosen.columns.tolist() == [
        "patient_id", "month", "target_day", "visit_date", "study_day", "mrss", "baseline_mrss",
        "change", "change_pct", "improved", "progressed",
    ]  # fmt: skip
    assert chosen["month"].tolist() == [3, 12]
    assert chosen["target_day"].tolist() == [91, 365]
    assert chosen["improved"].tolist() == [False, True]
    assert chosen["progressed"].tolist() == [False, False]


def test_patient_without_baseline_is_not_in_any_window():
    visits = pd.DataFrame(
        {
            "patient_id": pd.Series(["A", "A"], dtype="str"),
            "visit_date": pd.to_datetime(["2020-01-01", "2020-04-01"]),
            "n_raters": 1,
            "mrss": [20.0, 10.0],
        }
    )
    # anchored on a date long after both visits: no baseline
    out = change_from_baseline(visits, baselines(visits, anchors={"A": "2022-01-01"}))
    assert select_window_visits(out, [3]).empty


def test_a_visit_before_an_anchored_baseline_is_eligible_only_within_tolerance():
    # anchored baseline at day 0; a visit on day −40 is 131 away from month 3's target 91: excluded
    visits = with_change(("A", 0, 20), ("A", 40, 18))
    visits["study_day"] = pd.array([0, -40], dtype="Int64")
    assert select_window_visits(visits, [3]).empty


# --- summary statistics ----------------------------------------------------------------------------


def test_summarise_windows_hand_computed():
    # month 3 (91 ± 45): changes −4 (A), −6 (B), −11 (C, 30 → 19: −36.7 % → improved)
    visits = with_change(
        ("A", 0, 31), ("A", 92, 27),
        ("B", 0, 32), ("B", 105, 26),
        ("C", 0, 30), ("C", 80, 19), ("C", 380, 37),
    )  # fmt: skip
    windows = summarise_windows(select_window_visits(visits, [3, 12, 24]), [3, 12, 24])
    assert windows.columns.tolist() == WINDOW_SCREEN_COLUMNS
    m3, m12, m24 = (windows.iloc[i] for i in range(3))
    assert m3["n"] == 3
    assert m3["mean_change"] == -7  # (−4 − 6 − 11) / 3 = −21 / 3
    # deviations 3, 1, −4 → squares 9 + 1 + 16 = 26; sample variance 26 / 2 = 13
    assert m3["sd_change"] == pytest.approx(math.sqrt(13))
    assert m3["median_change"] == -6
    assert (m3["n_improved"], m3["n_progressed"]) == (1, 0)
    # 95 % CI: −7 ± t(0.975, 2) × sqrt(13) / sqrt(3) = −7 ± 4.302653 × 2.081666 = −7 ± 8.956694
    assert m3["ci_low"] == pytest.approx(-15.956694, abs=1e-5)
    assert m3["ci_high"] == pytest.approx(1.956694, abs=1e-5)
    assert m3["pct_improved"] == pytest.approx(100 / 3)
    # month 12 (365 ± 90): only C at 380 → 37: +7 from 30 (23.3 %): not progressed
    assert m12["n"] == 1 and m12["mean_change"] == 7 and m12["median_change"] == 7
    assert math.isnan(m12["sd_change"]) and math.isnan(m12["ci_low"])
    assert m12["n_progressed"] == 0 and m12["pct_progressed"] == 0
    # month 24: nobody, but the row is there
    assert m24["month"] == 24 and m24["n"] == 0
    assert all(math.isnan(m24[c]) for c in ("mean_change", "sd_change", "median_change", "pct_improved"))
    assert (m24["n_improved"], m24["n_progressed"]) == (0, 0)


def test_two_patient_sd_matches_the_example():
    # changes −4 and −6: mean −5, SD sqrt((1 + 1) / 1) = 1.41421 → 1.41
    visits = with_change(("A", 0, 31), ("A", 92, 27), ("B", 0, 32), ("B", 105, 26))
    windows = format_windows_for_export(summarise_windows(select_window_visits(visits, [3]), [3]))
    assert windows.columns.tolist() == WINDOW_COLUMNS
    assert windows.iloc[0].tolist() == [3, 2, -5, 1.41, -5, 0, 0]


def test_no_visits_at_all_still_gives_one_row_per_month():
    empty = with_change(("A", 0, 10)).iloc[0:0]
    windows = summarise_windows(select_window_visits(empty, [3, 6, 12, 24]), [3, 6, 12, 24])
    assert windows["month"].tolist() == [3, 6, 12, 24]
    assert windows["n"].tolist() == [0, 0, 0, 0]


def test_months_keep_their_order_and_drop_duplicates():
    visits = with_change(("A", 0, 10), ("A", 365, 12))
    assert summarise_windows(select_window_visits(visits, [12, 3, 12]), [12, 3, 12])["month"].tolist() == [12, 3]


# --- Student's t, CI and rounding ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("df", "quantile"),
    [(1, 12.706), (2, 4.303), (4, 2.776), (9, 2.262), (29, 2.045), (120, 1.980)],
)
def test_t_quantile_matches_tables(df, quantile):
    assert round(student_t_quantile(0.975, df), 3) == quantile


def test_t_quantile_more_digits_and_symmetry():
    assert student_t_quantile(0.975, 1) == pytest.approx(12.706204736, abs=1e-8)  # tan(0.475 π)
    assert student_t_quantile(0.975, 2) == pytest.approx(4.302652730, abs=1e-8)
    assert student_t_quantile(0.95, 10) == pytest.approx(1.812461123, abs=1e-8)
    assert student_t_quantile(0.025, 5) == pytest.approx(-student_t_quantile(0.975, 5))
    assert student_t_quantile(0.5, 3) == 0
    assert student_t_quantile(0.975, 100000) == pytest.approx(1.959963985, abs=1e-4)  # → normal


def test_t_cdf_and_incomplete_beta_known_values():
    assert student_t_cdf(1.0, 1) == pytest.approx(0.75)  # Cauchy: 1/2 + atan(1)/π
    assert student_t_cdf(-1.0, 1) == pytest.approx(0.25)
    assert regularized_incomplete_beta(1, 1, 0.3) == pytest.approx(0.3)  # uniform
    # I_0.4(2, 3) = Σ_{j=2..4} C(4, j) 0.4^j 0.6^(4−j) = 0.3456 + 0.1536 + 0.0256 = 0.5248
    assert regularized_incomplete_beta(2, 3, 0.4) == pytest.approx(0.5248)


@pytest.mark.parametrize("p", [0, 1, -0.1, 1.5])
def test_t_quantile_rejects_bad_probabilities(p):
    with pytest.raises(ValueError, match="p:"):
        student_t_quantile(p, 3)


def test_t_quantile_rejects_bad_df():
    with pytest.raises(ValueError, match="df:"):
        student_t_quantile(0.975, 0)


def test_mean_confidence_interval():
    # 10, 12, 14: mean 12, SD 2, SE 2 / sqrt(3) = 1.154701; t(0.975, 2) = 4.302653 → ± 4.968275
    low, high = mean_confidence_interval([10, 12, 14, np.nan])
    assert low == pytest.approx(12 - 4.968275, abs=1e-5) and high == pytest.approx(12 + 4.968275, abs=1e-5)
    assert all(math.isnan(x) for x in mean_confidence_interval([5]))


@pytest.mark.parametrize(
    ("value", "decimals", "expected"),
    [
        (2.345, 2, 2.35),
        (-2.345, 2, -2.35),  # halves away from zero
        (2.675, 2, 2.68),  # stored as 2.67499999…: still its decimal half
        (1.005, 2, 1.01),
        (-45.16129, 1, -45.2),
        (-43.75, 1, -43.8),
        (0.05, 1, 0.1),
        (-0.004, 2, 0.0),
        (25.5, 2, 25.5),
        (730.5, 0, 731),
    ],
)
def test_round_half_away(value, decimals, expected):
    assert round_half_away(value, decimals) == expected


def test_round_half_away_on_series_keeps_index_and_missing():
    s = pd.Series([1.125, np.nan, -1.125], index=[5, 6, 7], name="x")
    out = round_half_away(s, 2)
    assert out.index.tolist() == [5, 6, 7] and out.name == "x"
    assert out.iloc[0] == 1.13 and math.isnan(out.iloc[1]) and out.iloc[2] == -1.13
    assert math.isnan(round_half_away(None, 2))


# --- one window choice ----------------------------------------------------------------------------


def test_window_choice_positions_closest_then_earlier():
    # month 6, target 183 ± 45: patient "b" 178 and 188 tie → 178 (position 1); "a" 173 vs 190 → 190
    patients = np.array(["b", "b", "b", "a", "a", "a"])
    days = np.array([0, 178, 188, 0, 173, 190], dtype="float64")
    assert window_choice(patients, days, 6).tolist() == [5, 1]  # ordered by patient: a, b
    assert window_choice(patients, np.full(6, np.nan), 6).tolist() == []
    assert window_choice(np.array([], dtype=str), np.array([]), 12).tolist() == []


def test_select_window_visits_uses_window_choice():
    visits = with_change(("A", 0, 30), ("A", 173, 25), ("A", 190, 24), ("B", 0, 30), ("B", 178, 26), ("B", 188, 22))
    chosen = select_window_visits(visits, [6])
    positions = window_choice(visits["patient_id"].to_numpy(), visits["study_day"], 6)
    assert chosen["visit_date"].tolist() == visits["visit_date"].iloc[positions].tolist()


# --- window_values.csv ----------------------------------------------------------------------------


def test_window_values_are_the_visits_windows_csv_used():
    # A: baseline 31; day 92 → 27 (−4, −12.9 %); day 369 → 17 (−14, −45.16 % → improved)
    # B: baseline 32; day 105 → 26 (−6, −18.75 %)
    visits = with_change(("B", 0, 32), ("B", 105, 26), ("A", 0, 31), ("A", 92, 27), ("A", 369, 17))
    window_visits = select_window_visits(visits, [3, 12, 24])
    values = window_values_frame(window_visits)
    assert values.columns.tolist() == WINDOW_VALUES_COLUMNS
    assert values[["patient_id", "month", "study_day"]].values.tolist() == [["A", 3, 92], ["A", 12, 369],
                                                                          ["B", 3, 105]]
    out = format_window_values_for_export(values)
    assert out["visit_date"].tolist() == [DAY0 + pd.Timedelta(days=d) for d in (92, 369, 105)]
    assert out["mrss"].tolist() == [27, 17, 26] and out["change"].tolist() == [-4, -14, -6]
    assert out["change_pct"].tolist() == [-12.9, -45.2, -18.8]  # −12.903, −45.161, −18.75 (half away)
    assert out["improved"].tolist() == ["no", "yes", "no"] and out["progressed"].tolist() == ["no", "no", "no"]
    # every windows.csv figure rebuilds from them
    windows = summarise_windows(window_visits, [3, 12, 24])
    for month, group in values.groupby("month"):
        row = windows.set_index("month").loc[month]
        assert row["n"] == len(group) and row["mean_change"] == pytest.approx(group["change"].mean())


def test_window_values_of_nobody():
    visits = with_change(("A", 0, 31))
    out = format_window_values_for_export(window_values_frame(select_window_visits(visits, [3])))
    assert out.empty and out.columns.tolist() == WINDOW_VALUES_COLUMNS


# --- windows.csv CI columns -----------------------------------------------------------------------


def test_windows_export_with_ci_columns():
    # changes −4, −6, −11: mean −7, SD √13; CI −7 ± 4.302653 · √13 / √3 = (−15.956694, 1.956694)
    visits = with_change(("A", 0, 31), ("A", 92, 27), ("B", 0, 32), ("B", 105, 26), ("C", 0, 30), ("C", 80, 19))
    windows = format_windows_for_export(summarise_windows(select_window_visits(visits, [3, 12]), [3, 12]),
                                        with_ci=True)
    assert windows.columns.tolist() == WINDOW_EXPORT_COLUMNS == [
        "month", "n", "mean_change", "sd_change", "median_change", "ci_low", "ci_high", "n_improved",
        "n_progressed"]
    assert windows.iloc[0].tolist() == [3, 3, -7, 3.61, -6, -15.96, 1.96, 1, 0]
    assert windows.iloc[1][["ci_low", "ci_high"]].isna().all()  # n = 0


# --- the months a user gives ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "months"),
    [
        ("3,6,12,24", [3, 6, 12, 24]),
        (" 12 , 3,12 ", [12, 3]),  # order kept, duplicates dropped
        ("6,", [6]),
        ([3, "6", 12.0], [3, 6, 12]),
        ((24,), [24]),
    ],
)
def test_parse_months(value, months):
    assert parse_months(value) == months


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        ("", "at least one month"),
        (" , ", "at least one month"),
        ([], "at least one month"),
        ("3,six", "'six' is not a whole number"),
        ("1.5", "'1.5' is not a whole number"),
        ("0", "months start at 1"),
        ("-3", "months start at 1"),
        ([None], "None is not a whole number"),
        ("inf", "'inf' is not a whole number"),
    ],
)
def test_parse_months_refuses_with_the_field_named(value, reason):
    with pytest.raises(InvalidValue, match=reason) as error:
        parse_months(value)
    assert error.value.field == "months"


def test_parse_months_names_another_field():
    with pytest.raises(InvalidValue) as error:
        parse_months("x", field="response_month")
    assert error.value.field == "response_month"


def test_parse_month_takes_exactly_one():
    assert parse_month("12") == 12 and parse_month(6) == 6
    with pytest.raises(InvalidValue, match="one month") as error:
        parse_month("6,12")
    assert error.value.field == "response_month"


def test_describe_gives_every_figure_once():
    # 10, 12, 14 (and a blank): n 3, mean 12, SD 2, median 12, CI 12 ± 4.968275
    d = describe([10, np.nan, 14, 12])
    assert (d.n, d.mean, d.sd, d.median) == (3, 12, 2, 12)
    assert d.ci_low == pytest.approx(12 - 4.968275, abs=1e-5) and d.ci_high == pytest.approx(12 + 4.968275, abs=1e-5)
    one = describe([5])
    assert (one.n, one.mean, one.median) == (1, 5, 5) and math.isnan(one.sd) and math.isnan(one.ci_low)
    none = describe([])
    assert none.n == 0 and math.isnan(none.mean) and math.isnan(none.median)


def test_confidence_half_width_vectorised():
    # t(0.975, 1) · 1 / √2 = 8.984694; n = 1 → NaN
    half = confidence_half_width(np.array([1.0, 1.0, 2.0]), np.array([2, 1, 3]))
    assert half[0] == pytest.approx(12.706205 / math.sqrt(2), abs=1e-5) and math.isnan(half[1])
    assert half[2] == pytest.approx(4.302653 * 2 / math.sqrt(3), abs=1e-5)
    assert confidence_half_width(2.0, 3) == pytest.approx(half[2])
