"""Agreement between raters who scored the same patient on the same day (CLINICAL.md, "Several
raters at one visit", "Measurement noise": between observers the total differs with a within-patient
SD of about 4.6-5.4 points).
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

AGREEMENT_COLUMNS = ["patient_id", "visit_date", "n_raters", "min_total", "max_total", "difference", "sd"]


def rater_agreement(assessments: pd.DataFrame) -> pd.DataFrame:
    """Per visit with two or more rater totals: how far the raters' totals lie apart.

    Columns: patient_id, visit_date, n_raters, min_total, max_total, difference (= max − min, the
    absolute difference of the two totals when there are two raters) and sd (sample SD of the
    totals, n − 1). Assessments without a total (incomplete) are left out. Sorted by patient, date.
    """
    rated = assessments.loc[assessments["total"].notna(), ["patient_id", "visit_date", "total"]].copy()
    rated["total"] = rated["total"].astype("float64")
    grouped = rated.groupby(["patient_id", "visit_date"], sort=True)["total"]
    out = pd.DataFrame(
        {
            "n_raters": grouped.count().astype("int64"),
            "min_total": grouped.min(),
            "max_total": grouped.max(),
            "sd": grouped.std(ddof=1),
        }
    )
    out = out[out["n_raters"] >= 2].reset_index()
    out["difference"] = out["max_total"] - out["min_total"]
    return out[AGREEMENT_COLUMNS]


def summarise_agreement(agreement: pd.DataFrame) -> dict[str, float]:
    """Summary of `rater_agreement`: n_visits, mean_abs_difference and within_visit_sd.

    mean_abs_difference is the mean of the per-visit differences (max − min); within_visit_sd is the
    pooled within-visit SD, sqrt(Σ (n_v − 1)·sd_v² / Σ (n_v − 1)) — for two raters per visit,
    sqrt(mean(d²) / 2). NaN when there is no visit with two raters.
    """
    n = len(agreement)
    if n == 0:
        return {"n_visits": 0, "mean_abs_difference": math.nan, "within_visit_sd": math.nan}
    dof = (agreement["n_raters"] - 1).to_numpy(dtype="float64")
    variance = agreement["sd"].to_numpy(dtype="float64") ** 2
    return {
        "n_visits": n,
        "mean_abs_difference": float(agreement["difference"].mean()),
        "within_visit_sd": float(np.sqrt((dof * variance).sum() / dof.sum())),
    }
