"""browser sessions

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-30

One row per signed-in browser (models/browser_session.py): the SHA-256 of the token its HttpOnly cookie holds and
of the one-time grant that hands the cookie over, when it was last active and when and why it ended. A reload or
a second tab within the idle limit carries on signed in; sign-out, the idle limit and deactivation end the row.
"""
from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel.sql.sqltypes  # noqa: F401  (autogenerate emits AutoString)
from alembic import op

revision: str = '0005'
down_revision: str | None = '0004'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        'browser_session',
        sa.Column('session_id', sa.Integer(), nullable=False),
        sa.Column('user_id', sa.Integer(), nullable=False),
        sa.Column('token_hash', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True),
        sa.Column('grant_hash', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True),
        sa.Column('grant_expires_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
        sa.Column('created_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.Column('last_seen_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.Column('ended_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
        sa.Column('end_reason', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.ForeignKeyConstraint(['user_id'], ['app_user.user_id']),
        sa.PrimaryKeyConstraint('session_id'),
    )
    op.create_index('ux_browser_session_grant', 'browser_session', ['grant_hash'], unique=True)
    op.create_index('ux_browser_session_token', 'browser_session', ['token_hash'], unique=True)


def downgrade() -> None:
    op.drop_index('ux_browser_session_token', table_name='browser_session')
    op.drop_index('ux_browser_session_grant', table_name='browser_session')
    op.drop_table('browser_session')
