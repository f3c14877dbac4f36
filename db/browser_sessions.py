"""Signed-in browsers (models/browser_session.py): opened at sign-in, carried by an HttpOnly cookie, resumed by a
reload or a second tab within the idle limit, ended by sign-out, the idle limit, deactivation or a password
change.

Secrets are random (`secrets.token_urlsafe`, 256 bits) and only their SHA-256 is stored: the one-time grant that
the page exchanges for the cookie (valid for `GRANT_SECONDS`, once) and the cookie's token itself.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import Engine, update
from sqlmodel import Session, select

from db.engine import write_session
from models import BrowserSession, User
from models.base import utcnow

GRANT_SECONDS = 120
MAX_HOURS = 12  # however active, a browser signs in again after a working day
TOO_OLD = f"older than {MAX_HOURS} hours"  # the end reason of such a session


def _digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def _aware(moment: datetime | None) -> datetime | None:
    """SQLite gives back naive UTC; PostgreSQL aware UTC."""
    if moment is None or moment.tzinfo is not None:
        return moment
    return moment.replace(tzinfo=UTC)


@dataclass(frozen=True)
class Opened:
    session_id: int
    grant: str  # handed to the page once, exchanged for the cookie by POST /skintrack/session


@dataclass(frozen=True)
class Resumed:
    session_id: int
    username: str


@dataclass(frozen=True)
class State:
    ended: bool
    end_reason: str
    last_seen_at: datetime


def open_browser_session(engine: Engine, *, username: str, now: datetime | None = None) -> Opened:
    """A new browser session of `username` (just signed in), with its one-time grant."""
    now = now or utcnow()
    grant = secrets.token_urlsafe(32)
    with write_session(engine) as session:
        user_id = session.exec(select(User.user_id).where(User.username == username)).one()
        row = BrowserSession(user_id=user_id, grant_hash=_digest(grant),
                             grant_expires_at=now + timedelta(seconds=GRANT_SECONDS), created_at=now,
                             last_seen_at=now)
        session.add(row)
        session.flush()
        return Opened(session_id=row.session_id, grant=grant)


def redeem_grant(engine: Engine, grant: str, *, now: datetime | None = None) -> str | None:
    """The cookie token for a valid grant (unexpired, unused, session not ended), or None. A grant works once."""
    if not grant:
        return None
    now = now or utcnow()
    token = secrets.token_urlsafe(32)
    with write_session(engine) as session:
        # One UPDATE: of two concurrent redemptions of one grant only one finds it.
        result = session.execute(
            update(BrowserSession)
            .where(BrowserSession.grant_hash == _digest(grant), BrowserSession.grant_expires_at >= now,
                   BrowserSession.ended_at.is_(None))
            .values(grant_hash=None, grant_expires_at=None, token_hash=_digest(token), last_seen_at=now))
        return token if result.rowcount == 1 else None


def resume_browser_session(engine: Engine, token: str, *, idle_seconds: float,
                           now: datetime | None = None) -> Resumed | None:
    """The session the cookie's token belongs to, when it is still open and was active within the idle limit
    (its account active too); the session is then marked active now. An idle or too old session is ended."""
    if not token:
        return None
    now = now or utcnow()
    with write_session(engine) as session:
        found = session.exec(select(BrowserSession, User).join(User, User.user_id == BrowserSession.user_id).where(
            BrowserSession.token_hash == _digest(token), BrowserSession.ended_at.is_(None))).first()
        if found is None:
            return None
        row, user = found
        reason = ""
        if not user.active:
            reason = "account deactivated"
        elif now - _aware(row.last_seen_at) > timedelta(seconds=idle_seconds):
            reason = "idle"
        elif now - _aware(row.created_at) > timedelta(hours=MAX_HOURS):
            reason = TOO_OLD
        if reason:
            row.ended_at, row.end_reason = now, reason
        else:
            row.last_seen_at = now
        session.add(row)
        return None if reason else Resumed(session_id=row.session_id, username=user.username)


def browser_session_state(engine: Engine, session_id: int, *, now: datetime | None = None) -> State | None:
    """Whether the session has ended (and why) and when it was last active. A session older than MAX_HOURS counts
    as ended however active its tabs are (a tab that never reloads is never resumed, where the age is checked too);
    the caller ends its row (ui/gate.py signs the tab out with that reason)."""
    with Session(engine) as session:
        row = session.get(BrowserSession, session_id)
        if row is None:
            return None
        ended, reason = row.ended_at is not None, row.end_reason
        if not ended and (now or utcnow()) - _aware(row.created_at) > timedelta(hours=MAX_HOURS):
            ended, reason = True, TOO_OLD
        return State(ended=ended, end_reason=reason, last_seen_at=_aware(row.last_seen_at))


def touch_browser_session(engine: Engine, session_id: int, *, now: datetime | None = None) -> None:
    """Mark the session active now (a page run in one of its tabs)."""
    with write_session(engine) as session:
        session.execute(update(BrowserSession).where(
            BrowserSession.session_id == session_id, BrowserSession.ended_at.is_(None)).values(
            last_seen_at=now or utcnow()))


def end_browser_session(engine: Engine, session_id: int, *, reason: str, now: datetime | None = None) -> None:
    """End the session (sign-out, idle limit, deactivation): its cookie opens nothing any more."""
    with write_session(engine) as session:
        session.execute(update(BrowserSession).where(
            BrowserSession.session_id == session_id, BrowserSession.ended_at.is_(None)).values(
            ended_at=now or utcnow(), end_reason=reason[:64], grant_hash=None, grant_expires_at=None))


def end_account_sessions(session: Session, *, user_id: int, reason: str, keep: int | None = None,
                         now: datetime | None = None) -> None:
    """End every open browser session of an account but `keep` (the browser the change was made in), inside the
    caller's transaction: a password change or a deactivation shuts out whoever holds a session opened before it
    (db/users.py). Their tabs are signed out at their next page run, with the reason (ui/gate.py)."""
    statement = update(BrowserSession).where(BrowserSession.user_id == user_id, BrowserSession.ended_at.is_(None))
    if keep is not None:
        statement = statement.where(BrowserSession.session_id != keep)
    session.execute(statement.values(ended_at=now or utcnow(), end_reason=reason[:64], grant_hash=None,
                                     grant_expires_at=None))
