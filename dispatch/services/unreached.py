"""Who the control room must phone: people a text did not reach or a call was not answered by, on jobs
where that still matters. One line per person, however many messages to them failed."""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import joinedload

from dispatch.services import notify
from models import OPEN_STATUSES, OutboundMessage, Ticket, TicketEscalation, db

# Failed rows read per board: an escalation that re-texts a supervisor with a dead phone every five
# minutes writes many; the newest few hundred are plenty to name the people to phone now.
ROWS_READ = 300
PEOPLE_SHOWN = 20


@dataclass
class Problem:
    ticket_id: int
    kind: str  # the history's kind: sms_failed, call_unanswered, call_failed
    detail: str
    at: datetime


@dataclass
class Unreached:
    name: str
    number: str | None
    problems: list[Problem] = field(default_factory=list)


def for_board(people: int = PEOPLE_SHOWN) -> list[Unreached]:
    """Newest first. A failure is left out once it no longer matters: the job is closed, answered or
    someone else's, or a later escalation step has fired (the same rule that stops retries); for one
    person and ticket each kind of failure is named once, by its newest row."""
    rows = db.session.execute(
        select(OutboundMessage, Ticket).join(Ticket, Ticket.id == OutboundMessage.ticket_id)
        .options(joinedload(OutboundMessage.recipient))
        .where(OutboundMessage.state.in_(("failed", "undelivered")), Ticket.status.in_(OPEN_STATUSES))
        .order_by(OutboundMessage.updated_at.desc(), OutboundMessage.id.desc()).limit(ROWS_READ)).all()
    ticket_ids = {ticket.id for _message, ticket in rows}
    timers = {t.ticket_id: t for t in db.session.scalars(
        select(TicketEscalation).where(TicketEscalation.ticket_id.in_(ticket_ids)))} if ticket_ids else {}
    found: dict[object, Unreached] = {}
    seen: set[tuple] = set()
    for message, ticket in rows:
        if notify.why_not_needed(message, ticket, timers.get(ticket.id)) is not None:
            continue
        person = message.recipient_id or message.to_number
        kind = notify.failure_kind(message)
        if (person, ticket.id, kind) in seen:
            continue
        seen.add((person, ticket.id, kind))
        if person not in found:
            if len(found) >= people:
                continue
            found[person] = Unreached(name=message.recipient.full_name if message.recipient else (message.to_number or "?"),
                                      number=message.to_number)
        found[person].problems.append(Problem(ticket_id=ticket.id, kind=kind, detail=message.last_error or "",
                                              at=message.updated_at))
    return list(found.values())
