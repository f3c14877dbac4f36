"""Accounts: who may sign in, with which role, and whether they may export identified data."""

from __future__ import annotations

import re
from datetime import datetime

from pydantic import field_validator
from sqlmodel import Field, SQLModel

from models.base import Versioned, utcnow
from models.catalog import ROLES
from models.errors import InvalidValue
from models.validation import Input, blank_to_none, check_choice, optional_text

USERNAME_PATTERN = re.compile(r"^[a-z0-9][a-z0-9._-]{1,63}$")
MIN_PASSWORD_LENGTH = 10


class UserBase(SQLModel):
    username: str = Field(max_length=64, unique=True)
    display_name: str = Field(default="", max_length=100)
    role: str = Field(max_length=16)
    active: bool = Field(default=True)
    can_export_identified: bool = Field(default=False)
    # every centre's patients (a registry's coordinator, a global administrator); else those of its user_centre rows
    all_centres: bool = Field(default=True, sa_column_kwargs={"server_default": "1"})


def check_password(value: str) -> str:
    if value is None or len(value) < MIN_PASSWORD_LENGTH:
        raise InvalidValue(f"must be at least {MIN_PASSWORD_LENGTH} characters", field="password")
    return value


class UserCreate(Input, UserBase):
    password: str

    @field_validator("username", mode="before")
    @classmethod
    def _username(cls, value):
        value = blank_to_none(value)
        if value is None or not USERNAME_PATTERN.match(str(value)):
            raise InvalidValue("must be 2-64 characters: lower-case letters, digits, '.', '_' or '-'",
                               field="username")
        return str(value)

    @field_validator("display_name", mode="before")
    @classmethod
    def _display(cls, value):
        return optional_text(value)

    @field_validator("role")
    @classmethod
    def _role(cls, value):
        return check_choice(value, ROLES, "role")

    @field_validator("password")
    @classmethod
    def _password(cls, value):
        return check_password(value)


class UserUpdate(Input):
    display_name: str
    role: str
    active: bool
    can_export_identified: bool
    # an account's centres change only through db.centres.set_user_centres (administrators of every centre)

    @field_validator("role")
    @classmethod
    def _role(cls, value):
        return check_choice(value, ROLES, "role")


class User(UserBase, Versioned, table=True):
    __tablename__ = "app_user"  # "user" is reserved in PostgreSQL

    user_id: int | None = Field(default=None, primary_key=True)
    password_hash: str = Field(max_length=200)
    failed_sign_ins: int = Field(default=0)
    last_failed_at: datetime | None = None
    last_sign_in_at: datetime | None = None
    created_at: datetime = Field(default_factory=utcnow)


FREE_ATTEMPTS = 5  # failed sign-ins of one username from one address allowed before a delay applies
FREE_ATTEMPTS_PER_ADDRESS = 20  # failed sign-ins from one address, whatever the usernames, before a delay applies
MAX_DELAY_SECONDS = 15 * 60
FORGET_AFTER_SECONDS = 60 * 60  # failures are forgotten after an hour without another failure


def sign_in_delay(failures: int, free: int = FREE_ATTEMPTS) -> float:
    """Seconds to wait after the last failure: none for the first `free` failures, then 2, 4, 8 ... seconds,
    doubling with each further failure, capped at 15 minutes."""
    if failures < free:
        return 0.0
    return float(min(MAX_DELAY_SECONDS, 2 ** min(failures - free + 1, 20)))


def throttle_keys(username: str, address: str | None) -> dict[str, int]:
    """The counters a sign-in attempt is throttled by (key -> failures allowed free): the username *from this
    address*, so that a third party's failures elsewhere never delay the account's owner; and the address itself,
    whatever the usernames, so that guessing across many accounts from one place is slowed too. The command line
    has no address (None): its username key is its own."""
    keys = {f"user:{username}@{address or '-'}": FREE_ATTEMPTS}
    if address:
        keys[f"address:{address}"] = FREE_ATTEMPTS_PER_ADDRESS
    return keys


class SignInThrottle(SQLModel, table=True):
    """Failed sign-ins counted per throttle key (`throttle_keys`); a success of the username key removes it."""

    __tablename__ = "sign_in_throttle"

    key: str = Field(primary_key=True, max_length=200)
    failures: int = Field(default=0)
    last_failed_at: datetime
