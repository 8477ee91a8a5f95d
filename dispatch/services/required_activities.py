"""Required activities: maintenance a standard requires, each due date with its tolerance window, done on time,
done late, or missed (Joint Commission EC.02.05.01 EP 3-4, NFPA 99/110, TSG T5001, HTM 02-01).

The window is one rule (`rule_for`, `window`), fixed on each due date's row when the date is first seen
(`record_occurrences`): the hospital midnight before its first day (`opens_at`) and after its last (`closes_at`).
Whether an occurrence is on time is one SQL expression (`state_clause`) over that row and its ticket: the
reports group by it, and the page's state for one occurrence asks the database the same question
(`state_of`), so a page and a report cannot disagree (as `licences.may_work_clause` is for licences).

Windows by interval (the issue's list, with its sources):
- every 12 months: the due date ±30 days; every 6 months: ±20; every 3 months: ±10 (Joint Commission
  EC.02.05.01, "Intervals for inspecting, testing and maintaining": annually ±30, semi-annually ±20, quarterly ±10);
- every month: any day of the due date's calendar month (the same list: monthly, "once each calendar month");
- every N days or weeks up to 15 days, among them half-monthly lift maintenance: the N days ending on the due
  date. TSG T5001 (电梯维护保养规则) asks for lift maintenance "at least once every 15 days" (每15日至少一次);
  one visit in each 15-day stretch ending on the due date is how maintenance contracts count it;
- anything else (other intervals, fixed dates): the due date itself, unless the schedule sets its own days
  before and after.
Work resolved before the window opens counts as done on time: the ticket opens `lead_days` before the due date,
and a standard's concern is the activity not slipping later. A skipped or cancelled date is missed.
"""
from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from flask_babel import gettext as _
from sqlalchemy import and_, case, func, literal, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import selectinload

from dispatch.clock import now as clock_now
from dispatch.errors import IllegalTransitionError, NotFoundError, ValidationError
from dispatch.i18n import month_label
from dispatch.services import access, recurrence
from dispatch.services.binder_section import BinderSection
from dispatch.services.certificates import kind_label
from dispatch.services.timezone import hospital_date, start_of_day
from dispatch.services.unit_of_work import write_transaction
from models import (
    AssetRegister, BreachCause, MaintenanceSchedule, PlannedOccurrence, RequiredActivity, RequiredOccurrence, Ticket,
    User, db,
)

MAX_STANDARD = 60
MAX_WINDOW_DAYS = 90
MAX_NOTE = 1000
# Standards the form offers (any other may be typed).
KNOWN_STANDARDS = ("TSG T5001", "TSG 08", "JC EC.02.05.01", "JC EC.02.05.07", "NFPA 99", "NFPA 110", "HTM 02-01",
                   "HTM 06-02", "HTM 08-02")
STATES = ("pending", "on_time", "late", "missed")
DONE_STATUSES = ("resolved", "closed")


# ---- the window ------------------------------------------------------------------------------------

@dataclass(frozen=True)
class WindowRule:
    """days before and after the due date, or the due date's calendar month."""

    name: str
    before: int = 0
    after: int = 0
    calendar_month: bool = False


MONTH_RULES = {12: WindowRule("annual", 30, 30), 6: WindowRule("six_monthly", 20, 20),
               3: WindowRule("quarterly", 10, 10), 1: WindowRule("monthly", calendar_month=True)}
SHORT_INTERVAL_DAYS = 15


def rule_for(schedule, activity) -> WindowRule:
    """The window rule of a required schedule: its own days when set, else its interval's."""
    if activity is not None and (activity.window_before_days is not None or activity.window_after_days is not None):
        return WindowRule("custom", activity.window_before_days or 0, activity.window_after_days or 0)
    if schedule.recurrence == "interval":
        unit, count = schedule.interval_unit, schedule.interval_count or 0
        if unit == "month" and count in MONTH_RULES:
            return MONTH_RULES[count]
        days = count * (7 if unit == "week" else 1) if unit in ("day", "week") else 0
        if 0 < days <= SHORT_INTERVAL_DAYS:
            return WindowRule("half_monthly" if days >= 14 else "days", days - 1, 0)
    return WindowRule("due_day")


