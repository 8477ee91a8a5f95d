"""What the control room sees: open tickets by time left, and who could take each."""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from flask_babel import gettext as _
from sqlalchemy import Row, func, select
from sqlalchemy.orm import selectinload

from dispatch.errors import NotFoundError, ValidationError
from dispatch.services import certificates, escalation, heartbeats, licence_lapses, licences, photos, sla
from dispatch.services.unreached import Unreached, for_board as people_not_reached
from models import OPEN_STATUSES, OutboundMessage, Ticket, Trade, User, Ward, db

# A board shows every urgent (P1/P2) or late job in full, and the soonest due of the rest up to a number
# (config BOARD_SHOWN_SOONEST); the others are folded by trade and ward, with counts, one click from being
# shown (a control room with 1,000 open jobs reads the top of the list; a page of 1,000 forms is slower to
# draw than to read).
SHOWN_SOONEST = 40
# What the board needs of every open ticket to order, count and fold them: a narrow row, not the whole ticket.
SORT_COLUMNS = (Ticket.id, Ticket.priority, Ticket.status, Ticket.trade_id, Ticket.ward_id,
                Ticket.acknowledged_at, Ticket.attended_at, Ticket.made_safe_at, Ticket.resolved_at,
                Ticket.on_hold_since, Ticket.acknowledge_due_at, Ticket.attend_due_at, Ticket.resolve_due_at)


@dataclass
class BoardRow:
    ticket: Ticket
    due_label: str | None
    due_at: datetime | None
    seconds_left: float | None
    breaches: dict[str, bool]


@dataclass
class Folded:
    """Open jobs of one trade in one ward that the board lists as a count (none of them urgent or late)."""
    trade_id: int
    ward_id: int
    trade: str
    ward: str
    count: int
    soonest: datetime | None


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
    # Assets whose inspection certificate has lapsed (certificates.must_not_use_clause): "must not be used".
    out_of_use: set[int] = field(default_factory=set)
    # The open jobs not in an incident's group (what the board counts), and those folded away.
    listed: int = 0
    folded: list[Folded] = field(default_factory=list)

    @property
    def folded_count(self) -> int:
        return sum(group.count for group in self.folded)


@dataclass
class _Line:
    """One open ticket as the board orders it, before it is loaded whole (if it is shown)."""
    line: Row
    order: tuple
    due: tuple[str, datetime] | None
    breaches: dict[str, bool]


def _sort_key(priority: int, seconds_left: float | None):
    # Running targets first, soonest (or most overdue) at the top; then the higher priority.
    return (seconds_left is None, seconds_left if seconds_left is not None else 0, priority)


def must_show(priority: int, breaches: dict[str, bool]) -> bool:
    """Never folded away: urgent jobs and jobs already late."""
    return priority <= 2 or any(breaches.values())


def open_board(now: datetime, *, hidden: set[int] = frozenset(), unfold: tuple[int, int] | None = None,
               shown_soonest: int = SHOWN_SOONEST) -> Board:
    """The board at `now`. `hidden`: tickets listed elsewhere (an incident's grouped reports); `unfold`: the
    (trade id, ward id) group to show in full."""
    lines = []
    for line in db.session.execute(select(*SORT_COLUMNS).where(Ticket.status.in_(OPEN_STATUSES))):
        if line.id in hidden:
            continue
        due = sla.next_due(line)
        lines.append(_Line(line=line, order=_sort_key(line.priority, (due[1] - now).total_seconds() if due else None),
                           due=due, breaches=sla.live_breaches(line, now)))
    lines.sort(key=lambda item: item.order)
    shown, folded, others = [], {}, 0
    for item in lines:
        line = item.line
        if must_show(line.priority, item.breaches) or unfold == (line.trade_id, line.ward_id):
            shown.append(item)
        elif others < shown_soonest:
            others += 1
            shown.append(item)
        else:
            folded.setdefault((line.trade_id, line.ward_id), []).append(item)
    ids = [item.line.id for item in shown]
    tickets = {ticket.id: ticket for ticket in db.session.scalars(
        select(Ticket).where(Ticket.id.in_(ids)).options(
            selectinload(Ticket.ward), selectinload(Ticket.trade), selectinload(Ticket.assignee),
            selectinload(Ticket.location), selectinload(Ticket.plan_version)))} if ids else {}
    rows = [BoardRow(ticket=tickets[item.line.id], due_label=item.due[0] if item.due else None,
                     due_at=item.due[1] if item.due else None,
                     seconds_left=(item.due[1] - now).total_seconds() if item.due else None, breaches=item.breaches)
            for item in shown if item.line.id in tickets]
    # Eligibility is per trade, so ask once per trade rather than once per row.
    candidates: dict[int, list[tuple[User, int]]] = {}
    trades = {row.ticket.trade_id: row.ticket.trade for row in rows}
    for trade_id, trade in trades.items():
        people = licences.eligible_technicians(trade, now)
        load = licences.open_load([p.id for p in people])
        candidates[trade_id] = sorted(((p, load.get(p.id, 0)) for p in people), key=lambda c: (c[1], c[0].full_name))
    latest: dict[int, OutboundMessage] = {}
    if ids:
        newest = select(func.max(OutboundMessage.id)).where(OutboundMessage.ticket_id.in_(ids)).group_by(OutboundMessage.ticket_id)
        for message in db.session.scalars(select(OutboundMessage).where(OutboundMessage.id.in_(newest))
                                          .options(selectinload(OutboundMessage.recipient))):
            latest[message.ticket_id] = message
    return Board(rows=rows, candidates=candidates, heartbeats=heartbeats.status(now), latest_sms=latest,
                 unreached=people_not_reached(), escalations=escalation.active_for_board(ids),
                 lapsed=licence_lapses.lapsed_ticket_ids(ids, now), with_photos=photos.tickets_with_photos(ids),
                 out_of_use=certificates.out_of_use_assets([row.ticket.asset_id for row in rows], now),
                 listed=len(lines), folded=_folded(folded))


def _folded(groups: dict[tuple[int, int], list[_Line]]) -> list[Folded]:
    if not groups:
        return []
    trades = dict(db.session.execute(select(Trade.id, Trade.name).where(Trade.id.in_({t for t, _w in groups}))).all())
    wards = dict(db.session.execute(select(Ward.id, Ward.name).where(Ward.id.in_({w for _t, w in groups}))).all())
    folded = [Folded(trade_id=trade_id, ward_id=ward_id, trade=trades[trade_id], ward=wards[ward_id], count=len(items),
                     soonest=items[0].due[1] if items[0].due else None)
              for (trade_id, ward_id), items in groups.items()]
    # Soonest due first, as the rows above them.
    folded.sort(key=lambda group: (group.soonest is None, group.soonest.timestamp() if group.soonest else 0,
                                   group.trade, group.ward))
    return folded


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
