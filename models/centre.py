"""Centres of a multi-centre registry or trial, and which centres an account works in.

Every patient belongs to exactly one centre (patient.centre_key); an account sees the patients of its centres
(user_centre rows) or of every centre (app_user.all_centres). `models.scope.Scope` is what a read or a write is
limited to; `db.scope` applies it.
"""

from __future__ import annotations

import re

from pydantic import field_validator
from sqlmodel import Field, SQLModel

from models.base import Versioned
from models.errors import InvalidValue
from models.validation import Input, blank_to_none, check_text

CENTRE_CODE_RULE = "1-32 letters, digits, '-' or '_'"
CENTRE_CODE = re.compile(r"^[A-Za-z0-9_-]{1,32}$")
# The centre every patient of a database created before centres existed belongs to (migration 0008); an
# administrator can rename it (its code stays).
DEFAULT_CENTRE_CODE = "MAIN"


def check_centre_code(value, field: str = "centre") -> str:
    """A centre's code as written (codes are case-sensitive, compared exactly), or InvalidValue naming `field`."""
    value = blank_to_none(value)
    if value is None:
        raise InvalidValue(f"is required ({CENTRE_CODE_RULE})", field=field)
    value = str(value).strip()
    if not CENTRE_CODE.match(value):
        raise InvalidValue(f"{value!r} is not a centre code: {CENTRE_CODE_RULE}", field=field)
    return value


def centre_codes(text: str | None) -> list[str]:
    """The codes of a comma-separated list ("A,B" on the command line), each checked, in order, once each."""
    codes = [part.strip() for part in (text or "").split(",") if part.strip()]
    if not codes:
        raise InvalidValue(f"give one or more centre codes separated by commas ({CENTRE_CODE_RULE})", field="centre")
    return list(dict.fromkeys(check_centre_code(code) for code in codes))


class CentreCreate(Input):
    code: str
    name: str
    country: str = ""

    @field_validator("code", mode="before")
    @classmethod
    def _code(cls, value):
        return check_centre_code(value, "code")

    @field_validator("name", mode="before")
    @classmethod
    def _name(cls, value):
        value = blank_to_none(value)
        if value is None:
            raise InvalidValue("is required", field="name")
        value = check_text(str(value).strip(), "name")
        if len(value) > 200:
            raise InvalidValue("is longer than 200 characters", field="name")
        return value

    @field_validator("country", mode="before")
    @classmethod
    def _country(cls, value):
        value = blank_to_none(value)
        value = "" if value is None else check_text(str(value).strip(), "country")
        if len(value) > 64:
            raise InvalidValue("is longer than 64 characters", field="country")
        return value


class Centre(Versioned, table=True):
    __tablename__ = "centre"

    centre_key: int | None = Field(default=None, primary_key=True)
    code: str = Field(max_length=32, unique=True)
    name: str = Field(max_length=200)
    country: str = Field(default="", max_length=64)
    active: bool = Field(default=True)


class UserCentre(SQLModel, table=True):
    """An account's centre: it sees that centre's patients; `can_export_identified` lets it export them
    identified (with the role's export right)."""

    __tablename__ = "user_centre"

    user_id: int = Field(foreign_key="app_user.user_id", primary_key=True)
    centre_key: int = Field(foreign_key="centre.centre_key", primary_key=True)
    can_export_identified: bool = Field(default=False)
