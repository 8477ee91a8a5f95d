"""Outbox index for the monitoring figures: messages by state and when they got there

Revision ID: 0011_outbox_monitoring
Revises: 0010_leadership_report
Create Date: 2026-11-24 19:50:00

"""
from alembic import op


# revision identifiers, used by Alembic.
revision = '0011_outbox_monitoring'
down_revision = '0010_leadership_report'
branch_labels = None
depends_on = None


def upgrade():
    # GET /metrics counts the SMS sent, delivered and failed in the last day and hour on every scrape:
    # with this index those are ranges of it, not a scan of years of messages.
    with op.batch_alter_table('outbound_message', schema=None) as batch_op:
        batch_op.create_index('ix_outbound_message_state_updated', ['state', 'updated_at'], unique=False)


def downgrade():
    with op.batch_alter_table('outbound_message', schema=None) as batch_op:
        batch_op.drop_index('ix_outbound_message_state_updated')
