"""The tickets behind a report figure: the same rules as the figure, listed a page at a time or streamed to a file."""
from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import and_, exists, func, not_, select
from sqlalchemy.orm import selectinload

from dispatch.errors import ValidationError
from dispatch.services import sla
from dispatch.services.report_filters import (
    BACKLOG_AGES, TARGETS, ReportFilter, any_missed, backlog_age, conditions, done_at, first_time_fix, met, missed,
    repeat_of, technician_teams,
)
from dispatch.services.report_sql import offset_segments, out_of_hours
from dispatch.services.timezone import hospital_zone
from models import Ticket, TicketBreachCause, TicketEvent, db

OUTCOMES = {"met": _l("within target"), "missed": _l("target missed"), "done": _l("done"),
            "counted": _l("counted (within or missed)")}
# Working hours for out-of-hours call-outs: Monday to Friday, 08:00 to 17:00 hospital time.
DAY_STARTS, DAY_ENDS = 8, 17
PAGE_SIZE = 50


@dataclass(frozen=True)
class Selection:
    """Which of the filter's tickets lie behind a figure."""

    target: str | None = None     # acknowledge | attend | resolve, with an outcome
    outcome: str | None = None    # met | missed | done | counted
    backlog: str | None = None    # an age band of tickets still open
    breached: bool = False        # missed at least one target
    out_of_hours: bool = False    # on site outside working hours
    first_time_fix: bool | None = None  # among resolved tickets
    refused_by: int | None = None
    reassigned_from: int | None = None
    refused: bool = False         # refused at least once
    reassigned: bool = False      # reassigned at least once
    repeat: str | None = None     # asset | location: its previous fault there was within 30 days
    cause_id: int | None = None   # breaches with this cause; 0 = no cause recorded yet

    PARAMS = ("target", "outcome", "backlog", "breached", "out_of_hours", "first_time_fix", "refused_by",
              "reassigned_from", "refused", "reassigned", "repeat", "cause")

    def params(self) -> dict[str, str]:
        out = {}
        for name in self.PARAMS:
            value = getattr(self, "cause_id" if name == "cause" else name)
            if value is None or value is False:
                continue
            out[name] = "1" if value is True else str(value)
        if self.first_time_fix is False:
            out["first_time_fix"] = "0"
        return out

    def check(self) -> None:
        if (self.target is None) != (self.outcome is None):
            raise ValidationError(_("Give both a target and an outcome."), field="target")
        if self.target is not None and self.target not in TARGETS:
            raise ValidationError(_("Unknown target."), field="target")
        if self.outcome is not None and self.outcome not in OUTCOMES:
            raise ValidationError(_("Unknown outcome."), field="outcome")
        if self.backlog is not None and self.backlog not in {b[0] for b in BACKLOG_AGES}:
            raise ValidationError(_("Unknown age band."), field="backlog")
        if self.repeat is not None and self.repeat not in ("asset", "location"):
            raise ValidationError(_("Repeat faults are by asset or by location."), field="repeat")


def _selection_clauses(selection: Selection, report: ReportFilter, now: datetime) -> list:
    clauses = []
    if selection.target:
        outcome = {
            "met": met(selection.target), "missed": missed(selection.target, now),
            "done": done_at(selection.target).is_not(None),
            "counted": met(selection.target) | missed(selection.target, now),
        }[selection.outcome]
        clauses.append(outcome)
    if selection.backlog:
        clauses.append(backlog_age(selection.backlog, now))
    if selection.breached:
        clauses.append(any_missed(now))
    if selection.out_of_hours:
        lower, upper = report.utc_range()
        # Arrival can come weeks after the report (planned work): cover the period and two months beyond.
        segments = offset_segments(lower, upper + timedelta(days=62), hospital_zone())
        clauses.append(out_of_hours(Ticket.attended_at, segments, DAY_STARTS, DAY_ENDS))
    if selection.first_time_fix is not None:
        fixed = first_time_fix()
        clauses += [Ticket.resolved_at.is_not(None), fixed if selection.first_time_fix else not_(fixed)]
    if selection.refused_by is not None:
        clauses.append(_event_by("refuse", "technician_id", selection.refused_by))
    if selection.reassigned_from is not None:
        clauses.append(_event_by("reassigned", "previous_technician_id", selection.reassigned_from))
    if selection.refused:
        clauses.append(Ticket.refusal_count > 0)
    if selection.reassigned:
        clauses.append(Ticket.reassign_count > 0)
    if selection.repeat:
        clauses.append(repeat_of(selection.repeat, report))
    if selection.cause_id is not None:
        recorded = select(TicketBreachCause.ticket_id).where(TicketBreachCause.ticket_id == Ticket.id)
        clauses += [any_missed(now), not_(exists(recorded)) if selection.cause_id == 0 else
                    exists(recorded.where(TicketBreachCause.cause_id == selection.cause_id))]
    return clauses


