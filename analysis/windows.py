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
from analysis.formatting import MRSS_DECIMALS, PERCENT_DECIMALS, yes_no
from analysis.response import improved_flags, progressed_flags
from analysis.stats import describe, round_half_away
from models.errors import InvalidValue

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
# windows.csv as EXCHANGE.md has it, in order (with the 95 % CI of the mean change).
WINDOW_EXPORT_COLUMNS = [
    "month", "n", "mean_change", "sd_change", "median_change", "ci_low", "ci_high", "n_improved", "n_progressed",
]
# windows.csv before the CI columns (still declared by exchange/spec.py); the screen adds the rest.
WINDOW_COLUMNS = ["month", "n", "mean_change", "sd_change", "median_change", "n_improved", "n_progressed"]
WINDOW_SCREEN_COLUMNS = [*WINDOW_COLUMNS, "ci_low", "ci_high", "pct_improved", "pct_progressed"]
# window_values.csv: the visit windows.csv used, per patient and month.
WINDOW_VALUES_COLUMNS = [
    "patient_id", "month", "visit_date", "study_day", "mrss", "change", "change_pct", "improved", "progressed",
]



def window_target_day(month: int) -> int:
    """The target study day of a month's window: 30.4375 × month rounded half up (24 → 731, 6 → 183)."""
    exact = DAYS_PER_MONTH * Decimal(month)
    return int(exact.quantize(Decimal(1), rounding=ROUND_HALF_UP))


def window_tolerance(month: int) -> int:
    """Half-width in days of a month's window: 45 for months ≤ 6, 90 for later months."""
    return SHORT_TOLERANCE_DAYS if month <= SHORT_WINDOW_MONTHS else LONG_TOLERANCE_DAYS


def parse_months(value: str | Iterable[int | str], *, field: str = "months") -> list[int]:
    """The window months of a user's input, in the order given, duplicates dropped.

    `value` is text such as "3,6,12,24" (spaces allowed) or an iterable of whole numbers (or their text).
    Raises `InvalidValue` naming `field` for a part that is not a whole number, a month below 1, or no
    month at all. The one parser behind the CLI's --months, the export, the Export and Cohort screens.
    """
    parts = [p.strip() for p in value.split(",")] if isinstance(value, str) else list(value)
    parts = [p for p in parts if not (isinstance(p, str) and p == "")]
    months = []
    for part in parts:
        try:
            number = float(part)
        except (TypeError, ValueError):
            raise InvalidValue(f"{part!r} is not a whole number of months; give e.g. 3,6,12,24",
                               field=field) from None
        if not math.isfinite(number) or number != int(number):
            raise InvalidValue(f"{part!r} is not a whole number of months; give e.g. 3,6,12,24", field=field)
        if number < 1:
            raise InvalidValue(f"{part!r}: months start at 1; give e.g. 3,6,12,24", field=field)
        months.append(int(number))
    if not months:
        raise InvalidValue("give at least one month, e.g. 3,6,12,24", field=field)
    return list(dict.fromkeys(months))


def parse_month(value: str | int, *, field: str = "response_month") -> int:
    """One month (e.g. --response-month 12) by the rules of `parse_months`; exactly one is allowed."""
    months = parse_months([value] if isinstance(value, int | float) else value, field=field)
    if len(months) != 1:
        raise InvalidValue(f"give one month, e.g. 12, not {value!r}", field=field)
    return months[0]


def _unique_months(months: Iterable[int]) -> list[int]:
    return list(dict.fromkeys(int(m) for m in months))


def window_choice(patients, study_days, month: int) -> np.ndarray:
    """Positions of the visit each patient contributes to `month`'s window: THE window rule.

    `patients` (codes or identifiers) and `study_days` (days since the patient's baseline visit) are
    aligned arrays, one entry per visit with an mRSS; NaN days are never chosen. A visit qualifies when
    |study_day − target| ≤ tolerance; the closest wins, and of two at the same distance the earlier.
    Returns the chosen positions, ordered by patient (sorted identifiers), one per patient at most.
    Used by `select_window_visits` (windows.csv, window_values.csv) and the follow-up visit of the
    composite endpoints (`analysis.criss`), so both always pick the same visit.
    """
    codes, _ = pd.factorize(pd.Series(np.asarray(patients)), sort=True)
    days = as_float_array(study_days)
    target, tolerance = window_target_day(month), window_tolerance(month)
    distance = np.abs(days - target)
    with np.errstate(invalid="ignore"):
        inside = np.flatnonzero(distance <= tolerance)
    # rank by distance, then prefer the visit before the target (the earlier one of a tie)
    key = distance[inside] * 2 + (days[inside] > target)
    order = inside[np.lexsort((key, codes[inside]))]
    if not len(order):
        return order
    first = np.r_[True, codes[order][1:] != codes[order][:-1]]
    return order[first]