def window(due: date, rule: WindowRule) -> tuple[date, date]:
    """The first and last hospital day an occurrence due on `due` may be done on."""
    if rule.calendar_month:
        first = due.replace(day=1)
        return first, recurrence.add_months(first, 1) - timedelta(days=1)
    return due - timedelta(days=rule.before), due + timedelta(days=rule.after)


def rule_label(rule: WindowRule) -> str:
    if rule.name == "monthly":
        return _("any day of its calendar month")
    if rule.after == 0:
        if rule.before == 0:
            return _("on its due date")
        return _("the %(n)d days ending on its due date", n=rule.before + 1)
    if rule.before == rule.after:
        return _("±%(n)d days", n=rule.before)
    return _("%(before)d days before to %(after)d days after", before=rule.before, after=rule.after)


# ---- the one state rule ---------------------------------------------------------------------------

def state_clause(occurrence, ticket, now: datetime):
    """SQL: 'on_time' (its ticket resolved before the window closed), 'late' (resolved after), 'missed' (the
    window has closed with nothing resolved: never opened, skipped, cancelled or still open) or 'pending'."""
    done = and_(ticket.status.in_(DONE_STATUSES), ticket.resolved_at.is_not(None))
    return case((and_(done, ticket.resolved_at < occurrence.closes_at), literal("on_time")),
                (done, literal("late")),
                (occurrence.closes_at <= now, literal("missed")),
                else_=literal("pending"))


def _with_ticket(query, occurrence=RequiredOccurrence):
    return (query.outerjoin(PlannedOccurrence, and_(PlannedOccurrence.schedule_id == occurrence.schedule_id,
                                                    PlannedOccurrence.due_date == occurrence.due_date))
            .outerjoin(Ticket, Ticket.id == PlannedOccurrence.ticket_id))


def state_of(occurrence_id: int, now: datetime) -> str:
    """One occurrence's state, asked of the database with the clause the reports use."""
    state = db.session.scalar(_with_ticket(select(state_clause(RequiredOccurrence, Ticket, now)).select_from(
        RequiredOccurrence)).where(RequiredOccurrence.id == occurrence_id))
    if state is None:
        raise NotFoundError(_("Required activity not found."))
    return state


# ---- marking schedules required ---------------------------------------------------------------------

def mark_required(actor: User, schedule_id: int, *, standard: str | None, before: int | None = None,
                  after: int | None = None, since: date | None = None) -> RequiredActivity:
    """Mark a schedule required by a standard (or change it). Estates managers and admins. Days before/after
    set the schedule's own window; both empty: the interval's rule."""
    access.require_role(actor, access.COMPLIANCE_EDITORS)
    name = " ".join((standard or "").split())
    if len(name) < 2:
        raise ValidationError(_("Name the standard or rule that requires it."), field="standard")
    if len(name) > MAX_STANDARD:
        raise ValidationError(_("At most %(n)d characters.", n=MAX_STANDARD), field="standard")
    for value, field_name in ((before, "window_before_days"), (after, "window_after_days")):
        if value is not None and not (0 <= value <= MAX_WINDOW_DAYS):
            raise ValidationError(_("0 to %(n)d days.", n=MAX_WINDOW_DAYS), field=field_name)
    now = clock_now()
    with write_transaction() as session:
        schedule = session.get(MaintenanceSchedule, schedule_id)
        if schedule is None:
            raise NotFoundError(_("Schedule not found."))
        activity = session.get(RequiredActivity, schedule_id)
        if activity is None:
            activity = RequiredActivity(schedule_id=schedule_id, required_since=since or hospital_date(now))
            session.add(activity)
        elif since is not None:
            activity.required_since = since
        activity.standard, activity.window_before_days, activity.window_after_days = name, before, after
        activity.updated_at = now
    record_occurrences(now)
    return activity


