"""Preventive maintenance: schedules that open P4 planned tickets on their own, ahead of their date.

The scheduler calls `open_due` every minute. Each due date of a schedule is claimed by inserting its
PlannedOccurrence row, unique on (schedule, due date), in the same transaction as the ticket: a second
scheduler inserting the same row waits for the first and then fails on the constraint (PostgreSQL),
or finds the row already there (SQLite serialises writers), and opens nothing. A restart re-reads the
rows, so nothing is opened twice and nothing due is forgotten.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from flask_babel import gettext as _
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import selectinload

from dispatch.clock import now as clock_now
from dispatch.errors import ConflictError, IllegalTransitionError, NotFoundError, ValidationError
from dispatch.services import access, checklists, recurrence, tickets
from dispatch.services.timezone import hospital_date
from dispatch.services.unit_of_work import write_transaction
from models import (
    OPEN_STATUSES, RECURRENCE_UNITS, Asset, Location, MaintenanceSchedule, PlannedOccurrence, Ticket, Trade, User,
    Ward, db,
)
from models import TicketChecklistItem
from models.names import both_names

log = logging.getLogger(__name__)

MAX_TITLE = 160
MAX_LEAD_DAYS = 90
MAX_INTERVAL = 120
MAX_FIXED_DATES = 60
MAX_MINUTES = 7 * 24 * 60


# ---- schedules -------------------------------------------------------------------------------

@dataclass
class ScheduleValues:
    """What the form (or a seed) gives; `save_schedule` checks every field."""

    title: str
    ward_id: int | None
    trade_id: int | None
    start_date: date | None
    recurrence: str = "interval"
    interval_unit: str | None = "month"
    interval_count: int | None = 1
    fixed_dates: list[date] = field(default_factory=list)
    location_id: int | None = None
    asset_id: int | None = None
    checklist: list[str] = field(default_factory=list)
    checklist_zh: list[str] = field(default_factory=list)  # the same steps in Chinese, line for line
    title_zh: str | None = None
    estimated_minutes: int | None = None
    lead_days: int = 7
    active: bool = True


def _validated(session, values: ScheduleValues) -> dict:
    title, title_zh = both_names(values.title, values.title_zh)
    if len(title) < (2 if title == title_zh else 3):
        raise ValidationError(_("Say in a few words what the job is."), field="title")
    if len(title) > MAX_TITLE or len(title_zh or "") > MAX_TITLE:
        raise ValidationError(_("At most %(n)d characters.", n=MAX_TITLE), field="title")
    ward = session.get(Ward, values.ward_id) if values.ward_id else None
    if ward is None:
        raise ValidationError(_("Choose a ward."), field="ward_id")
    if session.get(Trade, values.trade_id or 0) is None:
        raise ValidationError(_("Choose the trade that does the work."), field="trade_id")
    location_id = values.location_id or None
    if location_id:
        location = session.get(Location, location_id)
        if location is None or location.ward_id != ward.id:
            raise ValidationError(_("That room is not in this ward."), field="location_id")
    asset_id = values.asset_id or None
    if asset_id:
        asset = session.get(Asset, asset_id)
        if asset is None or asset.ward_id != ward.id:
            raise ValidationError(_("That asset is not in this ward."), field="asset_id")
    steps = [s.strip() for s in values.checklist if s and s.strip()]
    steps_zh = [s.strip() for s in values.checklist_zh if s and s.strip()]
    steps = steps or list(steps_zh)  # given only in Chinese: it stands in both, as a name does
    if len(steps_zh) > len(steps):
        raise ValidationError(_("The Chinese checklist has more steps than the checklist: one line for each step."),
                              field="checklist_zh")
    if any(len(s) > checklists.MAX_ITEM for s in steps_zh):
        raise ValidationError(_("Each checklist step at most %(n)d characters.", n=checklists.MAX_ITEM),
                              field="checklist_zh")
    if len(steps) > checklists.MAX_ITEMS:
        raise ValidationError(_("At most %(n)d checklist steps.", n=checklists.MAX_ITEMS), field="checklist")
    if any(len(s) > checklists.MAX_ITEM for s in steps):
        raise ValidationError(_("Each checklist step at most %(n)d characters.", n=checklists.MAX_ITEM),
                              field="checklist")
    minutes = values.estimated_minutes
    if minutes is not None and not (1 <= minutes <= MAX_MINUTES):
        raise ValidationError(_("Estimated minutes must be between 1 and %(n)d.", n=MAX_MINUTES),
                              field="estimated_minutes")
    if not (0 <= (values.lead_days if values.lead_days is not None else -1) <= MAX_LEAD_DAYS):
        raise ValidationError(_("Open the ticket 0 to %(n)d days ahead.", n=MAX_LEAD_DAYS), field="lead_days")
    fields = dict(title=title, title_zh=title_zh, checklist_zh=steps_zh or None, ward_id=ward.id, trade_id=values.trade_id, location_id=location_id, asset_id=asset_id,
                  checklist=steps, estimated_minutes=minutes, lead_days=values.lead_days, active=bool(values.active),
                  recurrence=values.recurrence)
    if values.recurrence == "interval":
        if values.interval_unit not in RECURRENCE_UNITS:
            raise ValidationError(_("Choose days, weeks or months."), field="interval_unit")
        if not values.interval_count or not (1 <= values.interval_count <= MAX_INTERVAL):
            raise ValidationError(_("Repeat every 1 to %(n)d days, weeks or months.", n=MAX_INTERVAL),
                                  field="interval_count")
        if values.start_date is None:
            raise ValidationError(_("Give the first due date."), field="start_date")
        fields.update(interval_unit=values.interval_unit, interval_count=values.interval_count,
                      start_date=values.start_date, fixed_dates=None)
    elif values.recurrence == "dates":
        days = sorted(set(values.fixed_dates))
        if not days:
            raise ValidationError(_("Give at least one date."), field="fixed_dates")
        if len(days) > MAX_FIXED_DATES:
            raise ValidationError(_("At most %(n)d fixed dates.", n=MAX_FIXED_DATES), field="fixed_dates")
        fields.update(interval_unit=None, interval_count=None, start_date=days[0],
                      fixed_dates=[d.isoformat() for d in days])
    else:
        raise ValidationError(_("Choose how the job repeats."), field="recurrence")
    return fields


def save_schedule(actor: User, values: ScheduleValues, schedule_id: int | None = None) -> MaintenanceSchedule:
    """Create (schedule_id None) or change a schedule. Supervisors, managers and admins. Occurrences
    already opened or skipped stay as they were; the new rule applies to the dates still to come."""
    now = clock_now()
    today = hospital_date(now)
    with write_transaction() as session:
        actor = session.get(User, actor.id)
        access.require_role(actor, access.PLANNED_EDITORS)
        fields = _validated(session, values)
        if schedule_id is None:
            schedule = MaintenanceSchedule(**fields, opens_from=today, created_at=now, updated_at=now,
                                           created_by_id=actor.id)
            session.add(schedule)
        else:
            schedule = session.scalars(select(MaintenanceSchedule).where(MaintenanceSchedule.id == schedule_id)
                                       .with_for_update()).one_or_none()
            if schedule is None:
                raise NotFoundError(_("Schedule not found."))
            if fields["active"] and not schedule.active:
                schedule.opens_from = today  # switched back on: the dates it was off are not caught up
            for name, value in fields.items():
                setattr(schedule, name, value)
            schedule.updated_at = now
        session.flush()
    return schedule


def set_active(actor: User, schedule_id: int, active: bool) -> MaintenanceSchedule:
    """Switch a schedule off (no more tickets from it) or on again (from today on)."""
    now = clock_now()
    with write_transaction() as session:
        actor = session.get(User, actor.id)
        access.require_role(actor, access.PLANNED_EDITORS)
        schedule = session.scalars(select(MaintenanceSchedule).where(MaintenanceSchedule.id == schedule_id)
                                   .with_for_update()).one_or_none()
        if schedule is None:
            raise NotFoundError(_("Schedule not found."))
        if active and not schedule.active:
            schedule.opens_from = hospital_date(now)
        schedule.active = active
        schedule.updated_at = now
    return schedule


def list_schedules(trade_id: int | None = None) -> list[MaintenanceSchedule]:
    query = (select(MaintenanceSchedule)
             .options(selectinload(MaintenanceSchedule.ward), selectinload(MaintenanceSchedule.trade),
                      selectinload(MaintenanceSchedule.asset), selectinload(MaintenanceSchedule.location))
             .order_by(MaintenanceSchedule.active.desc(), MaintenanceSchedule.trade_id, MaintenanceSchedule.title))
    if trade_id:
        query = query.where(MaintenanceSchedule.trade_id == trade_id)
    return list(db.session.scalars(query))


def get_schedule(schedule_id: int) -> MaintenanceSchedule:
    schedule = db.session.get(MaintenanceSchedule, schedule_id)
    if schedule is None:
        raise NotFoundError(_("Schedule not found."))
    return schedule


# ---- opening tickets (the scheduler) ------------------------------------------------------------

def opens_on(schedule: MaintenanceSchedule, due: date) -> date:
    return due - timedelta(days=schedule.lead_days)


def _dates_to_open(schedule: MaintenanceSchedule, today: date, opened: set[date], first: date) -> list[date]:
    return [d for d in recurrence.due_dates(schedule, first, today + timedelta(days=schedule.lead_days))
            if d not in opened]


def open_due(now: datetime) -> int:
    """Open a ticket for every occurrence whose opening day (due date less the lead days, hospital
    calendar) has come. Each in its own transaction; one that fails is logged and retried next round."""
    today = hospital_date(now)
    schedules = list(db.session.scalars(select(MaintenanceSchedule).where(MaintenanceSchedule.active.is_(True))))
    # The last date each schedule has opened or skipped: dates before it are done (opening goes in order).
    claimed = dict(db.session.execute(select(PlannedOccurrence.schedule_id, func.max(PlannedOccurrence.due_date))
                                      .where(PlannedOccurrence.state == "opened")
                                      .group_by(PlannedOccurrence.schedule_id)).all())
    work = []
    for schedule in schedules:
        first = schedule.opens_from
        last = claimed.get(schedule.id)
        if isinstance(last, str):  # SQLite hands an aggregate back as text
            last = date.fromisoformat(last)
        if last is not None and last >= first:
            first = last + timedelta(days=1)
        taken = set(db.session.scalars(select(PlannedOccurrence.due_date).where(
            PlannedOccurrence.schedule_id == schedule.id, PlannedOccurrence.due_date >= first)))
        work.append((schedule.id, _dates_to_open(schedule, today, taken, first)))
    db.session.commit()
    opened = 0
    for schedule_id, dates in work:
        for due in dates:
            try:
                opened += open_occurrence(schedule_id, due, max(now, clock_now()))
            except Exception:
                # Stop this schedule here: its later dates wait, so the dates stay opened in order.
                log.exception("planned occurrence %s of schedule %s failed; it is retried next round", due, schedule_id)
                db.session.rollback()
                break
    return opened


def open_occurrence(schedule_id: int, due: date, now: datetime) -> int:
    """Open this one occurrence's ticket, unless it is opened or skipped already. Returns 1 or 0."""

    with write_transaction() as session:
        schedule = session.get(MaintenanceSchedule, schedule_id)
        if schedule is None or not schedule.active:
            return 0
        if session.scalar(select(PlannedOccurrence.id).where(PlannedOccurrence.schedule_id == schedule_id,
                                                             PlannedOccurrence.due_date == due)) is not None:
            return 0
        occurrence = PlannedOccurrence(schedule_id=schedule_id, due_date=due, trade_id=schedule.trade_id,
                                       state="opened", opened_at=now)
        try:
            with session.begin_nested():
                session.add(occurrence)
                session.flush()
        except IntegrityError:
            return 0  # another scheduler claimed this date first (it waited on the unique index for us)
        description = _planned_description(schedule, due)
        ticket = tickets.file_planned(session, now, ward=schedule.ward, location=schedule.location, asset=schedule.asset,
                              trade=schedule.trade, description=description, schedule_id=schedule.id,
                              due_date=due.isoformat())
        occurrence.ticket_id = ticket.id
        checklists.copy_onto(session, ticket, schedule.checklist or [], schedule.checklist_zh)
    return 1


