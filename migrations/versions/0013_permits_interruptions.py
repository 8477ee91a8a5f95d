"""Permits to work (who may issue and accept them per trade, the wards they affect) and the log of utility
interruptions (wards, tickets, the plan used)

Revision ID: 0013_permits_interruptions
Revises: 0013_rounds_check_forms
Create Date: 2026-12-07 17:23:32.406313

"""
from alembic import op
import sqlalchemy as sa

import models.base


revision = '0013_permits_interruptions'
down_revision = '0013_rounds_check_forms'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('permit_requirement',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('trade_id', sa.Integer(), nullable=False),
    sa.Column('authorised_type_id', sa.Integer(), nullable=False),
    sa.Column('competent_type_id', sa.Integer(), nullable=False),
    sa.Column('keywords', sa.String(length=300), nullable=True),
    sa.ForeignKeyConstraint(['authorised_type_id'], ['licence_type.id'], name=op.f('fk_permit_requirement_authorised_type_id_licence_type')),
    sa.ForeignKeyConstraint(['competent_type_id'], ['licence_type.id'], name=op.f('fk_permit_requirement_competent_type_id_licence_type')),
    sa.ForeignKeyConstraint(['trade_id'], ['trade.id'], name=op.f('fk_permit_requirement_trade_id_trade')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_permit_requirement')),
    sa.UniqueConstraint('trade_id', name=op.f('uq_permit_requirement_trade_id'))
    )
    op.create_table('permit',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('ticket_id', sa.Integer(), nullable=False),
    sa.Column('trade_id', sa.Integer(), nullable=False),
    sa.Column('state', sa.String(length=10), nullable=False),
    sa.Column('work', sa.Text(), nullable=False),
    sa.Column('isolation_points', sa.Text(), nullable=False),
    sa.Column('precautions', sa.Text(), nullable=False),
    sa.Column('valid_from', models.base.UTCDateTime(), nullable=False),
    sa.Column('valid_until', models.base.UTCDateTime(), nullable=False),
    sa.Column('created_by_id', sa.Integer(), nullable=True),
    sa.Column('created_at', models.base.UTCDateTime(), nullable=False),
    sa.Column('issued_by_id', sa.Integer(), nullable=True),
    sa.Column('issued_at', models.base.UTCDateTime(), nullable=True),
    sa.Column('accepted_by_id', sa.Integer(), nullable=True),
    sa.Column('accepted_at', models.base.UTCDateTime(), nullable=True),
    sa.Column('cancelled_by_id', sa.Integer(), nullable=True),
    sa.Column('cancelled_at', models.base.UTCDateTime(), nullable=True),
    sa.Column('restored', sa.Text(), nullable=True),
    sa.CheckConstraint("state IN ('draft', 'issued', 'accepted', 'cancelled')", name=op.f('ck_permit_state_known')),
    sa.ForeignKeyConstraint(['accepted_by_id'], ['user_account.id'], name=op.f('fk_permit_accepted_by_id_user_account')),
    sa.ForeignKeyConstraint(['cancelled_by_id'], ['user_account.id'], name=op.f('fk_permit_cancelled_by_id_user_account')),
    sa.ForeignKeyConstraint(['created_by_id'], ['user_account.id'], name=op.f('fk_permit_created_by_id_user_account')),
    sa.ForeignKeyConstraint(['issued_by_id'], ['user_account.id'], name=op.f('fk_permit_issued_by_id_user_account')),
    sa.ForeignKeyConstraint(['ticket_id'], ['ticket.id'], name=op.f('fk_permit_ticket_id_ticket')),
    sa.ForeignKeyConstraint(['trade_id'], ['trade.id'], name=op.f('fk_permit_trade_id_trade')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_permit'))
    )
    with op.batch_alter_table('permit', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_permit_ticket_id'), ['ticket_id'], unique=False)

    op.create_table('permit_ward',
    sa.Column('permit_id', sa.Integer(), nullable=False),
    sa.Column('ward_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['permit_id'], ['permit.id'], name=op.f('fk_permit_ward_permit_id_permit'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['ward_id'], ['ward.id'], name=op.f('fk_permit_ward_ward_id_ward'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('permit_id', 'ward_id', name=op.f('pk_permit_ward'))
    )
    op.create_table('utility_interruption',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('utility', sa.String(length=20), nullable=False),
    sa.Column('planned', sa.Boolean(), nullable=False),
    sa.Column('starts_at', models.base.UTCDateTime(), nullable=False),
    sa.Column('ends_at', models.base.UTCDateTime(), nullable=True),
    sa.Column('cause', sa.Text(), nullable=False),
    sa.Column('clinical_actions', sa.Text(), nullable=True),
    sa.Column('plan_version_id', sa.Integer(), nullable=True),
    sa.Column('incident_id', sa.Integer(), nullable=True),
    sa.Column('permit_id', sa.Integer(), nullable=True),
    sa.Column('notice_hours', sa.Integer(), nullable=False),
    sa.Column('announce_at', models.base.UTCDateTime(), nullable=True),
    sa.Column('announced_at', models.base.UTCDateTime(), nullable=True),
    sa.Column('created_by_id', sa.Integer(), nullable=True),
    sa.Column('created_at', models.base.UTCDateTime(), nullable=False),
    sa.CheckConstraint("utility IN ('power', 'water', 'medical_gas', 'hvac', 'lift')", name=op.f('ck_utility_interruption_utility_known')),
    sa.ForeignKeyConstraint(['created_by_id'], ['user_account.id'], name=op.f('fk_utility_interruption_created_by_id_user_account')),
    sa.ForeignKeyConstraint(['incident_id'], ['incident.id'], name=op.f('fk_utility_interruption_incident_id_incident')),
    sa.ForeignKeyConstraint(['permit_id'], ['permit.id'], name=op.f('fk_utility_interruption_permit_id_permit')),
    sa.ForeignKeyConstraint(['plan_version_id'], ['emergency_plan_version.id'], name=op.f('fk_utility_interruption_plan_version_id_emergency_plan_version')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_utility_interruption'))
    )
    with op.batch_alter_table('utility_interruption', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_utility_interruption_announce_at'), ['announce_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_utility_interruption_incident_id'), ['incident_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_utility_interruption_starts_at'), ['starts_at'], unique=False)

    op.create_table('interruption_ticket',
    sa.Column('interruption_id', sa.Integer(), nullable=False),
    sa.Column('ticket_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['interruption_id'], ['utility_interruption.id'], name=op.f('fk_interruption_ticket_interruption_id_utility_interruption'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['ticket_id'], ['ticket.id'], name=op.f('fk_interruption_ticket_ticket_id_ticket'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('interruption_id', 'ticket_id', name=op.f('pk_interruption_ticket'))
    )
    op.create_table('interruption_ward',
    sa.Column('interruption_id', sa.Integer(), nullable=False),
    sa.Column('ward_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['interruption_id'], ['utility_interruption.id'], name=op.f('fk_interruption_ward_interruption_id_utility_interruption'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['ward_id'], ['ward.id'], name=op.f('fk_interruption_ward_ward_id_ward'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('interruption_id', 'ward_id', name=op.f('pk_interruption_ward'))
    )


def downgrade():
    op.drop_table('interruption_ward')
    op.drop_table('interruption_ticket')
    with op.batch_alter_table('utility_interruption', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_utility_interruption_starts_at'))
        batch_op.drop_index(batch_op.f('ix_utility_interruption_incident_id'))
        batch_op.drop_index(batch_op.f('ix_utility_interruption_announce_at'))

    op.drop_table('utility_interruption')
    op.drop_table('permit_ward')
    with op.batch_alter_table('permit', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_permit_ticket_id'))

    op.drop_table('permit')
    op.drop_table('permit_requirement')
