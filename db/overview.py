"""The patient list of the clinic (PRODUCT.md screen 2): one row per live patient with the last visit, the
latest mRSS, the change since baseline and the active treatments.

Two set-based queries (and the patient list), whatever the registry's size: the database aggregates per
patient (last visit, number of scored visits, first and last scored date) and returns only the rater totals of
those two dates; the visit mRSS (mean of rater totals) and the baseline (earliest visit with an mRSS) are then
computed by analysis/ on that handful of rows, so the numbers are those of the chart and the export."""

from __future__ import annotations

from datetime import date

import pandas as pd
from sqlalchemy import Engine, and_, case, func, or_, select

from analysis.cohort import visit_totals
from analysis.summary import summarise_patients
from db.frames import DATE, FLOAT, INT, TEXT, read_frame
from db.patients import load_patients
from db.scope import owner_filter, patient_filter
from models import Assessment, MedicationPeriod, Patient

OVERVIEW_COLUMNS = ["patient_id", "diagnosis", "name", "mrn", "last_visit", "n_visits", "latest_mrss",
                    "change", "active_treatments"]


def _visit_dates(engine: Engine):
    """Per patient of the scope with live assessments: last visit (any), scored visits, first and last scored
    date."""
    scored_date = case((Assessment.total.is_not(None), Assessment.visit_date))
    return (select(Assessment.patient_key.label("key"),
                   func.max(Assessment.visit_date).label("last_visit"),
                   func.count(func.distinct(scored_date)).label("n_visits"),
                   func.min(scored_date).label("first_scored"),
                   func.max(scored_date).label("last_scored"))
            .where(Assessment.deleted_at.is_(None), owner_filter(engine, Assessment.patient_key))
            .group_by(Assessment.patient_key)
            .subquery("visit_dates"))


def load_overview(engine: Engine, *, today: date | None = None) -> pd.DataFrame:
    """OVERVIEW_COLUMNS, one row per live patient of the engine's scope ordered by identifier (patients without
    visits included).

    change = latest visit mRSS − baseline (CLINICAL.md: the earliest visit with an mRSS); n_visits counts the
    distinct dates with an mRSS; last_visit counts incomplete assessments too; active_treatments lists the
    medication periods running on `today` (default: today) as "drug dose unit", comma-separated."""
    today = today or date.today()
    people = load_patients(engine)
    dates = _visit_dates(engine)
    # One scan: each patient's aggregates, beside the rater totals of the first and last scored dates (a
    # patient whose assessments are all incomplete keeps one row, without a total).
    ends = read_frame(engine, select(Patient.patient_id, dates.c.last_visit, dates.c.n_visits,
                                     Assessment.visit_date, Assessment.total)
                      .join(dates, dates.c.key == Patient.patient_key)
                      .outerjoin(Assessment, and_(Assessment.patient_key == dates.c.key,
                                                  Assessment.deleted_at.is_(None), Assessment.total.is_not(None),
                                                  or_(Assessment.visit_date == dates.c.first_scored,
                                                      Assessment.visit_date == dates.c.last_scored)))
                      .where(Patient.deleted_at.is_(None), patient_filter(engine)),
                      {"patient_id": TEXT, "last_visit": DATE, "n_visits": INT, "visit_date": DATE, "total": FLOAT})
    per_patient = ends[["patient_id", "last_visit", "n_visits"]].drop_duplicates("patient_id")
    active = read_frame(engine, select(Patient.patient_id, MedicationPeriod.drug, MedicationPeriod.dose,
                                       MedicationPeriod.dose_unit)
                        .join(Patient, Patient.patient_key == MedicationPeriod.patient_key)
                        .where(MedicationPeriod.deleted_at.is_(None), Patient.deleted_at.is_(None),
                               patient_filter(engine), MedicationPeriod.start_date <= today,
                               or_(MedicationPeriod.end_date.is_(None), MedicationPeriod.end_date >= today))
                        .order_by(Patient.patient_id, MedicationPeriod.drug, MedicationPeriod.start_date),
                        {"patient_id": TEXT, "drug": TEXT, "dose": FLOAT, "dose_unit": TEXT})

    # The baseline and the latest mRSS need only the first and last scored dates.
    summary = summarise_patients(people, visit_totals(ends.dropna(subset=["total"])))
    out = people[["patient_id", "diagnosis", "name", "mrn"]].merge(
        summary[["patient_id", "latest_mrss", "change"]], on="patient_id", how="left")
    out = out.merge(per_patient, on="patient_id", how="left")
    out["n_visits"] = out["n_visits"].fillna(0).astype("int64")
    labels = _treatment_labels(active)
    out["active_treatments"] = [labels.get(patient_id, "") for patient_id in out["patient_id"]]
    out["active_treatments"] = out["active_treatments"].astype(str)
    return out[OVERVIEW_COLUMNS]


def _treatment_labels(active: pd.DataFrame) -> dict[str, str]:
    """patient_id -> "imatinib 400 mg, prednisone 5 mg" (a plain loop: pandas' string groupby is slow here)."""
    labels: dict[str, list[str]] = {}
    for patient_id, drug, dose, unit in zip(active["patient_id"], active["drug"], active["dose"],
                                            active["dose_unit"], strict=True):
        text = drug if pd.isna(dose) else f"{drug} {dose:g} {unit}".rstrip()
        labels.setdefault(patient_id, []).append(text)
    return {patient_id: ", ".join(texts) for patient_id, texts in labels.items()}