def _planned_description(schedule: MaintenanceSchedule, due: date) -> str:
    text = _("Planned: %(title)s, due %(date)s.", title=schedule.display_name, date=due.isoformat())
    if schedule.estimated_minutes:
        text += " " + _("About %(n)d minutes.", n=schedule.estimated_minutes)
    return text


# ---- skipping ---------------------------------------------------------------------------------

def skip_occurrence(actor: User, schedule_id: int, due: date, reason: str) -> PlannedOccurrence:
    """Skip one due date, with a reason (the lift is being replaced, the ward is closed). An opened
    ticket still in progress is cancelled with the same reason. Raises ValidationError (no reason, not
    a date of this schedule), IllegalTransitionError (the work is done) or ConflictError."""

    reason = (reason or "").strip()
    if len(reason) < 3:
        raise ValidationError(_("Say why this date is skipped."), field="reason")
    if len(reason) > 200:
        raise ValidationError(_("At most %(n)d characters.", n=200), field="reason")
    now = clock_now()
    with write_transaction() as session:
        actor = session.get(User, actor.id)
        access.require_role(actor, access.PLANNED_EDITORS)
        schedule = session.get(MaintenanceSchedule, schedule_id)
        if schedule is None:
            raise NotFoundError(_("Schedule not found."))
        if due not in set(recurrence.due_dates(schedule, due, due)):
            raise ValidationError(_("%(date)s is not a due date of this schedule.", date=due.isoformat()),
                                  field="due_date")
        occurrence = session.scalars(select(PlannedOccurrence).where(
            PlannedOccurrence.schedule_id == schedule_id, PlannedOccurrence.due_date == due).with_for_update()
        ).one_or_none()
        if occurrence is not None and occurrence.state == "skipped":
            raise IllegalTransitionError(_("%(date)s is already skipped.", date=due.isoformat()))
        if occurrence is not None and occurrence.ticket_id:
            ticket = session.scalars(select(Ticket).where(Ticket.id == occurrence.ticket_id).with_for_update()).one()
            if ticket.status in ("resolved", "closed"):
                raise IllegalTransitionError(_("The work for %(date)s is done (ticket %(number)s); it cannot be "
                                               "skipped.", date=due.isoformat(), number=ticket.number))
            if ticket.status in OPEN_STATUSES:
                tickets.step(session, ticket, "cancel", actor, now, channel="web",
                             note=_("Planned date skipped: %(reason)s", reason=reason))
        if occurrence is None:
            occurrence = PlannedOccurrence(schedule_id=schedule_id, due_date=due, trade_id=schedule.trade_id,
                                           state="skipped")
            try:
                with session.begin_nested():
                    session.add(occurrence)
                    session.flush()
            except IntegrityError as error:
                raise ConflictError(_("The ticket for %(date)s was opened at this moment; look again.",
                                      date=due.isoformat())) from error
        occurrence.state, occurrence.skipped_at = "skipped", now
        occurrence.skipped_by_id, occurrence.skip_reason = actor.id, reason
    return occurrence


