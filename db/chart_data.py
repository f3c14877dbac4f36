"""Everything the patient chart shows, for one patient, in a handful of indexed queries."""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd
from sqlalchemy import Engine

from db.measures import load_measurements
from db.patients import get_patient
from db.treatments import load_events, load_medications
from db.visits import load_assessment_rows


@dataclass(frozen=True)
class ChartData:
    """One patient's rows: `patient` is None for an unknown (or deleted, or another centre's) patient, and the
    frames are empty."""

    patient_id: str
    patient: dict | None
    assessments: pd.DataFrame  # ASSESSMENT_COLUMNS plus assessment_id and notes, date order
    measurements: pd.DataFrame
    medications: pd.DataFrame
    events: pd.DataFrame

    @property
    def exists(self) -> bool:
        return self.patient is not None


def load_chart_data(engine: Engine, patient_id: str) -> ChartData:
    """Only this patient's live rows; every query goes through the unique patient identifier and a
    (patient, date) index, so the cost does not grow with the registry. Every read is filtered by the engine's
    scope (db.patients, db.visits, db.measures, db.treatments): another centre's patient answers as no patient."""
    patient = get_patient(engine, patient_id)
    rows = load_assessment_rows(engine, patient_id)
    rows.insert(0, "patient_id", patient_id)
    return ChartData(
        patient_id=patient_id,
        patient=patient,
        assessments=rows,
        measurements=load_measurements(engine, [patient_id]),
        medications=load_medications(engine, [patient_id]),
        events=load_events(engine, [patient_id]),
    )