def unmark_required(actor: User, schedule_id: int) -> None:
    """No longer required: dates already counted stay in the record (what was owed was owed)."""
    access.require_role(actor, access.COMPLIANCE_EDITORS)
    with write_transaction() as session:
        activity = session.get(RequiredActivity, schedule_id)
        if activity is not None:
            session.delete(activity)


def activity_of(schedule_id: int) -> RequiredActivity | None:
    return db.session.get(RequiredActivity, schedule_id)


def required_schedules() -> list[tuple[MaintenanceSchedule, RequiredActivity]]:
    return list(db.session.execute(select(MaintenanceSchedule, RequiredActivity)
                                   .join(RequiredActivity, RequiredActivity.schedule_id == MaintenanceSchedule.id)
                                   .options(selectinload(MaintenanceSchedule.asset))
                                   .order_by(RequiredActivity.standard, MaintenanceSchedule.title)).all())


def standards() -> list[str]:
    """The standards in use, and the usual ones."""
    used = set(db.session.scalars(select(RequiredActivity.standard).distinct()))
    return sorted(used | set(KNOWN_STANDARDS))


# ---- recording due dates ----------------------------------------------------------------------------

def record_occurrences(now: datetime) -> int:
    """The scheduler's pass: a row for each due date of an active required schedule whose window has opened,
    with its window fixed by today's rule. The unique (schedule, due date) decides between two schedulers."""
    today = hospital_date(now)
    made = 0
    pairs = db.session.execute(select(MaintenanceSchedule, RequiredActivity)
                               .join(RequiredActivity, RequiredActivity.schedule_id == MaintenanceSchedule.id)
                               .where(MaintenanceSchedule.active.is_(True))).all()
    for schedule, activity in pairs:
        rule = rule_for(schedule, activity)
        since = activity.required_since
        known = set(db.session.scalars(select(RequiredOccurrence.due_date).where(
            RequiredOccurrence.schedule_id == schedule.id, RequiredOccurrence.due_date >= since)))
        kind = db.session.scalar(select(AssetRegister.kind).where(AssetRegister.asset_id == schedule.asset_id)) \
            if schedule.asset_id else None
        horizon = today + timedelta(days=max(rule.before, 31))
        rows = []
        for due in recurrence.due_dates(schedule, since, horizon):
            first, last = window(due, rule)
            if first > today or due in known:
                continue
            rows.append(RequiredOccurrence(
                schedule_id=schedule.id, due_date=due, window_first=first, window_last=last,
                opens_at=start_of_day(first), closes_at=start_of_day(last + timedelta(days=1)),
                standard=activity.standard, equipment_kind=kind))
        for row in rows:
            try:
                with write_transaction() as session:
                    session.add(row)
                made += 1
            except IntegrityError:
                pass  # the other scheduler recorded this date first
    return made


# ---- reading them -------------------------------------------------------------------------------------

@dataclass
class OccurrenceLine:
    occurrence: RequiredOccurrence
    schedule: MaintenanceSchedule
    ticket: Ticket | None
    state: str

    @property
    def resolved_on(self) -> date | None:
        if self.ticket is not None and self.ticket.status in DONE_STATUSES and self.ticket.resolved_at:
            return hospital_date(self.ticket.resolved_at)
        return None


