"""one name per thing, record versions, adverse-event fields

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-27

- Names (issue 12): the clinic's string is `patient_id` everywhere (patient.identifier -> patient_id); the
  integer key of a patient is `patient_key` (patient.id and every foreign key to it, audit_event's too); the
  other keys are named as the frames name them: assessment_id, measurement_id, period_id, event_id, audit_id,
  user_id. Columns are renamed in place (ALTER TABLE ... RENAME COLUMN on both databases: SQLite >= 3.26 also
  rewrites the foreign keys of other tables that name the column), so no table is copied and no row moves.
- `version INTEGER NOT NULL DEFAULT 1` on every record a form edits (issue 13): existing rows start at 1.
- Adverse events (issue 13): term, suspected_drug, relatedness, action_taken, outcome, blank for every existing
  event. An adverse event recorded before has its term as free text in `description`; it keeps it there and its
  `term` stays blank: a free text cannot be coded to a CTCAE term without a clinician ('oedema' may be 'Edema
  limbs', 'Edema face' or 'Localized edema'), so the migration does not guess; the model accepts an adverse
  event whose term is blank when its description holds the free-text term, and a correction can code it.
- measurement.unit grows to 32 characters (the catalogue's '1 present / 0 absent').
- PostgreSQL: overlapping live periods of one drug for one patient are refused by the database too
  (ex_medication_overlap, btree_gist). Periods that overlap already stop the upgrade with a list of them.
"""
from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel.sql.sqltypes  # noqa: F401
from alembic import op

revision: str = '0004'
down_revision: str | None = '0003'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# (table, old name, new name), in the order applied on upgrade
RENAMES = (
    ("patient", "id", "patient_key"),
    ("patient", "identifier", "patient_id"),
    ("assessment", "patient_id", "patient_key"),
    ("assessment", "id", "assessment_id"),
    ("measurement", "patient_id", "patient_key"),
    ("measurement", "id", "measurement_id"),
    ("medication_period", "patient_id", "patient_key"),
    ("medication_period", "id", "period_id"),
    ("treatment_event", "patient_id", "patient_key"),
    ("treatment_event", "id", "event_id"),
    ("audit_event", "patient_id", "patient_key"),
    ("audit_event", "id", "audit_id"),
    ("app_user", "id", "user_id"),
)
# PostgreSQL names that follow the column names (sequences of the keys, constraints), renamed alongside
PG_SEQUENCES = (
    ("patient_id_seq", "patient_patient_key_seq"), ("assessment_id_seq", "assessment_assessment_id_seq"),
    ("measurement_id_seq", "measurement_measurement_id_seq"), ("medication_period_id_seq",
                                                               "medication_period_period_id_seq"),
    ("treatment_event_id_seq", "treatment_event_event_id_seq"), ("audit_event_id_seq", "audit_event_audit_id_seq"),
    ("app_user_id_seq", "app_user_user_id_seq"),
)
PG_CONSTRAINTS = (
    ("patient", "patient_identifier_key", "patient_patient_id_key"),
    ("assessment", "assessment_patient_id_fkey", "assessment_patient_key_fkey"),
    ("measurement", "measurement_patient_id_fkey", "measurement_patient_key_fkey"),
    ("medication_period", "medication_period_patient_id_fkey", "medication_period_patient_key_fkey"),
    ("treatment_event", "treatment_event_patient_id_fkey", "treatment_event_patient_key_fkey"),
)
VERSIONED = ("patient", "assessment", "measurement", "medication_period", "treatment_event", "app_user")
AE_COLUMNS = (("term", 100), ("suspected_drug", 100), ("relatedness", 16), ("action_taken", 16), ("outcome", 32))
LIVE = sa.text("deleted_at IS NULL")
MEASUREMENT_INDEXES = (  # recreated around the copy of measurement that SQLite needs to widen a column
    ("ux_measurement_key", ["patient_key", "date", "measure", "side", "rater"], True),
    ("ix_measurement_patient_date", ["patient_key", "date"], False),
)
OVERLAP = ("ALTER TABLE medication_period ADD CONSTRAINT ex_medication_overlap EXCLUDE USING gist "
           "(patient_key WITH =, drug WITH =, daterange(start_date, end_date, '[]') WITH &&) "
           "WHERE (deleted_at IS NULL)")
EXISTING_OVERLAPS = """
SELECT p.patient_id, a.drug, a.start_date, a.end_date, b.start_date, b.end_date
FROM medication_period a JOIN medication_period b
  ON a.patient_key = b.patient_key AND a.drug = b.drug AND a.period_id < b.period_id
 AND daterange(a.start_date, a.end_date, '[]') && daterange(b.start_date, b.end_date, '[]')
JOIN patient p ON p.patient_key = a.patient_key
WHERE a.deleted_at IS NULL AND b.deleted_at IS NULL
ORDER BY 1, 2, 3 LIMIT 20
"""


