"""Statutory equipment and required activities: the asset register, certificates with their reports and
notices, schedules marked required and each required occurrence with its tolerance window

Revision ID: 0013_certs_compliance
Revises: 0013_engine_attend_steps
Create Date: 2026-12-07 17:24:02.431267

"""
from alembic import op
import sqlalchemy as sa

import models.base

# revision identifiers, used by Alembic.
revision = '0013_certs_compliance'
down_revision = '0013_engine_attend_steps'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('asset_register',
    sa.Column('asset_id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=20), nullable=False),
    sa.Column('high_risk', sa.Boolean(), nullable=False),
    sa.Column('registration_number', sa.String(length=60), nullable=True),
    sa.Column('authority', sa.String(length=120), nullable=True),
    sa.Column('updated_at', models.base.UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['asset_id'], ['asset.id'], name=op.f('fk_asset_register_asset_id_asset'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('asset_id', name=op.f('pk_asset_register'))
    )
    op.create_table('certificate',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('asset_id', sa.Integer(), nullable=False),
    sa.Column('number', sa.String(length=60), nullable=False),
    sa.Column('inspected_on', sa.Date(), nullable=False),
    sa.Column('valid_until', sa.Date(), nullable=False),
    sa.Column('report_id', sa.String(length=40), nullable=True),
    sa.Column('report_name', sa.String(length=120), nullable=True),
    sa.Column('report_type', sa.String(length=40), nullable=True),
    sa.Column('report_size', sa.Integer(), nullable=True),
    sa.Column('report', sa.LargeBinary(), nullable=True),
    sa.Column('recorded_at', models.base.UTCDateTime(), nullable=False),
    sa.Column('recorded_by_id', sa.Integer(), nullable=True),
    sa.CheckConstraint('valid_until >= inspected_on', name=op.f('ck_certificate_valid_after_inspection')),
    sa.ForeignKeyConstraint(['asset_id'], ['asset.id'], name=op.f('fk_certificate_asset_id_asset')),
    sa.ForeignKeyConstraint(['recorded_by_id'], ['user_account.id'], name=op.f('fk_certificate_recorded_by_id_user_account')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_certificate')),
    sa.UniqueConstraint('report_id', name=op.f('uq_certificate_report_id'))
    )
    with op.batch_alter_table('certificate', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_certificate_asset_id'), ['asset_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_certificate_valid_until'), ['valid_until'], unique=False)

    op.create_table('certificate_notice',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('certificate_id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=20), nullable=False),
    sa.Column('due_on', sa.Date(), nullable=False),
    sa.Column('created_at', models.base.UTCDateTime(), nullable=False),
    sa.Column('done_at', models.base.UTCDateTime(), nullable=True),
    sa.Column('done_by_id', sa.Integer(), nullable=True),
    sa.Column('note', sa.String(length=200), nullable=True),
    sa.ForeignKeyConstraint(['certificate_id'], ['certificate.id'], name=op.f('fk_certificate_notice_certificate_id_certificate'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['done_by_id'], ['user_account.id'], name=op.f('fk_certificate_notice_done_by_id_user_account')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_certificate_notice')),
    sa.UniqueConstraint('certificate_id', 'kind', name='uq_certificate_notice_kind')
    )
    op.create_table('required_activity',
    sa.Column('schedule_id', sa.Integer(), nullable=False),
    sa.Column('standard', sa.String(length=60), nullable=False),
    sa.Column('window_before_days', sa.Integer(), nullable=True),
    sa.Column('window_after_days', sa.Integer(), nullable=True),
    sa.Column('required_since', sa.Date(), nullable=False),
    sa.Column('updated_at', models.base.UTCDateTime(), nullable=False),
    sa.CheckConstraint('window_after_days IS NULL OR window_after_days >= 0', name=op.f('ck_required_activity_after_positive')),
    sa.CheckConstraint('window_before_days IS NULL OR window_before_days >= 0', name=op.f('ck_required_activity_before_positive')),
    sa.ForeignKeyConstraint(['schedule_id'], ['maintenance_schedule.id'], name=op.f('fk_required_activity_schedule_id_maintenance_schedule'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('schedule_id', name=op.f('pk_required_activity'))
    )
    op.create_table('required_occurrence',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('schedule_id', sa.Integer(), nullable=False),
    sa.Column('due_date', sa.Date(), nullable=False),
    sa.Column('window_first', sa.Date(), nullable=False),
    sa.Column('window_last', sa.Date(), nullable=False),
    sa.Column('opens_at', models.base.UTCDateTime(), nullable=False),
    sa.Column('closes_at', models.base.UTCDateTime(), nullable=False),
    sa.Column('standard', sa.String(length=60), nullable=False),
    sa.Column('equipment_kind', sa.String(length=20), nullable=True),
    sa.Column('cause_id', sa.Integer(), nullable=True),
    sa.Column('cause_note', sa.Text(), nullable=True),
    sa.Column('cause_recorded_by_id', sa.Integer(), nullable=True),
    sa.Column('cause_recorded_at', models.base.UTCDateTime(), nullable=True),
    sa.CheckConstraint('window_last >= window_first', name=op.f('ck_required_occurrence_window_ordered')),
    sa.ForeignKeyConstraint(['cause_id'], ['breach_cause.id'], name=op.f('fk_required_occurrence_cause_id_breach_cause')),
    sa.ForeignKeyConstraint(['cause_recorded_by_id'], ['user_account.id'], name=op.f('fk_required_occurrence_cause_recorded_by_id_user_account')),
    sa.ForeignKeyConstraint(['schedule_id'], ['maintenance_schedule.id'], name=op.f('fk_required_occurrence_schedule_id_maintenance_schedule'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_required_occurrence')),
    sa.UniqueConstraint('schedule_id', 'due_date', name='uq_required_occurrence_due')
    )
    with op.batch_alter_table('required_occurrence', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_required_occurrence_closes_at'), ['closes_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_required_occurrence_due_date'), ['due_date'], unique=False)
        batch_op.create_index(batch_op.f('ix_required_occurrence_schedule_id'), ['schedule_id'], unique=False)



def downgrade():
    with op.batch_alter_table('required_occurrence', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_required_occurrence_schedule_id'))
        batch_op.drop_index(batch_op.f('ix_required_occurrence_due_date'))
        batch_op.drop_index(batch_op.f('ix_required_occurrence_closes_at'))

    op.drop_table('required_occurrence')
    op.drop_table('required_activity')
    op.drop_table('certificate_notice')
    with op.batch_alter_table('certificate', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_certificate_valid_until'))
        batch_op.drop_index(batch_op.f('ix_certificate_asset_id'))

    op.drop_table('certificate')
    op.drop_table('asset_register')
