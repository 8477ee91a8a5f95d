"""Alarm points and alarms from building-management and medical-gas panels; major incidents

Revision ID: 0005_incidents
Revises: 0004_oncall
Create Date: 2026-11-25 09:00:00

"""
from alembic import op
import sqlalchemy as sa

import models.base


# revision identifiers, used by Alembic.
revision = '0005_incidents'
down_revision = '0004_oncall'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('incident',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('trade_id', sa.Integer(), nullable=False),
    sa.Column('building_id', sa.Integer(), nullable=False),
    sa.Column('lead_ticket_id', sa.Integer(), nullable=False),
    sa.Column('state', sa.String(length=10), nullable=False),
    sa.Column('opened_at', models.base.UTCDateTime(), nullable=False),
    sa.Column('opened_by_id', sa.Integer(), nullable=True),
    sa.Column('resolved_at', models.base.UTCDateTime(), nullable=True),
    sa.Column('resolved_by_id', sa.Integer(), nullable=True),
    sa.Column('outcome', sa.Text(), nullable=True),
    sa.ForeignKeyConstraint(['building_id'], ['building.id'], name=op.f('fk_incident_building_id_building')),
    sa.ForeignKeyConstraint(['lead_ticket_id'], ['ticket.id'], name=op.f('fk_incident_lead_ticket_id_ticket')),
    sa.ForeignKeyConstraint(['opened_by_id'], ['user_account.id'], name=op.f('fk_incident_opened_by_id_user_account')),
    sa.ForeignKeyConstraint(['resolved_by_id'], ['user_account.id'], name=op.f('fk_incident_resolved_by_id_user_account')),
    sa.ForeignKeyConstraint(['trade_id'], ['trade.id'], name=op.f('fk_incident_trade_id_trade')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_incident'))
    )
    with op.batch_alter_table('incident', schema=None) as batch_op:
        batch_op.create_index('ix_incident_state_trade_building', ['state', 'trade_id', 'building_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_incident_lead_ticket_id'), ['lead_ticket_id'], unique=False)

    op.create_table('incident_member',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('incident_id', sa.Integer(), nullable=False),
    sa.Column('ticket_id', sa.Integer(), nullable=False),
    sa.Column('is_lead', sa.Boolean(), nullable=False),
    sa.Column('grouped_at', models.base.UTCDateTime(), nullable=False),
    sa.Column('grouped_by_id', sa.Integer(), nullable=True),
    sa.Column('own_status', sa.String(length=20), nullable=False),
    sa.Column('own_assignee_id', sa.Integer(), nullable=True),
    sa.Column('own_times', sa.JSON(), nullable=True),
    sa.Column('ungrouped_at', models.base.UTCDateTime(), nullable=True),
    sa.Column('ungrouped_by_id', sa.Integer(), nullable=True),
    sa.Column('ungroup_reason', sa.String(length=200), nullable=True),
    sa.ForeignKeyConstraint(['grouped_by_id'], ['user_account.id'], name=op.f('fk_incident_member_grouped_by_id_user_account')),
    sa.ForeignKeyConstraint(['incident_id'], ['incident.id'], name=op.f('fk_incident_member_incident_id_incident')),
    sa.ForeignKeyConstraint(['own_assignee_id'], ['user_account.id'], name=op.f('fk_incident_member_own_assignee_id_user_account')),
    sa.ForeignKeyConstraint(['ticket_id'], ['ticket.id'], name=op.f('fk_incident_member_ticket_id_ticket')),
    sa.ForeignKeyConstraint(['ungrouped_by_id'], ['user_account.id'], name=op.f('fk_incident_member_ungrouped_by_id_user_account')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_incident_member'))
    )
    with op.batch_alter_table('incident_member', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_incident_member_incident_id'), ['incident_id'], unique=False)
        batch_op.create_index('ix_incident_member_ticket_active', ['ticket_id', 'ungrouped_at'], unique=False)

    op.create_table('alarm_point',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('source', sa.String(length=60), nullable=False),
    sa.Column('point_id', sa.String(length=120), nullable=False),
    sa.Column('ward_id', sa.Integer(), nullable=False),
    sa.Column('asset_id', sa.Integer(), nullable=True),
    sa.Column('trade_id', sa.Integer(), nullable=False),
    sa.Column('priority', sa.Integer(), nullable=True),
    sa.Column('description', sa.String(length=200), nullable=False),
    sa.Column('ticket_id', sa.Integer(), nullable=True),
    sa.Column('occurrences', sa.Integer(), nullable=False),
    sa.Column('alarm_active', sa.Boolean(), nullable=False),
    sa.Column('last_alarm_at', models.base.UTCDateTime(), nullable=True),
    sa.CheckConstraint('priority IS NULL OR priority BETWEEN 1 AND 4', name=op.f('ck_alarm_point_priority_range')),
    sa.ForeignKeyConstraint(['asset_id'], ['asset.id'], name=op.f('fk_alarm_point_asset_id_asset')),
    sa.ForeignKeyConstraint(['ticket_id'], ['ticket.id'], name=op.f('fk_alarm_point_ticket_id_ticket')),
    sa.ForeignKeyConstraint(['trade_id'], ['trade.id'], name=op.f('fk_alarm_point_trade_id_trade')),
    sa.ForeignKeyConstraint(['ward_id'], ['ward.id'], name=op.f('fk_alarm_point_ward_id_ward')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_alarm_point')),
    sa.UniqueConstraint('source', 'point_id', name=op.f('uq_alarm_point_source'))
    )

    op.create_table('alarm',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('source', sa.String(length=60), nullable=False),
    sa.Column('point_id', sa.String(length=120), nullable=False),
    sa.Column('asset_id', sa.Integer(), nullable=True),
    sa.Column('condition', sa.String(length=200), nullable=False),
    sa.Column('severity', sa.String(length=10), nullable=False),
    sa.Column('state', sa.String(length=10), nullable=False),
    sa.Column('occurred_at', models.base.UTCDateTime(), nullable=False),
    sa.Column('received_at', models.base.UTCDateTime(), nullable=False),
    sa.Column('sender_id', sa.Integer(), nullable=True),
    sa.Column('alarm_point_id', sa.Integer(), nullable=True),
    sa.Column('ticket_id', sa.Integer(), nullable=True),
    sa.Column('outcome', sa.String(length=20), nullable=False),
    sa.ForeignKeyConstraint(['alarm_point_id'], ['alarm_point.id'], name=op.f('fk_alarm_alarm_point_id_alarm_point')),
    sa.ForeignKeyConstraint(['sender_id'], ['user_account.id'], name=op.f('fk_alarm_sender_id_user_account')),
    sa.ForeignKeyConstraint(['ticket_id'], ['ticket.id'], name=op.f('fk_alarm_ticket_id_ticket')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_alarm'))
    )
    with op.batch_alter_table('alarm', schema=None) as batch_op:
        batch_op.create_index('ix_alarm_source_point', ['source', 'point_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_alarm_received_at'), ['received_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_alarm_alarm_point_id'), ['alarm_point_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_alarm_ticket_id'), ['ticket_id'], unique=False)


def downgrade():
    op.drop_table('alarm')
    op.drop_table('alarm_point')
    op.drop_table('incident_member')
    op.drop_table('incident')
