"""Breaches and their causes: the department's list of causes, recording the cause of a breached ticket,
and breaches counted by cause."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from flask_babel import gettext as _
from sqlalchemy import func, select

from dispatch.errors import NotFoundError, PermissionDeniedError, ValidationError
from dispatch.services import access, sla
from dispatch.services.report_filters import ReportFilter, any_missed, conditions, technician_teams
from dispatch.services.unit_of_work import write_transaction
from models import DEFAULT_BREACH_CAUSES, BreachCause, Ticket, TicketBreachCause, TicketEvent, User, db
from models.names import both_names

# Who may say why a target was missed: the control room, who saw it happen, and the managers who review it.
CAUSE_RECORDERS = tuple(dict.fromkeys(access.CONTROL_ROOM + access.REVIEWERS))
# Who keeps the list of causes.
CAUSE_KEEPERS = access.REVIEWERS
MAX_NOTE = 500


def causes(include_retired: bool = False) -> list[BreachCause]:
    query = select(BreachCause).order_by(BreachCause.sort_order, BreachCause.display_name)
    if not include_retired:
        query = query.where(BreachCause.active.is_(True))
    return list(db.session.scalars(query))


def ensure_default_causes() -> int:
    """Add the starting list when the department has no causes at all (new databases get it from the
    migration; this is for data built outside it). Returns how many were added."""
    if db.session.scalar(select(func.count(BreachCause.id))):
        return 0
    with write_transaction() as session:
        session.add_all(BreachCause(name=name, active=True, sort_order=order)
                        for order, name in enumerate(DEFAULT_BREACH_CAUSES))
    return len(DEFAULT_BREACH_CAUSES)


def _clean_names(name: str | None, name_zh: str | None) -> tuple[str, str | None]:
    """(English, Chinese): one of them in a few words (a Chinese name may be two characters)."""
    name, name_zh = both_names(" ".join((name or "").split()), " ".join((name_zh or "").split()))
    if len(name) < (2 if name == name_zh else 3):
        raise ValidationError(_("Name the cause in a few words."), field="name")
    if len(name) > 120 or len(name_zh or "") > 120:
        raise ValidationError(_("At most %(n)d characters.", n=120), field="name")
    return name, name_zh


def _name_taken(session, name: str, other_than: int | None = None) -> bool:
    query = select(BreachCause.id).where(func.lower(BreachCause.name) == name.lower())
    if other_than is not None:
        query = query.where(BreachCause.id != other_than)
    return session.scalar(query) is not None


def add_cause(name: str, actor: User, name_zh: str | None = None) -> BreachCause:
    with write_transaction() as session:
        access.require_role(session.get(User, actor.id), CAUSE_KEEPERS)
        name, name_zh = _clean_names(name, name_zh)
        if _name_taken(session, name):
            raise ValidationError(_("“%(name)s” is already on the list.", name=name), field="name")
        last = session.scalar(select(func.max(BreachCause.sort_order))) or 0
        cause = BreachCause(name=name, name_zh=name_zh, active=True, sort_order=last + 1)
        session.add(cause)
    return cause


def change_cause(cause_id: int, actor: User, *, name: str | None = None, active: bool | None = None,
                 name_zh: str | None = None) -> BreachCause:
    """Rename, retire or bring back a cause. Retired causes stay on the breaches they already explain."""
    with write_transaction() as session:
        access.require_role(session.get(User, actor.id), CAUSE_KEEPERS)
        cause = session.get(BreachCause, cause_id)
        if cause is None:
            raise NotFoundError(_("No such cause."))
        if name is not None or name_zh is not None:
            name, name_zh = _clean_names(name, name_zh)
            if _name_taken(session, name, other_than=cause.id):
                raise ValidationError(_("“%(name)s” is already on the list.", name=name), field="name")
            cause.name, cause.name_zh = name, name_zh
        if active is not None:
            cause.active = active
    return cause


def record_breach_cause(ticket_id: int, cause_id: int | None, note: str | None, actor: User,
                        now: datetime) -> TicketBreachCause:
    """Say why a breached ticket missed its target(s); a later answer replaces the earlier one, and both
    stay in the ticket's history. Raises NotFoundError, PermissionDeniedError or ValidationError."""
    with write_transaction() as session:
        actor = session.get(User, actor.id)
        ticket = session.get(Ticket, ticket_id)
        if ticket is None or not access.can_view(actor, ticket):
            raise NotFoundError(_("Ticket %(number)s not found.", number=ticket_id))
        if actor.role not in CAUSE_RECORDERS:
            raise PermissionDeniedError(_("Your role may not do this."))
        if not any(sla.live_breaches(ticket, now).values()):
            raise ValidationError(_("Ticket %(number)s has not missed a target.", number=ticket.number),
                                  field="cause_id")
        cause = session.get(BreachCause, cause_id) if cause_id else None
        record = session.get(TicketBreachCause, ticket.id)
        if cause is None or (not cause.active and (record is None or record.cause_id != cause.id)):
            raise ValidationError(_("Choose a cause from the list."), field="cause_id")
        note = " ".join((note or "").split()) or None
        if note and len(note) > MAX_NOTE:
            raise ValidationError(_("At most %(n)d characters.", n=MAX_NOTE), field="note")
        if record is None:
            record = TicketBreachCause(ticket_id=ticket.id)
            session.add(record)
        record.cause_id, record.note, record.recorded_by_id, record.recorded_at = cause.id, note, actor.id, now
        session.add(TicketEvent(ticket_id=ticket.id, at=now, actor_id=actor.id, kind="breach_cause", channel="web",
                                note=f"{cause.name}: {note}" if note else cause.name, data={"cause_id": cause.id}))
    return record


def cause_of(ticket_id: int) -> TicketBreachCause | None:
    return db.session.get(TicketBreachCause, ticket_id)


@dataclass
class CauseCount:
    cause_id: int  # 0: no cause recorded yet
    name: str
    breaches: int


def breaches_by_cause(report: ReportFilter, now: datetime) -> list[CauseCount]:
    """Breached tickets reported in the period, counted by recorded cause (uncaused first)."""
    where = conditions(report, technician_teams())
    cause = func.coalesce(TicketBreachCause.cause_id, 0)
    rows = dict(db.session.execute(
        select(cause, func.count()).select_from(Ticket)
        .outerjoin(TicketBreachCause, TicketBreachCause.ticket_id == Ticket.id)
        .where(*where, any_missed(now)).group_by(cause)
    ).all())
    names = {c.id: c.display_name for c in causes(include_retired=True)}
    counted = [CauseCount(0, _("No cause recorded yet"), int(rows.pop(0, 0)))]
    counted += sorted((CauseCount(i, names.get(i, "?"), int(n)) for i, n in rows.items()),
                      key=lambda c: (-c.breaches, c.name))
    return counted
