"""What every write path shares: the audit row, the per-patient data version, soft delete/restore.

Only modules of `db/` call these; nothing else writes tables.
"""

from __future__ import annotations

import json
from datetime import date, datetime
from typing import Any

from sqlalchemy import update
from sqlmodel import Session, SQLModel, select

from models import AuditEvent, Patient
from models.base import utcnow
from models.errors import NotFound, ReasonRequired, UnknownPatient
from models.rules import unknown_patient_reason

AUDITED_FIELDS_EXCLUDED = {"password_hash"}


def snapshot(row: SQLModel | dict | None) -> dict[str, Any] | None:
    """A JSON-ready dict of a row's columns (dates as ISO text); secrets left out."""
    if row is None:
        return None
    data = row if isinstance(row, dict) else row.model_dump()
    return {k: _plain(v) for k, v in data.items() if k not in AUDITED_FIELDS_EXCLUDED}


def _plain(value: Any) -> Any:
    if isinstance(value, datetime | date):
        return value.isoformat()
    return value


def audit(
    session: Session,
    *,
    actor: str,
    action: str,
    entity: str = "",
    entity_id: int | None = None,
    patient_key: int | None = None,
    before: SQLModel | dict | None = None,
    after: SQLModel | dict | None = None,
    reason: str = "",
    detail: str = "",
) -> AuditEvent:
    """Append one audit row in the caller's transaction and return it (flushed, so it has an id)."""
    event = AuditEvent(
        at=utcnow(), actor=actor or "unknown", action=action, entity=entity, entity_id=entity_id,
        patient_key=patient_key,
        before=json.dumps(snapshot(before), sort_keys=True) if before is not None else None,
        after=json.dumps(snapshot(after), sort_keys=True) if after is not None else None,
        reason=reason, detail=detail,
    )
    session.add(event)
    session.flush()
    return event


def bump_versions(session: Session, patient_keys) -> None:
    """Invalidate the cached charts of these patients (their data_version moves on)."""
    keys = sorted({int(k) for k in patient_keys})
    for start in range(0, len(keys), 500):
        chunk = keys[start:start + 500]
        session.execute(update(Patient).where(Patient.patient_key.in_(chunk))
                        .values(data_version=Patient.data_version + 1)
                        .execution_options(synchronize_session=False))


def live_patient(session: Session, patient_id: str) -> Patient:
    """The live patient with this patient_id. Raises UnknownPatient."""
    patient = session.exec(select(Patient).where(Patient.patient_id == patient_id)).first()
    if patient is None or patient.deleted_at is not None:
        raise UnknownPatient(unknown_patient_reason(patient_id, deleted=patient is not None), field="patient_id")
    return patient


def primary_key(row: SQLModel) -> int:
    """The primary key of a row of any table (patient_key, assessment_id, period_id ...)."""
    return getattr(row, type(row).__table__.primary_key.columns[0].name)


def live_row(session: Session, model: type[SQLModel], row_id: int, *, deleted: bool = False):
    """The row `row_id` of `model`, live (or deleted, with deleted=True). Raises NotFound."""
    row = session.get(model, row_id)
    if row is None or (row.deleted_at is not None) != deleted:
        state = "deleted " if deleted else ""
        raise NotFound(f"no {state}{model.__tablename__} with id {row_id}", field="id")
    return row


def require_reason(reason: str | None, what: str) -> str:
    if not reason or not reason.strip():
        raise ReasonRequired(f"give a reason for the {what} (it is kept in the audit trail)", field="reason")
    return reason.strip()


def add_audited(session: Session, row: SQLModel, *, actor: str, patient_key: int) -> SQLModel:
    """Insert a patient's row (assessment, measurement, period, event), audited as a creation, and move
    the patient's data version on."""
    session.add(row)
    session.flush()
    audit(session, actor=actor, action="create", entity=row.__tablename__, entity_id=primary_key(row),
          patient_key=patient_key, after=row)
    bump_versions(session, [patient_key])
    return row


def correct_with_audit(session: Session, row: SQLModel, values: dict[str, Any], *, actor: str, patient_key: int,
                   reason: str) -> SQLModel:
    """Give a patient's row new content (possibly moving it to patient `patient_key`). Audited with before,
    after and the reason, and the data versions moved on, only when something changed."""
    before = snapshot(row)
    row.patient_key = patient_key
    for name, value in values.items():
        setattr(row, name, value)
    if snapshot(row) != before:
        row.version = before["version"] + 1
    session.add(row)
    session.flush()
    if snapshot(row) != before:
        audit(session, actor=actor, action="update", entity=row.__tablename__, entity_id=primary_key(row),
              patient_key=patient_key, before=before, after=row, reason=reason)
        bump_versions(session, {patient_key, before["patient_key"]})
    return row


def soft_delete(session: Session, model: type[SQLModel], row_id: int, *, actor: str, reason: str):
    """Mark a row deleted (it stays restorable), audited with its content and the reason."""
    reason = require_reason(reason, "deletion")
    row = live_row(session, model, row_id)
    before = snapshot(row)
    row.deleted_at = utcnow()
    row.version += 1
    session.add(row)
    session.flush()
    patient_key = row.patient_key
    audit(session, actor=actor, action="delete", entity=model.__tablename__, entity_id=primary_key(row),
          patient_key=patient_key, before=before, after=row, reason=reason)
    bump_versions(session, [patient_key])
    return row


def restore_row(session: Session, model: type[SQLModel], row_id: int, *, actor: str, reason: str):
    """Bring a soft-deleted row back, audited. The caller checks key conflicts first."""
    reason = require_reason(reason, "restore")
    row = live_row(session, model, row_id, deleted=True)
    before = snapshot(row)
    row.deleted_at = None
    row.version += 1
    session.add(row)
    session.flush()
    patient_key = row.patient_key
    audit(session, actor=actor, action="restore", entity=model.__tablename__, entity_id=primary_key(row),
          patient_key=patient_key, before=before, after=row, reason=reason)
    bump_versions(session, [patient_key])
    return row