def lines(first: date, last: date, now: datetime, standard: str | None = None, schedule_id: int | None = None,
          states: tuple[str, ...] | None = None) -> list[OccurrenceLine]:
    """Required occurrences due from `first` to `last`, with their ticket and state, by due date."""
    state = state_clause(RequiredOccurrence, Ticket, now).label("state")
    query = _with_ticket(select(RequiredOccurrence, MaintenanceSchedule, Ticket, state)
                         .join(MaintenanceSchedule, MaintenanceSchedule.id == RequiredOccurrence.schedule_id)) \
        .where(RequiredOccurrence.due_date >= first, RequiredOccurrence.due_date <= last) \
        .options(selectinload(MaintenanceSchedule.asset), selectinload(MaintenanceSchedule.ward),
                 selectinload(Ticket.assignee)) \
        .order_by(RequiredOccurrence.due_date, MaintenanceSchedule.title, RequiredOccurrence.id)
    if standard:
        query = query.where(RequiredOccurrence.standard == standard)
    if schedule_id:
        query = query.where(RequiredOccurrence.schedule_id == schedule_id)
    found = [OccurrenceLine(o, s, t, st) for o, s, t, st in db.session.execute(query).all()]
    return [line for line in found if states is None or line.state in states]


@dataclass
class Tally:
    label: str
    on_time: int = 0
    late: int = 0
    missed: int = 0
    pending: int = 0
    key: str | None = None

    @property
    def counted(self) -> int:
        return self.on_time + self.late + self.missed

    @property
    def pct(self) -> float | None:
        return round(100.0 * self.on_time / self.counted, 1) if self.counted else None

    def add(self, state: str, n: int) -> None:
        setattr(self, state, getattr(self, state) + n)

    def as_dict(self) -> dict:
        return {"key": self.key, "label": self.label, "on_time": self.on_time, "late": self.late, "missed": self.missed,
                "pending": self.pending, "counted": self.counted, "pct": self.pct}


@dataclass
class Compliance:
    by_month: list[Tally] = field(default_factory=list)
    by_standard: list[Tally] = field(default_factory=list)
    by_kind: list[Tally] = field(default_factory=list)
    total: Tally = field(default_factory=lambda: Tally(""))


def compliance(first: date, last: date, now: datetime, standard: str | None = None) -> Compliance:
    """On time, late, missed and pending per month (of the due date), per standard and per asset class, counted
    by the database with the one state clause."""
    state = state_clause(RequiredOccurrence, Ticket, now).label("state")
    rows = _with_ticket(select(RequiredOccurrence.standard, RequiredOccurrence.equipment_kind,
                               RequiredOccurrence.due_date, state).select_from(RequiredOccurrence)) \
        .where(RequiredOccurrence.due_date >= first, RequiredOccurrence.due_date <= last)
    if standard:
        rows = rows.where(RequiredOccurrence.standard == standard)
    # Grouped outside: PostgreSQL would take the CASE's parameters in GROUP BY for other ones than the SELECT's.
    inner = rows.subquery()
    query = select(inner.c.standard, inner.c.equipment_kind, inner.c.due_date, inner.c.state, func.count()) \
        .group_by(inner.c.standard, inner.c.equipment_kind, inner.c.due_date, inner.c.state)
    months: dict[date, Tally] = {}
    by_standard: dict[str, Tally] = {}
    by_kind: dict[str, Tally] = {}
    total = Tally(_("All"))
    for name, kind, due, st, n in db.session.execute(query).all():
        due = date.fromisoformat(due) if isinstance(due, str) else due
        month = due.replace(day=1)
        months.setdefault(month, Tally(month_label(month, short=True), key=month.isoformat())).add(st, n)
        by_standard.setdefault(name, Tally(name, key=name)).add(st, n)
        by_kind.setdefault(kind or "", Tally(kind_label(kind), key=kind)).add(st, n)
        total.add(st, n)
    return Compliance(by_month=[months[m] for m in sorted(months)],
                      by_standard=[by_standard[k] for k in sorted(by_standard)],
                      by_kind=sorted(by_kind.values(), key=lambda t: t.label), total=total)


def summary_text(tally: Tally) -> str:
    if not tally.counted:
        return _("No required activity has come to the end of its window yet.")
    return _("%(on_time)d of %(n)d on time (%(pct)s%%); %(late)d late, %(missed)d missed.", on_time=tally.on_time,
             n=tally.counted, pct=f"{tally.pct:.1f}", late=tally.late, missed=tally.missed)


# ---- breaches -----------------------------------------------------------------------------------------

