"""Medication periods and point treatment events: the write paths (through db.batch) and the reads.

A dose change is two consecutive periods of one drug: `change_dose` ends the current period the day
before the change and opens the next one, in one batch. Periods of one drug never overlap
(end dates are inclusive).
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, timedelta

import pandas as pd
from sqlalchemy import Engine, func
from sqlmodel import Session, select

from analysis.frames import EVENT_COLUMNS, MEDICATION_COLUMNS
from db.batch import Row, check_restorable, save_one, write_batch
from db.common import open_row, require_reason, restore_row, soft_delete, stale_record
from db.engine import read_session
from db.frames import DATE, FLOAT, INT, NULLABLE_BOOL, TEXT, TIMESTAMP, code_point_order, matchable, read_frame
from db.scope import owner_filter, patient_filter
from models import (
    MedicationPeriod,
    MedicationPeriodCreate,
    MedicationPeriodUpdate,
    Patient,
    TreatmentEvent,
    TreatmentEventCreate,
    TreatmentEventUpdate,
)
from models.errors import InvalidDate, NotFound
from models.records import EVENT, MEDICATION, extract
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


def start_medication(*, session: Session, data: MedicationPeriodCreate | dict, actor: str) -> MedicationPeriod:
    """Add a medication period, audited. Raises OverlappingPeriod, InvalidDate, UnknownPatient, ..."""
    data = data if isinstance(data, MedicationPeriodCreate) else parse(MedicationPeriodCreate, data)
    return save_one(session, MEDICATION, data, actor=actor)


def update_medication(*, session: Session, period_id: int, expected_version: int,
                      data: MedicationPeriodUpdate | dict, actor: str, reason: str) -> MedicationPeriod:
    """Correct a period's content, audited with before/after and the reason. Raises StaleRecord when the period
    changed since the form was opened on `expected_version` (a stop or a dose change included)."""
    reason = require_reason(reason, "correction")
    data = data if isinstance(data, MedicationPeriodUpdate) else parse(MedicationPeriodUpdate, data)
    return save_one(session, MEDICATION, data, actor=actor, target=period_id, expected_version=expected_version,
                    reason=reason)


def stop_medication(*, session: Session, period_id: int, expected_version: int, end_date: date, actor: str,
                    reason: str = "") -> MedicationPeriod:
    """End an ongoing period on `end_date` (inclusive), audited. Raises StaleRecord."""
    row = _period(session, period_id, expected_version)
    data = _period_data(session, row, end_date=end_date, reason=reason or row.reason)
    return save_one(session, MEDICATION, data, actor=actor, target=period_id, expected_version=expected_version,
                    reason=reason or "stopped")


def change_dose(*, session: Session, period_id: int, expected_version: int, change_date: date, dose: float,
                actor: str, reason: str, dose_unit: str | None = None, frequency: str | None = None,
                route: str | None = None) -> MedicationPeriod:
    """End period `period_id` the day before `change_date` and open the next one at the new dose; returns the new
    period.

    One batch: both periods or neither. Raises ReasonRequired, InvalidDate (change not after the
    period's start), OverlappingPeriod, StaleRecord, or a validation error of the new dose.
    """
    reason = require_reason(reason, "dose change")
    current = _period(session, period_id, expected_version)
    if change_date <= current.start_date:
        raise InvalidDate(f"the change date {change_date.isoformat()} must be after the period's start "
                          f"{current.start_date.isoformat()}", field="change_date")
    if current.end_date is not None and change_date > current.end_date + timedelta(days=1):
        raise InvalidDate(f"the period ended on {current.end_date.isoformat()}; start a new period instead",
                          field="change_date")
    stopped = _period_data(session, current, end_date=change_date - timedelta(days=1),
                           reason=f"dose changed: {reason}")
    following = parse(MedicationPeriodCreate, {
        "patient_id": stopped.patient_id, "drug": current.drug, "dose": dose,
        "dose_unit": dose_unit or current.dose_unit, "frequency": frequency or current.frequency,
        "route": current.route if route is None else route, "start_date": change_date,
        "end_date": current.end_date, "reason": reason,
    })
    rows = [Row(0, *extract(MEDICATION, stopped), target=period_id, expected_version=expected_version),
            Row(0, *extract(MEDICATION, following))]
    result = write_batch(session, {MEDICATION.name: rows}, actor=actor, reason=f"dose changed: {reason}")
    result.raise_first()
    return session.get(MedicationPeriod, result.ids[MEDICATION.name][1])


def _period(session: Session, period_id: int, expected_version: int) -> MedicationPeriod:
    """The period a stop or a dose change starts from, read without a lock to build the new content: StaleRecord
    already when it is not the version the form was opened on (the batch checks again under the lock). Another
    centre's period is no period at all (NotFound, the same words)."""
    row = session.exec(select(MedicationPeriod).where(
        MedicationPeriod.period_id == period_id,
        owner_filter(session, MedicationPeriod.__table__.c.patient_key))).first()
    if row is None:
        raise NotFound(f"no medication period with id {period_id}", field="id")
    if row.version != expected_version or row.deleted_at is not None:
        raise stale_record(session, MedicationPeriod, period_id)
    return row


def _period_data(session: Session, row: MedicationPeriod, **changes) -> MedicationPeriodUpdate:
    patient = session.get(Patient, row.patient_key)
    values = row.model_dump(include=set(MedicationPeriodUpdate.model_fields) - {"patient_id"})
    values.update(changes, patient_id=patient.patient_id)
    return parse(MedicationPeriodUpdate, values)


def delete_medication(*, session: Session, period_id: int, expected_version: int, actor: str,
                      reason: str) -> MedicationPeriod:
    """Soft-delete a period (restorable), audited with the reason. Raises StaleRecord."""
    return soft_delete(session, MedicationPeriod, period_id, expected_version=expected_version, actor=actor,
                       reason=reason)


def restore_medication(*, session: Session, period_id: int, expected_version: int, actor: str,
                       reason: str) -> MedicationPeriod:
    """Restore a deleted period. Raises OverlappingPeriod when another period took its dates, StaleRecord."""
    row = open_row(session, MedicationPeriod, period_id, expected_version=expected_version, deleted=True)
    check_restorable(session, MEDICATION, row)
    return restore_row(session, row, actor=actor, reason=reason)


# --- point events ---------------------------------------------------------------------------------


def record_event(*, session: Session, data: TreatmentEventCreate | dict, actor: str) -> TreatmentEvent:
    """Add a point event (injection, procedure, gadolinium exposure, adverse event, organ event, other), audited.
    Raises DuplicateRecord, InvalidDate, the suspected drug's InvalidValue, ..."""
    data = data if isinstance(data, TreatmentEventCreate) else parse(TreatmentEventCreate, data)
    return save_one(session, EVENT, data, actor=actor)


def update_event(*, session: Session, event_id: int, expected_version: int, data: TreatmentEventUpdate | dict,
                 actor: str, reason: str) -> TreatmentEvent:
    """Correct an event, audited with before, after and the reason. Raises StaleRecord, DuplicateRecord, ..."""
    reason = require_reason(reason, "correction")
    data = data if isinstance(data, TreatmentEventUpdate) else parse(TreatmentEventUpdate, data)
    return save_one(session, EVENT, data, actor=actor, target=event_id, expected_version=expected_version,
                    reason=reason)


def delete_event(*, session: Session, event_id: int, expected_version: int, actor: str,
                 reason: str) -> TreatmentEvent:
    """Soft-delete an event (restorable), audited with the reason. Raises StaleRecord."""
    return soft_delete(session, TreatmentEvent, event_id, expected_version=expected_version, actor=actor,
                       reason=reason)


def restore_event(*, session: Session, event_id: int, expected_version: int, actor: str,
                  reason: str) -> TreatmentEvent:
    """Restore a deleted event. Raises DuplicateRecord when an equal event was recorded meanwhile, StaleRecord."""
    row = open_row(session, TreatmentEvent, event_id, expected_version=expected_version, deleted=True)
    check_restorable(session, EVENT, row)
    return restore_row(session, row, actor=actor, reason=reason)


# --- reads ----------------------------------------------------------------------------------------


def load_medications(engine: Engine, identifiers: Iterable[str] | None = None) -> pd.DataFrame:
    """Live medication periods of the scope's live patients as a MEDICATION_COLUMNS frame."""
    statement = (
        select(Patient.patient_id, MedicationPeriod.drug, MedicationPeriod.dose, MedicationPeriod.dose_unit,
               MedicationPeriod.frequency, MedicationPeriod.route, MedicationPeriod.start_date,
               MedicationPeriod.end_date, MedicationPeriod.reason)
        .join(Patient, Patient.patient_key == MedicationPeriod.patient_key)
        .where(MedicationPeriod.deleted_at.is_(None), Patient.deleted_at.is_(None), patient_filter(engine))
        .order_by(code_point_order(Patient.patient_id), code_point_order(MedicationPeriod.drug),
                  MedicationPeriod.start_date)
    )
    if identifiers is not None:
        statement = statement.where(Patient.patient_id.in_(matchable(identifiers)))
    return read_frame(engine, statement, MEDICATION_TYPES)[MEDICATION_COLUMNS]


def stored_drugs(engine: Engine) -> list[str]:
    """The drugs of the scope's live medication periods (of live patients), as stored, in code-point order: what an
    export's --anchor-drug may name."""
    statement = (
        select(MedicationPeriod.drug).distinct()
        .join(Patient, Patient.patient_key == MedicationPeriod.patient_key)
        .where(MedicationPeriod.deleted_at.is_(None), Patient.deleted_at.is_(None), patient_filter(engine))
    )
    with read_session(engine) as session:
        return sorted(session.exec(statement).all())


def load_medication_rows(engine: Engine, patient_id: str) -> pd.DataFrame:
    """One patient's periods with their ids and versions (for the treatments screen)."""
    statement = (
        select(MedicationPeriod.period_id, MedicationPeriod.drug, MedicationPeriod.dose, MedicationPeriod.dose_unit,
               MedicationPeriod.frequency, MedicationPeriod.route, MedicationPeriod.start_date,
               MedicationPeriod.end_date, MedicationPeriod.reason, MedicationPeriod.version)
        .join(Patient, Patient.patient_key == MedicationPeriod.patient_key)
        .where(Patient.patient_id.in_(matchable([patient_id])), MedicationPeriod.deleted_at.is_(None),
               patient_filter(engine))
        .order_by(MedicationPeriod.drug, MedicationPeriod.start_date)
    )
    types = {"period_id": INT, **{k: v for k, v in MEDICATION_TYPES.items() if k != "patient_id"}, "version": INT}
    return read_frame(engine, statement, types)


def load_events(engine: Engine, identifiers: Iterable[str] | None = None) -> pd.DataFrame:
    """Live treatment events of the scope's live patients: EVENT_COLUMNS, then the adverse-event fields."""
    statement = (
        select(Patient.patient_id, *_EVENT_FIELDS)
        .join(Patient, Patient.patient_key == TreatmentEvent.patient_key)
        .where(TreatmentEvent.deleted_at.is_(None), Patient.deleted_at.is_(None), patient_filter(engine))
        .order_by(code_point_order(Patient.patient_id), TreatmentEvent.date, code_point_order(TreatmentEvent.kind),
                  code_point_order(TreatmentEvent.sites), code_point_order(TreatmentEvent.agent),
                  code_point_order(TreatmentEvent.description))
    )
    if identifiers is not None:
        statement = statement.where(Patient.patient_id.in_(matchable(identifiers)))
    return read_frame(engine, statement, EVENT_TYPES)[EVENT_FRAME_COLUMNS]


def patients_with_events_told_apart_by_description(engine: Engine) -> set[str]:
    """The scope's live patients with two or more live events that share date, kind, sites and agent, and so
    differ only by their description (the last column of the events key)."""
    statement = (
        select(Patient.patient_id)
        .join(TreatmentEvent, TreatmentEvent.patient_key == Patient.patient_key)
        .where(TreatmentEvent.deleted_at.is_(None), Patient.deleted_at.is_(None), patient_filter(engine))
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
        .where(Patient.patient_id.in_(matchable([patient_id])), TreatmentEvent.deleted_at.is_(None),
               patient_filter(engine))
        .order_by(TreatmentEvent.date, TreatmentEvent.kind)
    )
    types = {"event_id": INT, **{k: v for k, v in EVENT_TYPES.items() if k != "patient_id"}, "version": INT}
    return read_frame(engine, statement, types)


def load_deleted_medications(engine: Engine) -> pd.DataFrame:
    """The scope's soft-deleted medication periods (for the administrator's restore screen), newest deletion first."""
    statement = (
        select(MedicationPeriod.period_id, Patient.patient_id, MedicationPeriod.drug, MedicationPeriod.dose,
               MedicationPeriod.dose_unit, MedicationPeriod.start_date, MedicationPeriod.end_date,
               MedicationPeriod.deleted_at, MedicationPeriod.version)
        .join(Patient, Patient.patient_key == MedicationPeriod.patient_key)
        .where(MedicationPeriod.deleted_at.is_not(None), patient_filter(engine))
        .order_by(MedicationPeriod.deleted_at.desc())
    )
    return read_frame(engine, statement, {"period_id": INT, "patient_id": TEXT, "drug": TEXT, "dose": FLOAT,
                                          "dose_unit": TEXT, "start_date": DATE, "end_date": DATE,
                                          "deleted_at": TIMESTAMP, "version": INT})


def load_deleted_events(engine: Engine) -> pd.DataFrame:
    """The scope's soft-deleted treatment events (for the administrator's restore screen), newest deletion first."""
    statement = (
        select(TreatmentEvent.event_id, Patient.patient_id, TreatmentEvent.date, TreatmentEvent.kind,
               TreatmentEvent.agent, TreatmentEvent.sites, TreatmentEvent.deleted_at, TreatmentEvent.version)
        .join(Patient, Patient.patient_key == TreatmentEvent.patient_key)
        .where(TreatmentEvent.deleted_at.is_not(None), patient_filter(engine))
        .order_by(TreatmentEvent.deleted_at.desc())
    )
    return read_frame(engine, statement, {"event_id": INT, "patient_id": TEXT, "date": DATE, "kind": TEXT,
                                          "agent": TEXT, "sites": TEXT, "deleted_at": TIMESTAMP, "version": INT})
