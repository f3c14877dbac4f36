"""api tokens

Revision ID: 0006_api_tokens
Revises: 0005
Create Date: 2026-11-30

Personal API tokens (models/api_token.py, issue 17): one row per token, its SHA-256 only (the token is shown to
its user once), a name, an expiry, when it was last used and when it was revoked. And the failed token attempts
per client address, for the doubling delay after 5 failures (shared by every API replica).
"""
from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel.sql.sqltypes  # noqa: F401  (autogenerate emits AutoString)
from alembic import op

revision: str = '0006_api_tokens'
down_revision: str | None = '0005'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        'api_token',
        sa.Column('token_id', sa.Integer(), nullable=False),
        sa.Column('user_id', sa.Integer(), nullable=False),
        sa.Column('name', sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
        sa.Column('token_hash', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column('created_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.Column('expires_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.Column('last_used_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
        sa.Column('revoked_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
        sa.ForeignKeyConstraint(['user_id'], ['app_user.user_id']),
        sa.PrimaryKeyConstraint('token_id'),
    )
    op.create_index('ux_api_token_hash', 'api_token', ['token_hash'], unique=True)
    op.create_index('ix_api_token_user', 'api_token', ['user_id'], unique=False)
    op.create_table(
        'api_client_failure',
        sa.Column('address', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column('failures', sa.Integer(), nullable=False),
        sa.Column('last_failed_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint('address'),
    )


def downgrade() -> None:
    op.drop_table('api_client_failure')
    op.drop_index('ix_api_token_user', table_name='api_token')
    op.drop_index('ux_api_token_hash', table_name='api_token')
    op.drop_table('api_token')
