"""What the control room sees: open tickets by time left, and who could take each."""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from flask_babel import gettext as _
from sqlalchemy import func, select
from sqlalchemy.orm import selectinload

from dispatch.errors import NotFoundError, ValidationError
from dispatch.services import escalation, heartbeats, licence_lapses, licences, photos, sla
from dispatch.services.unreached import Unreached, for_board as people_not_reached
from models import OPEN_STATUSES, OutboundMessage, Ticket, Trade, User, db

FAR_FUTURE = datetime.max.replace(tzinfo=None)


@dataclass
class BoardRow:
    ticket: Ticket
    due_label: str | None
    due_at: datetime | None
    seconds_left: float | None
    breaches: dict[str, bool]


@dataclass
class Board:
    rows: list[BoardRow]
    candidates: dict[int, list[tuple[User, int]]] = field(default_factory=dict)
    heartbeats: dict[str, tuple[datetime | None, bool]] = field(default_factory=dict)
    escalations: dict = field(default_factory=dict)
    # Latest SMS per ticket (its delivery state shows on the row), and the people texts and calls did not
    # reach, whom the dispatcher must phone.
    latest_sms: dict[int, OutboundMessage] = field(default_factory=dict)
    unreached: list[Unreached] = field(default_factory=list)
    # Tickets whose technician's licence for the trade has lapsed (expired or revoked) since they got the job.
    lapsed: set[int] = field(default_factory=set)
    # Tickets with photos: a camera mark on the row.
    with_photos: set[int] = field(default_factory=set)


def _sort_key(row: BoardRow):
    # Running targets first, soonest (or most overdue) at the top; then the higher priority.
    return (row.seconds_left is None, row.seconds_left if row.seconds_left is not None else 0, row.ticket.priority)


def open_board(now: datetime) -> Board:
    tickets = db.session.scalars(
        select(Ticket)
        .where(Ticket.status.in_(OPEN_STATUSES))
        .options(
            selectinload(Ticket.ward), selectinload(Ticket.trade), selectinload(Ticket.assignee),
            selectinload(Ticket.location), selectinload(Ticket.plan_version),
        )
    ).all()
    rows = []
    for ticket in tickets:
        due = sla.next_due(ticket)
        rows.append(
            BoardRow(
                ticket=ticket,
                due_label=due[0] if due else None,
                due_at=due[1] if due else None,
                seconds_left=(due[1] - now).total_seconds() if due else None,
                breaches=sla.live_breaches(ticket, now),
            )
        )
    rows.sort(key=_sort_key)
    # Eligibility is per trade, so ask once per trade rather than once per row.
    candidates: dict[int, list[tuple[User, int]]] = {}
    trades = {row.ticket.trade_id: row.ticket.trade for row in rows}
    for trade_id, trade in trades.items():
        people = licences.eligible_technicians(trade, now)
        load = licences.open_load([p.id for p in people])
        candidates[trade_id] = sorted(((p, load.get(p.id, 0)) for p in people), key=lambda c: (c[1], c[0].full_name))
    beats = heartbeats.status(now)
    latest: dict[int, OutboundMessage] = {}
    ids = [row.ticket.id for row in rows]
    if ids:
        newest = select(func.max(OutboundMessage.id)).where(OutboundMessage.ticket_id.in_(ids)).group_by(OutboundMessage.ticket_id)
        for message in db.session.scalars(select(OutboundMessage).where(OutboundMessage.id.in_(newest))):
            latest[message.ticket_id] = message
    return Board(rows=rows, candidates=candidates, heartbeats=beats, latest_sms=latest,
                 unreached=people_not_reached(), escalations=escalation.active_for_board(ids),
                 lapsed=licence_lapses.lapsed_ticket_ids(ids, now), with_photos=photos.tickets_with_photos(ids))


def all_trades() -> list[Trade]:
    return list(db.session.scalars(select(Trade).order_by(Trade.sort_order, Trade.display_name)))


@dataclass
class Reassignment:
    """A reassignment the dispatcher is about to make: who loses the job and who gets it."""
    ticket: Ticket
    losing: User
    gaining: User


def reassignment_to_confirm(ticket_id: int, technician_id: int, seen_version: int | None) -> Reassignment | None:
    """The reassignment to put to the dispatcher before it happens, or None when there is nothing to ask:
    nobody has the job yet, the same person was chosen, or the ticket changed since the board was drawn
    (then the assignment itself answers, with its 'changed meanwhile' or 'already has this job')."""
    ticket = db.session.get(Ticket, ticket_id)
    if ticket is None:
        raise NotFoundError(_("No such ticket."))
    if ticket.assignee_id is None or ticket.assignee_id == technician_id or seen_version != ticket.version:
        return None
    technician = db.session.get(User, technician_id)
    if technician is None or technician.role != "technician":
        raise ValidationError(_("No such technician."), field="technician_id")
    return Reassignment(ticket=ticket, losing=ticket.assignee, gaining=technician)
