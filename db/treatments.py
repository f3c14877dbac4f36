"""Medication periods and point treatment events: the single write paths and the reads.

A dose change is two consecutive periods of one drug: `change_dose` ends the current period the day
before the change and opens the next one, in one transaction. Periods of one drug never overlap
(end dates are inclusive).
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, timedelta

import pandas as pd
from sqlalchemy import Engine, func
from sqlmodel import Session, select

from analysis.frames import EVENT_COLUMNS, MEDICATION_COLUMNS
from db.common import (
    add_audited,
    correct_with_audit,
    live_patient,
    open_for_correction,
    open_row,
    primary_key,
    require_reason,
    restore_row,
    soft_delete,
)
from db.frames import DATE, FLOAT, INT, NULLABLE_BOOL, TEXT, TIMESTAMP, code_point_order, read_frame
from models import (
    MedicationPeriod,
    MedicationPeriodCreate,
    MedicationPeriodUpdate,
    Patient,
    TreatmentEvent,
    TreatmentEventCreate,
    TreatmentEventUpdate,
)
from models.errors import DuplicateRecord, InvalidDate, NotFound
from models.rules import Span, overlapping_periods, unknown_suspected_drugs
from models.treatment import AE_FIELDS
from models.validation import parse

MEDICATION_TYPES = {"patient_id": TEXT, "drug": TEXT, "dose": FLOAT, "dose_unit": TEXT, "frequency": TEXT,
                    "route": TEXT, "start_date": DATE, "end_date": DATE, "reason": TEXT}
EVENT_TYPES = {"patient_id": TEXT, "date": DATE, "kind": TEXT, "description": TEXT, "sites": TEXT, "agent": TEXT,
               "dose": FLOAT, "dose_unit": TEXT, "grade": INT, "serious": NULLABLE_BOOL, "end_date": DATE,
               **{name: TEXT for name in AE_FIELDS}}
# The events frame: analysis' EVENT_COLUMNS, then the adverse-event fields (EXCHANGE.md events.csv)
EVENT_FRAME_COLUMNS = [*EVENT_COLUMNS, *(name for name in AE_FIELDS if name not in EVENT_COLUMNS)]
_EVENT_FIELDS = [getattr(TreatmentEvent, name) for name in list(EVENT_TYPES)[1:]]


# --- medication periods ---------------------------------------------------------------------------


def _refuse_overlap(session: Session, patient: Patient, data: MedicationPeriodCreate,
                    ignore_id: int | None = None) -> None:
    recorded = session.exec(select(MedicationPeriod).where(
        MedicationPeriod.patient_key == patient.patient_key, MedicationPeriod.drug == data.drug,
        MedicationPeriod.deleted_at.is_(None))).all()
    spans = [Span(row.patient_key, row.drug, row.start_date, row.end_date, row.dose, row.dose_unit)
             for row in recorded if primary_key(row) != ignore_id]
    new = Span(patient.patient_key, data.drug, data.start_date, data.end_date, data.dose, data.dose_unit)
    for violation in overlapping_periods([new], spans):
        raise violation.exception()


def _check_period(session: Session, data: MedicationPeriodCreate, ignore_id: int | None = None) -> Patient:
    patient = live_patient(session, data.patient_id)
    if patient.birth_year and data.start_date.year < patient.birth_year:
        raise InvalidDate(f"{data.start_date.isoformat()} is before the birth year {patient.birth_year}",
                          field="start_date")
    _refuse_overlap(session, patient, data, ignore_id)
    return patient


def start_medication(*, session: Session, data: MedicationPeriodCreate | dict, actor: str,
                     import_id: int | None = None) -> MedicationPeriod:
    """Add a medication period, audited. Raises OverlappingPeriod, InvalidDate, UnknownPatient, ..."""
    data = data if isinstance(data, MedicationPeriodCreate) else parse(MedicationPeriodCreate, data)
    patient = _check_period(session, data)
    row = MedicationPeriod(patient_key=patient.patient_key, import_id=import_id,
                           **data.model_dump(exclude={"patient_id"}))
    return add_audited(session, row, actor=actor, patient_key=patient.patient_key)


def update_medication(*, session: Session, period_id: int, expected_version: int,
                      data: MedicationPeriodUpdate | dict, actor: str, reason: str) -> MedicationPeriod:
    """Correct a period's content, audited with before/after and the reason. Raises StaleRecord when the period
    changed since the form was opened on `expected_version` (a stop or a dose change included)."""
    reason = require_reason(reason, "correction")
    data = data if isinstance(data, MedicationPeriodUpdate) else parse(MedicationPeriodUpdate, data)
    row = open_for_correction(session, MedicationPeriod, period_id, expected_version=expected_version,
                              patient_id=data.patient_id)
    return _correct_period(session, row, data, actor=actor, reason=reason)


def _correct_period(session: Session, row: MedicationPeriod, data: MedicationPeriodUpdate, *, actor: str,
                    reason: str) -> MedicationPeriod:
    patient = _check_period(session, data, ignore_id=primary_key(row))
    return correct_with_audit(session, row, data.model_dump(exclude={"patient_id"}), actor=actor,
                              patient_key=patient.patient_key, reason=reason)


def stop_medication(*, session: Session, period_id: int, expected_version: int, end_date: date, actor: str,
                    reason: str = "") -> MedicationPeriod:
    """End an ongoing period on `end_date` (inclusive), audited. Raises StaleRecord."""
    row = open_row(session, MedicationPeriod, period_id, expected_version=expected_version)
    data = _period_data(session, row, end_date=end_date, reason=reason or row.reason)
    return _correct_period(session, row, data, actor=actor, reason=reason or "stopped")


def change_dose(*, session: Session, period_id: int, expected_version: int, change_date: date, dose: float,
                actor: str, reason: str, dose_unit: str | None = None, frequency: str | None = None,
                route: str | None = None) -> MedicationPeriod:
    """End period `period_id` the day before `change_date` and open the next one at the new dose.

    One transaction: both periods or neither. Raises ReasonRequired, InvalidDate (change not after the
    period's start), OverlappingPeriod, StaleRecord, or a validation error of the new dose.
    """
    reason = require_reason(reason, "dose change")
    current = open_row(session, MedicationPeriod, period_id, expected_version=expected_version)
    if change_date <= current.start_date:
        raise InvalidDate(f"the change date {change_date.isoformat()} must be after the period's start "
                          f"{current.start_date.isoformat()}", field="change_date")
    if current.end_date is not None and change_date > current.end_date + timedelta(days=1):
        raise InvalidDate(f"the period ended on {current.end_date.isoformat()}; start a new period instead",
                          field="change_date")
    patient = session.get(Patient, current.patient_key)
    following = parse(MedicationPeriodCreate, {
        "patient_id": patient.patient_id, "drug": current.drug, "dose": dose,
        "dose_unit": dose_unit or current.dose_unit, "frequency": frequency or current.frequency,
        "route": current.route if route is None else route, "start_date": change_date,
        "end_date": current.end_date, "reason": reason,
    })
    stopped = _period_data(session, current, end_date=change_date - timedelta(days=1),
                           reason=f"dose changed: {reason}")
    _correct_period(session, current, stopped, actor=actor, reason=f"dose changed: {reason}")
    return start_medication(session=session, data=following, actor=actor)


def _period_data(session: Session, row: MedicationPeriod, **changes) -> MedicationPeriodUpdate:
    patient = session.get(Patient, row.patient_key)
    values = row.model_dump(include=set(MedicationPeriodUpdate.model_fields) - {"patient_id"})
    values.update(changes, patient_id=patient.patient_id)
    return parse(MedicationPeriodUpdate, values)


def delete_medication(*, session: Session, period_id: int, expected_version: int, actor: str,
                      reason: str) -> MedicationPeriod:
    return soft_delete(session, MedicationPeriod, period_id, expected_version=expected_version, actor=actor,
                       reason=reason)


def restore_medication(*, session: Session, period_id: int, expected_version: int, actor: str,
                       reason: str) -> MedicationPeriod:
    """Restore a deleted period. Raises OverlappingPeriod when another period took its dates, StaleRecord."""
    row = open_row(session, MedicationPeriod, period_id, expected_version=expected_version, deleted=True)
    _refuse_overlap(session, session.get(Patient, row.patient_key), _period_data(session, row))
    return restore_row(session, row, actor=actor, reason=reason)


# --- point events ---------------------------------------------------------------------------------


def _check_event(session: Session, data: TreatmentEventCreate, ignore_id: int | None = None) -> Patient:
    patient = live_patient(session, data.patient_id)
    if patient.birth_year and data.date.year < patient.birth_year:
        raise InvalidDate(f"{data.date.isoformat()} is before the birth year {patient.birth_year}", field="date")
    clash = session.exec(select(TreatmentEvent.event_id).where(
        TreatmentEvent.patient_key == patient.patient_key, TreatmentEvent.date == data.date,
        TreatmentEvent.kind == data.kind, TreatmentEvent.sites == data.sites, TreatmentEvent.agent == data.agent,
        TreatmentEvent.description == data.description, TreatmentEvent.deleted_at.is_(None))).first()
    if clash is not None and clash != ignore_id:
        raise DuplicateRecord(f"this {data.kind.replace('_', ' ')} on {data.date.isoformat()} is recorded already",
                              field="date")
    drugs = set(session.exec(select(MedicationPeriod.drug).where(
        MedicationPeriod.patient_key == patient.patient_key, MedicationPeriod.deleted_at.is_(None))).all())
    for violation in unknown_suspected_drugs([(patient.patient_key, data.suspected_drug)],
                                             {patient.patient_key: drugs}):
        raise violation.exception()
    return patient


def record_event(*, session: Session, data: TreatmentEventCreate | dict, actor: str,
                 import_id: int | None = None) -> TreatmentEvent:
    """Add a point event (injection, procedure, gadolinium exposure, adverse event, other), audited."""
    data = data if isinstance(data, TreatmentEventCreate) else parse(TreatmentEventCreate, data)
    patient = _check_event(session, data)
    row = TreatmentEvent(patient_key=patient.patient_key, import_id=import_id,
                         **data.model_dump(exclude={"patient_id"}))
    return add_audited(session, row, actor=actor, patient_key=patient.patient_key)


def update_event(*, session: Session, event_id: int, expected_version: int, data: TreatmentEventUpdate | dict,
                 actor: str, reason: str) -> TreatmentEvent:
    """Correct an event, audited with before, after and the reason. Raises StaleRecord, DuplicateRecord, ..."""
    reason = require_reason(reason, "correction")
    data = data if isinstance(data, TreatmentEventUpdate) else parse(TreatmentEventUpdate, data)
    row = open_for_correction(session, TreatmentEvent, event_id, expected_version=expected_version,
                              patient_id=data.patient_id)
    patient = _check_event(session, data, ignore_id=primary_key(row))
    return correct_with_audit(session, row, data.model_dump(exclude={"patient_id"}), actor=actor,
                              patient_key=patient.patient_key, reason=reason)


def delete_event(*, session: Session, event_id: int, expected_version: int, actor: str,
                 reason: str) -> TreatmentEvent:
    return soft_delete(session, TreatmentEvent, event_id, expected_version=expected_version, actor=actor,
                       reason=reason)


def restore_event(*, session: Session, event_id: int, expected_version: int, actor: str,
                  reason: str) -> TreatmentEvent:
    """Restore a deleted event. Raises DuplicateRecord when an equal event was recorded meanwhile, StaleRecord."""
    row = open_row(session, TreatmentEvent, event_id, expected_version=expected_version, deleted=True)
    clash = session.exec(select(TreatmentEvent.event_id).where(
        TreatmentEvent.patient_key == row.patient_key, TreatmentEvent.date == row.date,
        TreatmentEvent.kind == row.kind, TreatmentEvent.sites == row.sites, TreatmentEvent.agent == row.agent,
        TreatmentEvent.description == row.description, TreatmentEvent.deleted_at.is_(None))).first()
    if clash is not None:
        raise DuplicateRecord(f"this {row.kind.replace('_', ' ')} on {row.date.isoformat()} is recorded again "
                              "meanwhile; delete that one first", field="date")
    return restore_row(session, row, actor=actor, reason=reason)


# --- reads ----------------------------------------------------------------------------------------


def load_medications(engine: Engine, identifiers: Iterable[str] | None = None) -> pd.DataFrame:
    """Live medication periods of live patients as a MEDICATION_COLUMNS frame."""
    statement = (
        select(Patient.patient_id, MedicationPeriod.drug, MedicationPeriod.dose, MedicationPeriod.dose_unit,
               MedicationPeriod.frequency, MedicationPeriod.route, MedicationPeriod.start_date,
               MedicationPeriod.end_date, MedicationPeriod.reason)
        .join(Patient, Patient.patient_key == MedicationPeriod.patient_key)
        .where(MedicationPeriod.deleted_at.is_(None), Patient.deleted_at.is_(None))
        .order_by(code_point_order(Patient.patient_id), code_point_order(MedicationPeriod.drug),
                  MedicationPeriod.start_date)
    )
    if identifiers is not None:
        statement = statement.where(Patient.patient_id.in_(list(identifiers)))
    return read_frame(engine, statement, MEDICATION_TYPES)[MEDICATION_COLUMNS]


def load_medication_rows(engine: Engine, patient_id: str) -> pd.DataFrame:
    """One patient's periods with their ids and versions (for the treatments screen)."""
    statement = (
        select(MedicationPeriod.period_id, MedicationPeriod.drug, MedicationPeriod.dose, MedicationPeriod.dose_unit,
               MedicationPeriod.frequency, MedicationPeriod.route, MedicationPeriod.start_date,
               MedicationPeriod.end_date, MedicationPeriod.reason, MedicationPeriod.version)
        .join(Patient, Patient.patient_key == MedicationPeriod.patient_key)
        .where(Patient.patient_id == patient_id, MedicationPeriod.deleted_at.is_(None))
        .order_by(MedicationPeriod.drug, MedicationPeriod.start_date)
    )
    types = {"period_id": INT, **{k: v for k, v in MEDICATION_TYPES.items() if k != "patient_id"}, "version": INT}
    return read_frame(engine, statement, types)


def load_events(engine: Engine, identifiers: Iterable[str] | None = None) -> pd.DataFrame:
    """Live treatment events of live patients: EVENT_COLUMNS, then the adverse-event fields."""
    statement = (
        select(Patient.patient_id, *_EVENT_FIELDS)
        .join(Patient, Patient.patient_key == TreatmentEvent.patient_key)
        .where(TreatmentEvent.deleted_at.is_(None), Patient.deleted_at.is_(None))
        .order_by(code_point_order(Patient.patient_id), TreatmentEvent.date, code_point_order(TreatmentEvent.kind),
                  code_point_order(TreatmentEvent.sites), code_point_order(TreatmentEvent.agent),
                  code_point_order(TreatmentEvent.description))
    )
    if identifiers is not None:
        statement = statement.where(Patient.patient_id.in_(list(identifiers)))
    return read_frame(engine, statement, EVENT_TYPES)[EVENT_FRAME_COLUMNS]


def patients_with_events_told_apart_by_description(engine: Engine) -> set[str]:
    """Live patients with two or more live events that share date, kind, sites and agent, and so differ only
    by their description (the last column of the events key)."""
    statement = (
        select(Patient.patient_id)
        .join(TreatmentEvent, TreatmentEvent.patient_key == Patient.patient_key)
        .where(TreatmentEvent.deleted_at.is_(None), Patient.deleted_at.is_(None))
        .group_by(Patient.patient_id, TreatmentEvent.date, TreatmentEvent.kind, TreatmentEvent.sites,
                  TreatmentEvent.agent)
        .having(func.count() > 1)
    )
    with engine.connect() as connection:
        return set(connection.execute(statement).scalars())


def load_event_rows(engine: Engine, patient_id: str) -> pd.DataFrame:
    """One patient's events with their ids and versions (for the treatments screen)."""
    statement = (
        select(TreatmentEvent.event_id, *_EVENT_FIELDS, TreatmentEvent.version)
        .join(Patient, Patient.patient_key == TreatmentEvent.patient_key)
        .where(Patient.patient_id == patient_id, TreatmentEvent.deleted_at.is_(None))
        .order_by(TreatmentEvent.date, TreatmentEvent.kind)
    )
    types = {"event_id": INT, **{k: v for k, v in EVENT_TYPES.items() if k != "patient_id"}, "version": INT}
    return read_frame(engine, statement, types)


def get_period(engine: Engine, period_id: int) -> dict:
    with Session(engine) as session:
        row = session.get(MedicationPeriod, period_id)
        if row is None or row.deleted_at is not None:
            raise NotFound(f"no medication period with id {period_id}", field="id")
        return row.model_dump()


def load_deleted_medications(engine: Engine) -> pd.DataFrame:
    """Soft-deleted medication periods (for the administrator's restore screen), newest deletion first."""
    statement = (
        select(MedicationPeriod.period_id, Patient.patient_id, MedicationPeriod.drug, MedicationPeriod.dose,
               MedicationPeriod.dose_unit, MedicationPeriod.start_date, MedicationPeriod.end_date,
               MedicationPeriod.deleted_at, MedicationPeriod.version)
        .join(Patient, Patient.patient_key == MedicationPeriod.patient_key)
        .where(MedicationPeriod.deleted_at.is_not(None)).order_by(MedicationPeriod.deleted_at.desc())
    )
    return read_frame(engine, statement, {"period_id": INT, "patient_id": TEXT, "drug": TEXT, "dose": FLOAT,
                                          "dose_unit": TEXT, "start_date": DATE, "end_date": DATE,
                                          "deleted_at": TIMESTAMP, "version": INT})


def load_deleted_events(engine: Engine) -> pd.DataFrame:
    """Soft-deleted treatment events (for the administrator's restore screen), newest deletion first."""
    statement = (
        select(TreatmentEvent.event_id, Patient.patient_id, TreatmentEvent.date, TreatmentEvent.kind,
               TreatmentEvent.agent, TreatmentEvent.sites, TreatmentEvent.deleted_at, TreatmentEvent.version)
        .join(Patient, Patient.patient_key == TreatmentEvent.patient_key)
        .where(TreatmentEvent.deleted_at.is_not(None)).order_by(TreatmentEvent.deleted_at.desc())
    )
    return read_frame(engine, statement, {"event_id": INT, "patient_id": TEXT, "date": DATE, "kind": TEXT,
                                          "agent": TEXT, "sites": TEXT, "deleted_at": TIMESTAMP, "version": INT})
