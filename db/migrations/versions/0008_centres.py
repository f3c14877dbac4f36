"""centres and account scopes

Revision ID: 0008_centres
Revises: 0007_audit_protection
Create Date: 2026-11-30

Multi-centre registries (issue 16): a centre table; every patient belongs to one centre (existing patients go to
the default centre MAIN, "Main centre", created here; the next start tells the administrator); an account sees
every centre (app_user.all_centres, true for the accounts that existed) or those of its user_centre rows.

On PostgreSQL, row-level security on every clinical table: a row is visible (and writable) only when its patient's
centre is in the setting `skintrack.centres` of the transaction, which the engine sets at every BEGIN
(db/scope.py): '*' every centre, '1,4' those centre keys, '-' none. A connection that never set it (a tool
connecting as the app's role) sees no clinical row. FORCE applies the policies to the tables' owner too;
superusers and BYPASSRLS roles are not subject to them (PostgreSQL's rule).
"""
from collections.abc import Sequence
from datetime import UTC, datetime

import sqlalchemy as sa
import sqlmodel.sql.sqltypes  # noqa: F401  (autogenerate emits AutoString)
from alembic import op

revision: str = '0008_centres'
down_revision: str | None = '0007_audit_protection'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

DEFAULT_CODE, DEFAULT_NAME = "MAIN", "Main centre"
NOTICE_SETTING = "centres_default_notice"  # read and cleared by the administrator's next start (ui/centre_notice)

# The tables whose rows belong to one patient (db/scope.CLINICAL_TABLES lists the same; a test holds them equal).
CHILD_TABLES = ("assessment", "measurement", "medication_period", "treatment_event")

IN_SCOPE = """
CREATE OR REPLACE FUNCTION skintrack_in_scope(centre integer) RETURNS boolean LANGUAGE sql STABLE AS $$
    SELECT CASE coalesce(current_setting('skintrack.centres', true), '')
        WHEN '*' THEN true
        WHEN '' THEN false
        WHEN '-' THEN false
        ELSE centre = ANY (string_to_array(current_setting('skintrack.centres', true), ',')::integer[])
    END
$$"""
# '*' first: an account of every centre (the common case) never builds the patient set the EXISTS is planned as
# (a hashed subplan over the patient table, once per query)
PATIENT_VISIBLE = ("(current_setting('skintrack.centres', true) = '*' "
                   "OR EXISTS (SELECT 1 FROM patient p WHERE p.patient_key = {table}.patient_key))")


def _postgresql_policies() -> list[str]:
    statements = [IN_SCOPE]

    def protect(table: str, condition: str) -> None:
        statements.extend([
            f"ALTER TABLE {table} ENABLE ROW LEVEL SECURITY",
            f"ALTER TABLE {table} FORCE ROW LEVEL SECURITY",
            f"DROP POLICY IF EXISTS centre_scope ON {table}",
            f"CREATE POLICY centre_scope ON {table} USING ({condition}) WITH CHECK ({condition})",
        ])

    protect("patient", "skintrack_in_scope(centre_key)")
    for table in CHILD_TABLES:
        protect(table, PATIENT_VISIBLE.format(table=table))
    # audit rows of no patient (accounts, imports, settings) stay visible to every scope: db/audit filters them
    # further for accounts limited to some centres
    protect("audit_event", "patient_key IS NULL OR " + PATIENT_VISIBLE.format(table="audit_event"))
    return statements


def upgrade() -> None:
    bind = op.get_bind()
    postgresql = bind.dialect.name == "postgresql"
    op.create_table(
        'centre',
        sa.Column('version', sa.Integer(), server_default='1', nullable=False),
        sa.Column('centre_key', sa.Integer(), nullable=False),
        sa.Column('code', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.Column('name', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
        sa.Column('country', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column('active', sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint('centre_key'),
        sa.UniqueConstraint('code'),
    )
    op.create_table(
        'user_centre',
        sa.Column('user_id', sa.Integer(), nullable=False),
        sa.Column('centre_key', sa.Integer(), nullable=False),
        sa.Column('can_export_identified', sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(['centre_key'], ['centre.centre_key']),
        sa.ForeignKeyConstraint(['user_id'], ['app_user.user_id']),
        sa.PrimaryKeyConstraint('user_id', 'centre_key'),
    )
    centre = sa.table('centre', sa.column('centre_key', sa.Integer), sa.column('code', sa.String),
                      sa.column('name', sa.String), sa.column('country', sa.String),
                      sa.column('active', sa.Boolean), sa.column('version', sa.Integer))
    op.execute(centre.insert().values(code=DEFAULT_CODE, name=DEFAULT_NAME, country="", active=True, version=1))
    default_key = bind.execute(sa.select(centre.c.centre_key).where(centre.c.code == DEFAULT_CODE)).scalar_one()
    has_patients = bind.execute(sa.text("SELECT count(*) FROM patient")).scalar_one() > 0

    with op.batch_alter_table('app_user') as batch:
        batch.add_column(sa.Column('all_centres', sa.Boolean(), server_default='1', nullable=False))
    with op.batch_alter_table('patient') as batch:
        batch.add_column(sa.Column('centre_key', sa.Integer(), nullable=True))
    op.execute(sa.text("UPDATE patient SET centre_key = :key").bindparams(key=default_key))
    with op.batch_alter_table('patient') as batch:
        batch.alter_column('centre_key', existing_type=sa.Integer(), nullable=False)
        batch.create_foreign_key('fk_patient_centre', 'centre', ['centre_key'], ['centre_key'])
        batch.create_index('ix_patient_centre_key', ['centre_key'], unique=False)
    if has_patients:
        setting = sa.table('installation_setting', sa.column('key', sa.String), sa.column('value', sa.Text),
                           sa.column('created_at', sa.DateTime))
        op.execute(setting.insert().values(key=NOTICE_SETTING, value=DEFAULT_CODE, created_at=datetime.now(UTC)))
    if postgresql:
        for statement in _postgresql_policies():
            op.execute(statement)


def downgrade() -> None:
    bind = op.get_bind()
    if bind.dialect.name == "postgresql":
        for table in ("patient", *CHILD_TABLES, "audit_event"):
            op.execute(f"DROP POLICY IF EXISTS centre_scope ON {table}")
            op.execute(f"ALTER TABLE {table} NO FORCE ROW LEVEL SECURITY")
            op.execute(f"ALTER TABLE {table} DISABLE ROW LEVEL SECURITY")
        op.execute("DROP FUNCTION IF EXISTS skintrack_in_scope(integer)")
    op.execute(sa.text("DELETE FROM installation_setting WHERE key = :key").bindparams(key=NOTICE_SETTING))
    with op.batch_alter_table('patient') as batch:
        batch.drop_index('ix_patient_centre_key')
        batch.drop_constraint('fk_patient_centre', type_='foreignkey')
        batch.drop_column('centre_key')
    with op.batch_alter_table('app_user') as batch:
        batch.drop_column('all_centres')
    op.drop_table('user_centre')
    op.drop_table('centre')
