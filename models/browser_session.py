"""A signed-in browser: what lets a reload or a second tab carry on without signing in again.

The browser holds a random token in an HttpOnly cookie; only the token's SHA-256 is kept here, so a copy of the
database opens no session. The token is handed over through a one-time grant (also kept as a hash), which the page
exchanges for the cookie right after signing in. Sign-out, the idle limit and deactivation end the row, and an
ended row opens nothing whatever cookie a browser still holds (ui/browser_session.py, README "Sessions").
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Index
from sqlmodel import Field, SQLModel

from models.base import utcnow


class BrowserSession(SQLModel, table=True):
    __tablename__ = "browser_session"
    __table_args__ = (
        Index("ux_browser_session_token", "token_hash", unique=True),
        Index("ux_browser_session_grant", "grant_hash", unique=True),
    )

    session_id: int | None = Field(default=None, primary_key=True)
    user_id: int = Field(foreign_key="app_user.user_id")
    token_hash: str | None = Field(default=None, max_length=64)  # SHA-256 of the cookie's token, once exchanged
    grant_hash: str | None = Field(default=None, max_length=64)  # SHA-256 of the one-time grant, until exchanged
    grant_expires_at: datetime | None = None
    created_at: datetime = Field(default_factory=utcnow)
    last_seen_at: datetime = Field(default_factory=utcnow)  # the latest page run of any of the browser's tabs
    ended_at: datetime | None = None
    end_reason: str = Field(default="", max_length=64)
