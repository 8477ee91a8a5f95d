"""What a ward sees of its own tickets: the fixes waiting for its word, and the rest of the last 30 days."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from flask import current_app
from sqlalchemy import func, or_, select

from dispatch.services import access
from models import OPEN_STATUSES, Ticket, TicketEvent, User, db

RECENT_DAYS = 30
MOST_SHOWN = 200


@dataclass
class WardTickets:
    awaiting: list[Ticket]  # resolved, and the ward is asked to confirm the fix
    others: list[Ticket]


def planned_ids(tickets: list[Ticket]) -> set[int]:
    """Those of `tickets` a maintenance schedule opened: no reporter, and `planned` in the first history line."""
    candidates = [t.id for t in tickets if t.reporter_id is None]
    if not candidates:
        return set()
    first_lines = select(func.min(TicketEvent.id)).where(TicketEvent.ticket_id.in_(candidates)).group_by(
        TicketEvent.ticket_id)
    return {event.ticket_id for event in db.session.scalars(select(TicketEvent).where(TicketEvent.id.in_(first_lines)))
            if (event.data or {}).get("planned")}


def ward_tickets(viewer: User, now: datetime, ward_id: int | None = None) -> WardTickets:
    """The viewer's ward's open tickets and those changed in the last 30 days; the control room names a ward.
    Planned work waits for the ward's confirmation only when PLANNED_WORK_NEEDS_WARD_CONFIRMATION says so:
    no nurse reported it, so nobody on the ward is waiting to say it is fixed."""
    since = now - timedelta(days=RECENT_DAYS)
    query = access.visible_tickets(viewer).where(or_(Ticket.status.in_(OPEN_STATUSES), Ticket.updated_at >= since))
    if viewer.role != "nurse":
        query = query.where(Ticket.ward_id == ward_id) if ward_id else query.where(False)
    rows = db.session.scalars(query.order_by(Ticket.created_at.desc()).limit(MOST_SHOWN)).all()
    resolved = [t for t in rows if t.status == "resolved"]
    not_asked = set() if current_app.config["PLANNED_WORK_NEEDS_WARD_CONFIRMATION"] else planned_ids(resolved)
    awaiting = [t for t in resolved if t.id not in not_asked]
    waiting_ids = {t.id for t in awaiting}
    return WardTickets(awaiting=awaiting, others=[t for t in rows if t.id not in waiting_ids])