# ---- how each occurrence stands ----------------------------------------------------------------

OUTCOMES = ("upcoming", "open", "on_time", "late_done", "overdue", "skipped")


def outcome(due: date, occurrence: PlannedOccurrence | None, ticket: Ticket | None, today: date) -> str:
    """upcoming (not opened yet), open (in progress, not yet due), on_time (resolved by the due date,
    hospital calendar), late_done (resolved after it), overdue (not resolved and the date has passed;
    a ticket cancelled without skipping the date counts here), skipped."""
    if occurrence is None:
        return "overdue" if due < today else "upcoming"
    if occurrence.state == "skipped":
        return "skipped"
    if ticket is not None and ticket.status in ("resolved", "closed") and ticket.resolved_at is not None:
        return "on_time" if hospital_date(ticket.resolved_at) <= due else "late_done"
    if ticket is None or ticket.status == "cancelled" or due < today:
        return "overdue"
    return "open"


@dataclass
class OccurrenceLine:
    due: date
    opens: date
    occurrence: PlannedOccurrence | None
    ticket: Ticket | None
    outcome: str
    schedule: MaintenanceSchedule | None = None
    checklist_done: int = 0
    checklist_total: int = 0


def schedule_occurrences(schedule: MaintenanceSchedule, now: datetime, past: int = 24,
                         upcoming: int = 6) -> tuple[list[OccurrenceLine], list[OccurrenceLine]]:
    """(the latest `past` opened or skipped occurrences, newest first; the next `upcoming` dates)."""
    today = hospital_date(now)
    rows = list(db.session.scalars(
        select(PlannedOccurrence).where(PlannedOccurrence.schedule_id == schedule.id)
        .options(selectinload(PlannedOccurrence.ticket), selectinload(PlannedOccurrence.skipped_by))
        .order_by(PlannedOccurrence.due_date.desc()).limit(past)))
    counts = _checklist_counts([r.ticket_id for r in rows if r.ticket_id])
    done = [OccurrenceLine(r.due_date, opens_on(schedule, r.due_date), r, r.ticket,
                           outcome(r.due_date, r, r.ticket, today), schedule, *counts.get(r.ticket_id, (0, 0)))
            for r in rows]
    taken = set(db.session.scalars(select(PlannedOccurrence.due_date).where(
        PlannedOccurrence.schedule_id == schedule.id, PlannedOccurrence.due_date >= today)))
    coming = []
    if schedule.active:
        start = max(today, schedule.opens_from)
        for due in recurrence.next_due_dates(schedule, start, upcoming + len(taken)):
            if due not in taken and len(coming) < upcoming:
                coming.append(OccurrenceLine(due, opens_on(schedule, due), None, None, "upcoming", schedule))
    return done, coming


