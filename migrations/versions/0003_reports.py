"""Reports: breach causes and the indexes the reports need

Revision ID: 0003_reports
Revises: 0002_sms_outbox
Create Date: 2026-11-24

"""
from alembic import op
import sqlalchemy as sa

import models.base


revision = '0003_reports'
down_revision = '0002_sms_outbox'
branch_labels = None
depends_on = None

# The list a new hospital starts with (models.breach.DEFAULT_BREACH_CAUSES at the time of writing;
# copied, not imported, so this migration never changes when the model's list does).
DEFAULT_BREACH_CAUSES = (
    "No licensed technician available",
    "Technician busy on a higher-priority job",
    "SMS not delivered or not seen",
    "Parts not in stock",
    "Specialist contractor needed",
    "No access: clinical activity or infection control",
    "Reported with the wrong trade or place",
    "Priority set too low at reporting",
    "Other (say what in the note)",
)

REPORT_INDEX_COLUMNS = [
    'created_at', 'status', 'trade_id', 'priority', 'ward_id', 'assignee_id', 'acknowledged_at', 'acknowledge_due_at',
    'attended_at', 'attend_due_at', 'made_safe_at', 'resolved_at', 'resolve_due_at', 'held_seconds', 'on_hold_since',
    'attend_target_minutes',
]


def upgrade():
    breach_cause = op.create_table('breach_cause',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=120), nullable=False),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.Column('sort_order', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_breach_cause')),
    sa.UniqueConstraint('name', name=op.f('uq_breach_cause_name'))
    )
    op.create_table('ticket_breach_cause',
    sa.Column('ticket_id', sa.Integer(), nullable=False),
    sa.Column('cause_id', sa.Integer(), nullable=False),
    sa.Column('note', sa.Text(), nullable=True),
    sa.Column('recorded_by_id', sa.Integer(), nullable=True),
    sa.Column('recorded_at', models.base.UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['cause_id'], ['breach_cause.id'], name=op.f('fk_ticket_breach_cause_cause_id_breach_cause')),
    sa.ForeignKeyConstraint(['recorded_by_id'], ['user_account.id'], name=op.f('fk_ticket_breach_cause_recorded_by_id_user_account')),
    sa.ForeignKeyConstraint(['ticket_id'], ['ticket.id'], name=op.f('fk_ticket_breach_cause_ticket_id_ticket'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('ticket_id', name=op.f('pk_ticket_breach_cause'))
    )
    with op.batch_alter_table('ticket_breach_cause', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_ticket_breach_cause_cause_id'), ['cause_id'], unique=False)

    # The reports read a period's tickets from ix_ticket_report alone; repeat faults look back 30 days
    # per asset, or per place and trade (models/ticket.py; measured in docs/benchmarks.md).
    with op.batch_alter_table('ticket', schema=None) as batch_op:
        batch_op.create_index('ix_ticket_report', REPORT_INDEX_COLUMNS, unique=False)
        batch_op.create_index('ix_ticket_asset_created', ['asset_id', 'created_at'], unique=False)
        batch_op.create_index('ix_ticket_location_trade_created', ['location_id', 'trade_id', 'created_at'], unique=False)

    op.bulk_insert(breach_cause, [
        {'name': name, 'active': True, 'sort_order': order} for order, name in enumerate(DEFAULT_BREACH_CAUSES)
    ])


def downgrade():
    with op.batch_alter_table('ticket', schema=None) as batch_op:
        batch_op.drop_index('ix_ticket_location_trade_created')
        batch_op.drop_index('ix_ticket_asset_created')
        batch_op.drop_index('ix_ticket_report')
    with op.batch_alter_table('ticket_breach_cause', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_ticket_breach_cause_cause_id'))
    op.drop_table('ticket_breach_cause')
    op.drop_table('breach_cause')
