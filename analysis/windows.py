"""Cohort change from baseline at visit windows (EXCHANGE.md, windows.csv).

Day 0 is each patient's baseline visit. The target day of month m is 30.4375 × m rounded half up
(month 24 → day 731). Each patient with a baseline contributes the visit closest to the target within
±45 days (months ≤ 6) or ±90 days (later months), both ends included; on a tie, the earlier visit.
Patients without such a visit are not counted for that month.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from decimal import ROUND_HALF_UP, Decimal

import numpy as np
import pandas as pd

from analysis._util import as_float_array
from analysis.response import improved_flags, progressed_flags
from analysis.stats import round_half_away, student_t_quantile

DEFAULT_WINDOW_MONTHS: tuple[int, ...] = (3, 6, 12, 24)
DAYS_PER_MONTH = Decimal("30.4375")  # 365.25 / 12
SHORT_WINDOW_MONTHS = 6  # months up to this one use the short tolerance
SHORT_TOLERANCE_DAYS = 45
LONG_TOLERANCE_DAYS = 90
CONFIDENCE_LEVEL = 0.95

WINDOW_VISIT_COLUMNS = [
    "patient_id", "month", "target_day", "visit_date", "study_day", "mrss", "baseline_mrss",
    "change", "change_pct", "improved", "progressed",
]
# windows.csv, in order; the cohort screen adds the columns after them.
WINDOW_COLUMNS = ["month", "n", "mean_change", "sd_change", "median_change", "n_improved", "n_progressed"]
WINDOW_SCREEN_COLUMNS = [*WINDOW_COLUMNS, "ci_low", "ci_high", "pct_improved", "pct_progressed"]


def window_target_day(month: int) -> int:
    """The target study day of a month's window: 30.4375 × month rounded half up (24 → 731, 6 → 183)."""
    exact = DAYS_PER_MONTH * Decimal(month)
    return int(exact.quantize(Decimal(1), rounding=ROUND_HALF_UP))


def window_tolerance(month: int) -> int:
    """Half-width in days of a month's window: 45 for months ≤ 6, 90 for later months."""
    return SHORT_TOLERANCE_DAYS if month <= SHORT_WINDOW_MONTHS else LONG_TOLERANCE_DAYS


def _unique_months(months: Iterable[int]) -> list[int]:
    return list(dict.fromkeys(int(m) for m in months))


def select_window_visits(
    visits_with_change: pd.DataFrame, months: Iterable[int] = DEFAULT_WINDOW_MONTHS
) -> pd.DataFrame:
    """The visit each patient contributes to each month's window (WINDOW_VISIT_COLUMNS).

    `visits_with_change` is the output of `change_from_baseline` (patient_id, visit_date, mrss,
    baseline_mrss, study_day, change, change_pct). Eligible: visits with an mRSS and a study_day
    (the patient has a baseline) with |study_day − target| ≤ tolerance. The closest wins; of two at
    the same distance, the earlier. improved/progressed compare that visit's mRSS with the baseline.
    Rows sorted by month (in the order given, duplicates dropped), then patient_id.
    """
    v = visits_with_change
    study_day = as_float_array(v["study_day"])
    mrss = as_float_array(v["mrss"])
    ok = ~np.isnan(study_day) & ~np.isnan(mrss)
    columns = ["patient_id", "visit_date", "study_day", "mrss", "baseline_mrss", "change", "change_pct"]
    base = v.loc[ok, columns].reset_index(drop=True)
    days = study_day[ok]
    codes, _ = pd.factorize(base["patient_id"], sort=True)
    frames = []
    for month in _unique_months(months):
        target, tolerance = window_target_day(month), window_tolerance(month)
        distance = np.abs(days - target)
        inside = np.flatnonzero(distance <= tolerance)
        # rank by distance, then prefer the visit before the target (the earlier one of a tie)
        key = distance[inside] * 2 + (days[inside] > target)
        order = inside[np.lexsort((key, codes[inside]))]
        first = np.r_[True, codes[order][1:] != codes[order][:-1]] if len(order) else np.array([], bool)
        chosen = base.iloc[order[first]].copy()
        chosen.insert(1, "month", month)
        chosen.insert(2, "target_day", target)
        frames.append(chosen)
    if frames:
        out = pd.concat(frames, ignore_index=True)
    else:
        out = base.iloc[0:0].assign(month=0, target_day=0)
    out["month"] = out["month"].astype("int64")
    out["target_day"] = out["target_day"].astype("int64")
    out["improved"] = improved_flags(out["baseline_mrss"], out["mrss"]).to_numpy()
    out["progressed"] = progressed_flags(out["baseline_mrss"], out["mrss"]).to_numpy()
    return out[WINDOW_VISIT_COLUMNS].reset_index(drop=True)


