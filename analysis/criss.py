"""Composite response: ACR CRISS and the revised CRISS (ENDPOINTS.md), and the response.csv table.

- Baseline: CLINICAL.md's (`analysis.baseline.baselines`, first visit with an mRSS or anchored on a drug).
- Follow-up at month M: the visit windows.csv uses for that patient and month (`analysis.windows.window_choice`
  through `select_window_visits`).
- Item values at the baseline and follow-up dates: the visit mRSS for `mrss`; the other four by the
  ±30-day rule (`analysis.measure_values.values_at`). Δ = follow-up − baseline.
- Step 1 (both scores): an organ event (models.catalog.ORGAN_EVENT_KINDS) dated after the baseline date
  and on or before the follow-up date gives CRISS probability 0, not improved, and no revised-CRISS
  responder, whatever items are missing.
- ACR CRISS step 2 (Khanna 2016): L = −5.54 − 0.81·ΔmRSS + 0.21·ΔFVC% − 0.40·ΔPtGlobal − 0.44·ΔMDGlobal
  − 3.41·ΔHAQ-DI, P = exp(L) / (1 + exp(L)); improved when P ≥ 0.60. Blank when a Δ is unknown.
- Revised CRISS step 2 (Khanna 2021): an item is improved at X % when it moved in its good direction by
  at least X % of its baseline (a baseline of 0 cannot improve); FVC % needs 5 % whatever X; a responder
  has ≥ 3 of the 5 items improved. Comparisons allow 1e-9 so that exact boundaries count. Blank when an
  item is unknown.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

import numpy as np
import pandas as pd

from analysis._util import as_float_array, datetime_dtype, join_flagged, join_in_groups
from analysis.baseline import baselines as compute_baselines
from analysis.baseline import change_from_baseline
from analysis.formatting import yes_no
from analysis.measure_values import values_at
from analysis.stats import round_half_away
from analysis.windows import select_window_visits
from models.catalog import MEASURES_BY_CODE, ORGAN_EVENT_KINDS

DEFAULT_RESPONSE_MONTH = 12

# The five CRISS items, in the order of the `missing` column.
CRISS_ITEMS: tuple[str, ...] = ("mrss", "fvc_pct", "patient_global", "physician_global", "haq_di")
CRISS_MEASURES: tuple[str, ...] = CRISS_ITEMS[1:]  # measurements paired by the ±30-day rule
CRISS_INTERCEPT = -5.54
# Signs follow each item's direction of improvement (ENDPOINTS.md: the published rendering drops them).
CRISS_COEFFICIENTS: dict[str, float] = {
    "mrss": -0.81, "fvc_pct": 0.21, "patient_global": -0.40, "physician_global": -0.44, "haq_di": -3.41,
}
CRISS_IMPROVED_AT = 0.60  # probability

RCRISS_THRESHOLDS: tuple[int, ...] = (20, 25, 40, 60)  # % of the baseline value
RCRISS_FVC_PERCENT = 5.0  # FVC % predicted must rise by 5 % of its baseline, whatever the threshold
RCRISS_MIN_IMPROVED = 3  # of the 5 items
TOLERANCE = 1e-9

MISSING_BASELINE = "baseline"
MISSING_FOLLOWUP = "followup"

# response.csv, in order (ENDPOINTS.md, Exports).
RESPONSE_COLUMNS = [
    "patient_id", "baseline_date", "followup_date", "step1_event",
    *(f"d_{item}" for item in CRISS_ITEMS), "criss_probability", "criss_improved",
    *(f"rcriss{x}" for x in RCRISS_THRESHOLDS), "missing",
]
# `response_frame` adds the anchor and every item's value at both dates after them.
RESPONSE_FRAME_COLUMNS = [
    *RESPONSE_COLUMNS, "anchor_date",
    *(f"baseline_{item}" for item in CRISS_ITEMS), *(f"followup_{item}" for item in CRISS_ITEMS),
]
D_DECIMALS = 2
PROBABILITY_DECIMALS = 3


def _better_lower(item: str) -> bool:
    """True for items that improve by falling (mRSS, the globals, HAQ-DI), False for FVC %."""
    return item == "mrss" or MEASURES_BY_CODE[item].better == "lower"


def criss_probability(d_mrss, d_fvc_pct, d_patient_global, d_physician_global, d_haq_di):
    """The ACR CRISS step-2 probability from the five Δ (follow-up − baseline).

    Scalars give a float; Series / arrays give a float64 array. NaN where any Δ is missing.
    No change at all gives exp(−5.54) / (1 + exp(−5.54)) = 0.0039.
    """
    deltas = (d_mrss, d_fvc_pct, d_patient_global, d_physician_global, d_haq_di)
    scalar = all(np.ndim(d) == 0 for d in deltas)
    arrays = [as_float_array([d] if np.ndim(d) == 0 else d) for d in deltas]
    logit = np.full(np.broadcast(*arrays).shape, CRISS_INTERCEPT)
    for item, delta in zip(CRISS_ITEMS, arrays, strict=True):
        logit = logit + CRISS_COEFFICIENTS[item] * delta
    # the logistic function in its overflow-free form on either side of 0
    with np.errstate(over="ignore"):
        exp_neg = np.exp(-np.abs(logit))
    probability = np.where(logit >= 0, 1.0 / (1.0 + exp_neg), exp_neg / (1.0 + exp_neg))
    probability = np.where(np.isnan(logit), np.nan, probability)
    return float(probability[0]) if scalar else probability


def rcriss_item_improved(item: str, baseline, followup, threshold: float) -> np.ndarray:
    """Whether `item` improved at `threshold` % from `baseline` to `followup` (revised CRISS step 2).

    - mrss, patient_global, physician_global, haq_di: 100 × (baseline − follow-up) ≥ threshold × baseline,
      baseline > 0 (a baseline of 0 cannot improve);
    - fvc_pct: 100 × (follow-up − baseline) ≥ 5 × baseline, whatever `threshold`.
    Compared with a tolerance of 1e-9 (20 → 16 at 20 % is improved). A bool array (False where a value
    is missing: the caller blanks such rows).
    """
    b = as_float_array([baseline] if np.ndim(baseline) == 0 else baseline)
    f = as_float_array([followup] if np.ndim(followup) == 0 else followup)
    with np.errstate(invalid="ignore"):
        if _better_lower(item):
            return (b > 0) & (100.0 * (b - f) - threshold * b >= -TOLERANCE)
        return 100.0 * (f - b) - RCRISS_FVC_PERCENT * b >= -TOLERANCE


def rcriss_improved_count(baseline: Mapping[str, object], followup: Mapping[str, object],
                          threshold: float) -> np.ndarray:
    """How many of the five items improved at `threshold` (`rcriss_item_improved`), per row.

    `baseline` and `followup` map each item of CRISS_ITEMS to values (scalars or aligned arrays).
    """
    counts = [rcriss_item_improved(item, baseline[item], followup[item], threshold).astype("int64")
              for item in CRISS_ITEMS]
    return np.sum(np.broadcast_arrays(*counts), axis=0)


def step1_events(events: pd.DataFrame, intervals: pd.DataFrame) -> pd.Series:
    """The organ event kinds of each interval (CRISS step 1), sorted, joined by ";" ("" when none).

    `events` has EVENT_COLUMNS (patient_id, date, kind); `intervals` has patient_id, baseline_date and
    followup_date. An organ event counts when baseline_date < date ≤ followup_date; an interval with a
    missing date has none. Each kind is named once. A str Series aligned to `intervals`.
    """
    n = len(intervals)
    out = pd.Series([""] * n, index=intervals.index, name="step1_event", dtype="str")
    organ = events.loc[events["kind"].isin(ORGAN_EVENT_KINDS), ["patient_id", "date", "kind"]]
    organ = organ.dropna(subset=["date"])
    if n == 0 or organ.empty:
        return out
    left = pd.DataFrame({"patient_id": intervals["patient_id"].astype("str").to_numpy(), "_row": np.arange(n),
                         "_from": pd.to_datetime(intervals["baseline_date"]).to_numpy(),
                         "_to": pd.to_datetime(intervals["followup_date"]).to_numpy()})
    right = pd.DataFrame({"patient_id": organ["patient_id"].astype("str").to_numpy(),
                          "_date": pd.to_datetime(organ["date"]).to_numpy(),
                          "kind": organ["kind"].astype("str").to_numpy()})
    pairs = left.merge(right, on="patient_id", how="inner")
    inside = pairs[(pairs["_date"] > pairs["_from"]) & (pairs["_date"] <= pairs["_to"])]
    inside = inside.drop_duplicates(["_row", "kind"]).sort_values(["_row", "kind"], kind="stable")
    joined = join_in_groups(inside["_row"].to_numpy(), inside["kind"].to_numpy(dtype=object), n, sep=";")
    out[:] = joined
    return out


def response_frame(
    patients: pd.DataFrame | Iterable[str],
    visits: pd.DataFrame,
    measurements: pd.DataFrame,
    events: pd.DataFrame,
    *,
    anchors: pd.Series | Mapping | None = None,
    month: int = DEFAULT_RESPONSE_MONTH,
) -> pd.DataFrame:
    """ACR CRISS and revised CRISS per patient: one row per patient of `patients`, sorted by patient_id.

    Inputs: `patients` (a frame with patient_id, or identifiers); `visits` from `visit_scores` (or any
    frame with patient_id, visit_date, mrss); `measurements` (MEASUREMENT_COLUMNS) and `events`
    (EVENT_COLUMNS) of those patients; `anchors` (patient_id → date, e.g. `first_drug_starts`) for the
    anchored baseline, as summary.csv; `month` the follow-up month (`--response-month`, default 12).

    Columns RESPONSE_FRAME_COLUMNS, unrounded: response.csv's columns (dates as datetime64, NaT when
    unknown; d_* and criss_probability float64, NaN when unknown; criss_improved and rcriss20..60 nullable
    booleans; step1_event and missing str) then anchor_date and baseline_<item> / followup_<item> for
    the five items (the values the Δ come from; NaN when unknown).
    `missing` is "baseline" without a baseline (every other response column blank), "followup" without a
    follow-up visit (only baseline_date filled), else the unknown items in CRISS_ITEMS order joined by
    ";" ("" when none). A step-1 event decides CRISS and revised CRISS even with items missing.
    """
    ids = patients["patient_id"] if isinstance(patients, pd.DataFrame) else pd.Series(list(patients), dtype="str")
    ids = pd.Series(np.sort(pd.unique(ids.astype("str"))), dtype="str")
    date_dtype = datetime_dtype(visits["visit_date"])
    scored = visits.loc[visits["mrss"].notna() & visits["visit_date"].notna(), ["patient_id", "visit_date", "mrss"]]
    scored = scored.assign(patient_id=scored["patient_id"].astype("str"))
    scored = scored[scored["patient_id"].isin(ids)]
    base = compute_baselines(scored, anchors=anchors)
    base = base[base["patient_id"].isin(ids)]
    follow = select_window_visits(change_from_baseline(scored, base), [int(month)])
    follow = follow[["patient_id", "visit_date", "mrss"]].rename(
        columns={"visit_date": "followup_date", "mrss": "followup_mrss"})

    out = pd.DataFrame({"patient_id": ids})
    out = out.merge(base, on="patient_id", how="left").merge(follow, on="patient_id", how="left")
    n = len(out)
    has_base = out["baseline_date"].notna().to_numpy()
    has_follow = has_base & out["followup_date"].notna().to_numpy()
    dates = {column: out[column].astype(date_dtype) for column in ("anchor_date", "baseline_date", "followup_date")}
    dates["followup_date"] = dates["followup_date"].where(has_follow)

    # both dates of every patient in one pass of the ±30-day rule
    points = pd.DataFrame({"patient_id": np.concatenate([ids.to_numpy(), ids.to_numpy()]),
                           "date": pd.concat([dates["baseline_date"], dates["followup_date"]], ignore_index=True)})
    found = values_at(measurements, points, CRISS_MEASURES)
    before = {"mrss": as_float_array(out["baseline_mrss"])}
    after = {"mrss": np.where(has_follow, as_float_array(out["followup_mrss"]), np.nan)}
    for code in CRISS_MEASURES:
        values = found[code].to_numpy()
        before[code], after[code] = values[:n], values[n:]
    deltas = {item: after[item] - before[item] for item in CRISS_ITEMS}

    step1 = step1_events(events, pd.DataFrame({"patient_id": ids, **dates})).to_numpy(dtype=object)
    step1[~has_follow] = ""
    has_step1 = step1 != ""
    known = np.logical_and.reduce([~np.isnan(deltas[item]) for item in CRISS_ITEMS])
    decided = has_follow & (has_step1 | known)
    probability = np.where(has_step1, 0.0, criss_probability(*(deltas[item] for item in CRISS_ITEMS)))

    missing = join_flagged([np.isnan(deltas[item]) for item in CRISS_ITEMS], CRISS_ITEMS)
    missing[~has_follow] = MISSING_FOLLOWUP
    missing[~has_base] = MISSING_BASELINE

    columns = {
        "patient_id": ids, "baseline_date": dates["baseline_date"], "followup_date": dates["followup_date"],
        "step1_event": pd.Series(step1, dtype="str"),
        **{f"d_{item}": deltas[item] for item in CRISS_ITEMS},
        "criss_probability": np.where(decided, probability, np.nan),
        "criss_improved": _flags(~has_step1 & (probability >= CRISS_IMPROVED_AT - TOLERANCE), decided),
    }
    for threshold in RCRISS_THRESHOLDS:
        responder = rcriss_improved_count(before, after, threshold) >= RCRISS_MIN_IMPROVED
        columns[f"rcriss{threshold}"] = _flags(~has_step1 & responder, decided)
    columns["missing"] = pd.Series(missing, dtype="str")
    columns["anchor_date"] = dates["anchor_date"]
    columns.update({f"baseline_{item}": before[item] for item in CRISS_ITEMS})
    columns.update({f"followup_{item}": after[item] for item in CRISS_ITEMS})
    return pd.DataFrame(columns)[RESPONSE_FRAME_COLUMNS]


def _flags(values: np.ndarray, decided: np.ndarray) -> pd.arrays.BooleanArray:
    flags = pd.array(np.asarray(values, dtype=bool), dtype="boolean")
    flags[~np.asarray(decided, dtype=bool)] = pd.NA
    return flags


def format_response_for_export(response: pd.DataFrame) -> pd.DataFrame:
    """response.csv values from `response_frame`: RESPONSE_COLUMNS only; d_* rounded to 2 decimals and
    criss_probability to 3 (halves away from zero); criss_improved and rcriss* as yes/no (decided on the
    unrounded values), blank when undecided; dates, step1_event and missing as they are."""
    out = response[RESPONSE_COLUMNS].copy()
    for item in CRISS_ITEMS:
        out[f"d_{item}"] = round_half_away(out[f"d_{item}"], D_DECIMALS)
    out["criss_probability"] = round_half_away(out["criss_probability"], PROBABILITY_DECIMALS)
    for column in ("criss_improved", *(f"rcriss{x}" for x in RCRISS_THRESHOLDS)):
        out[column] = yes_no(out[column])
    return out


@dataclass(frozen=True)
class ResponseSummary:
    """A cohort's composite response (the Cohort screen), from `response_frame`.

    n: patients; n_computable: those whose ACR CRISS is decided (step 1 or all five Δ known);
    n_improved / pct_improved: CRISS improvers among them; median_probability: of their probabilities;
    rcriss: threshold → (n decided, n responders, % responders); not_computable: patient_id and the
    reason (the `missing` text: "baseline", "followup" or the unknown items), sorted by patient_id.
    """

    n: int
    n_computable: int
    n_improved: int
    pct_improved: float
    median_probability: float
    rcriss: dict[int, tuple[int, int, float]]
    not_computable: pd.DataFrame


def summarise_response(response: pd.DataFrame) -> ResponseSummary:
    """Counts, percentages and the median CRISS probability of `response_frame`'s rows (see ResponseSummary).

    Percentages are of the patients whose score is decided (NaN when none is).
    """
    decided = response["criss_improved"].notna().to_numpy()
    improved = int(response["criss_improved"].fillna(False).to_numpy(dtype=bool).sum())
    n_decided = int(decided.sum())
    probability = as_float_array(response["criss_probability"])[decided]
    rcriss = {}
    for threshold in RCRISS_THRESHOLDS:
        flags = response[f"rcriss{threshold}"]
        known, yes = int(flags.notna().sum()), int(flags.fillna(False).to_numpy(dtype=bool).sum())
        rcriss[threshold] = (known, yes, 100.0 * yes / known if known else math.nan)
    left_out = response.loc[~decided, ["patient_id", "missing"]].rename(columns={"missing": "reason"})
    return ResponseSummary(
        n=len(response), n_computable=n_decided, n_improved=improved,
        pct_improved=100.0 * improved / n_decided if n_decided else math.nan,
        median_probability=float(np.median(probability)) if n_decided else math.nan,
        rcriss=rcriss, not_computable=left_out.sort_values("patient_id", kind="stable").reset_index(drop=True),
    )
