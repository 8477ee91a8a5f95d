"""History: a call not answered or not made is its own kind, no longer 'sms_failed'

Revision ID: 0012_outage_call_history
Revises: 0012_incident_escalation
Create Date: 2026-12-07 14:30:00

"""
import sqlalchemy as sa
from alembic import op


# revision identifiers, used by Alembic.
revision = '0012_outage_call_history'
down_revision = '0012_incident_escalation'
branch_labels = None
depends_on = None

# Frozen here: the tables as this migration knows them, whatever the models become.
ticket_event = sa.table('ticket_event', sa.column('id', sa.Integer), sa.column('kind', sa.String),
                        sa.column('data', sa.JSON))
outbound_message = sa.table('outbound_message', sa.column('id', sa.Integer), sa.column('channel', sa.String),
                            sa.column('state', sa.String))
BATCH = 500


def upgrade():
    # The history recorded an unanswered emergency call as 'sms_failed' ("SMS not delivered"). Each such
    # line names its outbox row: a voice row that ended 'undelivered' (busy, no answer) rang a working
    # phone; one that ended 'failed' could not be made. Data only: no column changes.
    bind = op.get_bind()
    events = bind.execute(sa.select(ticket_event.c.id, ticket_event.c.data)
                          .where(ticket_event.c.kind == 'sms_failed')).all()
    message_of = {event_id: (data or {}).get('message_id') for event_id, data in events}
    message_ids = sorted({m for m in message_of.values() if isinstance(m, int)})
    voice_state = {}
    for start in range(0, len(message_ids), BATCH):
        chunk = message_ids[start:start + BATCH]
        voice_state.update(bind.execute(
            sa.select(outbound_message.c.id, outbound_message.c.state)
            .where(outbound_message.c.channel == 'voice', outbound_message.c.id.in_(chunk))).all())
    for kind, states in (('call_unanswered', ('undelivered',)), ('call_failed', ('failed',))):
        ids = [e for e, m in message_of.items() if voice_state.get(m) in states]
        for start in range(0, len(ids), BATCH):
            bind.execute(sa.update(ticket_event).where(ticket_event.c.id.in_(ids[start:start + BATCH]))
                         .values(kind=kind))


def downgrade():
    op.execute(sa.update(ticket_event).where(ticket_event.c.kind.in_(('call_unanswered', 'call_failed')))
               .values(kind='sms_failed'))