def _checklist_counts(ticket_ids: list[int]) -> dict[int, tuple[int, int]]:

    if not ticket_ids:
        return {}
    rows = db.session.execute(
        select(TicketChecklistItem.ticket_id, func.count(TicketChecklistItem.done_at), func.count(TicketChecklistItem.id))
        .where(TicketChecklistItem.ticket_id.in_(ticket_ids)).group_by(TicketChecklistItem.ticket_id)).all()
    return {ticket_id: (done, total) for ticket_id, done, total in rows}


def occurrence_of_ticket(ticket_id: int) -> PlannedOccurrence | None:
    return db.session.scalar(select(PlannedOccurrence).where(PlannedOccurrence.ticket_id == ticket_id))


def late_work(now: datetime, trade_id: int | None = None, limit: int = 50) -> list[OccurrenceLine]:
    """Planned dates that have passed with their ticket still not resolved, oldest first."""
    today = hospital_date(now)
    query = (select(PlannedOccurrence).join(Ticket, Ticket.id == PlannedOccurrence.ticket_id)
             .where(PlannedOccurrence.state == "opened", PlannedOccurrence.due_date < today,
                    Ticket.status.in_(OPEN_STATUSES))
             .options(selectinload(PlannedOccurrence.ticket).selectinload(Ticket.assignee),
                      selectinload(PlannedOccurrence.schedule).selectinload(MaintenanceSchedule.ward))
             .order_by(PlannedOccurrence.due_date, PlannedOccurrence.id).limit(limit))
    if trade_id:
        query = query.where(PlannedOccurrence.trade_id == trade_id)
    rows = list(db.session.scalars(query))
    counts = _checklist_counts([r.ticket_id for r in rows])
    return [OccurrenceLine(r.due_date, opens_on(r.schedule, r.due_date), r, r.ticket, "overdue", r.schedule,
                           *counts.get(r.ticket_id, (0, 0))) for r in rows]


