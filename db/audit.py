"""Reads of the audit trail (writes happen only through db.common.audit, inside each write path).

Centres (issue 16): an account limited to some centres sees the audit rows of its centres' patients only; rows of
no patient (accounts, settings, imports, sign-ins) are for all-centre scopes. Both are conditions of the SQL
(for all centres there is no condition: the query is the one of a single clinic).
"""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, time, timedelta

import pandas as pd
from sqlalchemy import Engine, func
from sqlmodel import Session, select

from db.frames import INT, TEXT, matchable, read_frame
from db.scope import owner_filter, patient_filter, scope_of, unscoped
from models import AuditEvent, Patient

AUDIT_TYPES = {"audit_id": INT, "at": TEXT, "actor": TEXT, "action": TEXT, "entity": TEXT, "entity_id": INT,
               "patient_id": TEXT, "reason": TEXT, "detail": TEXT, "before": TEXT, "after": TEXT}


BOOKKEEPING = frozenset({"version", "data_version"})


def load_audit(engine: Engine, *, patient: str | None = None, actor: str | None = None,
               entity: str | None = None, action: str | None = None, since: date | None = None,
               until: date | None = None, limit: int = 500) -> pd.DataFrame:
    """The newest audit rows of the engine's scope matching every filter given, newest first (at most `limit`).
    Another centre's patient given as `patient` answers as a patient without rows."""
    statement = (
        select(AuditEvent.audit_id, AuditEvent.at, AuditEvent.actor, AuditEvent.action, AuditEvent.entity,
               AuditEvent.entity_id, Patient.patient_id, AuditEvent.reason, AuditEvent.detail,
               AuditEvent.before, AuditEvent.after)
        .join(Patient, Patient.patient_key == AuditEvent.patient_key, isouter=True)
        .order_by(AuditEvent.audit_id.desc()).limit(limit)
    )
    if not scope_of(engine).everything:  # the joined patient's centre: a row of no patient (NULL) is left out
        statement = statement.where(patient_filter(engine))
    if patient:
        statement = statement.where(Patient.patient_id.in_(matchable([patient])))
    if actor:
        statement = statement.where(AuditEvent.actor.in_(matchable([actor])))
    if entity:
        statement = statement.where(AuditEvent.entity.in_(matchable([entity])))
    if action:
        statement = statement.where(AuditEvent.action.in_(matchable([action])))
    if since:
        statement = statement.where(AuditEvent.at >= datetime.combine(since, time(), UTC))
    if until:
        statement = statement.where(AuditEvent.at < datetime.combine(until + timedelta(days=1), time(), UTC))
    return read_frame(engine, statement, AUDIT_TYPES)


def registry_version(engine: Engine) -> int:
    """The id of the newest audit row: moves on with every write, so it keys registry-wide caches.

    Read for every centre whatever the engine's scope (a counter, not a patient's data): a transfer of a patient
    out of an account's centres is a write its caches must see, though the transfer's audit row is not its to
    read (on PostgreSQL the row-level security policies would hide it from a scoped transaction)."""
    with Session(unscoped(engine)) as session:
        return session.exec(select(func.coalesce(func.max(AuditEvent.audit_id), 0))).one()


def load_audit_choices(engine: Engine) -> dict[str, list[str]]:
    """The distinct actors, entities and actions present in the engine's scope's trail (for the viewer's filters):
    an account limited to some centres sees those of its centres' patients' rows only."""
    limited = not scope_of(engine).everything  # rows of no patient: NULL IN (...) is not true, so left out

    def distinct(column):
        statement = select(column).distinct().order_by(column)
        return statement.where(owner_filter(engine, AuditEvent.patient_key)) if limited else statement

    with Session(engine) as session:
        return {name: [value for value in session.exec(distinct(column)).all() if value]
                for name, column in (("actor", AuditEvent.actor), ("entity", AuditEvent.entity),
                                     ("action", AuditEvent.action))}


def describe_changes(before: str | None, after: str | None) -> pd.DataFrame:
    """The fields an audit row changed, one line each (field, before, after), from its JSON snapshots.

    A creation lists every filled field (before empty); a deletion or restore shows `deleted_at`. The record's
    version and the patient's data version (bookkeeping every write moves on) are left out.
    """
    old = json.loads(before) if before else {}
    new = json.loads(after) if after else {}
    rows = []
    for field in dict.fromkeys([*old, *new]):
        if field in BOOKKEEPING:
            continue
        was, now = old.get(field), new.get(field)
        if was == now or (not old and now is None):
            continue
        rows.append({"field": field, "before": _shown(was), "after": _shown(now)})
    return pd.DataFrame(rows, columns=["field", "before", "after"]).astype(str)


def summarise_changes(before: str | None, after: str | None, *, limit: int = 4) -> str:
    """One line for the trail table: "dose: 200.0 → 400.0; end_date: — → 2024-03-01" (at most `limit`)."""
    changes = describe_changes(before, after)
    parts = [f"{row.field}: {row.before} → {row.after}" for row in changes.head(limit).itertuples()]
    more = len(changes) - limit
    return "; ".join(parts) + (f"; … {more} more" if more > 0 else "")


def _shown(value) -> str:
    return "—" if value is None or value == "" else str(value)