def summarise_windows(
    window_visits: pd.DataFrame, months: Iterable[int] = DEFAULT_WINDOW_MONTHS
) -> pd.DataFrame:
    """Cohort statistics of change from baseline per window: one row per month, always.

    Columns WINDOW_COLUMNS (windows.csv) then ci_low, ci_high, pct_improved, pct_progressed:
    n patients; mean, sample SD (n − 1; NaN when n < 2) and median of change; counts improved and
    progressed; the 95 % confidence interval of the mean change, mean ± t_{0.975, n−1} · SD / √n
    (NaN when n < 2); and the percentages of the n improved/progressed (NaN when n = 0). Unrounded.
    """
    rows = []
    by_month = {m: g for m, g in window_visits.groupby("month", sort=False)} if len(window_visits) else {}
    for month in _unique_months(months):
        group = by_month.get(month)
        change = as_float_array(group["change"]) if group is not None else np.array([], dtype="float64")
        keep = ~np.isnan(change)
        change = change[keep]
        n = len(change)
        n_improved = int(group["improved"].fillna(False).to_numpy(dtype=bool)[keep].sum()) if n else 0
        n_progressed = int(group["progressed"].fillna(False).to_numpy(dtype=bool)[keep].sum()) if n else 0
        mean = float(change.mean()) if n else math.nan
        sd = float(change.std(ddof=1)) if n >= 2 else math.nan
        t = student_t_quantile((1 + CONFIDENCE_LEVEL) / 2, n - 1) if n >= 2 else math.nan
        half = t * sd / math.sqrt(n) if n >= 2 else math.nan
        rows.append(
            {
                "month": month,
                "n": n,
                "mean_change": mean,
                "sd_change": sd,
                "median_change": float(np.median(change)) if n else math.nan,
                "n_improved": n_improved,
                "n_progressed": n_progressed,
                "ci_low": mean - half,
                "ci_high": mean + half,
                "pct_improved": 100.0 * n_improved / n if n else math.nan,
                "pct_progressed": 100.0 * n_progressed / n if n else math.nan,
            }
        )
    out = pd.DataFrame(rows, columns=WINDOW_SCREEN_COLUMNS)
    for column in ("month", "n", "n_improved", "n_progressed"):
        out[column] = out[column].astype("int64")
    for column in WINDOW_SCREEN_COLUMNS:
        if column not in ("month", "n", "n_improved", "n_progressed"):
            out[column] = out[column].astype("float64")
    return out


def format_windows_for_export(windows: pd.DataFrame, *, decimals: int = 2) -> pd.DataFrame:
    """The windows.csv frame: WINDOW_COLUMNS only, statistics rounded half away from zero to 2 places."""
    out = windows[WINDOW_COLUMNS].copy()
    for column in ("mean_change", "sd_change", "median_change"):
        out[column] = round_half_away(out[column], decimals)
    return out


def cohort_windows(
    visits_with_change: pd.DataFrame, months: Iterable[int] = DEFAULT_WINDOW_MONTHS
) -> pd.DataFrame:
    """`summarise_windows(select_window_visits(visits_with_change, months), months)`, unrounded."""
    months = _unique_months(months)
    return summarise_windows(select_window_visits(visits_with_change, months), months)
