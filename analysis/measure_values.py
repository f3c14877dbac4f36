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

_DATE = "datetime64[ns]"  # merge_asof needs one datetime unit on both sides


def daily_values(measurements: pd.DataFrame, measures: Iterable[str]) -> pd.DataFrame:
    """One value per patient, measure and date: the mean of the values recorded that day.

    `measurements` has MEASUREMENT_COLUMNS (at least patient_id, date, measure, value); rows of other
    measures, and rows without a date or a value, are left out. Columns patient_id, measure, date, value,
    sorted by measure, patient_id and date.
    """
    codes = list(dict.fromkeys(measures))
    rows = measurements.loc[measurements["measure"].isin(codes), ["patient_id", "measure", "date", "value"]]
    rows = rows.assign(value=pd.to_numeric(rows["value"], errors="coerce").astype("float64"))
    rows = rows.dropna(subset=["date", "value"])
    out = rows.groupby(["measure", "patient_id", "date"], sort=True, observed=True)["value"].mean().reset_index()
    out["patient_id"] = out["patient_id"].astype("str")
    return out[["patient_id", "measure", "date", "value"]]


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
    if n == 0 or measurements.empty:
        return out
    left = pd.DataFrame({
        "patient_id": points["patient_id"].astype("str").to_numpy(),
        "_date": pd.to_datetime(points[date_column]).astype(_DATE).to_numpy(),
        "_row": np.arange(n),
    })
    left = left.dropna(subset=["_date"]).sort_values("_date", kind="stable")
    tolerance = pd.Timedelta(days=days)
    daily = daily_values(measurements, codes)
    for code, right in daily.groupby("measure", sort=False):
        right = pd.DataFrame({
            "patient_id": right["patient_id"].to_numpy(),
            "_date": right["date"].astype(_DATE).to_numpy(),
            "_found": right["date"].astype(_DATE).to_numpy(),
            "_value": right["value"].to_numpy(),
        }).sort_values("_date", kind="stable")
        before = pd.merge_asof(left, right, on="_date", by="patient_id", direction="backward",
                               tolerance=tolerance, allow_exact_matches=True)
        after = pd.merge_asof(left, right, on="_date", by="patient_id", direction="forward",
                              tolerance=tolerance, allow_exact_matches=True)
        gap_before = (before["_date"] - before["_found"]).dt.days.to_numpy(dtype="float64", na_value=np.nan)
        gap_after = (after["_found"] - after["_date"]).dt.days.to_numpy(dtype="float64", na_value=np.nan)
        # the earlier date wins a tie: take the later one only when it is strictly closer
        later = ~np.isnan(gap_after) & (np.isnan(gap_before) | (gap_after < gap_before))
        value = np.where(later, after["_value"].to_numpy(dtype="float64"), before["_value"].to_numpy(dtype="float64"))
        column = np.full(n, np.nan)
        column[before["_row"].to_numpy()] = value
        out[code] = column
    return out
