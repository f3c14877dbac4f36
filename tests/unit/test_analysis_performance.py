"""Performance smoke test: the cohort pipeline on a synthetic registry (timings printed, not asserted).

Run with `pytest -s` to see the figures. The frame is 20,000 patients × 20 visits (about 3 s with
data generation); set SKINTRACK_PERF_PATIENTS=2000 for a quicker run (bench/ holds the benchmarks).
"""

from __future__ import annotations

import os
import time

import numpy as np
import pandas as pd

from analysis import (
    baselines,
    change_from_baseline,
    first_drug_starts,
    select_window_visits,
    summarise_patients,
    summarise_windows,
    visit_scores,
)
from analysis.frames import ASSESSMENT_COLUMNS, MEDICATION_COLUMNS, PATIENT_COLUMNS
from models.catalog import SITE_CODES

N_PATIENTS = int(os.environ.get("SKINTRACK_PERF_PATIENTS", "20000"))
VISITS_PER_PATIENT = 20
MONTHS = [3, 6, 12, 24]


def synthetic_registry(n_patients: int, seed: int = 20240501):
    """Assessments (17 sites, a second rater on 1 visit in 10), patients and one imatinib start each."""
    rng = np.random.default_rng(seed)
    ids = np.array([f"P{i:06d}" for i in range(n_patients)])
    n = n_patients * VISITS_PER_PATIENT
    gaps = rng.integers(30, 120, size=(n_patients, VISITS_PER_PATIENT))
    days = np.cumsum(gaps, axis=1).ravel()
    dates = pd.Timestamp("2012-01-01") + pd.to_timedelta(days, unit="D")
    scores = rng.integers(0, 4, size=(n, len(SITE_CODES))).astype("float64")
    second = rng.random(n) < 0.1
    frame = pd.DataFrame(scores, columns=list(SITE_CODES))
    frame.insert(0, "patient_id", pd.Series(np.repeat(ids, VISITS_PER_PATIENT), dtype="str"))
    frame.insert(1, "visit_date", pd.Series(dates, dtype="datetime64[us]"))
    frame.insert(2, "rater", "dr a")
    extra = frame[second].copy()
    extra["rater"] = "dr b"
    assessments = pd.concat([frame, extra], ignore_index=True)
    assessments["total"] = assessments[list(SITE_CODES)].sum(axis=1)
    assessments["incomplete"] = False
    patients = pd.DataFrame({c: pd.Series([""] * n_patients, dtype="str") for c in PATIENT_COLUMNS})
    patients["patient_id"] = ids
    patients["diagnosis"] = "dcSSc"
    starts = pd.Timestamp("2012-01-01") + pd.to_timedelta(rng.integers(0, 400, n_patients), unit="D")
    medications = pd.DataFrame(
        {
            "patient_id": ids,
            "drug": "imatinib",
            "dose": 200.0,
            "dose_unit": "mg",
            "frequency": "daily",
            "route": "oral",
            "start_date": pd.Series(starts, dtype="datetime64[us]"),
            "end_date": pd.Series(pd.NaT, index=range(n_patients), dtype="datetime64[us]"),
            "reason": "",
        }
    )
    return assessments[ASSESSMENT_COLUMNS], patients, medications[MEDICATION_COLUMNS]


def test_cohort_pipeline_runs_on_a_synthetic_registry():
    assessments, patients, medications = synthetic_registry(N_PATIENTS)
    timings = {}

    t0 = time.perf_counter()
    visits = visit_scores(assessments)
    timings["visit_scores"] = time.perf_counter() - t0

    for label, anchors in (("plain", None), ("anchored", first_drug_starts(medications, "imatinib"))):
        t0 = time.perf_counter()
        base = baselines(visits, anchors=anchors)
        table = change_from_baseline(visits, base)
        windows = summarise_windows(select_window_visits(table, MONTHS), MONTHS)
        timings[f"baselines + change + windows ({label})"] = time.perf_counter() - t0
        assert windows["month"].tolist() == MONTHS

    t0 = time.perf_counter()
    summary = summarise_patients(patients, visits)
    timings["summarise_patients"] = time.perf_counter() - t0

    print(f"\n{N_PATIENTS:,} patients × {VISITS_PER_PATIENT} visits ({len(assessments):,} assessments)")
    for step, seconds in timings.items():
        print(f"  {step:<42} {seconds:6.3f} s")
    assert len(visits) == N_PATIENTS * VISITS_PER_PATIENT
    assert len(summary) == N_PATIENTS and (summary["n_visits"] == VISITS_PER_PATIENT).all()
