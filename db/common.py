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
from models.errors import MissingValue, NotFound, ReasonRequired, StaleRecord
from models.validation import check_text

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
    """Append one audit row in the caller's transaction and return it (flushed, so it has an id).

    Every row names who acted: an empty actor is refused (MissingValue), never filled in."""
    if not isinstance(actor, str) or not actor.strip():
        raise MissingValue("is required: every audit row names the user who acted", field="actor")
    event = AuditEvent(
        at=utcnow(), actor=actor, action=action, entity=entity, entity_id=entity_id,
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


def primary_key(row: SQLModel) -> int:
    """The primary key of a row of any table (patient_key, assessment_id, period_id ...)."""
    return getattr(row, type(row).__table__.primary_key.columns[0].name)


# --- locks and versions -------------------------------------------------------------------------------
# Every write to a patient's data first locks the patient: on PostgreSQL a row lock (SELECT ... FOR UPDATE, in
# key order, so two writers never wait on each other in a circle); on SQLite the write transaction's BEGIN
# IMMEDIATE has already serialised every writer. Reads and checks that follow see what is committed, and no
# other writer can change the patient's records until this transaction ends: checks that span rows (duplicate
# keys, overlapping periods) cannot be passed by two writers at once.


def lock_patients(session: Session, patient_keys) -> None:
    """Lock these patients' rows until the transaction ends (PostgreSQL; SQLite is serialised already)."""
    keys = sorted({int(k) for k in patient_keys if k is not None})
    if not keys or session.get_bind().dialect.name != "postgresql":
        return
    table = Patient.__table__
    for start in range(0, len(keys), 5000):
        session.execute(select(table.c.patient_key).where(table.c.patient_key.in_(keys[start:start + 5000]))
                        .order_by(table.c.patient_key).with_for_update())


def stale_record(session: Session, model: type[SQLModel], row_id: int) -> StaleRecord:
    """The refusal of a write opened on an older version of this record, naming who changed it last and when."""
    last = session.exec(select(AuditEvent.actor, AuditEvent.at)
                        .where(AuditEvent.entity == model.__tablename__, AuditEvent.entity_id == row_id)
                        .order_by(AuditEvent.audit_id.desc()).limit(1)).first()
    who, when = (last[0], _moment(last[1])) if last else ("another user", "an unknown time")
    return StaleRecord(f"changed by {who} at {when} since you opened it — reload to see the current values",
                       field="version")


def _moment(at: datetime) -> str:
    return at.strftime("%Y-%m-%d %H:%M:%S UTC")


def open_row(session: Session, model: type[SQLModel], row_id: int, *, expected_version: int, deleted: bool = False,
             lock_also=()):
    """The row `row_id` of `model` for a write opened on `expected_version`: its patient (and the patients in
    `lock_also`) locked first, then the row read as committed. Raises NotFound when there is no such row, and
    StaleRecord when it changed since (another version, or deleted/restored meanwhile)."""
    pk = model.__table__.primary_key.columns[0]
    owner = Patient.__table__.c.patient_key if model is Patient else model.__table__.c.patient_key
    from db.scope import owner_filter, patient_filter  # noqa: PLC0415 (db.scope imports models, not db.common)

    in_scope = patient_filter(session) if model is Patient else owner_filter(session, owner)
    key = session.execute(select(owner).where(pk == row_id, in_scope)).scalar()  # another centre's: not found
    if key is None:
        raise NotFound(f"no {model.__tablename__} with id {row_id}", field="id")
    lock_patients(session, [key, *lock_also])
    row = session.get(model, row_id, populate_existing=True)
    if row is None:
        raise NotFound(f"no {model.__tablename__} with id {row_id}", field="id")
    if isinstance(expected_version, bool) or not isinstance(expected_version, int):
        raise TypeError("expected_version: the version (an int) the form was opened on")
    if row.version != expected_version or (row.deleted_at is not None) != deleted:
        raise stale_record(session, model, row_id)
    return row


def write_row(session: Session, row: SQLModel, values: dict[str, Any], *, whole: bool = True) -> None:
    """Write the whole new row (every column, `values` applied) with the version moved on, as one UPDATE guarded by
    the version read (under the patient's lock it always matches; the guard makes a lost update impossible even
    for a writer that did not lock). `whole=False` writes only `values` (accounts: sign-ins keep their own
    bookkeeping columns without a version)."""
    table = type(row).__table__
    pk = table.primary_key.columns[0]
    old_version = row.version
    for name, value in values.items():
        setattr(row, name, value)
    names = [c.name for c in table.columns] if whole else list(values)
    columns = {name: getattr(row, name) for name in names if name not in (pk.name, "version")}
    done = session.execute(update(table).where(pk == primary_key(row), table.c.version == old_version)
                           .values(**columns, version=old_version + 1)
                           .execution_options(synchronize_session=False))
    if done.rowcount != 1:
        raise stale_record(session, type(row), primary_key(row))
    row.version = old_version + 1
    session.flush()


def require_reason(reason: str | None, what: str) -> str:
    """The reason of a correction, deletion or restore: required, and text by the one text rule."""
    if not reason or not reason.strip():
        raise ReasonRequired(f"give a reason for the {what} (it is kept in the audit trail)", field="reason")
    return check_text(reason.strip(), "reason")


def soft_delete(session: Session, model: type[SQLModel], row_id: int, *, expected_version: int, actor: str,
                reason: str):
    """Mark a row deleted (it stays restorable), audited with its content and the reason."""
    reason = require_reason(reason, "deletion")
    row = open_row(session, model, row_id, expected_version=expected_version)
    before = snapshot(row)
    write_row(session, row, {"deleted_at": utcnow()})
    patient_key = row.patient_key
    audit(session, actor=actor, action="delete", entity=model.__tablename__, entity_id=primary_key(row),
          patient_key=patient_key, before=before, after=row, reason=reason)
    bump_versions(session, [patient_key])
    return row


def restore_row(session: Session, row: SQLModel, *, actor: str, reason: str):
    """Bring back a soft-deleted row opened with `open_row(..., deleted=True)`, audited. The caller checks key
    conflicts first (under the lock open_row took)."""
    reason = require_reason(reason, "restore")
    model = type(row)
    before = snapshot(row)
    write_row(session, row, {"deleted_at": None})
    patient_key = row.patient_key
    audit(session, actor=actor, action="restore", entity=model.__tablename__, entity_id=primary_key(row),
          patient_key=patient_key, before=before, after=row, reason=reason)
    bump_versions(session, [patient_key])
    return row