def _rename(table: str, old: str, new: str) -> None:
    op.execute(f'ALTER TABLE {table} RENAME COLUMN "{old}" TO "{new}"')


def _pg_names(forward: bool) -> None:
    for old, new in PG_SEQUENCES:
        old, new = (old, new) if forward else (new, old)
        op.execute(f"ALTER SEQUENCE IF EXISTS {old} RENAME TO {new}")
    bind = op.get_bind()
    for table, old, new in PG_CONSTRAINTS:
        old, new = (old, new) if forward else (new, old)
        present = bind.execute(sa.text("SELECT 1 FROM pg_constraint c JOIN pg_class t ON t.oid = c.conrelid "
                                       "WHERE c.conname = :name AND t.relname = :table AND "
                                       "pg_table_is_visible(t.oid)"), {"name": old, "table": table}).first()
        if present:
            op.execute(f"ALTER TABLE {table} RENAME CONSTRAINT {old} TO {new}")


def _measurement_unit(length: int) -> None:
    if op.get_bind().dialect.name == "sqlite":
        with op.batch_alter_table('measurement', schema=None) as batch_op:
            for name, _, unique in MEASUREMENT_INDEXES:
                batch_op.drop_index(name, sqlite_where=LIVE if unique else None)
        with op.batch_alter_table('measurement', schema=None, recreate="always") as batch_op:
            batch_op.alter_column('unit', type_=sqlmodel.sql.sqltypes.AutoString(length=length),
                                  existing_nullable=False)
        with op.batch_alter_table('measurement', schema=None) as batch_op:
            for name, columns, unique in MEASUREMENT_INDEXES:
                batch_op.create_index(name, columns, unique=unique, sqlite_where=LIVE if unique else None)
    else:
        op.execute(f"ALTER TABLE measurement ALTER COLUMN unit TYPE VARCHAR({length}) "
                   f"USING left(unit, {length})")


def _exclusion_constraint() -> None:
    """Refuse overlapping live periods of one drug in the database itself (PostgreSQL)."""
    bind = op.get_bind()
    found = bind.execute(sa.text(EXISTING_OVERLAPS)).all()
    if found:
        listed = "; ".join(f"{pid} {drug} {s1} to {e1 or 'ongoing'} and {s2} to {e2 or 'ongoing'}"
                           for pid, drug, s1, e1, s2, e2 in found)
        raise RuntimeError("medication periods of one drug overlap, which this version refuses; correct or delete "
                           f"one of each pair with the previous version first: {listed}")
    # btree_gist (trusted since PostgreSQL 13) gives gist the equality of integers and text. It goes to the public
    # schema when there is one, so that dropping an application schema never takes it from another.
    public = bind.execute(sa.text("SELECT 1 FROM pg_namespace WHERE nspname = 'public'")).first()
    op.execute("CREATE EXTENSION IF NOT EXISTS btree_gist" + (" WITH SCHEMA public" if public else ""))
    op.execute(OVERLAP)


def upgrade() -> None:
    dialect = op.get_bind().dialect.name
    for table, old, new in RENAMES:
        _rename(table, old, new)
    if dialect == "postgresql":
        _pg_names(forward=True)
    for table in VERSIONED:
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.add_column(sa.Column('version', sa.Integer(), nullable=False, server_default='1'))
    with op.batch_alter_table('treatment_event', schema=None) as batch_op:
        for name, length in AE_COLUMNS:
            batch_op.add_column(sa.Column(name, sqlmodel.sql.sqltypes.AutoString(length=length), nullable=False,
                                          server_default=''))
    _measurement_unit(32)
    if dialect == "postgresql":
        _exclusion_constraint()


def downgrade() -> None:
    dialect = op.get_bind().dialect.name
    if dialect == "postgresql":
        op.execute("ALTER TABLE medication_period DROP CONSTRAINT IF EXISTS ex_medication_overlap")
    _measurement_unit(16)
    # plain DROP COLUMN on both (SQLite >= 3.35): these columns are in no index or constraint, and a copy of
    # patient would trip the foreign keys of every table that references it
    for name, _ in AE_COLUMNS:
        op.execute(f"ALTER TABLE treatment_event DROP COLUMN {name}")
    for table in VERSIONED:
        op.execute(f"ALTER TABLE {table} DROP COLUMN version")
    if dialect == "postgresql":
        _pg_names(forward=False)
    for table, old, new in reversed(RENAMES):
        _rename(table, new, old)
