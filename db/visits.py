"""Skin assessments (visits): the single write path and the reads.

`record_assessment` is the one way to add an assessment: it validates (AssessmentCreate and the
catalogue), refuses a duplicate (patient, visit date, rater), stores the rater total computed by
`analysis.scores.rater_total`, and appends the audit row, all in the caller's transaction.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date

import pandas as pd
from sqlalchemy import Engine
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, select

from analysis.frames import ASSESSMENT_COLUMNS
from analysis.scores import rater_total
from db.common import (
    audit,
    bump_versions,
    correct_with_audit,
    live_patient,
    open_row,
    primary_key,
    require_reason,
    restore_row,
    soft_delete,
)
from db.frames import BOOL, DATE, FLOAT, INT, TEXT, TIMESTAMP, code_point_order, read_frame
from models import Assessment, AssessmentCreate, AssessmentUpdate, Patient
from models.assessment import check_visit_after_birth
from models.catalog import SITE_CODES
from models.errors import DuplicateAssessment
from models.validation import parse

ASSESSMENT_TYPES = {
    "patient_id": TEXT, "visit_date": DATE, "rater": TEXT, **{code: FLOAT for code in SITE_CODES},
    "total": FLOAT, "incomplete": BOOL,
}


def stored_total(data: AssessmentCreate) -> float | None:
    """The rater total kept in the row (None for an incomplete assessment)."""
    return rater_total(data.site_scores(), data.total if data.is_total_only else None)


def find_assessment(session: Session, *, patient_key: int, visit_date: date, rater: str) -> Assessment | None:
    """The live assessment with this key, if any."""
    return session.exec(select(Assessment).where(
        Assessment.patient_key == patient_key, Assessment.visit_date == visit_date,
        Assessment.rater == rater, Assessment.deleted_at.is_(None))).first()


def record_assessment(*, session: Session, data: AssessmentCreate | dict, actor: str,
                      import_id: int | None = None) -> Assessment:
    """Add one rater's assessment, audited.

    Raises DuplicateAssessment (with `existing_id`, so the form can open it for correction),
    UnknownPatient, InvalidDate (visit before the birth year) or the validation error of a bad field.
    """
    data = data if isinstance(data, AssessmentCreate) else parse(AssessmentCreate, data)
    patient = live_patient(session, data.patient_id)
    check_visit_after_birth(data.visit_date, patient.birth_year)
    _refuse_duplicate(session, patient, data)
    total = stored_total(data)
    assessment = Assessment(
        patient_key=patient.patient_key, visit_date=data.visit_date, rater=data.rater, notes=data.notes,
        total=total, incomplete=total is None, import_id=import_id, **data.site_scores(),
    )
    session.add(assessment)
    _flush_or_duplicate(session, patient, data)
    audit(session, actor=actor, action="create", entity="assessment", entity_id=assessment.assessment_id,
          patient_key=patient.patient_key, after=assessment)
    bump_versions(session, [patient.patient_key])
    return assessment


def correct_assessment(*, session: Session, assessment_id: int, expected_version: int,
                       data: AssessmentUpdate | dict, actor: str, reason: str) -> Assessment:
    """Replace an assessment's content (scores, date, rater), keeping the old values in the audit row.

    `expected_version`: the version the form was opened on. Raises StaleRecord when the assessment changed since,
    ReasonRequired without a reason, NotFound, DuplicateAssessment when the new key is taken.
    """
    reason = require_reason(reason, "correction")
    data = data if isinstance(data, AssessmentUpdate) else parse(AssessmentUpdate, data)
    target = live_patient(session, data.patient_id, lock=False)
    assessment = open_row(session, Assessment, assessment_id, expected_version=expected_version,
                          lock_also=[target.patient_key])
    patient = live_patient(session, data.patient_id)
    check_visit_after_birth(data.visit_date, patient.birth_year)
    if (patient.patient_key, data.visit_date, data.rater) != (assessment.patient_key, assessment.visit_date,
                                                              assessment.rater):
        _refuse_duplicate(session, patient, data)
    total = stored_total(data)
    values = {"visit_date": data.visit_date, "rater": data.rater, "notes": data.notes, "total": total,
              "incomplete": total is None, **data.site_scores()}
    try:
        return correct_with_audit(session, assessment, values, actor=actor, patient_key=patient.patient_key,
                                  reason=reason)
    except IntegrityError as exc:
        _raise_duplicate(exc, patient, data)


def delete_assessment(*, session: Session, assessment_id: int, expected_version: int, actor: str,
                      reason: str) -> Assessment:
    """Soft-delete an assessment (restorable), audited with the reason. Raises StaleRecord."""
    return soft_delete(session, Assessment, assessment_id, expected_version=expected_version, actor=actor,
                       reason=reason)


def restore_assessment(*, session: Session, assessment_id: int, expected_version: int, actor: str,
                       reason: str) -> Assessment:
    """Restore a deleted assessment. Raises DuplicateAssessment when its key was reused meanwhile, StaleRecord."""
    row = open_row(session, Assessment, assessment_id, expected_version=expected_version, deleted=True)
    patient = session.get(Patient, row.patient_key)
    clash = find_assessment(session, patient_key=row.patient_key, visit_date=row.visit_date, rater=row.rater)
    if clash is not None:
        raise DuplicateAssessment(
            f"patient {patient.patient_id!r} has another assessment on {row.visit_date.isoformat()} by "
            f"{row.rater or 'an unspecified rater'}; correct or delete it first", field="visit_date",
            existing_id=primary_key(clash))
    return restore_row(session, row, actor=actor, reason=reason)


def _refuse_duplicate(session: Session, patient: Patient, data: AssessmentCreate) -> None:
    existing = find_assessment(session, patient_key=patient.patient_key, visit_date=data.visit_date, rater=data.rater)
    if existing is not None:
        raise DuplicateAssessment(
            f"patient {patient.patient_id!r} already has an assessment on {data.visit_date.isoformat()} by "
            f"{data.rater or 'an unspecified rater'}; open it to correct it", field="visit_date",
            existing_id=primary_key(existing))


def _flush_or_duplicate(session: Session, patient: Patient, data: AssessmentCreate) -> None:
    """Flush; a concurrent insert of the same key surfaces as DuplicateAssessment, not a traceback."""
    try:
        session.flush()
    except IntegrityError as exc:
        _raise_duplicate(exc, patient, data)


def _raise_duplicate(exc: IntegrityError, patient: Patient, data: AssessmentCreate):
    if "ux_assessment_key" in str(exc) or "UNIQUE" in str(exc).upper():
        raise DuplicateAssessment(
            f"patient {patient.patient_id!r} already has an assessment on {data.visit_date.isoformat()} "
            f"by {data.rater or 'an unspecified rater'} (saved by someone else just now)",
            field="visit_date") from None
    raise exc


# --- reads ----------------------------------------------------------------------------------------


def _assessment_select():
    return (
        select(Patient.patient_id, Assessment.visit_date, Assessment.rater,
               *[getattr(Assessment, code) for code in SITE_CODES], Assessment.total, Assessment.incomplete)
        .join(Patient, Patient.patient_key == Assessment.patient_key)
        .where(Assessment.deleted_at.is_(None), Patient.deleted_at.is_(None))
    )


def load_assessments(engine: Engine, identifiers: Iterable[str] | None = None) -> pd.DataFrame:
    """Live assessments of live patients (all, or of `identifiers`) as an ASSESSMENT_COLUMNS frame."""
    statement = _assessment_select().order_by(code_point_order(Patient.patient_id), Assessment.visit_date,
                                              code_point_order(Assessment.rater))
    if identifiers is not None:
        statement = statement.where(Patient.patient_id.in_(list(identifiers)))
    return read_frame(engine, statement, ASSESSMENT_TYPES)[ASSESSMENT_COLUMNS]


def load_assessment_rows(engine: Engine, patient_id: str) -> pd.DataFrame:
    """One patient's assessments with their ids, notes and versions (for the visit table and corrections)."""
    statement = (
        select(Assessment.assessment_id, Assessment.visit_date, Assessment.rater,
               *[getattr(Assessment, code) for code in SITE_CODES], Assessment.total, Assessment.incomplete,
               Assessment.notes, Assessment.version)
        .join(Patient, Patient.patient_key == Assessment.patient_key)
        .where(Patient.patient_id == patient_id, Assessment.deleted_at.is_(None))
        .order_by(Assessment.visit_date, Assessment.rater)
    )
    types = {"assessment_id": INT, "visit_date": DATE, "rater": TEXT, **{c: FLOAT for c in SITE_CODES},
             "total": FLOAT, "incomplete": BOOL, "notes": TEXT, "version": INT}
    return read_frame(engine, statement, types)


def get_assessment(engine: Engine, *, identifier: str, visit_date: date, rater: str) -> dict | None:
    """The live assessment with this key as a dict (with its `id`), or None."""
    with Session(engine) as session:
        row = session.exec(
            select(Assessment).join(Patient, Patient.patient_key == Assessment.patient_key).where(
                Patient.patient_id == identifier, Assessment.visit_date == visit_date,
                Assessment.rater == rater, Assessment.deleted_at.is_(None))).first()
        return row.model_dump() if row is not None else None


def load_deleted_assessments(engine: Engine) -> pd.DataFrame:
    statement = (
        select(Assessment.assessment_id, Patient.patient_id, Assessment.visit_date, Assessment.rater,
               Assessment.total, Assessment.deleted_at, Assessment.version)
        .join(Patient, Patient.patient_key == Assessment.patient_key)
        .where(Assessment.deleted_at.is_not(None)).order_by(Assessment.deleted_at.desc())
    )
    return read_frame(engine, statement, {"assessment_id": INT, "patient_id": TEXT, "visit_date": DATE,
                                          "rater": TEXT, "total": FLOAT, "deleted_at": TIMESTAMP, "version": INT})
