"""Personal API tokens (models/api_token.py): create (the token returned once), list, revoke, and the check every
API request makes (`authenticate_token`), with the doubling delay of a client address that keeps failing.

Every write is audited in its own transaction with the real user: creation and revocation name who did it (the
token's owner on *My account*, `cli:<account>` from the command line); a failed attempt names the client address.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import pandas as pd
from sqlalchemy import Engine, delete
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlmodel import Session, select

from db.common import audit
from db.engine import write_session
from db.frames import INT, TEXT, TIMESTAMP, read_frame
from models import ApiClientFailure, ApiToken, User
from models.api_token import ADDRESS_MAX, TOKEN_NAME_MAX
from models.base import utcnow
from models.errors import AuthenticationFailed, InvalidValue, MissingValue, NotFound
from models.user import sign_in_delay
from models.validation import check_text

PREFIX = "skt_"  # tells a Skintrack token apart in a config file or a secret scanner
MAX_DAYS = 366
DEFAULT_DAYS = 90
ACTOR_MAX = 64  # the audit trail's actor column


def digest(token: str) -> str:
    """The SHA-256 (hex) under which a token is stored (see models/api_token.py for why SHA-256 suffices)."""
    return hashlib.sha256(token.encode("utf-8", "surrogatepass")).hexdigest()


def _aware(moment: datetime | None) -> datetime | None:
    """SQLite gives back naive UTC; PostgreSQL aware UTC."""
    if moment is None or moment.tzinfo is not None:
        return moment
    return moment.replace(tzinfo=UTC)


def check_name(name: str | None) -> str:
    """A token's name: 1-40 characters of text on one line (the one text rule)."""
    name = " ".join((name or "").split())
    if not name:
        raise MissingValue("is required: name the token after what uses it, e.g. 'nightly R pull'", field="name")
    if len(name) > TOKEN_NAME_MAX:
        raise InvalidValue(f"is too long: at most {TOKEN_NAME_MAX} characters", field="name")
    return check_text(name, "name")


def check_days(days) -> int:
    if isinstance(days, bool) or not isinstance(days, int):
        raise InvalidValue("must be a whole number of days", field="days")
    if not 1 <= days <= MAX_DAYS:
        raise InvalidValue(f"must be from 1 to {MAX_DAYS} days", field="days")
    return days


@dataclass(frozen=True)
class Created:
    token_id: int
    name: str
    token: str  # the plain token: shown once, never stored
    expires_at: datetime


def create_token(*, session: Session, username: str, name: str, days: int = DEFAULT_DAYS, actor: str,
                 now: datetime | None = None) -> Created:
    """A new token of the active account `username`, valid `days` days; returns the plain token (once). Audited.
    Raises NotFound (no such account), InvalidValue (an inactive account, a bad name or number of days)."""
    name, days = check_name(name), check_days(days)
    now = now or utcnow()
    user = session.exec(select(User).where(User.username == username)).first()
    if user is None:
        raise NotFound(f"no account {username!r}", field="user")
    if not user.active:
        raise InvalidValue(f"the account {username!r} is inactive", field="user")
    token = PREFIX + secrets.token_urlsafe(32)
    row = ApiToken(user_id=user.user_id, name=name, token_hash=digest(token), created_at=now,
                   expires_at=now + timedelta(days=days))
    session.add(row)
    session.flush()
    audit(session, actor=actor, action="create", entity="api_token", entity_id=row.token_id,
          after={"token_id": row.token_id, "user": username, "name": name, "expires_at": row.expires_at},
          detail=f"API token {name!r} of {username}, valid {days} days")
    return Created(token_id=row.token_id, name=name, token=token, expires_at=row.expires_at)


def revoke_token(*, session: Session, username: str, token_id: int, actor: str, now: datetime | None = None) -> None:
    """Revoke token `token_id` of `username` (it opens nothing from now on). Audited. Revoking a revoked token does
    nothing. Raises NotFound when `username` has no such token."""
    row = session.exec(select(ApiToken).join(User, User.user_id == ApiToken.user_id).where(
        ApiToken.token_id == token_id, User.username == username)).first()
    if row is None:
        raise NotFound(f"{username} has no API token {token_id}", field="token")
    if row.revoked_at is not None:
        return
    row.revoked_at = now or utcnow()
    session.add(row)
    session.flush()
    audit(session, actor=actor, action="revoke", entity="api_token", entity_id=row.token_id,
          detail=f"API token {row.name!r} of {username} revoked")


TOKEN_TYPES = {"token_id": INT, "name": TEXT, "created_at": TIMESTAMP, "expires_at": TIMESTAMP,
               "last_used_at": TIMESTAMP, "revoked_at": TIMESTAMP}


