"""Preventive maintenance schedules, their occurrences and ticket checklists

Revision ID: 0006_planned_maintenance
Revises: 0005_incidents
Create Date: 2026-11-24 19:12:29

"""
from alembic import op
import sqlalchemy as sa

import models.base


# revision identifiers, used by Alembic.
revision = '0006_planned_maintenance'
down_revision = '0005_incidents'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('maintenance_schedule',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('title', sa.String(length=160), nullable=False),
    sa.Column('ward_id', sa.Integer(), nullable=False),
    sa.Column('location_id', sa.Integer(), nullable=True),
    sa.Column('asset_id', sa.Integer(), nullable=True),
    sa.Column('trade_id', sa.Integer(), nullable=False),
    sa.Column('checklist', sa.JSON(), nullable=False),
    sa.Column('estimated_minutes', sa.Integer(), nullable=True),
    sa.Column('recurrence', sa.String(length=10), nullable=False),
    sa.Column('interval_unit', sa.String(length=10), nullable=True),
    sa.Column('interval_count', sa.Integer(), nullable=True),
    sa.Column('start_date', sa.Date(), nullable=False),
    sa.Column('fixed_dates', sa.JSON(), nullable=True),
    sa.Column('lead_days', sa.Integer(), nullable=False),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.Column('opens_from', sa.Date(), nullable=False),
    sa.Column('created_at', models.base.UTCDateTime(), nullable=False),
    sa.Column('updated_at', models.base.UTCDateTime(), nullable=False),
    sa.Column('created_by_id', sa.Integer(), nullable=True),
    sa.CheckConstraint('interval_count IS NULL OR interval_count >= 1', name=op.f('ck_maintenance_schedule_interval_positive')),
    sa.CheckConstraint('lead_days >= 0', name=op.f('ck_maintenance_schedule_lead_days_positive')),
    sa.ForeignKeyConstraint(['asset_id'], ['asset.id'], name=op.f('fk_maintenance_schedule_asset_id_asset')),
    sa.ForeignKeyConstraint(['created_by_id'], ['user_account.id'], name=op.f('fk_maintenance_schedule_created_by_id_user_account')),
    sa.ForeignKeyConstraint(['location_id'], ['location.id'], name=op.f('fk_maintenance_schedule_location_id_location')),
    sa.ForeignKeyConstraint(['trade_id'], ['trade.id'], name=op.f('fk_maintenance_schedule_trade_id_trade')),
    sa.ForeignKeyConstraint(['ward_id'], ['ward.id'], name=op.f('fk_maintenance_schedule_ward_id_ward')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_maintenance_schedule'))
    )
    with op.batch_alter_table('maintenance_schedule', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_maintenance_schedule_asset_id'), ['asset_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_maintenance_schedule_trade_id'), ['trade_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_maintenance_schedule_ward_id'), ['ward_id'], unique=False)

    op.create_table('planned_occurrence',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('schedule_id', sa.Integer(), nullable=False),
    sa.Column('due_date', sa.Date(), nullable=False),
    sa.Column('trade_id', sa.Integer(), nullable=False),
    sa.Column('state', sa.String(length=10), nullable=False),
    sa.Column('ticket_id', sa.Integer(), nullable=True),
    sa.Column('opened_at', models.base.UTCDateTime(), nullable=True),
    sa.Column('skipped_at', models.base.UTCDateTime(), nullable=True),
    sa.Column('skipped_by_id', sa.Integer(), nullable=True),
    sa.Column('skip_reason', sa.String(length=200), nullable=True),
    sa.ForeignKeyConstraint(['schedule_id'], ['maintenance_schedule.id'], name=op.f('fk_planned_occurrence_schedule_id_maintenance_schedule')),
    sa.ForeignKeyConstraint(['skipped_by_id'], ['user_account.id'], name=op.f('fk_planned_occurrence_skipped_by_id_user_account')),
    sa.ForeignKeyConstraint(['ticket_id'], ['ticket.id'], name=op.f('fk_planned_occurrence_ticket_id_ticket')),
    sa.ForeignKeyConstraint(['trade_id'], ['trade.id'], name=op.f('fk_planned_occurrence_trade_id_trade')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_planned_occurrence')),
    sa.UniqueConstraint('schedule_id', 'due_date', name='uq_planned_occurrence_schedule_due'),
    sa.UniqueConstraint('ticket_id', name=op.f('uq_planned_occurrence_ticket_id'))
    )
    with op.batch_alter_table('planned_occurrence', schema=None) as batch_op:
        batch_op.create_index('ix_planned_occurrence_due_trade', ['due_date', 'trade_id'], unique=False)

    op.create_table('ticket_checklist_item',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('ticket_id', sa.Integer(), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.Column('text', sa.Text(), nullable=False),
    sa.Column('done_at', models.base.UTCDateTime(), nullable=True),
    sa.Column('done_by_id', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['done_by_id'], ['user_account.id'], name=op.f('fk_ticket_checklist_item_done_by_id_user_account')),
    sa.ForeignKeyConstraint(['ticket_id'], ['ticket.id'], name=op.f('fk_ticket_checklist_item_ticket_id_ticket')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_ticket_checklist_item')),
    sa.UniqueConstraint('ticket_id', 'position', name='uq_ticket_checklist_item_position')
    )
    with op.batch_alter_table('ticket_checklist_item', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_ticket_checklist_item_ticket_id'), ['ticket_id'], unique=False)



def downgrade():
    with op.batch_alter_table('ticket_checklist_item', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_ticket_checklist_item_ticket_id'))

    op.drop_table('ticket_checklist_item')
    with op.batch_alter_table('planned_occurrence', schema=None) as batch_op:
        batch_op.drop_index('ix_planned_occurrence_due_trade')

    op.drop_table('planned_occurrence')
    with op.batch_alter_table('maintenance_schedule', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_maintenance_schedule_ward_id'))
        batch_op.drop_index(batch_op.f('ix_maintenance_schedule_trade_id'))
        batch_op.drop_index(batch_op.f('ix_maintenance_schedule_asset_id'))

    op.drop_table('maintenance_schedule')
