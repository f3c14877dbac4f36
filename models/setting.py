"""Installation settings: values the installation generates once and keeps (e.g. the pseudonym key)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Text
from sqlmodel import Column, Field, SQLModel

from models.base import utcnow


class InstallationSetting(SQLModel, table=True):
    __tablename__ = "installation_setting"

    key: str = Field(primary_key=True, max_length=64)
    value: str = Field(sa_column=Column(Text, nullable=False))
    created_at: datetime = Field(default_factory=utcnow)