def select_window_visits(
    visits_with_change: pd.DataFrame, months: Iterable[int] = DEFAULT_WINDOW_MONTHS
) -> pd.DataFrame:
    """The visit each patient contributes to each month's window (WINDOW_VISIT_COLUMNS).

    `visits_with_change` is the output of `change_from_baseline` (patient_id, visit_date, mrss,
    baseline_mrss, study_day, change, change_pct). Eligible: visits with an mRSS and a study_day
    (the patient has a baseline); the choice is `window_choice`'s. improved/progressed compare that
    visit's mRSS with the baseline. Rows sorted by month (in the order given, duplicates dropped), then
    patient_id.
    """
    v = visits_with_change
    study_day = as_float_array(v["study_day"])
    mrss = as_float_array(v["mrss"])
    ok = ~np.isnan(study_day) & ~np.isnan(mrss)
    columns = ["patient_id", "visit_date", "study_day", "mrss", "baseline_mrss", "change", "change_pct"]
    base = v.loc[ok, columns].reset_index(drop=True)
    days = study_day[ok]
    patients, _ = pd.factorize(base["patient_id"].astype("str"), sort=True)
    frames = []
    for month in _unique_months(months):
        chosen = base.iloc[window_choice(patients, days, month)].copy()
        chosen.insert(1, "month", month)
        chosen.insert(2, "target_day", window_target_day(month))
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

    Columns WINDOW_SCREEN_COLUMNS: n patients; mean, sample SD (n − 1; NaN when n < 2) and median of
    change; counts improved and progressed; the 95 % confidence interval of the mean change,
    mean ± t_{0.975, n−1} · SD / √n (NaN when n < 2; `analysis.stats.describe`); and the percentages of
    the n improved/progressed (NaN when n = 0). Unrounded.
    """
    rows = []
    by_month = {m: g for m, g in window_visits.groupby("month", sort=False)} if len(window_visits) else {}
    for month in _unique_months(months):
        group = by_month.get(month)
        change = as_float_array(group["change"]) if group is not None else np.array([], dtype="float64")
        keep = ~np.isnan(change)
        stats = describe(change, CONFIDENCE_LEVEL)
        n = stats.n
        n_improved = int(group["improved"].fillna(False).to_numpy(dtype=bool)[keep].sum()) if n else 0
        n_progressed = int(group["progressed"].fillna(False).to_numpy(dtype=bool)[keep].sum()) if n else 0
        rows.append(
            {
                "month": month,
                "n": n,
                "mean_change": stats.mean,
                "sd_change": stats.sd,
                "median_change": stats.median,
                "n_improved": n_improved,
                "n_progressed": n_progressed,
                "ci_low": stats.ci_low,
                "ci_high": stats.ci_high,
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


def format_windows_for_export(windows: pd.DataFrame, *, decimals: int = 2, with_ci: bool = False) -> pd.DataFrame:
    """The windows.csv frame from `summarise_windows`: statistics rounded half away from zero to 2 places.

    With `with_ci=True` the columns are EXCHANGE.md's (WINDOW_EXPORT_COLUMNS: ci_low and ci_high after
    median_change, blank when n < 2); without, the older WINDOW_COLUMNS (no CI), which
    `exchange/spec.py` still declares until the export switches to the contract's columns.
    """
    columns = WINDOW_EXPORT_COLUMNS if with_ci else WINDOW_COLUMNS
    out = windows[columns].copy()
    for column in ("mean_change", "sd_change", "median_change", "ci_low", "ci_high"):
        if column in out:
            out[column] = round_half_away(out[column], decimals)
    return out


def window_values_frame(window_visits: pd.DataFrame) -> pd.DataFrame:
    """The window_values.csv table (WINDOW_VALUES_COLUMNS), unrounded, from `select_window_visits`.

    One row per patient and window month with a visit in the window: the visit windows.csv used
    (visit_date, study_day, mrss, change, change_pct, improved/progressed as nullable booleans).
    Sorted by patient_id, then month in the order the months were given.
    """
    out = window_visits[WINDOW_VALUES_COLUMNS]
    order = np.argsort(out["patient_id"].astype("str").to_numpy(), kind="stable")
    return out.iloc[order].reset_index(drop=True)


def format_window_values_for_export(window_values: pd.DataFrame) -> pd.DataFrame:
    """window_values.csv values: mrss and change to 2 decimals, change_pct to 1 (half away from zero, as
    summary.csv), improved / progressed as yes/no (decided on unrounded values); dates and days as they are."""
    out = window_values[WINDOW_VALUES_COLUMNS].copy()
    for column in ("mrss", "change"):
        out[column] = round_half_away(out[column], MRSS_DECIMALS)
    out["change_pct"] = round_half_away(out["change_pct"], PERCENT_DECIMALS)
    out["improved"] = yes_no(out["improved"])
    out["progressed"] = yes_no(out["progressed"])
    return out
