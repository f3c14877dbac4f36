"""Skin assessments (visits): the write paths and the reads.

Every write goes through the batch write path (db.batch: validated by AssessmentCreate, the patient locked, the
rules of models.rules applied, the rater total stored, audited) in the caller's transaction. `save_visit` saves a
whole visit of the entry screen, its assessment and its measures, in one.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date

import pandas as pd
from sqlalchemy import Engine
from sqlmodel import Session, select

from analysis.frames import ASSESSMENT_COLUMNS
from db.batch import check_restorable, save_one
from db.common import open_row, require_reason, restore_row, soft_delete
from db.frames import BOOL, DATE, FLOAT, INT, TEXT, TIMESTAMP, code_point_order, matchable, read_frame, read_many
from db.measures import correct_measurement, delete_measurement, record_measurement
from db.scope import patient_filter
from models import Assessment, AssessmentCreate, AssessmentUpdate, Patient
from models.catalog import SITE_CODES
from models.records import ASSESSMENT
from models.validation import parse

ASSESSMENT_TYPES = {
    "patient_id": TEXT, "visit_date": DATE, "rater": TEXT, **{code: FLOAT for code in SITE_CODES},
    "total": FLOAT, "incomplete": BOOL,
}


def record_assessment(*, session: Session, data: AssessmentCreate | dict, actor: str) -> Assessment:
    """Add one rater's assessment, audited.

    Raises DuplicateAssessment (with `existing_id`, so the form can open it for correction),
    UnknownPatient, InvalidDate (visit before the birth year) or the validation error of a bad field.
    """
    data = data if isinstance(data, AssessmentCreate) else parse(AssessmentCreate, data)
    return save_one(session, ASSESSMENT, data, actor=actor)


def correct_assessment(*, session: Session, assessment_id: int, expected_version: int,
                       data: AssessmentUpdate | dict, actor: str, reason: str) -> Assessment:
    """Replace an assessment's content (scores, date, rater, notes), keeping the old values in the audit row.

    `expected_version`: the version the form was opened on. Raises StaleRecord when the assessment changed since,
    ReasonRequired without a reason, NotFound, DuplicateAssessment when the new key is taken.
    """
    reason = require_reason(reason, "correction")
    data = data if isinstance(data, AssessmentUpdate) else parse(AssessmentUpdate, data)
    return save_one(session, ASSESSMENT, data, actor=actor, target=assessment_id,
                    expected_version=expected_version, reason=reason)


def delete_assessment(*, session: Session, assessment_id: int, expected_version: int, actor: str,
                      reason: str) -> Assessment:
    """Soft-delete an assessment (restorable), audited with the reason. Raises StaleRecord."""
    return soft_delete(session, Assessment, assessment_id, expected_version=expected_version, actor=actor,
                       reason=reason)


def restore_assessment(*, session: Session, assessment_id: int, expected_version: int, actor: str,
                       reason: str) -> Assessment:
    """Restore a deleted assessment. Raises DuplicateAssessment when its key was reused meanwhile, StaleRecord."""
    row = open_row(session, Assessment, assessment_id, expected_version=expected_version, deleted=True)
    check_restorable(session, ASSESSMENT, row)
    return restore_row(session, row, actor=actor, reason=reason)


# --- a whole visit ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class VisitMeasure:
    """One measure of the visit as the entry form holds it: a value typed (`value`), or cleared (None). With
    `measurement_id` it is the saved value of that measurement, opened at `expected_version`: corrected when the
    value differs, deleted when cleared; without, a new measurement (a cleared new one is nothing)."""

    measure: str
    side: str
    value: float | None
    measurement_id: int | None = None
    expected_version: int | None = None


@dataclass
class SavedVisit:
    """What `save_visit` wrote: the assessment (None when only measures were saved) and the measurements."""

    assessment: Assessment | None = None
    created: list[int] = field(default_factory=list)
    corrected: list[int] = field(default_factory=list)
    deleted: list[int] = field(default_factory=list)


def save_visit(*, session: Session, patient_id: str, visit_date: date, rater: str, actor: str,
               scores: dict[str, int | None] | None = None, total: float | None = None, notes: str = "",
               assessment_id: int | None = None, expected_version: int | None = None, reason: str = "",
               measures: Sequence[VisitMeasure] = ()) -> SavedVisit:
    """Save one visit of the entry screen in the caller's transaction: all of it, or nothing.

    - The assessment of (patient_id, visit_date, rater): the 17 `scores` (site code -> 0-3 or None), or a `total`
      alone (a historical total); `notes`. With `assessment_id` it corrects that assessment, opened at
      `expected_version` (both or neither), with a `reason`; changing the rater or the date of an opened visit is
      a correction of it, not a new visit. No scores and no total: only the measures are saved.
    - `measures`: each typed value recorded, corrected (with the measurement's version and the `reason`, or
      "entered again on the visit screen") or, cleared, deleted; on the visit's date, by its rater.

    Raises the named error of the first problem (StaleRecord when the assessment or a measurement changed since the
    form was opened, ReasonRequired, DuplicateAssessment, ...); the caller's transaction then rolls back.
    """
    if (assessment_id is None) != (expected_version is None):
        raise TypeError("assessment_id and expected_version go together: the visit opened, and its version")
    saved = SavedVisit()
    if scores is not None or total is not None:
        data = {"patient_id": patient_id, "visit_date": visit_date, "rater": rater, "notes": notes,
                **(scores or {}), "total": total}
        if assessment_id is None:
            saved.assessment = record_assessment(session=session, data=data, actor=actor)
        else:
            saved.assessment = correct_assessment(session=session, assessment_id=assessment_id,
                                                  expected_version=expected_version, data=data, actor=actor,
                                                  reason=reason)
    for item in measures:
        values = {"patient_id": patient_id, "date": visit_date, "measure": item.measure, "side": item.side,
                  "value": item.value, "rater": rater}
        if item.measurement_id is None:
            if item.value is not None:
                saved.created.append(record_measurement(session=session, data=values, actor=actor).measurement_id)
        elif item.value is None:
            delete_measurement(session=session, measurement_id=item.measurement_id,
                               expected_version=item.expected_version, actor=actor,
                               reason=reason or "cleared on the visit screen")
            saved.deleted.append(item.measurement_id)
        else:
            correct_measurement(session=session, measurement_id=item.measurement_id,
                                expected_version=item.expected_version, data=values, actor=actor,
                                reason=reason or "entered again on the visit screen")
            saved.corrected.append(item.measurement_id)
    return saved


# --- reads ----------------------------------------------------------------------------------------


def _assessment_select(engine: Engine):
    return (
        select(Patient.patient_id, Assessment.visit_date, Assessment.rater,
               *[getattr(Assessment, code) for code in SITE_CODES], Assessment.total, Assessment.incomplete)
        .join(Patient, Patient.patient_key == Assessment.patient_key)
        .where(Assessment.deleted_at.is_(None), Patient.deleted_at.is_(None), patient_filter(engine))
    )


def load_assessments(engine: Engine, identifiers: Iterable[str] | None = None) -> pd.DataFrame:
    """Live assessments of the scope's live patients (all, or of `identifiers`) as an ASSESSMENT_COLUMNS frame."""
    statement = _assessment_select(engine).order_by(code_point_order(Patient.patient_id), Assessment.visit_date,
                                              code_point_order(Assessment.rater))
    if identifiers is not None:
        identifiers = matchable(identifiers)
        statement = statement.where(Patient.patient_id.in_(identifiers))
    return read_many(engine, statement, ASSESSMENT_TYPES, identifiers)[ASSESSMENT_COLUMNS]


