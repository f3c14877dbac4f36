"""Columns shared by the clinical tables: soft delete and traceability to an import."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlmodel import Field, SQLModel


def utcnow() -> datetime:
    return datetime.now(UTC)


class Versioned(SQLModel):
    """A record's version: 1 when created, moved on by every write (correction, stop, dose change, delete,
    restore). A write names the version it was opened on, and a stale one is refused (models.errors.StaleRecord)."""

    version: int = Field(default=1, sa_column_kwargs={"server_default": "1"})


class Recorded(Versioned):
    """Soft delete (restorable by an administrator), the import a row came from, if any, and the version."""

    deleted_at: datetime | None = Field(default=None)
    import_id: int | None = Field(default=None, foreign_key="audit_event.audit_id")


LIVE = "deleted_at IS NULL"  # predicate of the partial unique indexes: keys are unique among live rows
