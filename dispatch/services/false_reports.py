"""A report the control room finds to be false (a prank from a QR label, a test someone forgot to say was a
test): cancelled with the reason, in one transaction with a "False report" line in the history. Being
cancelled, it is left out of compliance and every other report (dispatch.services.report_filters counts no
cancelled ticket), and the technician who had it is told, as for any cancellation."""
from __future__ import annotations

from flask_babel import gettext as _
from sqlalchemy import select

from dispatch.clock import now as clock_now
from dispatch.errors import IllegalTransitionError, NotFoundError, ValidationError
from dispatch.services import access, tickets
from dispatch.services.unit_of_work import write_transaction
from models import Ticket, TicketEvent, User

MAX_REASON = 200


def mark_false(ticket_id: int, actor: User, reason: str, *, expected_version: int | None = None) -> Ticket:
    access.require_role(actor, access.CONTROL_ROOM)
    text = " ".join((reason or "").split())
    if not text:
        raise ValidationError(_("Say why it is a false report."), field="note")
    note = _("False report: %(reason)s", reason=text[:MAX_REASON])
    now = clock_now()
    with write_transaction() as session:
        actor = session.get(User, actor.id)
        ticket = session.scalars(select(Ticket).where(Ticket.id == ticket_id).with_for_update()).one_or_none()
        if ticket is None:
            raise NotFoundError(_("Ticket %(number)s not found.", number=ticket_id))
        tickets.check_version(ticket, expected_version)
        if not ticket.is_open:
            raise IllegalTransitionError(_("Only an open ticket can be marked as a false report."))
        # The engine's hooks refuse it for an incident's lead, as any cancellation.
        tickets.step(session, ticket, "cancel", actor, now, channel="web", note=note)
        session.add(TicketEvent(ticket=ticket, kind="false_report", actor_id=actor.id, at=now, channel="web",
                                note=text[:MAX_REASON]))
    return ticket