def load_assessment_rows(engine: Engine, patient_id: str) -> pd.DataFrame:
    """One patient's assessments with their ids, notes and versions (for the visit table and corrections); empty
    for another centre's patient."""
    statement = (
        select(Assessment.assessment_id, Assessment.visit_date, Assessment.rater,
               *[getattr(Assessment, code) for code in SITE_CODES], Assessment.total, Assessment.incomplete,
               Assessment.notes, Assessment.version)
        .join(Patient, Patient.patient_key == Assessment.patient_key)
        .where(Patient.patient_id.in_(matchable([patient_id])), Assessment.deleted_at.is_(None),
               patient_filter(engine))
        .order_by(Assessment.visit_date, Assessment.rater)
    )
    types = {"assessment_id": INT, "visit_date": DATE, "rater": TEXT, **{c: FLOAT for c in SITE_CODES},
             "total": FLOAT, "incomplete": BOOL, "notes": TEXT, "version": INT}
    return read_frame(engine, statement, types)


def load_deleted_assessments(engine: Engine) -> pd.DataFrame:
    """The scope's soft-deleted assessments (for the administrator's restore screen), newest deletion first."""
    statement = (
        select(Assessment.assessment_id, Patient.patient_id, Assessment.visit_date, Assessment.rater,
               Assessment.total, Assessment.deleted_at, Assessment.version)
        .join(Patient, Patient.patient_key == Assessment.patient_key)
        .where(Assessment.deleted_at.is_not(None), patient_filter(engine)).order_by(Assessment.deleted_at.desc())
    )
    return read_frame(engine, statement, {"assessment_id": INT, "patient_id": TEXT, "visit_date": DATE,
                                          "rater": TEXT, "total": FLOAT, "deleted_at": TIMESTAMP, "version": INT})
