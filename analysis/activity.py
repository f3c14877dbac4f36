"""EUSTAR activity index, revised (Valentini et al., Ann Rheum Dis 2017;76:270; ENDPOINTS.md), and activity.csv.

At every visit with an mRSS:
EUSTAR-AI = 1.5·[skin_worsening = 1] + 1.5·[mRSS > 18] + 1.5·[digital_ulcers ≥ 1]
          + 2.25·[tendon_friction_rubs = 1] + 2.25·[crp > 1 mg/dL] + 1.0·[dlco_pct < 70],
the mRSS being the visit mRSS and every other item its value at the visit date by the ±30-day rule
(`analysis.measure_values.values_at`). Range 0–10; active disease when ≥ 2.5. Blank with any item
unknown, the missing items named. Comparisons allow 1e-9, so that a mean of raters' values that lands a
rounding error beside a boundary (CRP 0.9 and 1.1 → 1.0000000000000002) is read as the boundary itself.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd

from analysis._util import as_float_array, join_flagged
from analysis.formatting import yes_no
from analysis.measure_values import values_at
from analysis.stats import round_half_away

# The items in the formula's order (the order of the `missing` column).
EUSTAR_AI_ITEMS: tuple[str, ...] = (
    "skin_worsening", "mrss", "digital_ulcers", "tendon_friction_rubs", "crp", "dlco_pct",
)
EUSTAR_AI_MEASURES: tuple[str, ...] = tuple(i for i in EUSTAR_AI_ITEMS if i != "mrss")
EUSTAR_AI_WEIGHTS: dict[str, float] = {
    "skin_worsening": 1.5, "mrss": 1.5, "digital_ulcers": 1.5, "tendon_friction_rubs": 2.25, "crp": 2.25,
    "dlco_pct": 1.0,
}
MRSS_ABOVE = 18.0  # points: counts when mRSS > 18
DIGITAL_ULCERS_FROM = 1.0  # active ulcers: counts when ≥ 1
CRP_ABOVE = 1.0  # mg/dL: counts when > 1
DLCO_BELOW = 70.0  # % predicted: counts when < 70
ACTIVE_FROM = 2.5  # active disease when the index is ≥ 2.5
TOLERANCE = 1e-9

# activity.csv, in order (ENDPOINTS.md, Exports).
ACTIVITY_COLUMNS = ["patient_id", "visit_date", "eustar_ai", "active", "missing"]
# `activity_frame` adds each item's value at the visit after them.
ACTIVITY_FRAME_COLUMNS = [*ACTIVITY_COLUMNS, *EUSTAR_AI_ITEMS]
AI_DECIMALS = 2


def eustar_ai(skin_worsening, mrss, digital_ulcers, tendon_friction_rubs, crp, dlco_pct):
    """The EUSTAR activity index from the six item values (scalars → float; arrays / Series → float64 array).

    NaN where any item is missing. 10 when every item counts, 0 when none does.
    """
    values = (skin_worsening, mrss, digital_ulcers, tendon_friction_rubs, crp, dlco_pct)
    scalar = all(np.ndim(v) == 0 for v in values)
    item = dict(zip(EUSTAR_AI_ITEMS, (as_float_array([v] if np.ndim(v) == 0 else v) for v in values),
                    strict=True))
    with np.errstate(invalid="ignore"):
        counts = {
            "skin_worsening": item["skin_worsening"] >= 1.0 - TOLERANCE,  # 0/1: "= 1"
            "mrss": item["mrss"] > MRSS_ABOVE + TOLERANCE,
            "digital_ulcers": item["digital_ulcers"] >= DIGITAL_ULCERS_FROM - TOLERANCE,
            "tendon_friction_rubs": item["tendon_friction_rubs"] >= 1.0 - TOLERANCE,  # 0/1: "= 1"
            "crp": item["crp"] > CRP_ABOVE + TOLERANCE,
            "dlco_pct": item["dlco_pct"] < DLCO_BELOW - TOLERANCE,
        }
    arrays = np.broadcast_arrays(*(item[name] for name in EUSTAR_AI_ITEMS))
    index = np.zeros(arrays[0].shape)
    for name in EUSTAR_AI_ITEMS:
        index = index + EUSTAR_AI_WEIGHTS[name] * counts[name]
    unknown = np.logical_or.reduce([np.isnan(a) for a in arrays])
    index = np.where(unknown, np.nan, index)
    return float(index[0]) if scalar else index


def is_active(index):
    """Active disease: EUSTAR-AI ≥ 2.5 (a bool array; False where the index is missing)."""
    with np.errstate(invalid="ignore"):
        return as_float_array([index] if np.ndim(index) == 0 else index) >= ACTIVE_FROM - TOLERANCE


def activity_frame(visits: pd.DataFrame, measurements: pd.DataFrame) -> pd.DataFrame:
    """The EUSTAR activity index at every visit with an mRSS (ACTIVITY_FRAME_COLUMNS), unrounded.

    `visits` from `visit_scores` (patient_id, visit_date, mrss; rows without an mRSS are left out);
    `measurements` with MEASUREMENT_COLUMNS. eustar_ai float64 (NaN with any item unknown); active a
    nullable boolean (<NA> when the index is blank); missing the unknown items in EUSTAR_AI_ITEMS order
    joined by ";" ("" when none); then each item's value at the visit. Sorted by patient_id, visit_date.
    """
    rows = visits.loc[visits["mrss"].notna() & visits["visit_date"].notna(), ["patient_id", "visit_date", "mrss"]]
    rows = rows.assign(patient_id=rows["patient_id"].astype("str"))
    rows = rows.sort_values(["patient_id", "visit_date"], kind="stable").reset_index(drop=True)
    found = values_at(measurements, rows, EUSTAR_AI_MEASURES, date_column="visit_date")
    out = rows[["patient_id", "visit_date"]].copy()
    for name in EUSTAR_AI_ITEMS:
        out[name] = as_float_array(rows["mrss"] if name == "mrss" else found[name])
    index = eustar_ai(*(out[name].to_numpy() for name in EUSTAR_AI_ITEMS))
    out["eustar_ai"] = index
    active = pd.array(is_active(index), dtype="boolean")
    active[np.isnan(index)] = pd.NA
    out["active"] = active
    unknown = [np.isnan(out[name].to_numpy()) for name in EUSTAR_AI_ITEMS]
    out["missing"] = pd.Series(join_flagged(unknown, EUSTAR_AI_ITEMS), index=out.index, dtype="str")
    return out[ACTIVITY_FRAME_COLUMNS]


def format_activity_for_export(activity: pd.DataFrame) -> pd.DataFrame:
    """activity.csv values from `activity_frame`: ACTIVITY_COLUMNS only; eustar_ai rounded to 2 decimals
    (halves away from zero), active as yes/no (blank when the index is), visit dates and missing as they are."""
    out = activity[ACTIVITY_COLUMNS].copy()
    out["eustar_ai"] = round_half_away(out["eustar_ai"], AI_DECIMALS)
    out["active"] = yes_no(out["active"])
    return out


@dataclass(frozen=True)
class ActivitySummary:
    """A cohort's EUSTAR activity index at each patient's latest visit with an mRSS (the Cohort screen).

    n: patients with a visit; n_computable: those whose latest index is known; n_active / pct_active:
    active disease (≥ 2.5) among them; median, q1, q3: the index's median and quartiles (linear
    interpolation); index: patient_id, visit_date, eustar_ai of the computable ones (for a histogram);
    not_computable: patient_id, visit_date and the missing items, sorted by patient_id.
    """

    n: int
    n_computable: int
    n_active: int
    pct_active: float
    median: float
    q1: float
    q3: float
    index: pd.DataFrame
    not_computable: pd.DataFrame


def summarise_activity(activity: pd.DataFrame) -> ActivitySummary:
    """The latest visit of each patient in `activity_frame`'s rows, summarised (see ActivitySummary)."""
    latest = activity.sort_values(["patient_id", "visit_date"], kind="stable")
    latest = latest.drop_duplicates("patient_id", keep="last")
    values = as_float_array(latest["eustar_ai"])
    known = ~np.isnan(values)
    n_known = int(known.sum())
    n_active = int(is_active(values[known]).sum()) if n_known else 0
    q1, median, q3 = (np.percentile(values[known], [25, 50, 75]).tolist() if n_known else [math.nan] * 3)
    return ActivitySummary(
        n=len(latest), n_computable=n_known, n_active=n_active,
        pct_active=100.0 * n_active / n_known if n_known else math.nan, median=median, q1=q1, q3=q3,
        index=latest.loc[known, ["patient_id", "visit_date", "eustar_ai"]].reset_index(drop=True),
        not_computable=latest.loc[~known, ["patient_id", "visit_date", "missing"]].reset_index(drop=True),
    )


def activity_distribution(index) -> pd.DataFrame:
    """How many patients have each value of the index (the Cohort screen's distribution), from the known indexes
    of one time point (one per patient: `ActivitySummary.index["eustar_ai"]`).

    One row per value present, ascending: eustar_ai (to AI_DECIMALS, as activity.csv writes it), n, pct (of the
    known indexes) and active (≥ ACTIVE_FROM). The index is a sum of six fixed weights, so it takes only a few
    dozen values: each value is counted as it is, with no bins to choose."""
    values = as_float_array(index)
    values = round_half_away(values[~np.isnan(values)], AI_DECIMALS)
    if not len(values):
        return pd.DataFrame({"eustar_ai": pd.Series(dtype="float64"), "n": pd.Series(dtype="int64"),
                             "pct": pd.Series(dtype="float64"), "active": pd.Series(dtype="bool")})
    distinct, counts = np.unique(values, return_counts=True)
    return pd.DataFrame({"eustar_ai": distinct.astype("float64"), "n": counts.astype("int64"),
                         "pct": 100.0 * counts / len(values), "active": is_active(distinct)})

