"""Columns shared by the clinical tables: soft delete and traceability to an import."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlmodel import Field, SQLModel


def utcnow() -> datetime:
    return datetime.now(UTC)


class Recorded(SQLModel):
    """Soft delete (restorable by an administrator) and the import a row came from, if any."""

    deleted_at: datetime | None = Field(default=None)
    import_id: int | None = Field(default=None, foreign_key="audit_event.id")


LIVE = "deleted_at IS NULL"  # predicate of the partial unique indexes: keys are unique among live rows
