"""initial schema

Revision ID: 0001
Revises:
Create Date: 2026-11-22

Every table of models/, plus triggers that make audit_event append-only on both databases.
"""
from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel.sql.sqltypes  # noqa: F401  (autogenerate emits AutoString)
from alembic import op

revision: str = '0001'
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


APPEND_ONLY_SQLITE = [
    "CREATE TRIGGER audit_event_no_update BEFORE UPDATE ON audit_event "
    "BEGIN SELECT RAISE(ABORT, 'audit_event is append-only'); END",
    "CREATE TRIGGER audit_event_no_delete BEFORE DELETE ON audit_event "
    "BEGIN SELECT RAISE(ABORT, 'audit_event is append-only'); END",
]
APPEND_ONLY_POSTGRESQL = [
    "CREATE FUNCTION audit_event_append_only() RETURNS trigger LANGUAGE plpgsql AS "
    "$$ BEGIN RAISE EXCEPTION 'audit_event is append-only'; END $$",
    "CREATE TRIGGER audit_event_no_change BEFORE UPDATE OR DELETE ON audit_event "
    "FOR EACH ROW EXECUTE FUNCTION audit_event_append_only()",
    "CREATE TRIGGER audit_event_no_truncate BEFORE TRUNCATE ON audit_event "
    "FOR EACH STATEMENT EXECUTE FUNCTION audit_event_append_only()",
]


def _append_only(create: bool) -> None:
    dialect = op.get_bind().dialect.name
    if create:
        for statement in APPEND_ONLY_SQLITE if dialect == "sqlite" else APPEND_ONLY_POSTGRESQL:
            op.execute(statement)
    elif dialect == "sqlite":
        op.execute("DROP TRIGGER IF EXISTS audit_event_no_update")
        op.execute("DROP TRIGGER IF EXISTS audit_event_no_delete")
    else:
        op.execute("DROP TRIGGER IF EXISTS audit_event_no_truncate ON audit_event")
        op.execute("DROP TRIGGER IF EXISTS audit_event_no_change ON audit_event")
        op.execute("DROP FUNCTION IF EXISTS audit_event_append_only()")


