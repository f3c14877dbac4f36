"""A measure's value at a date (ENDPOINTS.md, Common rules: "A measure's value at a date D").

The value recorded on the date closest to D within ±PAIRING_DAYS (30) days, both ends included; of two
dates at the same distance, the earlier. Several values on that date (several raters, or both sides of a
sided measure) count as their mean. None (NaN) when nothing lies within ±30 days.

The composite endpoints (`analysis.criss`, `analysis.activity`) pair every item with a visit this way.
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np
import pandas as pd

PAIRING_DAYS = 30


def values_at(
    measurements: pd.DataFrame,
    points: pd.DataFrame,
    measures: Iterable[str],
    *,
    date_column: str = "date",
    days: int = PAIRING_DAYS,
) -> pd.DataFrame:
    """Each measure's value at each point by the ±30-day rule.

    `points` has patient_id and `date_column` (a point with NaT gets NaN everywhere); `measurements`
    has MEASUREMENT_COLUMNS. Returns a float64 frame with one column per measure (in the order given),
    aligned to `points` (same index): the mean of the values of the closest date within ±`days` days
    (the earlier date on a tie), NaN when none lies that close.
    """
    codes = list(dict.fromkeys(measures))
    n = len(points)
    out = pd.DataFrame({code: np.full(n, np.nan) for code in codes}, index=points.index)
    rows = measurements.loc[measurements["measure"].isin(codes), ["patient_id", "measure", "date", "value"]]
    value = pd.to_numeric(rows["value"], errors="coerce").to_numpy(dtype="float64", na_value=np.nan)
    value_days = _day_numbers(rows["date"])
    recorded = ~np.isnan(value) & ~np.isnan(value_days)
    if n == 0 or not recorded.any():
        return out
    rows, value, value_days = rows[recorded], value[recorded], value_days[recorded]
    # One integer key per (patient, measure, day), sorted: a point's candidates are its neighbours in that
    # order. Days are offset by `days` + 1 and groups spaced by more than the whole range, so that
    # key ± days never reaches another patient's or measure's values.
    patients, _ = pd.factorize(pd.concat([points["patient_id"], rows["patient_id"]], ignore_index=True)
                               .astype("str"))
    point_days = _day_numbers(points[date_column])
    known = ~np.isnan(point_days)
    first = min(np.nanmin(point_days) if known.any() else value_days.min(), value_days.min())
    last = max(np.nanmax(point_days) if known.any() else value_days.max(), value_days.max())
    span = int(last - first) + 2 * days + 3
    measure_index = pd.Index(codes).get_indexer(rows["measure"])
    right_group = patients[n:].astype("int64") * len(codes) + measure_index
    all_keys = right_group * span + (value_days - first + days + 1).astype("int64")
    # several values on one date (raters, sides) count as their mean
    right_key, which = np.unique(all_keys, return_inverse=True)
    which = which.reshape(-1)
    right_value = np.bincount(which, weights=value) / np.bincount(which)
    left_day = np.where(known, point_days - first + days + 1, 0).astype("int64")
    for m, code in enumerate(codes):
        key = (patients[:n].astype("int64") * len(codes) + m) * span + left_day
        before = np.searchsorted(right_key, key, side="right") - 1  # the last on or before the day
        after = np.searchsorted(right_key, key, side="left")  # the first on or after the day
        before_ok = before >= 0
        before_ok[before_ok] = right_key[before[before_ok]] >= key[before_ok] - days
        after_ok = after < len(right_key)
        after_ok[after_ok] = right_key[after[after_ok]] <= key[after_ok] + days
        gap_before = np.where(before_ok, key - right_key[np.clip(before, 0, None)], np.iinfo("int64").max)
        gap_after = np.where(after_ok, right_key[np.clip(after, 0, len(right_key) - 1)] - key, np.iinfo("int64").max)
        # the earlier date wins a tie: take the later one only when it is strictly closer
        take_after = after_ok & (gap_after < gap_before)
        chosen = np.where(take_after, right_value[np.clip(after, 0, len(right_key) - 1)],
                          np.where(before_ok, right_value[np.clip(before, 0, None)], np.nan))
        out[code] = np.where(known, chosen, np.nan)
    return out


def _day_numbers(dates: pd.Series) -> np.ndarray:
    """Dates as float day numbers since 1970-01-01 (NaN for NaT)."""
    values = pd.to_datetime(dates).to_numpy().astype("datetime64[D]")
    numbers = values.astype("int64").astype("float64")
    numbers[np.isnat(values)] = np.nan
    return numbers
