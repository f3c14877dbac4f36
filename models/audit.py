"""Audit trail: one append-only row per change, sign-in, import and export.

The database refuses UPDATE and DELETE on this table (triggers in the initial migration), so no
code path, in the app or outside it, can rewrite history.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Index, Text
from sqlmodel import Column, Field, SQLModel

from models.base import utcnow

ACTIONS = (
    "create", "update", "delete", "restore", "import", "export", "backup",
    "sign_in", "sign_in_failed", "sign_in_throttled", "sign_out", "password_change",
)


class AuditEvent(SQLModel, table=True):
    __tablename__ = "audit_event"
    __table_args__ = (
        Index("ix_audit_patient", "patient_key", "audit_id"),
        Index("ix_audit_actor", "actor", "audit_id"),
        Index("ix_audit_at", "at"),
        Index("ix_audit_entity", "entity", "entity_id"),
    )

    audit_id: int | None = Field(default=None, primary_key=True)
    at: datetime = Field(default_factory=utcnow)
    actor: str = Field(max_length=64)
    action: str = Field(max_length=24)
    entity: str = Field(default="", max_length=40)  # table name, or "bundle", "session"
    entity_id: int | None = None
    # No foreign key: the trail must outlive anything it mentions.
    patient_key: int | None = None
    before: str | None = Field(default=None, sa_column=Column(Text))  # JSON of the row before
    after: str | None = Field(default=None, sa_column=Column(Text))  # JSON of the row after
    reason: str = Field(default="")
    detail: str = Field(default="")
