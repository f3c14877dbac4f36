"""Per-patient summary and the visits table of an export (EXCHANGE.md, summary.csv and visits.csv).

The frames here keep numbers unrounded and responder flags as nullable booleans; the
`format_*_for_export` functions apply the export's rounding (mRSS and change to 2 decimals,
% change to 1, halves away from zero — see `analysis.stats.round_half_away`) and write yes/no.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd

from analysis.baseline import baselines as compute_baselines
from analysis.baseline import change_and_percent, change_from_baseline
from analysis.formatting import MRSS_DECIMALS, PERCENT_DECIMALS, yes_no
from analysis.response import improved_flags, progressed_flags
from analysis.stats import round_half_away
from analysis.treatment import on_treatment
from models.catalog import SITE_CODES

SUMMARY_COLUMNS = [
    "patient_id", "diagnosis", "anchor_date", "baseline_date", "baseline_mrss", "latest_date",
    "latest_mrss", "change", "change_pct", "n_visits", "improved", "progressed",
]
VISIT_EXPORT_COLUMNS = [
    "patient_id", "visit_date", "study_day", "n_raters", "mrss", *SITE_CODES, "change_from_baseline",
    "on_treatment",
]


def summarise_patients(
    patients: pd.DataFrame, visits: pd.DataFrame, *, anchors: pd.Series | Mapping | None = None
) -> pd.DataFrame:
    """One row per patient of `patients`, with SUMMARY_COLUMNS, sorted by patient_id.

    `visits` is the output of `visit_scores`; `anchors` (patient_id → date, e.g. `first_drug_starts`)
    selects the anchored baseline (see `analysis.baseline.baselines`).
    - anchor_date: the patient's anchor (NaT without anchors or when the patient never took the drug);
    - baseline_*: the baseline visit; latest_*: the last visit with an mRSS;
    - change = latest − baseline; change_pct = 100 × change / baseline (NaN when the baseline is 0);
    - n_visits: distinct visit dates with an mRSS (all of them, also before an anchored baseline);
    - improved / progressed: the responder definitions on latest vs baseline, nullable boolean,
      <NA> without a baseline.
    A patient with no visits has only patient_id, diagnosis, anchor_date and n_visits = 0 filled.
    """
    people = patients[["patient_id", "diagnosis"]].drop_duplicates("patient_id").copy()
    people["patient_id"] = people["patient_id"].astype("str")
    scored = visits.loc[visits["mrss"].notna() & visits["visit_date"].notna()]
    scored = scored.sort_values(["patient_id", "visit_date"], kind="stable")
    latest = scored.drop_duplicates("patient_id", keep="last")[["patient_id", "visit_date", "mrss"]]
    latest = latest.rename(columns={"visit_date": "latest_date", "mrss": "latest_mrss"})
    counts = scored.groupby("patient_id")["visit_date"].nunique().rename("n_visits").reset_index()
    base = compute_baselines(scored, anchors=anchors)
    for frame in (latest, counts, base):
        frame["patient_id"] = frame["patient_id"].astype("str")

    out = people.merge(base, on="patient_id", how="left")
    out = out.merge(latest, on="patient_id", how="left").merge(counts, on="patient_id", how="left")
    out["n_visits"] = out["n_visits"].fillna(0).astype("int64")
    for column in ("baseline_mrss", "latest_mrss"):
        out[column] = out[column].astype("float64")
    out["change"], out["change_pct"] = change_and_percent(out["baseline_mrss"], out["latest_mrss"])
    out["improved"] = improved_flags(out["baseline_mrss"], out["latest_mrss"]).to_numpy()
    out["progressed"] = progressed_flags(out["baseline_mrss"], out["latest_mrss"]).to_numpy()
    date_dtype = visits["visit_date"].dtype if len(visits) else np.dtype("datetime64[us]")
    for column in ("anchor_date", "baseline_date", "latest_date"):
        out[column] = out[column].astype(date_dtype)
    return out[SUMMARY_COLUMNS].sort_values("patient_id", kind="stable").reset_index(drop=True)


def format_summary_for_export(summary: pd.DataFrame) -> pd.DataFrame:
    """summary.csv values: mRSS and change rounded to 2 decimals, change_pct to 1, flags as yes/no.

    Rounding is half away from zero (`round_half_away`); dates and counts are left as they are.
    """
    out = summary[SUMMARY_COLUMNS].copy()
    for column in ("baseline_mrss", "latest_mrss", "change"):
        out[column] = round_half_away(out[column], MRSS_DECIMALS)
    out["change_pct"] = round_half_away(out["change_pct"], PERCENT_DECIMALS)
    out["improved"] = yes_no(out["improved"])
    out["progressed"] = yes_no(out["progressed"])
    return out


def visit_export_frame(
    visits: pd.DataFrame, baselines: pd.DataFrame, medications: pd.DataFrame
) -> pd.DataFrame:
    """The visits.csv table (VISIT_EXPORT_COLUMNS), unrounded, in the order of `visits`.

    `visits` from `visit_scores`, `baselines` from `analysis.baseline.baselines` (plain or anchored),
    `medications` with MEDICATION_COLUMNS. study_day and change_from_baseline are blank (<NA>/NaN)
    for a patient without a baseline; on_treatment as `analysis.treatment.on_treatment`.
    """
    out = change_from_baseline(visits, baselines)
    out["on_treatment"] = on_treatment(out, medications)
    out = out.rename(columns={"change": "change_from_baseline"})
    return out[VISIT_EXPORT_COLUMNS].reset_index(drop=True)


def format_visits_for_export(visit_frame: pd.DataFrame) -> pd.DataFrame:
    """visits.csv values: mrss, site means and change_from_baseline rounded to 2 decimals (half away)."""
    out = visit_frame[VISIT_EXPORT_COLUMNS].copy()
    for column in ("mrss", *SITE_CODES, "change_from_baseline"):
        out[column] = round_half_away(out[column], MRSS_DECIMALS)
    return out
