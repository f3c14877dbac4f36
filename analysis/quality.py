"""Data-quality checks for the cohort screen. Each returns a drill-down table; its count is len().

Definitions:
- incomplete assessment: some but not all 17 sites scored, hence no rater total (CLINICAL.md);
- rater change: between two consecutive visit dates of a patient (dates with at least one named
  rater of an assessment with a total), the set of named raters differs; blank raters are ignored;
- site jump: a site's score (mean across the raters who scored it) moving by SITE_JUMP (2) or more
  between consecutive visits of the patient at which that site was scored;
- missed window: a patient with a baseline whose follow-up went past a window's end (last visit's
  study_day > target + tolerance) without any visit inside the window;
- implausible measurement: an unknown measure code, a missing value, or a value outside the
  catalogue's plausible range.

In a multi-centre registry each table carries the patient's centre and is grouped by it (`by_centre`), so that
each centre's data manager reads their own queue; `centre_counts` counts each check per centre.
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np
import pandas as pd

from analysis._util import as_float_array, join_in_groups
from analysis.windows import DEFAULT_WINDOW_MONTHS, window_target_day, window_tolerance
from models.catalog import MEASURES_BY_CODE, SITE_CODES, SITE_JUMP

INCOMPLETE_COLUMNS = ["patient_id", "visit_date", "rater", "n_sites_scored", "missing_sites"]
RATER_CHANGE_COLUMNS = ["patient_id", "from_date", "to_date", "from_raters", "to_raters", "any_shared"]
SITE_JUMP_COLUMNS = ["patient_id", "site", "from_date", "to_date", "from_score", "to_score"]
MISSED_WINDOW_COLUMNS = [
    "patient_id", "month", "target_day", "window_start_day", "window_end_day", "last_study_day",
    "baseline_date", "window_start_date", "window_end_date", "last_visit_date",
]
IMPLAUSIBLE_COLUMNS = ["patient_id", "date", "measure", "side", "value", "unit", "low", "high", "reason"]


def incomplete_assessments(assessments: pd.DataFrame) -> pd.DataFrame:
    """Assessments with some but not all 17 sites scored (no rater total), sorted by patient and date.

    Columns: patient_id, visit_date, rater, n_sites_scored, missing_sites (codes joined by ";").
    """
    sites = assessments[list(SITE_CODES)].apply(pd.to_numeric, errors="coerce")
    scored = sites.notna().to_numpy()
    n_scored = scored.sum(axis=1)
    rows = (n_scored > 0) & (n_scored < len(SITE_CODES))
    codes = np.array(SITE_CODES, dtype=object)
    missing = [";".join(codes[~mask]) for mask in scored[rows]]
    out = assessments.loc[rows, ["patient_id", "visit_date", "rater"]].copy()
    out["n_sites_scored"] = n_scored[rows].astype("int64")
    out["missing_sites"] = pd.Series(missing, index=out.index, dtype="str")
    return out.sort_values(["patient_id", "visit_date", "rater"], kind="stable").reset_index(drop=True)[
        INCOMPLETE_COLUMNS
    ]


def _visit_raters(assessments: pd.DataFrame) -> pd.DataFrame:
    named = assessments.loc[
        assessments["total"].notna() & (assessments["rater"].fillna("").astype("str").str.strip() != ""),
        ["patient_id", "visit_date", "rater"],
    ].copy()
    named["rater"] = named["rater"].astype("str").str.strip()
    named = named.drop_duplicates().sort_values(["patient_id", "visit_date", "rater"], kind="stable")
    visits = named[["patient_id", "visit_date"]].drop_duplicates().reset_index(drop=True)
    keys = pd.MultiIndex.from_frame(named[["patient_id", "visit_date"]])
    position = pd.MultiIndex.from_frame(visits).get_indexer(keys)
    visits["raters"] = join_in_groups(position, named["rater"].to_numpy(dtype=object), len(visits))
    return visits


def rater_changes(assessments: pd.DataFrame) -> pd.DataFrame:
    """Consecutive visit dates of a patient at which the set of named raters differs.

    Only assessments with a total (those that make the visit mRSS) and a non-blank rater count; a date
    without such an assessment is skipped, so the comparison is with the previous date that has one.
    Columns: patient_id, from_date, to_date, from_raters, to_raters ("; "-joined, sorted) and
    any_shared (True when the two sets share a rater, e.g. a second rater joining for training).
    """
    visits = _visit_raters(assessments)
    same_patient = visits["patient_id"].eq(visits["patient_id"].shift())
    previous = visits.shift()
    changed = same_patient & visits["raters"].ne(previous["raters"])
    out = pd.DataFrame(
        {
            "patient_id": visits.loc[changed, "patient_id"],
            "from_date": previous.loc[changed, "visit_date"],
            "to_date": visits.loc[changed, "visit_date"],
            "from_raters": previous.loc[changed, "raters"].astype("str"),
            "to_raters": visits.loc[changed, "raters"].astype("str"),
        }
    )
    pairs = zip(out["from_raters"], out["to_raters"], strict=True)
    out["any_shared"] = [bool(set(a.split("; ")) & set(b.split("; "))) for a, b in pairs]
    out["from_date"] = out["from_date"].astype(visits["visit_date"].dtype)
    return out[RATER_CHANGE_COLUMNS].reset_index(drop=True)


def site_jumps(scores: pd.DataFrame, threshold: float = SITE_JUMP) -> pd.DataFrame:
    """Sites whose score moves by `threshold` (SITE_JUMP, 2) or more between consecutive visits.

    `scores` is either assessments (has a `rater` column: the site scores of one date are first
    averaged over all its assessments that scored the site, incomplete ones included) or visits from
    `visit_scores`. For each site, consecutive means consecutive dates of the patient at which that
    site was scored (total-only visits are skipped). Columns: patient_id, site, from_date, to_date,
    from_score, to_score; sorted by patient, site (catalogue order), to_date.
    """
    sites = list(SITE_CODES)
    frame = scores[["patient_id", "visit_date", *sites]].copy()
    for code in sites:
        frame[code] = pd.to_numeric(frame[code], errors="coerce").astype("float64")
    if "rater" in scores.columns:
        grouped = frame.groupby(["patient_id", "visit_date"], sort=True, observed=True)
        frame = grouped[sites].mean().reset_index()
    else:
        frame = frame.sort_values(["patient_id", "visit_date"], kind="stable").reset_index(drop=True)
    patient = pd.factorize(frame["patient_id"])[0]
    dates = frame["visit_date"].to_numpy()
    pieces = []
    for order, code in enumerate(sites):
        values = frame[code].to_numpy()
        rows = np.flatnonzero(~np.isnan(values))
        if len(rows) < 2:
            continue
        prev, this = rows[:-1], rows[1:]
        jump = (patient[prev] == patient[this]) & (np.abs(values[this] - values[prev]) >= threshold)
        prev, this = prev[jump], this[jump]
        pieces.append(
            pd.DataFrame(
                {
                    "patient_id": frame["patient_id"].to_numpy()[this],
                    "site": code,
                    "from_date": dates[prev],
                    "to_date": dates[this],
                    "from_score": values[prev],
                    "to_score": values[this],
                    "_order": order,
                }
            )
        )
    if not pieces:
        empty = frame.iloc[0:0]
        return pd.DataFrame(
            {
                "patient_id": empty["patient_id"],
                "site": pd.Series([], dtype="str"),
                "from_date": empty["visit_date"],
                "to_date": empty["visit_date"],
                "from_score": pd.Series([], dtype="float64"),
                "to_score": pd.Series([], dtype="float64"),
            }
        ).reset_index(drop=True)
    out = pd.concat(pieces, ignore_index=True)
    out["patient_id"] = out["patient_id"].astype("str")
    out["site"] = out["site"].astype("str")
    out = out.sort_values(["patient_id", "_order", "to_date"], kind="stable")
    return out[SITE_JUMP_COLUMNS].reset_index(drop=True)


def missed_windows(
    visits_with_change: pd.DataFrame, months: Iterable[int] = DEFAULT_WINDOW_MONTHS
) -> pd.DataFrame:
    """Windows a patient's follow-up went past without a visit in them.

    For each patient with a baseline (a study_day) and each month: flagged when the patient's last
    visit with an mRSS lies after the window (study_day > target + tolerance) and no visit with an
    mRSS has |study_day − target| ≤ tolerance. Patients whose follow-up has not yet reached the end
    of a window are not flagged for it. Columns: patient_id, month, target_day, window_start_day,
    window_end_day, last_study_day, then the same as calendar dates of the patient (baseline_date,
    window_start_date, window_end_date, last_visit_date) to look up on the chart; sorted by month,
    then patient.
    """
    day = as_float_array(visits_with_change["study_day"])
    ok = ~np.isnan(day) & visits_with_change["mrss"].notna().to_numpy()
    frame = pd.DataFrame({"patient_id": visits_with_change.loc[ok, "patient_id"].to_numpy(), "day": day[ok]})
    last = frame.groupby("patient_id", sort=True)["day"].max()
    dates = pd.to_datetime(visits_with_change.loc[ok, "visit_date"]).to_numpy()
    baseline_dates = pd.Series(dates - pd.to_timedelta(day[ok], unit="D").to_numpy(),
                               index=frame["patient_id"].to_numpy())
    baseline_dates = baseline_dates[~baseline_dates.index.duplicated()]
    pieces = []
    for month in dict.fromkeys(int(m) for m in months):
        target, tolerance = window_target_day(month), window_tolerance(month)
        start, end = target - tolerance, target + tolerance
        seen = set(frame.loc[(frame["day"] >= start) & (frame["day"] <= end), "patient_id"])
        gone_past = last[last > end]
        missed = gone_past[~gone_past.index.isin(list(seen))]
        pieces.append(
            pd.DataFrame(
                {
                    "patient_id": pd.Series(missed.index, dtype="str"),
                    "month": month,
                    "target_day": target,
                    "window_start_day": start,
                    "window_end_day": end,
                    "last_study_day": missed.to_numpy(dtype="float64"),
                }
            )
        )
    if not pieces:
        return pd.DataFrame({c: [] for c in MISSED_WINDOW_COLUMNS})
    out = pd.concat(pieces, ignore_index=True)
    for column in ("month", "target_day", "window_start_day", "window_end_day"):
        out[column] = out[column].astype("int64")
    out["last_study_day"] = pd.array(out["last_study_day"].to_numpy(), dtype="Int64")
    base = baseline_dates.reindex(out["patient_id"].to_numpy()).to_numpy()
    out["baseline_date"] = base
    out["window_start_date"] = base + pd.to_timedelta(out["window_start_day"].to_numpy(), unit="D").to_numpy()
    out["window_end_date"] = base + pd.to_timedelta(out["window_end_day"].to_numpy(), unit="D").to_numpy()
    out["last_visit_date"] = base + pd.to_timedelta(out["last_study_day"].astype("float64").to_numpy(),
                                                    unit="D").to_numpy()
    return out[MISSED_WINDOW_COLUMNS]


def missed_window_counts(missed: pd.DataFrame, months: Iterable[int] = DEFAULT_WINDOW_MONTHS) -> dict[int, int]:
    """Patients missing each window: {month: count} for every month of `months` (0 when none), in
    their order. `missed` from `missed_windows` (one row per patient and window)."""
    counts = missed.groupby("month")["patient_id"].nunique() if len(missed) else pd.Series(dtype="int64")
    return {month: int(counts.get(month, 0)) for month in dict.fromkeys(int(m) for m in months)}


def implausible_measurements(measurements: pd.DataFrame) -> pd.DataFrame:
    """Measurements with an unknown measure code, no value, or a value outside the plausible range.

    The range is the catalogue's [low, high], both ends plausible (MEASURES_BY_CODE). Columns: the
    measurement's patient_id, date, measure, side, value, unit, then low, high (NaN for an unknown
    measure) and reason: "unknown measure", "missing value", "below plausible range" or
    "above plausible range". Sorted by patient, date, measure.
    """
    measure = measurements["measure"].astype("str")
    low = measure.map({c: float(m.low) for c, m in MEASURES_BY_CODE.items()}).astype("float64")
    high = measure.map({c: float(m.high) for c, m in MEASURES_BY_CODE.items()}).astype("float64")
    value = pd.to_numeric(measurements["value"], errors="coerce").astype("float64")
    unknown = ~measure.isin(list(MEASURES_BY_CODE)).to_numpy()
    missing = value.isna().to_numpy() & ~unknown
    below = ~unknown & ~missing & (value < low).to_numpy()
    above = ~unknown & ~missing & (value > high).to_numpy()
    reason = np.select(
        [unknown, missing, below, above],
        ["unknown measure", "missing value", "below plausible range", "above plausible range"],
        default="",
    )
    rows = reason != ""
    out = measurements.loc[rows, ["patient_id", "date", "measure", "side", "value", "unit"]].copy()
    out["value"] = value[rows]
    out["low"] = low[rows]
    out["high"] = high[rows]
    out["reason"] = pd.Series(reason[rows], index=out.index, dtype="str")
    out = out.sort_values(["patient_id", "date", "measure"], kind="stable")
    return out[IMPLAUSIBLE_COLUMNS].reset_index(drop=True)


def by_centre(frame: pd.DataFrame, centres: pd.Series) -> pd.DataFrame:
    """`frame` (a check's table, with patient_id) with the patient's centre as its first column ("centre"),
    grouped by centre: sorted by centre code, the check's own order kept within a centre. `centres`: the centre
    code of each patient, indexed by patient_id (a patient not in it gets an empty code, listed first)."""
    of_patient = centres.astype("str")
    of_patient = of_patient[~of_patient.index.duplicated()]
    codes = of_patient.reindex(frame["patient_id"].astype("str").to_numpy()).fillna("").to_numpy(dtype=object)
    out = frame.copy()
    out.insert(0, "centre", pd.Series(codes, index=frame.index, dtype="str"))
    return out.sort_values("centre", kind="stable").reset_index(drop=True)


def centre_counts(tables: dict[str, pd.DataFrame], centres: Iterable[str]) -> pd.DataFrame:
    """The rows of each check per centre: one row per centre of `centres` (in that order, 0 where a centre has
    none), one int column per table of `tables` (name -> a `by_centre` table), then "total"."""
    order = list(dict.fromkeys(str(code) for code in centres))
    out = pd.DataFrame(index=pd.Index(order, name="centre"))
    for name, frame in tables.items():
        counts = frame["centre"].astype("str").value_counts() if len(frame) else pd.Series(dtype="int64")
        out[name] = counts.reindex(order).fillna(0).astype("int64").to_numpy()
    out["total"] = out.sum(axis=1).astype("int64") if len(tables) else 0
    return out