# ---- the calendar -------------------------------------------------------------------------------

def week_start(day: date) -> date:
    return day - timedelta(days=day.weekday())


@dataclass
class Calendar:
    weeks: list[date]  # Mondays
    trades: list[Trade]
    cells: dict[tuple[date, int], list[OccurrenceLine]]
    today: date

    def cell(self, monday: date, trade_id: int) -> list[OccurrenceLine]:
        return self.cells.get((monday, trade_id), [])


def calendar(now: datetime, first_monday: date, weeks: int, trade_id: int | None = None) -> Calendar:
    """Planned work per trade and ISO week: opened and skipped occurrences with their tickets, and the
    dates still to open for active schedules."""
    today = hospital_date(now)
    last = first_monday + timedelta(days=7 * weeks - 1)
    trades = list(db.session.scalars(select(Trade).order_by(Trade.sort_order, Trade.display_name)))
    if trade_id:
        trades = [t for t in trades if t.id == trade_id]
    wanted = {t.id for t in trades}
    cells: dict[tuple[date, int], list[OccurrenceLine]] = {}

    def put(line: OccurrenceLine, trade: int) -> None:
        if trade in wanted:
            cells.setdefault((week_start(line.due), trade), []).append(line)

    rows = list(db.session.scalars(
        select(PlannedOccurrence).where(PlannedOccurrence.due_date >= first_monday, PlannedOccurrence.due_date <= last)
        .options(selectinload(PlannedOccurrence.ticket).selectinload(Ticket.assignee),
                 selectinload(PlannedOccurrence.schedule).selectinload(MaintenanceSchedule.ward))))
    taken = {(r.schedule_id, r.due_date) for r in rows}
    counts = _checklist_counts([r.ticket_id for r in rows if r.ticket_id])
    for r in rows:
        put(OccurrenceLine(r.due_date, opens_on(r.schedule, r.due_date), r, r.ticket,
                           outcome(r.due_date, r, r.ticket, today), r.schedule, *counts.get(r.ticket_id, (0, 0))),
            r.trade_id)
    for schedule in db.session.scalars(select(MaintenanceSchedule).where(MaintenanceSchedule.active.is_(True))
                                       .options(selectinload(MaintenanceSchedule.ward))):
        for due in recurrence.due_dates(schedule, max(first_monday, schedule.opens_from, today), last):
            if (schedule.id, due) not in taken:
                put(OccurrenceLine(due, opens_on(schedule, due), None, None, "upcoming", schedule), schedule.trade_id)
    for lines in cells.values():
        lines.sort(key=lambda line: (line.due, line.schedule.display_name if line.schedule else ""))
    return Calendar([first_monday + timedelta(days=7 * i) for i in range(weeks)], trades, cells, today)
