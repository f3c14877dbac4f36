"""The clinic's raters (read only): who has scored the skin before, for the rater choice on visit entry."""

from __future__ import annotations

from sqlalchemy import Engine, func, select

from db.scope import patient_filter
from models import Assessment, Patient


def clinic_raters(engine: Engine) -> list[str]:
    """Everyone who has scored a live assessment of a live patient of the engine's scope, the most recent first
    (by the latest visit they scored; equal dates by name). Blank raters of imported history are left out."""
    latest = func.max(Assessment.visit_date)
    statement = (
        select(Assessment.rater, latest)
        .join(Patient, Patient.patient_key == Assessment.patient_key)
        .where(Assessment.deleted_at.is_(None), Patient.deleted_at.is_(None), Assessment.rater != "",
               patient_filter(engine))
        .group_by(Assessment.rater)
        .order_by(latest.desc(), Assessment.rater)
    )
    with engine.connect() as connection:
        return [rater for rater, _ in connection.execute(statement)]
