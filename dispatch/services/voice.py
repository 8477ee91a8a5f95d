"""Emergency calls: what the call says, and what pressing 1 (accept) or 2 (refuse) does."""
from __future__ import annotations

from flask_babel import gettext as _

from dispatch.clock import now
from dispatch.errors import refusal_as_reply
from dispatch.services import tickets as ticket_service
from dispatch.services.unit_of_work import write_transaction
from models import OutboundMessage, Ticket, TicketEvent, User, db


def _prompt_for(user: User, ticket: Ticket) -> str:
    if ticket.assignee_id == user.id:
        return _("Press 1 to accept the job, or 2 to refuse it.")
    return _("Press 1 to take charge and acknowledge it, or 2 to pass.")


def script_for(message_id: int) -> tuple[str | None, str]:
    """(what to read, the key prompt); None when the call has nothing to ask any more."""
    message = db.session.get(OutboundMessage, message_id)
    if message is None or message.ticket_id is None or message.recipient_id is None:
        return None, _("This call is no longer needed. Goodbye.")
    ticket = db.session.get(Ticket, message.ticket_id)
    if not ticket.is_open or ticket.acknowledged_at:
        return None, _("Job %(n)d has already been answered. Goodbye.", n=ticket.number)
    return message.body, _prompt_for(message.recipient, ticket)


@refusal_as_reply
def key_pressed(message_id: int, digits: str) -> str:
    """Apply the callee's key through the same rules as SMS and the web. Returns what to say (a refusal
    says why, through `refusal_as_reply`)."""
    message = db.session.get(OutboundMessage, message_id)
    if message is None or message.ticket_id is None or message.recipient_id is None:
        return _("This call is no longer needed. Goodbye.")
    user = db.session.get(User, message.recipient_id)
    ticket = db.session.get(Ticket, message.ticket_id)
    key = (digits or "").strip()[:1]
    if key == "1":
        ticket_service.transition(ticket.id, "acknowledge", user, channel="voice")
        return _("Accepted job %(n)d. Thank you.", n=ticket.number)
    if key == "2":
        if ticket.assignee_id == user.id:
            ticket_service.transition(ticket.id, "refuse", user, channel="voice", note=_("Refused by phone"))
            return _("Refused. The job goes to the next on call.")
        _record_pass(ticket.id, user)
        return _("Understood. The escalation continues.")
    return _("No choice recorded. Goodbye.")


def _record_pass(ticket_id: int, user: User) -> None:

    with write_transaction() as session:
        session.add(TicketEvent(ticket_id=ticket_id, at=now(), actor_id=user.id, kind="comment", channel="voice",
                                note=_("%(name)s passed on the call (pressed 2).", name=user.full_name)))