def state_label(state: str) -> str:
    return {"pending": _("Window open"), "on_time": _("Done on time"), "late": _("Done late"),
            "missed": _("Missed")}[state]


def record_cause(actor: User, occurrence_id: int, cause_id: int | None, note: str | None) -> RequiredOccurrence:
    """The cause of a late or missed required activity, from the department's list of breach causes."""
    access.require_role(actor, access.COMPLIANCE_EDITORS)
    text = (note or "").strip() or None
    if text is not None and len(text) > MAX_NOTE:
        raise ValidationError(_("At most %(n)d characters.", n=MAX_NOTE), field="note")
    cause = db.session.get(BreachCause, cause_id or 0)
    if cause is None or not cause.active:
        raise ValidationError(_("Choose a cause from the list."), field="cause_id")
    now = clock_now()
    if state_of(occurrence_id, now) not in ("late", "missed"):
        raise IllegalTransitionError(_("Only a late or missed activity has a cause to record."))
    with write_transaction() as session:
        occurrence = session.get(RequiredOccurrence, occurrence_id)
        occurrence.cause_id, occurrence.cause_note = cause.id, text
        occurrence.cause_recorded_by_id, occurrence.cause_recorded_at = actor.id, now
    return occurrence


# ---- the leadership report and the binder -----------------------------------------------------------

def leadership_figures(month: date, last_day: date, now: datetime) -> dict:
    report = compliance(month, last_day, now)
    breaches = lines(month, last_day, now, states=("late", "missed"))
    return {"by_standard": [t.as_dict() for t in report.by_standard], "by_kind": [t.as_dict() for t in report.by_kind],
            "total": report.total.as_dict(),
            "breaches": [{"title": b.schedule.title, "standard": b.occurrence.standard,
                          "due": b.occurrence.due_date.isoformat(), "state": b.state,
                          "ticket": b.ticket.number if b.ticket else None,
                          "cause": b.occurrence.cause.name if b.occurrence.cause else None} for b in breaches]}


def binder_sections(start: date, end: date, standard: str | None, locale: str) -> list[BinderSection]:
    """Every required activity due in the period (of the standard): its window, when it was done and by whom,
    its result; late and missed ones are the deficiencies, with their ticket's outcome and the cause."""
    now = clock_now()
    found = lines(start, end, now, standard)
    rows, deficiencies = [], []
    tally = Tally("")
    for line in found:
        o, s, t = line.occurrence, line.schedule, line.ticket
        tally.add(line.state, 1)
        rows.append([s.title, o.standard, s.asset.tag if s.asset else s.ward.name, kind_label(o.equipment_kind),
                     o.due_date.isoformat(), f"{o.window_first.isoformat()} – {o.window_last.isoformat()}",
                     line.resolved_on.isoformat() if line.resolved_on else "",
                     t.assignee.full_name if t is not None and t.assignee else "",
                     f"#{t.number}" if t is not None else "", state_label(line.state)])
        if line.state in ("late", "missed"):
            deficiencies.append([s.title, o.due_date.isoformat(), state_label(line.state),
                                 f"#{t.number}" if t is not None else _("No ticket"),
                                 ticket_status_label(t), o.cause.name if o.cause else _("No cause recorded yet")])
    return [BinderSection(
        title=_("Required activities"),
        columns=[_("Activity"), _("Standard"), _("Asset or place"), _("Kind"), _("Due"), _("Window"), _("Done on"),
                 _("Done by"), _("Ticket"), _("Result")],
        rows=rows, deficiencies=deficiencies,
        deficiency_columns=[_("Activity"), _("Due"), _("Result"), _("Ticket"), _("Ticket outcome"), _("Cause")],
        summary=summary_text(tally))]


def ticket_status_label(ticket: Ticket | None) -> str:
    if ticket is None:
        return "—"
    return {"resolved": _("Resolved"), "closed": _("Closed"), "cancelled": _("Cancelled")}.get(
        ticket.status, _("Still open"))
