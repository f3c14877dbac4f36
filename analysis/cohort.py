"""Cohort analysis for the trial coordinators' screen (PRODUCT.md screen 6), on DataFrames.

Everything here is built from the definitions elsewhere in `analysis/` (visit mRSS, baseline, change,
responders, windows), so the screen shows the same numbers as the export's summary.csv and windows.csv.
What this module adds:
- the visit-based cohort criteria (a visit in a date range, a minimum follow-up);
- the baseline row of the summary table and the table itself (one row per window);
- the spaghetti plot's frames (mRSS by days since the anchor, and the cohort mean with its 95 % CI
  in bins of MEAN_BIN_MONTHS months, one value per patient and bin);
- the waterfall's frame (change per patient at a window, with its category);
- the mean change of each of the 17 sites between baseline and a window visit;
- the summary table of each centre's patients (`summary_by_centre`), for multi-centre cohorts.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date

import numpy as np
import pandas as pd

from analysis._util import as_float_array
from analysis.baseline import baselines as compute_baselines
from analysis.baseline import change_from_baseline
from analysis.response import response_categories
from analysis.scores import visit_scores
from analysis.stats import confidence_half_width, describe
from analysis.summary import summarise_patients
from analysis.windows import (
    CONFIDENCE_LEVEL,
    DAYS_PER_MONTH,
    DEFAULT_WINDOW_MONTHS,
    select_window_visits,
    summarise_windows,
    window_target_day,
)
from models.catalog import SITE_CODES

MEAN_BIN_MONTHS = 3  # the spaghetti plot's mean: one point per 3 months since the anchor
MIN_PATIENTS_PER_MEAN_POINT = 2  # a mean point (and its CI) needs at least two patients

VISIT_TOTAL_COLUMNS = ["patient_id", "visit_date", "n_raters", "mrss"]
TABLE_COLUMNS = [
    "row", "month", "n", "mean", "sd", "median", "ci_low", "ci_high", "n_improved", "pct_improved",
    "n_progressed", "pct_progressed",
]
TRAJECTORY_COLUMNS = ["patient_id", "visit_date", "day", "study_day", "mrss"]
MEAN_CURVE_COLUMNS = ["day", "mean", "ci_low", "ci_high", "n"]
WATERFALL_COLUMNS = ["patient_id", "baseline", "mrss", "change", "change_pct", "category"]
SITE_CHANGE_COLUMNS = ["site", "n", "mean_change", "ci_low", "ci_high"]
CENTRE_TABLE_COLUMNS = ["centre", "patients", *TABLE_COLUMNS]


def follow_up_days(months: int) -> int:
    """The minimum follow-up of `months` in days, as the windows count them (30.4375 × months, half up)."""
    return window_target_day(months)


def visit_totals(assessments: pd.DataFrame) -> pd.DataFrame:
    """`visit_scores(assessments)` without the 17 site means: patient_id, visit_date, n_raters, mrss.

    The same definition (CLINICAL.md, "Visit mRSS": the mean of the rater totals of the visit; a date
    with no total has no row; sorted by patient and date), for the cohort screen, which needs only
    the totals of hundreds of thousands of assessments. A test holds it equal to `visit_scores`.
    """
    if assessments.empty:
        return visit_scores(assessments)[VISIT_TOTAL_COLUMNS]
    frame = pd.DataFrame({"patient_id": assessments["patient_id"], "visit_date": assessments["visit_date"],
                          "total": pd.to_numeric(assessments["total"], errors="coerce").astype("float64")})
    grouped = frame.groupby(["patient_id", "visit_date"], sort=True, observed=True, dropna=True)["total"]
    out = grouped.agg(["count", "mean"]).rename(columns={"count": "n_raters", "mean": "mrss"})
    out["n_raters"] = out["n_raters"].astype("int64")
    out = out[out["n_raters"] > 0].reset_index()
    return out[VISIT_TOTAL_COLUMNS].reset_index(drop=True)


def select_by_visits(
    visits: pd.DataFrame,
    baselines: pd.DataFrame,
    patient_ids: Iterable[str],
    *,
    visits_from: date | None = None,
    visits_to: date | None = None,
    min_follow_up_months: int = 0,
) -> list[str]:
    """The patients of `patient_ids` that meet the visit criteria, sorted.

    - `visits_from` / `visits_to` (both included; either may be None): the patient has at least one
      visit with an mRSS in that range;
    - `min_follow_up_months` > 0: the patient has a baseline and their last visit with an mRSS is at
      least `follow_up_days(months)` days after the baseline visit.
    `visits` as from `visit_scores` (patient_id, visit_date, mrss), `baselines` from `baselines()`.
    Without criteria every patient of `patient_ids` is kept (also those without visits).
    """
    ids = pd.Index(pd.unique(pd.Series(list(patient_ids), dtype="str")))
    keep = np.ones(len(ids), dtype=bool)
    scored = visits.loc[visits["mrss"].notna(), ["patient_id", "visit_date"]]
    if visits_from is not None or visits_to is not None:
        inside = np.ones(len(scored), dtype=bool)
        if visits_from is not None:
            inside &= (scored["visit_date"] >= pd.Timestamp(visits_from)).to_numpy()
        if visits_to is not None:
            inside &= (scored["visit_date"] <= pd.Timestamp(visits_to)).to_numpy()
        keep &= ids.isin(scored.loc[inside, "patient_id"].astype("str").unique())
    if min_follow_up_months and min_follow_up_months > 0:
        last = scored.groupby("patient_id")["visit_date"].max()
        base = baselines.dropna(subset=["baseline_date"]).set_index("patient_id")["baseline_date"]
        span = (last.reindex(base.index) - base).dt.days
        long_enough = span[span >= follow_up_days(int(min_follow_up_months))].index.astype("str")
        keep &= ids.isin(long_enough)
    return sorted(ids[keep].tolist())


def summary_table(summary: pd.DataFrame, windows: pd.DataFrame) -> pd.DataFrame:
    """The screen's summary table (TABLE_COLUMNS), unrounded.

    First row "Baseline": n patients with a baseline, the mean, sample SD, median and 95 % CI of
    their baseline mRSS (from `summarise_patients`). Then one row per window of `windows` (from
    `summarise_windows`, WINDOW_SCREEN_COLUMNS): n, mean, SD, median and CI of the change from
    baseline, improved and progressed counts and percentages — the windows.csv numbers, unrounded.
    """
    n, mean, sd, median, low, high = describe(summary["baseline_mrss"], CONFIDENCE_LEVEL)
    rows = [{"row": "Baseline mRSS", "month": 0, "n": n, "mean": mean, "sd": sd, "median": median,
             "ci_low": low, "ci_high": high, "n_improved": pd.NA, "pct_improved": math.nan,
             "n_progressed": pd.NA, "pct_progressed": math.nan}]
    for window in windows.itertuples(index=False):
        rows.append({"row": f"Change at {window.month} months", "month": window.month, "n": window.n,
                     "mean": window.mean_change, "sd": window.sd_change, "median": window.median_change,
                     "ci_low": window.ci_low, "ci_high": window.ci_high, "n_improved": window.n_improved,
                     "pct_improved": window.pct_improved, "n_progressed": window.n_progressed,
                     "pct_progressed": window.pct_progressed})
    out = pd.DataFrame(rows, columns=TABLE_COLUMNS)
    out["row"] = out["row"].astype("str")
    for column in ("month", "n"):
        out[column] = out[column].astype("int64")
    for column in ("n_improved", "n_progressed"):
        out[column] = out[column].astype("Int64")
    for column in ("mean", "sd", "median", "ci_low", "ci_high", "pct_improved", "pct_progressed"):
        out[column] = out[column].astype("float64")
    return out


def _grouped_describe(keys: pd.DataFrame, values) -> pd.DataFrame:
    """`analysis.stats.describe` of `values` in each group of `keys` (its columns, sorted), in one pass: count
    (n), mean, std (sample SD, NaN when n < 2), median, ci_low and ci_high (NaN when n < 2). Missing values are
    dropped."""
    x = as_float_array(values)
    frame = keys.assign(_x=x)[~np.isnan(x)]
    stats = frame.groupby(list(keys.columns), sort=True, observed=True, dropna=True)["_x"].agg(
        ["count", "mean", "std", "median"])
    half = confidence_half_width(stats["std"].to_numpy(dtype="float64"), stats["count"].to_numpy(dtype="int64"),
                                 CONFIDENCE_LEVEL)
    stats["ci_low"] = stats["mean"] - half
    stats["ci_high"] = stats["mean"] + half
    return stats


def summary_by_centre(summary: pd.DataFrame, window_visits: pd.DataFrame, centres: pd.Series,
                      months: Iterable[int] = DEFAULT_WINDOW_MONTHS) -> pd.DataFrame:
    """The summary table (`summary_table`) of each centre's patients, one block of rows per centre.

    `summary` from `summarise_patients` (one row per member), `window_visits` from `select_window_visits`,
    `centres` the centre (code) of every member, indexed by patient_id. Every figure of a patient (baseline,
    window visit, change, category) is the patient's own, so a centre's block equals the `summary_table` of a
    cohort of that centre's patients alone (a test holds them equal); it is computed for every centre at once
    (grouped aggregates), so hundreds of centres cost about what one does. Columns CENTRE_TABLE_COLUMNS: the
    centre, its members (`patients`, also those without a baseline), then TABLE_COLUMNS; centres sorted by code
    (those with a member), then the baseline row and one row per month of `months`, in their order.
    """
    months = list(dict.fromkeys(int(m) for m in months))
    of_patient = centres.astype("str")
    of_patient = of_patient[~of_patient.index.duplicated()]
    member_centre = of_patient.reindex(summary["patient_id"].astype("str").to_numpy())
    codes = sorted(member_centre.dropna().unique().tolist())
    patients = member_centre.value_counts().reindex(codes).fillna(0).astype("int64").to_numpy()

    base = _grouped_describe(pd.DataFrame({"centre": member_centre.to_numpy(dtype=object)}),
                             summary["baseline_mrss"]).reindex(codes)
    baseline_rows = pd.DataFrame({
        "centre": codes, "patients": patients, "row": "Baseline mRSS", "month": 0,
        "n": base["count"].fillna(0).to_numpy(dtype="int64"), "mean": base["mean"].to_numpy(),
        "sd": base["std"].to_numpy(), "median": base["median"].to_numpy(), "ci_low": base["ci_low"].to_numpy(),
        "ci_high": base["ci_high"].to_numpy(), "n_improved": pd.NA, "pct_improved": math.nan,
        "n_progressed": pd.NA, "pct_progressed": math.nan, "_order": 0})

    visits = window_visits.loc[window_visits["month"].isin(months) & window_visits["change"].notna()]
    keys = pd.DataFrame({"centre": of_patient.reindex(visits["patient_id"].astype("str").to_numpy()).to_numpy(
        dtype=object), "month": visits["month"].to_numpy(dtype="int64")})
    grid = pd.MultiIndex.from_product([codes, months], names=["centre", "month"])
    change = _grouped_describe(keys, visits["change"]).reindex(grid)
    flags = keys.assign(improved=visits["improved"].fillna(False).to_numpy(dtype=bool),
                        progressed=visits["progressed"].fillna(False).to_numpy(dtype=bool))
    flagged = flags.groupby(["centre", "month"], sort=True)[["improved", "progressed"]].sum().reindex(grid)
    n = change["count"].fillna(0).to_numpy(dtype="int64")
    n_improved = flagged["improved"].fillna(0).to_numpy(dtype="int64")
    n_progressed = flagged["progressed"].fillna(0).to_numpy(dtype="int64")
    with np.errstate(invalid="ignore", divide="ignore"):
        pct_improved = np.where(n > 0, 100.0 * n_improved / np.maximum(n, 1), math.nan)
        pct_progressed = np.where(n > 0, 100.0 * n_progressed / np.maximum(n, 1), math.nan)
    window_rows = pd.DataFrame({
        "centre": grid.get_level_values("centre").to_numpy(dtype=object),
        "patients": np.repeat(patients, len(months)), "row": [f"Change at {m} months" for _, m in grid],
        "month": grid.get_level_values("month").to_numpy(dtype="int64"), "n": n,
        "mean": change["mean"].to_numpy(), "sd": change["std"].to_numpy(), "median": change["median"].to_numpy(),
        "ci_low": change["ci_low"].to_numpy(), "ci_high": change["ci_high"].to_numpy(), "n_improved": n_improved,
        "pct_improved": pct_improved, "n_progressed": n_progressed, "pct_progressed": pct_progressed,
        "_order": np.tile(np.arange(1, len(months) + 1), len(codes))})
    out = pd.concat([baseline_rows, window_rows], ignore_index=True) if codes else baseline_rows
    position = {code: i for i, code in enumerate(codes)}
    out["_centre"] = out["centre"].map(position)
    out = out.sort_values(["_centre", "_order"], kind="stable").reset_index(drop=True)
    out["centre"] = out["centre"].astype("str")
    out["row"] = out["row"].astype("str")
    for column in ("patients", "month", "n"):
        out[column] = out[column].astype("int64")
    for column in ("n_improved", "n_progressed"):
        out[column] = out[column].astype("Int64")
    for column in ("mean", "sd", "median", "ci_low", "ci_high", "pct_improved", "pct_progressed"):
        out[column] = out[column].astype("float64")
    return out[CENTRE_TABLE_COLUMNS]


def trajectories(visits_with_change: pd.DataFrame, baselines: pd.DataFrame) -> pd.DataFrame:
    """Each analysed patient's visits aligned on the anchor (TRAJECTORY_COLUMNS), sorted.

    Only patients with a baseline are drawn. `day` counts from the anchor: the drug's first start
    when `baselines` has an anchor_date, otherwise the baseline visit (the first visit), where it
    equals `study_day`. `visits_with_change` from `change_from_baseline` (sorted by patient and date).
    """
    v = visits_with_change.loc[visits_with_change["study_day"].notna() & visits_with_change["mrss"].notna()]
    study_day = v["study_day"].to_numpy(dtype="int64")
    day = study_day
    anchored = baselines.dropna(subset=["anchor_date", "baseline_date"])
    if len(anchored):
        # days from the anchor to the baseline visit, per patient, added to the study day
        lead = pd.Series((anchored["baseline_date"] - anchored["anchor_date"]).dt.days.to_numpy(dtype="int64"),
                         index=anchored["patient_id"].astype("str").to_numpy())
        offset = v["patient_id"].map(lead)
        day = study_day + offset.fillna(0).to_numpy(dtype="int64")
    out = v[["patient_id", "visit_date"]].reset_index(drop=True)
    out["patient_id"] = out["patient_id"].astype("str")
    out["day"] = day
    out["study_day"] = study_day
    out["mrss"] = v["mrss"].to_numpy(dtype="float64")
    if not (out["patient_id"].is_monotonic_increasing and _days_ascending(out)):
        out = out.sort_values(["patient_id", "day"], kind="stable").reset_index(drop=True)
    return out[TRAJECTORY_COLUMNS]


def _days_ascending(frame: pd.DataFrame) -> bool:
    codes = pd.factorize(frame["patient_id"])[0]
    same = codes[1:] == codes[:-1]
    return bool((np.diff(frame["day"].to_numpy()) >= 0)[same].all())


def mean_curve(trajectory: pd.DataFrame, *, bin_months: int = MEAN_BIN_MONTHS,
               min_patients: int = MIN_PATIENTS_PER_MEAN_POINT) -> pd.DataFrame:
    """The cohort mean mRSS over days since the anchor, with the 95 % CI of the mean (MEAN_CURVE_COLUMNS).

    Visits fall into bins of `bin_months` months centred on 0, 3, 6 … months (a visit at day d goes
    to the bin round(d / (30.4375 × bin_months)), halves away from zero); a patient with several visits
    in a bin contributes their mean there, once, so n counts patients. Each bin's point sits at the
    bin centre (in days, rounded); bins with fewer than `min_patients` patients are left out.
    CI: mean ± t_{0.975, n−1} · SD / √n (sample SD).
    """
    if trajectory.empty:
        return pd.DataFrame({c: pd.Series([], dtype="float64") for c in MEAN_CURVE_COLUMNS}).astype(
            {"day": "int64", "n": "int64"})
    width = float(DAYS_PER_MONTH) * bin_months
    days = as_float_array(trajectory["day"])
    bins = np.sign(days) * np.floor(np.abs(days) / width + 0.5)
    codes, _ = pd.factorize(trajectory["patient_id"])
    per_patient = pd.DataFrame({"patient": codes, "bin": bins, "mrss": as_float_array(trajectory["mrss"])})
    per_patient = per_patient.groupby(["bin", "patient"], sort=True)["mrss"].mean().reset_index()
    stats = per_patient.groupby("bin", sort=True)["mrss"].agg(["count", "mean", "std"])
    stats = stats[stats["count"] >= max(min_patients, 1)]
    half = confidence_half_width(stats["std"].to_numpy(), stats["count"].to_numpy(), CONFIDENCE_LEVEL)
    out = pd.DataFrame({
        "day": np.rint(stats.index.to_numpy() * width).astype("int64"),
        "mean": stats["mean"].to_numpy(dtype="float64"),
        "ci_low": stats["mean"].to_numpy(dtype="float64") - half,
        "ci_high": stats["mean"].to_numpy(dtype="float64") + half,
        "n": stats["count"].to_numpy(dtype="int64"),
    })
    return out[MEAN_CURVE_COLUMNS]


def sample_patients(trajectory: pd.DataFrame, limit: int) -> pd.DataFrame:
    """At most `limit` patients' rows of `trajectory`, evenly spread over the sorted patient ids.

    Deterministic (the same cohort always draws the same lines); a browser cannot draw 20,000 lines,
    while the mean curve is still computed on everyone.
    """
    ids = np.sort(trajectory["patient_id"].astype("str").unique())
    if len(ids) <= limit:
        return trajectory
    chosen = ids[np.unique(np.linspace(0, len(ids) - 1, num=limit).round().astype(int))]
    return trajectory[trajectory["patient_id"].isin(chosen)].reset_index(drop=True)


def waterfall_frame(window_visits: pd.DataFrame, month: int) -> pd.DataFrame:
    """Change from baseline per patient at `month`'s window visit, with its category (WATERFALL_COLUMNS).

    `window_visits` from `select_window_visits`; category "improved" / "stable" / "progressed" by
    `response_categories` (CLINICAL.md). Sorted by change, largest rise first, then patient_id.
    """
    w = window_visits.loc[(window_visits["month"] == month) & window_visits["change"].notna()]
    out = pd.DataFrame({
        "patient_id": w["patient_id"].astype("str").to_numpy(),
        "baseline": as_float_array(w["baseline_mrss"]),
        "mrss": as_float_array(w["mrss"]),
        "change": as_float_array(w["change"]),
        "change_pct": as_float_array(w["change_pct"]),
        "category": response_categories(w["baseline_mrss"], w["mrss"]).to_numpy(),
    })
    out["category"] = out["category"].astype("str")
    out = out.sort_values(["change", "patient_id"], ascending=[False, True], kind="stable")
    return out.reset_index(drop=True)[WATERFALL_COLUMNS]


def site_changes(site_visits: pd.DataFrame, window_visits: pd.DataFrame, month: int) -> pd.DataFrame:
    """Mean change of each site's score between the baseline visit and `month`'s window visit.

    `site_visits`: visit rows (patient_id, visit_date and the 17 site columns, as from `visit_scores`:
    the mean across raters of the site) covering at least the baseline and window visits;
    `window_visits` from `select_window_visits` (gives both dates via study_day). A patient counts
    for a site when the site is scored at both visits. One row per site in catalogue order
    (SITE_CHANGE_COLUMNS): n patients, mean change (points on the 0–3 scale), 95 % CI of the mean.
    """
    w = window_visits.loc[(window_visits["month"] == month) & window_visits["change"].notna(),
                          ["patient_id", "visit_date", "study_day"]].copy()
    w["baseline_date"] = w["visit_date"] - pd.to_timedelta(as_float_array(w["study_day"]), unit="D")
    sites = site_visits[["patient_id", "visit_date", *SITE_CODES]]
    at_window = w.merge(sites, on=["patient_id", "visit_date"], how="left")
    at_base = w[["patient_id", "baseline_date"]].merge(
        sites.rename(columns={"visit_date": "baseline_date"}), on=["patient_id", "baseline_date"], how="left")
    rows = []
    for code in SITE_CODES:
        delta = as_float_array(at_window[code]) - as_float_array(at_base[code])
        n, mean, _sd, _median, low, high = describe(delta, CONFIDENCE_LEVEL)
        rows.append({"site": code, "n": n, "mean_change": mean, "ci_low": low, "ci_high": high})
    out = pd.DataFrame(rows, columns=SITE_CHANGE_COLUMNS)
    out["site"] = out["site"].astype("str")
    out["n"] = out["n"].astype("int64")
    return out


@dataclass
class CohortFrames:
    """Everything the cohort screen shows, for one cohort (frames documented by their functions).

    patients: patient_id, diagnosis of every member; summary: `summarise_patients` (summary.csv,
    unrounded); baselines: `baselines`; visits: visit mRSS with `change_from_baseline`; window_visits:
    `select_window_visits`; windows: `summarise_windows` (windows.csv + CI and percentages); table:
    `summary_table`; trajectory / mean: the spaghetti plot's `trajectories` and `mean_curve`.
    """

    patients: pd.DataFrame
    summary: pd.DataFrame
    baselines: pd.DataFrame
    visits: pd.DataFrame
    window_visits: pd.DataFrame
    windows: pd.DataFrame
    table: pd.DataFrame
    trajectory: pd.DataFrame
    mean: pd.DataFrame

    @property
    def patient_ids(self) -> list[str]:
        return self.patients["patient_id"].tolist()

    @property
    def n(self) -> int:
        return len(self.patients)

    @property
    def n_with_baseline(self) -> int:
        return int(self.summary["baseline_mrss"].notna().sum())


def summarise_cohort(
    patients: pd.DataFrame,
    assessments: pd.DataFrame,
    *,
    anchors: pd.Series | None = None,
    visits_from: date | None = None,
    visits_to: date | None = None,
    min_follow_up_months: int = 0,
    months: Iterable[int] = DEFAULT_WINDOW_MONTHS,
) -> CohortFrames:
    """The cohort's frames from its candidate patients and their assessments.

    `patients` (patient_id, diagnosis) are the candidates (already chosen by diagnosis and drug);
    `assessments` theirs, with at least patient_id, visit_date and the stored total; `anchors` from
    `first_drug_starts` for a drug-anchored baseline. The visit
    criteria (`select_by_visits`) narrow the candidates; then visit mRSS, baselines, change, windows
    and responders come from the same functions as the export's summary.csv and windows.csv.
    """
    months = list(dict.fromkeys(int(m) for m in months))
    visits = visit_totals(assessments)
    base = compute_baselines(visits, anchors=anchors)
    keep = select_by_visits(visits, base, patients["patient_id"], visits_from=visits_from, visits_to=visits_to,
                            min_follow_up_months=min_follow_up_months)
    members = patients[["patient_id", "diagnosis"]].drop_duplicates("patient_id")
    if len(keep) != len(members) or len(visits["patient_id"].unique()) > len(keep):
        members = members[members["patient_id"].isin(keep)]
        visits = visits[visits["patient_id"].isin(keep)].reset_index(drop=True)
        base = base[base["patient_id"].isin(keep)].reset_index(drop=True)
    members = members.sort_values("patient_id", kind="stable").reset_index(drop=True)
    summary = summarise_patients(members, visits, anchors=anchors)
    with_change = change_from_baseline(visits[["patient_id", "visit_date", "n_raters", "mrss"]], base)
    window_visits = select_window_visits(with_change, months)
    windows = summarise_windows(window_visits, months)
    trajectory = trajectories(with_change, base)
    return CohortFrames(patients=members, summary=summary, baselines=base, visits=with_change,
                        window_visits=window_visits, windows=windows, table=summary_table(summary, windows),
                        trajectory=trajectory, mean=mean_curve(trajectory))