def upgrade() -> None:
    op.create_table('app_user',
    sa.Column('username', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('display_name', sqlmodel.sql.sqltypes.AutoString(length=100), nullable=False),
    sa.Column('role', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.Column('can_export_identified', sa.Boolean(), nullable=False),
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('password_hash', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
    sa.Column('failed_sign_ins', sa.Integer(), nullable=False),
    sa.Column('last_failed_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
    sa.Column('last_sign_in_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
    sa.Column('created_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('username')
    )
    op.create_table('audit_event',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.Column('actor', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('action', sqlmodel.sql.sqltypes.AutoString(length=24), nullable=False),
    sa.Column('entity', sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
    sa.Column('entity_id', sa.Integer(), nullable=True),
    sa.Column('patient_id', sa.Integer(), nullable=True),
    sa.Column('before', sa.Text(), nullable=True),
    sa.Column('after', sa.Text(), nullable=True),
    sa.Column('reason', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.Column('detail', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('audit_event', schema=None) as batch_op:
        batch_op.create_index('ix_audit_actor', ['actor', 'id'], unique=False)
        batch_op.create_index('ix_audit_at', ['at'], unique=False)
        batch_op.create_index('ix_audit_entity', ['entity', 'entity_id'], unique=False)
        batch_op.create_index('ix_audit_patient', ['patient_id', 'id'], unique=False)

    op.create_table('patient',
    sa.Column('deleted_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
    sa.Column('import_id', sa.Integer(), nullable=True),
    sa.Column('diagnosis', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
    sa.Column('sex', sqlmodel.sql.sqltypes.AutoString(length=1), nullable=True),
    sa.Column('birth_year', sa.Integer(), nullable=True),
    sa.Column('age_at_baseline', sa.Integer(), nullable=True),
    sa.Column('diagnosis_date', sa.Date(), nullable=True),
    sa.Column('name', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
    sa.Column('mrn', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('notes', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('identifier', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('data_version', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['import_id'], ['audit_event.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('identifier')
    )
    op.create_table('assessment',
    sa.Column('deleted_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
    sa.Column('import_id', sa.Integer(), nullable=True),
    sa.Column('face', sa.Integer(), nullable=True),
    sa.Column('chest', sa.Integer(), nullable=True),
    sa.Column('abdomen', sa.Integer(), nullable=True),
    sa.Column('upper_arm_r', sa.Integer(), nullable=True),
    sa.Column('upper_arm_l', sa.Integer(), nullable=True),
    sa.Column('forearm_r', sa.Integer(), nullable=True),
    sa.Column('forearm_l', sa.Integer(), nullable=True),
    sa.Column('hand_r', sa.Integer(), nullable=True),
    sa.Column('hand_l', sa.Integer(), nullable=True),
    sa.Column('fingers_r', sa.Integer(), nullable=True),
    sa.Column('fingers_l', sa.Integer(), nullable=True),
    sa.Column('thigh_r', sa.Integer(), nullable=True),
    sa.Column('thigh_l', sa.Integer(), nullable=True),
    sa.Column('leg_r', sa.Integer(), nullable=True),
    sa.Column('leg_l', sa.Integer(), nullable=True),
    sa.Column('foot_r', sa.Integer(), nullable=True),
    sa.Column('foot_l', sa.Integer(), nullable=True),
    sa.Column('visit_date', sa.Date(), nullable=False),
    sa.Column('rater', sqlmodel.sql.sqltypes.AutoString(length=100), nullable=False),
    sa.Column('notes', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('patient_id', sa.Integer(), nullable=False),
    sa.Column('total', sa.Float(), nullable=True),
    sa.Column('incomplete', sa.Boolean(), nullable=False),
    sa.CheckConstraint('(total IS NULL) = incomplete', name='ck_assessment_total_or_incomplete'),
    sa.CheckConstraint('abdomen IS NULL OR abdomen BETWEEN 0 AND 3', name='ck_assessment_abdomen_range'),
    sa.CheckConstraint('chest IS NULL OR chest BETWEEN 0 AND 3', name='ck_assessment_chest_range'),
    sa.CheckConstraint('face IS NULL OR face BETWEEN 0 AND 3', name='ck_assessment_face_range'),
    sa.CheckConstraint('fingers_l IS NULL OR fingers_l BETWEEN 0 AND 3', name='ck_assessment_fingers_l_range'),
    sa.CheckConstraint('fingers_r IS NULL OR fingers_r BETWEEN 0 AND 3', name='ck_assessment_fingers_r_range'),
    sa.CheckConstraint('foot_l IS NULL OR foot_l BETWEEN 0 AND 3', name='ck_assessment_foot_l_range'),
    sa.CheckConstraint('foot_r IS NULL OR foot_r BETWEEN 0 AND 3', name='ck_assessment_foot_r_range'),
    sa.CheckConstraint('forearm_l IS NULL OR forearm_l BETWEEN 0 AND 3', name='ck_assessment_forearm_l_range'),
    sa.CheckConstraint('forearm_r IS NULL OR forearm_r BETWEEN 0 AND 3', name='ck_assessment_forearm_r_range'),
    sa.CheckConstraint('hand_l IS NULL OR hand_l BETWEEN 0 AND 3', name='ck_assessment_hand_l_range'),
    sa.CheckConstraint('hand_r IS NULL OR hand_r BETWEEN 0 AND 3', name='ck_assessment_hand_r_range'),
    sa.CheckConstraint('leg_l IS NULL OR leg_l BETWEEN 0 AND 3', name='ck_assessment_leg_l_range'),
    sa.CheckConstraint('leg_r IS NULL OR leg_r BETWEEN 0 AND 3', name='ck_assessment_leg_r_range'),
    sa.CheckConstraint('thigh_l IS NULL OR thigh_l BETWEEN 0 AND 3', name='ck_assessment_thigh_l_range'),
    sa.CheckConstraint('thigh_r IS NULL OR thigh_r BETWEEN 0 AND 3', name='ck_assessment_thigh_r_range'),
    sa.CheckConstraint('total IS NULL OR total BETWEEN 0 AND 51', name='ck_assessment_total_range'),
    sa.CheckConstraint('upper_arm_l IS NULL OR upper_arm_l BETWEEN 0 AND 3', name='ck_assessment_upper_arm_l_range'),
    sa.CheckConstraint('upper_arm_r IS NULL OR upper_arm_r BETWEEN 0 AND 3', name='ck_assessment_upper_arm_r_range'),
    sa.ForeignKeyConstraint(['import_id'], ['audit_event.id'], ),
    sa.ForeignKeyConstraint(['patient_id'], ['patient.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('assessment', schema=None) as batch_op:
        batch_op.create_index('ix_assessment_patient_date', ['patient_id', 'visit_date'], unique=False)
        batch_op.create_index('ix_assessment_visit_date', ['visit_date'], unique=False)
        batch_op.create_index('ux_assessment_key', ['patient_id', 'visit_date', 'rater'], unique=True, sqlite_where=sa.text('deleted_at IS NULL'), postgresql_where=sa.text('deleted_at IS NULL'))

    op.create_table('measurement',
    sa.Column('deleted_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
    sa.Column('import_id', sa.Integer(), nullable=True),
    sa.Column('date', sa.Date(), nullable=False),
    sa.Column('measure', sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
    sa.Column('side', sqlmodel.sql.sqltypes.AutoString(length=1), nullable=False),
    sa.Column('value', sa.Float(), nullable=False),
    sa.Column('unit', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
    sa.Column('rater', sqlmodel.sql.sqltypes.AutoString(length=100), nullable=False),
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('patient_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['import_id'], ['audit_event.id'], ),
    sa.ForeignKeyConstraint(['patient_id'], ['patient.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('measurement', schema=None) as batch_op:
        batch_op.create_index('ix_measurement_patient_date', ['patient_id', 'date'], unique=False)
        batch_op.create_index('ux_measurement_key', ['patient_id', 'date', 'measure', 'side', 'rater'], unique=True, sqlite_where=sa.text('deleted_at IS NULL'), postgresql_where=sa.text('deleted_at IS NULL'))

    op.create_table('medication_period',
    sa.Column('deleted_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
    sa.Column('import_id', sa.Integer(), nullable=True),
    sa.Column('drug', sqlmodel.sql.sqltypes.AutoString(length=100), nullable=False),
    sa.Column('dose', sa.Float(), nullable=False),
    sa.Column('dose_unit', sqlmodel.sql.sqltypes.AutoString(length=8), nullable=False),
    sa.Column('frequency', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
    sa.Column('route', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
    sa.Column('start_date', sa.Date(), nullable=False),
    sa.Column('end_date', sa.Date(), nullable=True),
    sa.Column('reason', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('patient_id', sa.Integer(), nullable=False),
    sa.CheckConstraint('dose > 0', name='ck_medication_dose_positive'),
    sa.CheckConstraint('end_date IS NULL OR end_date >= start_date', name='ck_medication_dates_ordered'),
    sa.ForeignKeyConstraint(['import_id'], ['audit_event.id'], ),
    sa.ForeignKeyConstraint(['patient_id'], ['patient.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('medication_period', schema=None) as batch_op:
        batch_op.create_index('ix_medication_drug', ['drug', 'start_date'], unique=False)
        batch_op.create_index('ux_medication_key', ['patient_id', 'drug', 'start_date'], unique=True, sqlite_where=sa.text('deleted_at IS NULL'), postgresql_where=sa.text('deleted_at IS NULL'))

    op.create_table('treatment_event',
    sa.Column('deleted_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
    sa.Column('import_id', sa.Integer(), nullable=True),
    sa.Column('date', sa.Date(), nullable=False),
    sa.Column('kind', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
    sa.Column('description', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.Column('sites', sqlmodel.sql.sqltypes.AutoString(length=400), nullable=False),
    sa.Column('agent', sqlmodel.sql.sqltypes.AutoString(length=100), nullable=False),
    sa.Column('dose', sa.Float(), nullable=True),
    sa.Column('dose_unit', sqlmodel.sql.sqltypes.AutoString(length=8), nullable=False),
    sa.Column('grade', sa.Integer(), nullable=True),
    sa.Column('serious', sa.Boolean(), nullable=True),
    sa.Column('end_date', sa.Date(), nullable=True),
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('patient_id', sa.Integer(), nullable=False),
    sa.CheckConstraint('grade IS NULL OR grade BETWEEN 1 AND 5', name='ck_event_grade_range'),
    sa.ForeignKeyConstraint(['import_id'], ['audit_event.id'], ),
    sa.ForeignKeyConstraint(['patient_id'], ['patient.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('treatment_event', schema=None) as batch_op:
        batch_op.create_index('ix_event_patient_date', ['patient_id', 'date'], unique=False)

    _append_only(create=True)


def downgrade() -> None:
    _append_only(create=False)
    with op.batch_alter_table('treatment_event', schema=None) as batch_op:
        batch_op.drop_index('ix_event_patient_date')

    op.drop_table('treatment_event')
    with op.batch_alter_table('medication_period', schema=None) as batch_op:
        batch_op.drop_index('ux_medication_key', sqlite_where=sa.text('deleted_at IS NULL'), postgresql_where=sa.text('deleted_at IS NULL'))
        batch_op.drop_index('ix_medication_drug')

    op.drop_table('medication_period')
    with op.batch_alter_table('measurement', schema=None) as batch_op:
        batch_op.drop_index('ux_measurement_key', sqlite_where=sa.text('deleted_at IS NULL'), postgresql_where=sa.text('deleted_at IS NULL'))
        batch_op.drop_index('ix_measurement_patient_date')

    op.drop_table('measurement')
    with op.batch_alter_table('assessment', schema=None) as batch_op:
        batch_op.drop_index('ux_assessment_key', sqlite_where=sa.text('deleted_at IS NULL'), postgresql_where=sa.text('deleted_at IS NULL'))
        batch_op.drop_index('ix_assessment_visit_date')
        batch_op.drop_index('ix_assessment_patient_date')

    op.drop_table('assessment')
    op.drop_table('patient')
    with op.batch_alter_table('audit_event', schema=None) as batch_op:
        batch_op.drop_index('ix_audit_patient')
        batch_op.drop_index('ix_audit_entity')
        batch_op.drop_index('ix_audit_at')
        batch_op.drop_index('ix_audit_actor')

    op.drop_table('audit_event')
    op.drop_table('app_user')