def load_tokens(engine: Engine, username: str, *, now: datetime | None = None) -> pd.DataFrame:
    """The account's tokens, newest first, with a `status`: active, expired or revoked (moments naive UTC)."""
    statement = (select(ApiToken.token_id, ApiToken.name, ApiToken.created_at, ApiToken.expires_at,
                        ApiToken.last_used_at, ApiToken.revoked_at)
                 .join(User, User.user_id == ApiToken.user_id).where(User.username == username)
                 .order_by(ApiToken.token_id.desc()))
    frame = read_frame(engine, statement, TOKEN_TYPES)
    moment = pd.Timestamp((now or utcnow()).astimezone(UTC).replace(tzinfo=None))
    frame["status"] = "active"
    frame.loc[frame["expires_at"] <= moment, "status"] = "expired"
    frame.loc[frame["revoked_at"].notna(), "status"] = "revoked"
    return frame


# --- the check of every request -------------------------------------------------------------------------------


@dataclass(frozen=True)
class TokenUser:
    """Who a request acts as: the token's (active) account, read afresh on every request (a changed role counts
    at once), and the token."""

    user_id: int
    username: str
    role: str
    can_export_identified: bool
    token_id: int
    token_name: str

    @property
    def actor(self) -> str:
        """The audit trail's actor of this request: the user and the token's name (`alice via token 'nightly'`),
        within the column's 64 characters (the token's number instead of its name when both do not fit)."""
        for text in (f"{self.username} via token {self.token_name!r}", f"{self.username} via token #{self.token_id}"):
            if len(text) <= ACTOR_MAX:
                return text
        return self.username[:ACTOR_MAX]


class TokenRefused(AuthenticationFailed):
    """No valid token: missing, unknown, revoked, expired, or its account inactive (HTTP 401)."""


class TooManyFailures(AuthenticationFailed):
    """The client address failed too often; `retry_after` seconds to wait (HTTP 429)."""

    def __init__(self, message: str, *, retry_after: int) -> None:
        super().__init__(message, field="authorization")
        self.retry_after = retry_after


def client_actor(address: str) -> str:
    return f"api client {address}"[:ACTOR_MAX]


def authenticate_token(engine: Engine, token: str | None, *, address: str, now: datetime | None = None) -> TokenUser:
    """The account a request's bearer token acts for; the token's `last_used_at` is set to now.

    A client address with 5 or more failures must wait the doubling delay of sign-ins since its last failure
    (TooManyFailures, audited, without looking at the token); each failure (TokenRefused) is counted and audited
    with the address; a success clears the address's count. One transaction, committed whatever the outcome."""
    now = now or utcnow()
    address = (address or "unknown")[:ADDRESS_MAX]
    failure: AuthenticationFailed | None = None
    with write_session(engine) as session:
        counted = session.get(ApiClientFailure, address)
        if counted is not None:
            wait = sign_in_delay(counted.failures)
            ready_at = _aware(counted.last_failed_at) + timedelta(seconds=wait)
            if wait and now < ready_at:
                seconds = int((ready_at - now).total_seconds()) + 1
                audit(session, actor=client_actor(address), action="api_auth_failed", entity="api_token",
                      detail=f"refused: too many failed token attempts, retry in {seconds} s")
                failure = TooManyFailures(f"too many failed token attempts; try again in {seconds} seconds",
                                          retry_after=seconds)
        if failure is None:
            found = (session.exec(select(ApiToken, User).join(User, User.user_id == ApiToken.user_id).where(
                ApiToken.token_hash == digest(token))).first() if token else None)
            problem = _problem(found, now, given=bool(token))
            if problem:
                row = found[0] if found else None
                _count_failure(session, address, now)
                audit(session, actor=client_actor(address), action="api_auth_failed", entity="api_token",
                      entity_id=row.token_id if row else None,
                      detail=problem + (f" (token {row.name!r} of {found[1].username})" if row else ""))
                failure = TokenRefused(f"{problem}; send a valid token as 'Authorization: Bearer <token>'",
                                       field="authorization")
            else:
                row, user = found
                row.last_used_at = now
                session.add(row)
                if counted is not None:
                    session.execute(delete(ApiClientFailure).where(ApiClientFailure.address == address))
                return TokenUser(user_id=user.user_id, username=user.username, role=user.role,
                                 can_export_identified=user.can_export_identified, token_id=row.token_id,
                                 token_name=row.name)
    raise failure


def _problem(found, now: datetime, *, given: bool) -> str:
    if not given:
        return "no API token"
    if found is None:
        return "unknown API token"
    row, user = found
    if row.revoked_at is not None:
        return "revoked API token"
    if _aware(row.expires_at) <= now:
        return "expired API token"
    if not user.active:
        return "the token's account is inactive"
    return ""


def _count_failure(session: Session, address: str, now: datetime) -> None:
    """One more failure of `address`: an upsert, so two first failures at once from one address both count."""
    dialect = session.get_bind().dialect.name
    insert = postgresql_insert if dialect == "postgresql" else sqlite_insert
    table = ApiClientFailure.__table__
    statement = insert(table).values(address=address, failures=1, last_failed_at=now)
    session.execute(statement.on_conflict_do_update(
        index_elements=[table.c.address],
        set_={"failures": table.c.failures + 1, "last_failed_at": statement.excluded.last_failed_at}))
