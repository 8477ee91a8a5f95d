"""A planned ticket's checklist: the steps copied from its schedule, ticked off on the page or by SMS.

Each tick (and untick) is a line in the ticket's history with who and when. Resolving with steps
still unticked is allowed (the technician knows best what the job needed) but is recorded on the
resolve event and shown in the planned-work report.
"""
from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from flask_babel import gettext as _
from sqlalchemy import func, select

from dispatch.clock import now as clock_now
from dispatch.errors import IllegalTransitionError, NotFoundError, PermissionDeniedError, ValidationError
from dispatch.services import access
from dispatch.services.unit_of_work import write_transaction
from models import OPEN_STATUSES, Ticket, TicketChecklistItem, TicketEvent, User, db

MAX_ITEM = 200
MAX_ITEMS = 30

# The SMS rule (documented in the README): a done reply whose note starts with "all" (or 全) ticks
# every step; one that starts with step numbers, "1,2,3 ok" or "1 2 3 ok" or "1、2", ticks those. The
# note is what is left of the reply once its time and parts pieces are taken out (sms.commands).
_ALL = re.compile(r"^\s*(all\b|全)", re.IGNORECASE)
# A number glued to letters or a time ("5min", "1.5h", "10:30") is not a step number.
_NUMBERS = re.compile(r"^\s*(\d{1,2}(?:\s*[,，、\s]\s*\d{1,2})*)(?![\dA-Za-z.:])")


@dataclass
class TickResult:
    ticked: int  # changed by this call
    done: int  # ticked in all
    total: int


def items_for(ticket_id: int) -> list[TicketChecklistItem]:
    return list(db.session.scalars(select(TicketChecklistItem).where(TicketChecklistItem.ticket_id == ticket_id)
                                   .order_by(TicketChecklistItem.position)))


def copy_onto(session, ticket: Ticket, steps: Iterable[str], steps_zh: Iterable[str] | None = None) -> int:
    """The schedule's steps onto its ticket, each with its Chinese text when the schedule gives one (step for step)."""
    chinese = list(steps_zh or [])
    count = 0
    for position, text in enumerate((s for s in steps if s and s.strip()), 1):
        text_zh = chinese[position - 1].strip()[:MAX_ITEM] if position <= len(chinese) and chinese[position - 1] else None
        session.add(TicketChecklistItem(ticket_id=ticket.id, position=position, text=text.strip()[:MAX_ITEM],
                                        text_zh=text_zh or None))
        count = position
    return count


def unticked_count(session, ticket_id: int) -> int:
    return session.scalar(select(func.count(TicketChecklistItem.id)).where(
        TicketChecklistItem.ticket_id == ticket_id, TicketChecklistItem.done_at.is_(None))) or 0


def note_unticked(session, made) -> None:
    """The hook while a job is resolved: allowed with steps unticked, but on record (the planned-work report
    counts jobs closed with steps unticked)."""
    unticked = unticked_count(session, made.ticket.id)
    if unticked:
        made.data["checklist_unticked"] = unticked


def positions_in_note(note: str | None, total: int) -> list[int] | None:
    """The steps a done-reply's note ticks (see the rule above), or None when it names none."""
    if not note or total == 0:
        return None
    if _ALL.match(note):
        return list(range(1, total + 1))
    match = _NUMBERS.match(note)
    if not match:
        return None
    numbers = sorted({int(n) for n in re.findall(r"\d+", match.group(1))})
    return [n for n in numbers if 1 <= n <= total] or None


def _load(session, ticket_id: int, actor: User) -> Ticket:
    ticket = session.scalars(select(Ticket).where(Ticket.id == ticket_id).with_for_update()).one_or_none()
    if ticket is None or not access.can_view(actor, ticket):
        raise NotFoundError(_("Ticket %(number)s not found.", number=ticket_id))
    if not access.may_work(actor, ticket):
        raise PermissionDeniedError(_("Ticket %(number)s is not assigned to you.", number=ticket.number))
    if ticket.status not in OPEN_STATUSES:
        raise IllegalTransitionError(_("Ticket %(number)s is finished; its checklist can no longer change.",
                                       number=ticket.number))
    return ticket


def _change(session, ticket: Ticket, actor: User, now: datetime, tick: set[int], untick: set[int],
            channel: str) -> TickResult:
    items = list(session.scalars(select(TicketChecklistItem).where(TicketChecklistItem.ticket_id == ticket.id)
                                 .order_by(TicketChecklistItem.position).with_for_update()))
    if not items:
        raise ValidationError(_("Ticket %(number)s has no checklist.", number=ticket.number), field="items")
    known = {item.position for item in items}
    if (tick | untick) - known:
        raise ValidationError(_("The checklist has steps 1 to %(n)d.", n=len(items)), field="items")
    changed = 0
    for item in items:
        if item.position in tick and item.done_at is None:
            item.done_at, item.done_by_id = now, actor.id
            kind = "checklist_ticked"
        elif item.position in untick and item.done_at is not None:
            item.done_at, item.done_by_id = None, None
            kind = "checklist_unticked"
        else:
            continue
        changed += 1
        session.add(TicketEvent(ticket_id=ticket.id, at=now, actor_id=actor.id, kind=kind, channel=channel,
                                note=f"{item.position}. {item.text}", data={"position": item.position}))
    if changed:
        ticket.updated_at = now
    done = sum(1 for item in items if item.done_at is not None)
    return TickResult(changed, done, len(items))


def tick(ticket_id: int, actor: User, positions: Iterable[int], *, channel: str = "web") -> TickResult:
    """Tick these steps (already ticked ones stay as they are). Raises NotFoundError,
    PermissionDeniedError (not the assignee or the control room), IllegalTransitionError (finished
    ticket) or ValidationError (no such step)."""
    now = clock_now()
    with write_transaction() as session:
        actor = session.get(User, actor.id)
        ticket = _load(session, ticket_id, actor)
        return _change(session, ticket, actor, now, set(positions), set(), channel)


def save_ticks(ticket_id: int, actor: User, checked: Iterable[int], *, channel: str = "web") -> TickResult:
    """The page's checklist form: exactly the `checked` steps are ticked afterwards."""
    now = clock_now()
    with write_transaction() as session:
        actor = session.get(User, actor.id)
        ticket = _load(session, ticket_id, actor)
        checked = set(checked)
        positions = set(session.scalars(select(TicketChecklistItem.position)
                                        .where(TicketChecklistItem.ticket_id == ticket.id)))
        return _change(session, ticket, actor, now, checked, positions - checked, channel)
