"""Emergency plans with immutable versions; the plan version a ticket is handled under; ticked steps

Revision ID: 0009_emergency_plans
Revises: 0008_costs
Create Date: 2026-11-24 19:30:00

"""
from alembic import op
import sqlalchemy as sa

import models.base


# revision identifiers, used by Alembic.
revision = '0009_emergency_plans'
down_revision = '0008_costs'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('emergency_plan',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('trade_id', sa.Integer(), nullable=False),
    sa.Column('criticality', sa.String(length=20), nullable=True),
    sa.Column('keywords', sa.String(length=300), nullable=True),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.Column('created_at', models.base.UTCDateTime(), nullable=False),
    sa.Column('current_number', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['trade_id'], ['trade.id'], name=op.f('fk_emergency_plan_trade_id_trade')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_emergency_plan'))
    )
    with op.batch_alter_table('emergency_plan', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_emergency_plan_trade_id'), ['trade_id'], unique=False)

    op.create_table('emergency_plan_version',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('plan_id', sa.Integer(), nullable=False),
    sa.Column('number', sa.Integer(), nullable=False),
    sa.Column('title', sa.String(length=160), nullable=False),
    sa.Column('summary', sa.Text(), nullable=True),
    sa.Column('steps', sa.JSON(), nullable=False),
    sa.Column('contacts', sa.JSON(), nullable=False),
    sa.Column('isolation_points', sa.JSON(), nullable=False),
    sa.Column('change_note', sa.String(length=300), nullable=True),
    sa.Column('published_at', models.base.UTCDateTime(), nullable=False),
    sa.Column('published_by_id', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['plan_id'], ['emergency_plan.id'], name=op.f('fk_emergency_plan_version_plan_id_emergency_plan')),
    sa.ForeignKeyConstraint(['published_by_id'], ['user_account.id'], name=op.f('fk_emergency_plan_version_published_by_id_user_account')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_emergency_plan_version')),
    sa.UniqueConstraint('plan_id', 'number', name=op.f('uq_emergency_plan_version_plan_id'))
    )

    op.create_table('ticket_plan_step',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('ticket_id', sa.Integer(), nullable=False),
    sa.Column('plan_version_id', sa.Integer(), nullable=False),
    sa.Column('step_index', sa.Integer(), nullable=False),
    sa.Column('done_at', models.base.UTCDateTime(), nullable=False),
    sa.Column('done_by_id', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['done_by_id'], ['user_account.id'], name=op.f('fk_ticket_plan_step_done_by_id_user_account')),
    sa.ForeignKeyConstraint(['plan_version_id'], ['emergency_plan_version.id'], name=op.f('fk_ticket_plan_step_plan_version_id_emergency_plan_version')),
    sa.ForeignKeyConstraint(['ticket_id'], ['ticket.id'], name=op.f('fk_ticket_plan_step_ticket_id_ticket')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_ticket_plan_step')),
    sa.UniqueConstraint('ticket_id', 'plan_version_id', 'step_index', name=op.f('uq_ticket_plan_step_ticket_id'))
    )

    # A plain ADD COLUMN, no table rebuild on SQLite (the ticket table keeps its AUTOINCREMENT numbering
    # and its million rows stay put); SQLite takes the reference inline, which alembic will not write.
    if op.get_bind().dialect.name == "sqlite":
        op.execute("ALTER TABLE ticket ADD COLUMN plan_version_id INTEGER "
                   "CONSTRAINT fk_ticket_plan_version_id_emergency_plan_version REFERENCES emergency_plan_version (id)")
    else:
        op.add_column('ticket', sa.Column('plan_version_id', sa.Integer(), nullable=True))
        op.create_foreign_key(op.f('fk_ticket_plan_version_id_emergency_plan_version'), 'ticket',
                              'emergency_plan_version', ['plan_version_id'], ['id'])


def downgrade():
    if op.get_bind().dialect.name == "sqlite":
        # Not a batch rebuild: that would lose the ticket table's AUTOINCREMENT and its numbering from 1001.
        op.execute("ALTER TABLE ticket DROP COLUMN plan_version_id")
    else:
        op.drop_constraint(op.f('fk_ticket_plan_version_id_emergency_plan_version'), 'ticket', type_='foreignkey')
        op.drop_column('ticket', 'plan_version_id')
    op.drop_table('ticket_plan_step')
    op.drop_table('emergency_plan_version')
    op.drop_table('emergency_plan')