def _event_by(kind: str, key: str, technician_id: int):
    """The ticket has a `kind` event naming this technician (refusals, reassignments away)."""
    return exists(select(TicketEvent.id).where(
        TicketEvent.ticket_id == Ticket.id, TicketEvent.kind == kind, TicketEvent.data[key].as_integer() == technician_id,
    ))


def ticket_query(report: ReportFilter, selection: Selection, now: datetime):
    where = conditions(report, technician_teams()) + _selection_clauses(selection, report, now)
    return select(Ticket).where(and_(*where))


@dataclass
class TicketLine:
    ticket: Ticket
    elapsed: dict[str, float | None]   # seconds from report to each target done
    late: dict[str, bool]
    cause: TicketBreachCause | None


@dataclass
class TicketPage:
    lines: list[TicketLine]
    total: int
    page: int
    pages: int


def _lines(tickets: list[Ticket], now: datetime) -> list[TicketLine]:
    causes = {}
    if tickets:
        causes = {c.ticket_id: c for c in db.session.scalars(
            select(TicketBreachCause).where(TicketBreachCause.ticket_id.in_([t.id for t in tickets]))
            .options(selectinload(TicketBreachCause.cause), selectinload(TicketBreachCause.recorded_by)))}
    lines = []
    for ticket in tickets:
        done = {"acknowledge": ticket.acknowledged_at, "attend": ticket.attended_at,
                "resolve": sla.resolve_done_at(ticket)}
        elapsed = {t: None if d is None else (d - ticket.created_at).total_seconds() for t, d in done.items()}
        if elapsed["resolve"] is not None:
            elapsed["resolve"] -= ticket.held_seconds or 0
        late = sla.live_breaches(ticket, now) if ticket.status != "cancelled" else {t: False for t in TARGETS}
        lines.append(TicketLine(ticket=ticket, elapsed=elapsed, late=late, cause=causes.get(ticket.id)))
    return lines


def _loaded(query):
    return query.options(selectinload(Ticket.ward), selectinload(Ticket.trade), selectinload(Ticket.assignee),
                         selectinload(Ticket.asset), selectinload(Ticket.location))


def ticket_page(report: ReportFilter, selection: Selection, now: datetime, page: int = 1,
                per_page: int = PAGE_SIZE) -> TicketPage:
    """One page of the tickets behind a figure, newest first."""
    query = ticket_query(report, selection, now)
    total = db.session.scalar(select(func.count()).select_from(query.with_only_columns(Ticket.id).subquery()))
    pages = max(1, -(-total // per_page))
    page = min(max(1, page), pages)
    tickets = list(db.session.scalars(_loaded(query).order_by(Ticket.created_at.desc(), Ticket.id.desc())
                                      .limit(per_page).offset((page - 1) * per_page)))
    return TicketPage(lines=_lines(tickets, now), total=total, page=page, pages=pages)


def all_ticket_lines(report: ReportFilter, selection: Selection, now: datetime, batch: int = 1000) -> Iterator[TicketLine]:
    """Every ticket behind a figure, oldest first, a batch at a time (exports; memory stays flat)."""
    query = ticket_query(report, selection, now).order_by(Ticket.created_at, Ticket.id)
    last = None
    while True:
        # Keyset pages rather than one long cursor: SQLite writers are not held up by an open read.
        page = query if last is None else query.where(
            (Ticket.created_at > last[0]) | and_(Ticket.created_at == last[0], Ticket.id > last[1]))
        tickets = list(db.session.scalars(_loaded(page).limit(batch)))
        if not tickets:
            return
        yield from _lines(tickets, now)
        last = (tickets[-1].created_at, tickets[-1].id)
        for ticket in tickets:
            db.session.expunge(ticket)
