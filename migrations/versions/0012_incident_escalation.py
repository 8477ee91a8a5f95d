"""Escalation: the priority each ticket's chain was frozen for

Revision ID: 0012_incident_escalation
Revises: 0011_outbox_monitoring
Create Date: 2026-12-07 14:10:00

"""
import sqlalchemy as sa
from alembic import op


# revision identifiers, used by Alembic.
revision = '0012_incident_escalation'
down_revision = '0011_outbox_monitoring'
branch_labels = None
depends_on = None


def upgrade():
    # An incident's lead raised to a more urgent priority needs the chain of that priority: the row says
    # which priority its chain belongs to (NULL for chains frozen before this was kept).
    with op.batch_alter_table('ticket_escalation', schema=None) as batch_op:
        batch_op.add_column(sa.Column('priority', sa.Integer(), nullable=True))


def downgrade():
    with op.batch_alter_table('ticket_escalation', schema=None) as batch_op:
        batch_op.drop_column('priority')
