"""Escalation: the priority each ticket's chain was frozen for, and who has been paged for each ticket

Revision ID: 0012_incident_escalation
Revises: 0011_outbox_monitoring
Create Date: 2026-12-07 14:10:00

"""
import sqlalchemy as sa
import models.base
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
    # Escalation widens the circle: everyone paged for a job may accept it until someone has.
    op.create_table(
        'escalation_page',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('ticket_id', sa.Integer(), nullable=False),
        sa.Column('user_id', sa.Integer(), nullable=False),
        sa.Column('paged_at', models.base.UTCDateTime(), nullable=False),
        sa.Column('target', sa.String(length=20), nullable=False),
        sa.Column('step', sa.Integer(), nullable=True),
        sa.Column('round', sa.Integer(), nullable=True),
        sa.Column('voice', sa.Boolean(), nullable=False),
        sa.Column('closed_at', models.base.UTCDateTime(), nullable=True),
        sa.Column('outcome', sa.String(length=10), nullable=True),
        sa.ForeignKeyConstraint(['ticket_id'], ['ticket.id'], name=op.f('fk_escalation_page_ticket_id_ticket')),
        sa.ForeignKeyConstraint(['user_id'], ['user_account.id'], name=op.f('fk_escalation_page_user_id_user_account'),
                                ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_escalation_page')),
    )
    with op.batch_alter_table('escalation_page', schema=None) as batch_op:
        batch_op.create_index('ix_escalation_page_ticket_user', ['ticket_id', 'user_id', 'closed_at'], unique=False)


def downgrade():
    with op.batch_alter_table('escalation_page', schema=None) as batch_op:
        batch_op.drop_index('ix_escalation_page_ticket_user')
    op.drop_table('escalation_page')
    with op.batch_alter_table('ticket_escalation', schema=None) as batch_op:
        batch_op.drop_column('priority')
