"""audit protection and sign-in throttling

Revision ID: 0007_audit_protection
Revises: 0006_api_tokens
Create Date: 2026-11-30

The audit trail is append-only whoever writes: the triggers of 0001 (UPDATE/DELETE refused on both databases,
TRUNCATE too on PostgreSQL) are asserted again, so a database whose triggers were dropped gets them back on
upgrade, and on PostgreSQL nobody but the owner of the tables holds any right on audit_event beyond what
`python cli.py db grant-app-role ROLE` grants (SELECT and INSERT). The app's role, not owning the table, can neither
ALTER it (DISABLE TRIGGER, DROP TRIGGER) nor set session_replication_role (README, "Security").

sign_in_throttle: failed sign-ins counted per username from one client address and per address
(models/user.py throttle_keys).
"""
from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel.sql.sqltypes  # noqa: F401  (autogenerate emits AutoString)
from alembic import op

revision: str = '0007_audit_protection'
down_revision: str | None = '0006_api_tokens'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

SQLITE = [
    "CREATE TRIGGER IF NOT EXISTS audit_event_no_update BEFORE UPDATE ON audit_event "
    "BEGIN SELECT RAISE(ABORT, 'audit_event is append-only'); END",
    "CREATE TRIGGER IF NOT EXISTS audit_event_no_delete BEFORE DELETE ON audit_event "
    "BEGIN SELECT RAISE(ABORT, 'audit_event is append-only'); END",
]
POSTGRESQL = [
    "CREATE OR REPLACE FUNCTION audit_event_append_only() RETURNS trigger LANGUAGE plpgsql AS "
    "$$ BEGIN RAISE EXCEPTION 'audit_event is append-only'; END $$",
    "CREATE OR REPLACE TRIGGER audit_event_no_change BEFORE UPDATE OR DELETE ON audit_event "
    "FOR EACH ROW EXECUTE FUNCTION audit_event_append_only()",
    "CREATE OR REPLACE TRIGGER audit_event_no_truncate BEFORE TRUNCATE ON audit_event "
    "FOR EACH STATEMENT EXECUTE FUNCTION audit_event_append_only()",
    "REVOKE ALL ON audit_event FROM PUBLIC",
]


def upgrade() -> None:
    op.create_table(
        'sign_in_throttle',
        sa.Column('key', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
        sa.Column('failures', sa.Integer(), nullable=False),
        sa.Column('last_failed_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint('key'),
    )
    for statement in SQLITE if op.get_bind().dialect.name == "sqlite" else POSTGRESQL:
        op.execute(statement)


def downgrade() -> None:
    op.drop_table('sign_in_throttle')  # the triggers stay: they are 0001's
