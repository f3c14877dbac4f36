"""Baselines and change from baseline (CLINICAL.md, Definitions: "Baseline", "Change", "% change").

Baseline: the earliest visit with an mRSS or, anchored on a drug, the latest visit with an mRSS from
ANCHOR_LOOKBACK_DAYS (90) days before the drug's first start up to that start, both ends included.
Change = visit − baseline; % change = 100 × change / baseline (none when the baseline is 0).
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd

from analysis._util import as_float_array, datetime_dtype
from models.catalog import ANCHOR_LOOKBACK_DAYS

BASELINE_COLUMNS = ["patient_id", "anchor_date", "baseline_date", "baseline_mrss"]
CHANGE_COLUMNS = ["baseline_date", "baseline_mrss", "study_day", "change", "change_pct"]


def first_drug_starts(medications: pd.DataFrame, drug: str) -> pd.Series:
    """The first start date of `drug` per patient: the anchor of an anchored baseline.

    `drug` must equal the stored name exactly (EXCHANGE.md, "--anchor-drug names a drug exactly as
    stored"). Returns a Series named "anchor_date", indexed by patient_id (sorted), one entry per
    patient who ever took the drug.
    """
    periods = medications.loc[medications["drug"] == drug, ["patient_id", "start_date"]]
    periods = periods.dropna(subset=["start_date"])
    starts = periods.groupby("patient_id", sort=True)["start_date"].min()
    starts.name = "anchor_date"
    starts.index.name = "patient_id"
    return starts


def _anchor_frame(anchors: pd.Series | Mapping) -> pd.DataFrame:
    series = anchors if isinstance(anchors, pd.Series) else pd.Series(dict(anchors), dtype="object")
    frame = pd.DataFrame(
        {
            "patient_id": pd.Series(series.index.astype("str"), dtype="str"),
            "anchor_date": pd.to_datetime(pd.Series(series.to_numpy()), errors="coerce"),
        }
    )
    return frame.dropna(subset=["anchor_date"]).drop_duplicates("patient_id")


def baselines(visits: pd.DataFrame, *, anchors: pd.Series | Mapping | None = None) -> pd.DataFrame:
    """The baseline visit of each patient: columns patient_id, anchor_date, baseline_date, baseline_mrss.

    `visits` has at least patient_id, visit_date and mrss (as from `visit_scores`); rows without an
    mRSS are ignored.
    - Without `anchors`: the earliest visit with an mRSS; one row per patient with such a visit,
      anchor_date NaT.
    - With `anchors` (patient_id → anchor date, e.g. `first_drug_starts(...)`): the latest visit with
      an mRSS in [anchor − 90 days, anchor], both ends included. One row per patient with a visit or
      an anchor; a patient with an anchor but no visit in that range, or with no anchor at all (never
      took the drug), has NaT/NaN baseline.
    Sorted by patient_id.
    """
    date_dtype = datetime_dtype(visits["visit_date"]) if "visit_date" in visits else "datetime64[us]"
    scored = visits.loc[visits["mrss"].notna(), ["patient_id", "visit_date", "mrss"]]
    scored = scored.dropna(subset=["visit_date"]).sort_values(["patient_id", "visit_date"], kind="stable")
    if anchors is None:
        first = scored.drop_duplicates("patient_id", keep="first")
        out = pd.DataFrame(
            {
                "patient_id": first["patient_id"].to_numpy(),
                "anchor_date": pd.Series(pd.NaT, index=range(len(first)), dtype=date_dtype),
                "baseline_date": first["visit_date"].to_numpy(),
                "baseline_mrss": first["mrss"].to_numpy(dtype="float64"),
            }
        )
        out["patient_id"] = out["patient_id"].astype("str")
        return out[BASELINE_COLUMNS]

    anchor = _anchor_frame(anchors)
    candidates = scored.merge(anchor, on="patient_id", how="inner")
    lookback = pd.Timedelta(days=ANCHOR_LOOKBACK_DAYS)
    in_range = (candidates["visit_date"] >= candidates["anchor_date"] - lookback) & (
        candidates["visit_date"] <= candidates["anchor_date"]
    )
    chosen = candidates[in_range].drop_duplicates("patient_id", keep="last")
    chosen = chosen.rename(columns={"visit_date": "baseline_date", "mrss": "baseline_mrss"})
    ids = pd.Series(
        np.union1d(scored["patient_id"].astype("str").unique(), anchor["patient_id"].unique()), dtype="str"
    )
    out = pd.DataFrame({"patient_id": ids})
    out = out.merge(anchor, on="patient_id", how="left")
    out = out.merge(chosen[["patient_id", "baseline_date", "baseline_mrss"]], on="patient_id", how="left")
    out["anchor_date"] = out["anchor_date"].astype(date_dtype)
    out["baseline_date"] = out["baseline_date"].astype(date_dtype)
    out["baseline_mrss"] = out["baseline_mrss"].astype("float64")
    return out[BASELINE_COLUMNS].sort_values("patient_id", kind="stable").reset_index(drop=True)


def change_and_percent(baseline_mrss, mrss):
    """Change from baseline and % change (CLINICAL.md, "Change", "% change"): THE formula.

    change = mrss − baseline_mrss; change_pct = 100 × change / baseline_mrss, NaN when the baseline is
    0 or either value is missing. Scalars give a pair of floats (NaN for missing); Series, arrays or
    lists give a pair of float64 arrays of their length.
    """
    scalar = np.ndim(baseline_mrss) == 0 and np.ndim(mrss) == 0
    base = as_float_array([baseline_mrss] if np.ndim(baseline_mrss) == 0 else baseline_mrss)
    value = as_float_array([mrss] if np.ndim(mrss) == 0 else mrss)
    change = value - base
    with np.errstate(invalid="ignore", divide="ignore", over="ignore"):
        percent = np.where(base != 0, 100.0 * change / np.where(base != 0, base, 1.0), np.nan)
    if scalar:
        return float(change[0]), float(percent[0])
    return change, percent


def change_from_baseline(visits: pd.DataFrame, baselines: pd.DataFrame) -> pd.DataFrame:
    """`visits` with baseline_date, baseline_mrss, study_day, change and change_pct appended.

    Rows and index of `visits` are kept. With the patient's baseline (from `baselines`):
    - study_day = days from the baseline visit to the visit (0 at baseline, negative before it),
      nullable Int64, <NA> for a patient without a baseline;
    - change = mrss − baseline_mrss (CLINICAL.md, "Change");
    - change_pct = 100 × change / baseline_mrss, NaN when the baseline is 0 or missing.
    Existing columns of those names in `visits` are replaced.
    """
    keep = [c for c in visits.columns if c not in CHANGE_COLUMNS]
    base = baselines[["patient_id", "baseline_date", "baseline_mrss"]].dropna(subset=["baseline_date"])
    base = base.drop_duplicates("patient_id")
    left = visits[keep]
    out = left.merge(base, on="patient_id", how="left", validate="many_to_one")
    out.index = visits.index
    days = (out["visit_date"] - out["baseline_date"]).dt.days
    out["study_day"] = pd.array(days.to_numpy(dtype="float64", na_value=np.nan), dtype="Int64")
    out["baseline_mrss"] = out["baseline_mrss"].astype("float64")
    out["change"], out["change_pct"] = change_and_percent(out["baseline_mrss"], out["mrss"])
    return out
