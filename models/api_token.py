"""Personal API tokens (issue 17): what lets a script or another system call the API as one user.

The token itself (`skt_` + 43 characters of `secrets.token_urlsafe(32)`: 256 random bits) is shown to its user
once, at creation; only its SHA-256 is kept. A fast unsalted hash is enough here, unlike for passwords: a 256-bit
random secret cannot be guessed or brute-forced from its hash whatever the hash's speed (slow salted hashes such
as argon2 protect *low-entropy* secrets a person chose), and an unsalted digest can be looked up by a unique index
on every request, where argon2 would cost ~50 ms per call. A copy of the database opens nothing.

`ApiClientFailure` counts the failed token attempts of one client address (a doubling delay after 5, as for
sign-ins, models.user.sign_in_delay); in the database, so that replicas behind one load balancer share it.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Index
from sqlmodel import Field, SQLModel

from models.base import utcnow

TOKEN_NAME_MAX = 40
ADDRESS_MAX = 64


class ApiToken(SQLModel, table=True):
    __tablename__ = "api_token"
    __table_args__ = (
        Index("ux_api_token_hash", "token_hash", unique=True),
        Index("ix_api_token_user", "user_id"),
    )

    token_id: int | None = Field(default=None, primary_key=True)
    user_id: int = Field(foreign_key="app_user.user_id")
    name: str = Field(max_length=TOKEN_NAME_MAX)
    token_hash: str = Field(max_length=64)  # SHA-256 (hex) of the token
    created_at: datetime = Field(default_factory=utcnow)
    expires_at: datetime
    last_used_at: datetime | None = None
    revoked_at: datetime | None = None


class ApiClientFailure(SQLModel, table=True):
    __tablename__ = "api_client_failure"

    address: str = Field(primary_key=True, max_length=ADDRESS_MAX)  # the client's IP address as the server saw it
    failures: int = Field(default=0)
    last_failed_at: datetime = Field(default_factory=utcnow)
