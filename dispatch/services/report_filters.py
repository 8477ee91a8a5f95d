"""What a report covers (period, trade, ward, technician, team...) and the rules for met, missed and elapsed.

Every report and every drill-down list builds its SQL from here, so a figure and the tickets behind it
always agree.
"""
from __future__ import annotations

from dataclasses import dataclass, field, fields, replace
from datetime import date, datetime, time, timedelta

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import Integer, and_, case, cast, exists, func, literal, not_, or_, select

from dispatch.errors import ValidationError
from dispatch.services.report_sql import days_before, seconds_between
from dispatch.services.timezone import hospital_zone
from models import OPEN_STATUSES, Asset, Licence, Location, Ticket, Trade, User, Ward, db, trade_licence_type
from dispatch.i18n import month_label

# A fault within this long after another of the same asset (or place and trade) is a repeat.
REPEAT_WITHIN = timedelta(days=30)

TARGETS = ("acknowledge", "attend", "resolve")
# Open tickets by age: (key, from days, to days).
BACKLOG_AGES = (("day", 0, 1), ("week", 1, 7), ("month", 7, 30), ("older", 30, None))
# Ten years is the longest period a page computes (older history stays in the database).
MAX_DAYS = 3660
# The binder and the check forms' figures draw every line: three years at most.
LINE_BY_LINE_DAYS = 3 * 366
_LONGEST = {MAX_DAYS: _l("Choose at most ten years."), LINE_BY_LINE_DAYS: _l("Choose at most three years.")}


@dataclass(frozen=True)
class ReportFilter:
    """The tickets a report counts: reported in [start, end] (hospital dates), cancelled ones never.

    technician_id 0 means "not assigned"; team_id 0 means "no team". month narrows the period to one
    hospital-time month (drill-down from a monthly figure).
    """

    start: date
    end: date
    trade_id: int | None = None
    priority: int | None = None
    ward_id: int | None = None
    technician_id: int | None = None
    team_id: int | None = None
    month: date | None = None
    asset_id: int | None = None
    location_id: int | None = None

    # Query-string names, shared by the pages, the links and the exports.
    PARAMS = {"trade_id": "trade", "priority": "priority", "ward_id": "ward", "technician_id": "technician",
              "team_id": "team", "asset_id": "asset", "location_id": "location"}

    def period(self) -> tuple[date, date]:
        if self.month is None:
            return self.start, self.end
        following = (self.month.replace(day=28) + timedelta(days=4)).replace(day=1)
        return max(self.start, self.month), min(self.end, following - timedelta(days=1))

    def utc_range(self) -> tuple[datetime, datetime]:
        return utc_range(*self.period())

    def params(self) -> dict[str, str]:
        """Query parameters that reproduce this filter (for links and exports)."""
        out = {"start": self.start.isoformat(), "end": self.end.isoformat()}
        for name, param in self.PARAMS.items():
            value = getattr(self, name)
            if value is not None:
                out[param] = str(value)
        if self.month is not None:
            out["month"] = self.month.strftime("%Y-%m")
        return out

    def narrowed(self, **changes) -> ReportFilter:
        return replace(self, **changes)

    def is_narrowed(self) -> bool:
        return any(getattr(self, f.name) is not None for f in fields(self) if f.name not in ("start", "end"))


def utc_range(start: date, end: date) -> tuple[datetime, datetime]:
    """Hospital-local dates [start, end] inclusive as a UTC half-open interval."""
    zone = hospital_zone()
    return (
        datetime.combine(start, time.min, zone),
        datetime.combine(end + timedelta(days=1), time.min, zone),
    )


@dataclass
class Teams:
    """A technician's team is the trade of the licence they have held longest (the earliest issued);
    the model has no team of its own. Technicians without a licence belong to no team."""

    of: dict[int, int] = field(default_factory=dict)

    def members(self, team_id: int) -> list[int]:
        return [tech for tech, team in self.of.items() if team == team_id]

    def expression(self, assignee):
        """SQL: the team (a trade id) of the ticket's technician, 0 for none."""
        if not self.of:
            return literal(0)
        return case(self.of, value=assignee, else_=0)


def technician_teams() -> Teams:
    rows = db.session.execute(
        select(Licence.technician_id, trade_licence_type.c.trade_id)
        .join(trade_licence_type, trade_licence_type.c.licence_type_id == Licence.licence_type_id)
        .join(Trade, Trade.id == trade_licence_type.c.trade_id)
        .order_by(Licence.technician_id, Licence.issued_on, Licence.id, Trade.sort_order, Trade.id)
    )
    teams: dict[int, int] = {}
    for technician_id, trade_id in rows:
        teams.setdefault(technician_id, trade_id)
    return Teams(teams)


def check_period(start: date, end: date, longest_days: int = MAX_DAYS) -> None:
    """The one rule for a period of hospital days someone asks for (reports, the binder, compliance figures, the
    interruption log): it runs forwards and is not longer than `longest_days` (MAX_DAYS or LINE_BY_LINE_DAYS)."""
    if start > end:
        raise ValidationError(_("The start date is after the end date."), field="end")
    if (end - start).days > longest_days:
        raise ValidationError(str(_LONGEST[longest_days]), field="end")


def check_filter(report: ReportFilter) -> None:
    """Raise ValidationError naming the field when the filter names something that does not exist."""
    check_period(report.start, report.end)
    if report.priority is not None and report.priority not in (1, 2, 3, 4):
        raise ValidationError(_("Priority must be 1 to 4."), field="priority")
    lookups = (("trade_id", Trade, _("No such trade.")), ("ward_id", Ward, _("No such ward.")),
               ("team_id", Trade, _("No such team.")), ("asset_id", Asset, _("No such asset.")),
               ("location_id", Location, _("No such room or place.")))
    for name, model, message in lookups:
        value = getattr(report, name)
        if value and db.session.get(model, value) is None:
            raise ValidationError(message, field=ReportFilter.PARAMS[name])
    if report.technician_id:
        person = db.session.get(User, report.technician_id)
        if person is None or person.role != "technician":
            raise ValidationError(_("No such technician."), field="technician")


# --- the rules for each target ---------------------------------------------------------------------

def done_at(target: str):
    """When the target was met or missed: making safe meets the 'resolve or make safe' target."""
    return {
        "acknowledge": Ticket.acknowledged_at,
        "attend": Ticket.attended_at,
        "resolve": func.coalesce(Ticket.made_safe_at, Ticket.resolved_at),
    }[target]


def due_at(target: str):
    return {"acknowledge": Ticket.acknowledge_due_at, "attend": Ticket.attend_due_at,
            "resolve": Ticket.resolve_due_at}[target]


def met(target: str):
    """Done by the due time; done exactly at the due time is on time."""
    done = done_at(target)
    return and_(done.is_not(None), done <= due_at(target))


def missed(target: str, now: datetime):
    """Done late, or not done and already past due. Not done and not yet due is neither: its outcome is
    not known. On hold, the resolve clock stands still: late only if it was late when the hold began
    (as on the board and the ticket page)."""
    done, due = done_at(target), due_at(target)
    if target != "resolve":
        return or_(done > due, and_(done.is_(None), due < now))
    running = and_(Ticket.status != "on_hold", due < now)
    paused_late = and_(Ticket.status == "on_hold", Ticket.on_hold_since > due)
    return or_(done > due, and_(done.is_(None), or_(running, paused_late)))


def any_missed(now: datetime):
    return or_(*(missed(t, now) for t in TARGETS))


def elapsed(target: str):
    """Seconds from the report to the target being met; time on hold does not count towards resolving."""
    seconds = seconds_between(done_at(target), Ticket.created_at)
    return seconds - Ticket.held_seconds if target == "resolve" else seconds


# Attend time as a share of the ticket's own target: (label, upper bound in % of target, None = above).
ATTEND_BANDS = ((25, "≤ 25%"), (50, "26–50%"), (75, "51–75%"), (100, "76–100%"),
                (150, "101–150%"), (200, "151–200%"), (300, "201–300%"), (None, "> 300%"))


def attend_band(seconds, target_seconds, within):
    """SQL: the ATTEND_BANDS index of an attend time (-1: not on site yet). The band edges compare whole
    seconds; within target or not is decided on the exact times, as everywhere else, so a ticket on site
    within target is in one of the bands up to 100 % and a late one above it, whatever the rounding."""
    edges = [edge for edge, _ in ATTEND_BANDS if edge is not None]
    ratio_band = case(*[(seconds * 100 <= target_seconds * edge, literal(i)) for i, edge in enumerate(edges)],
                      else_=literal(len(edges)))
    within_band = case((ratio_band < 3, ratio_band), else_=literal(3))
    late_band = case((ratio_band > 4, ratio_band), else_=literal(4))
    return cast(case((seconds.is_(None), literal(-1)), (within == 1, within_band), else_=late_band), Integer)


def backlog_age(key: str, now: datetime):
    """Open now, and reported within this age band."""
    _, low, high = next(b for b in BACKLOG_AGES if b[0] == key)
    conditions = [Ticket.status.in_(OPEN_STATUSES), Ticket.created_at <= now - timedelta(days=low)]
    if high is not None:
        conditions.append(Ticket.created_at > now - timedelta(days=high))
    return and_(*conditions)


def first_time_fix():
    """Fixed at the first visit: not reopened, never on hold for parts or access, not made safe first."""
    return and_(Ticket.reopen_count == 0, Ticket.held_seconds == 0, Ticket.made_safe_at.is_(None))


def narrowing(report: ReportFilter) -> list:
    """WHERE clauses for the filter's trade, priority, ward, asset, place and technician (0: not assigned)."""
    clauses = []
    for name, column in (("trade_id", Ticket.trade_id), ("priority", Ticket.priority), ("ward_id", Ticket.ward_id),
                         ("asset_id", Ticket.asset_id), ("location_id", Ticket.location_id)):
        value = getattr(report, name)
        if value is not None:
            clauses.append(column == value)
    if report.technician_id is not None:
        clauses.append(Ticket.assignee_id.is_(None) if report.technician_id == 0
                       else Ticket.assignee_id == report.technician_id)
    return clauses


def conditions(report: ReportFilter, teams: Teams, dated: bool = True) -> list:
    """WHERE clauses for the tickets a report counts (dated=False: all but the period)."""
    lower, upper = report.utc_range()
    clauses = [Ticket.status != "cancelled"]
    if dated:
        clauses += [Ticket.created_at >= lower, Ticket.created_at < upper]
    clauses += narrowing(report)
    if report.team_id is not None:
        if report.team_id == 0:
            clauses.append(or_(Ticket.assignee_id.is_(None), not_(Ticket.assignee_id.in_(list(teams.of) or [-1]))))
        else:
            clauses.append(Ticket.assignee_id.in_(teams.members(report.team_id) or [-1]))
    return clauses


@dataclass
class Choices:
    """What the filter forms offer."""

    trades: list[Trade]
    wards: list[Ward]
    technicians: list[User]


def filter_choices() -> Choices:
    return Choices(
        trades=list(db.session.scalars(select(Trade).order_by(Trade.sort_order, Trade.display_name))),
        wards=list(db.session.scalars(select(Ward).order_by(Ward.display_name))),
        technicians=list(db.session.scalars(select(User).where(User.role == "technician").order_by(User.full_name))),
    )


def describe(report: ReportFilter) -> list[str]:
    """The narrowing filters in words, for page titles: ['Power', 'P2', 'ICU', ...]."""

    words = []
    if report.trade_id:
        words.append(db.session.get(Trade, report.trade_id).name)
    if report.priority:
        words.append(f"P{report.priority}")
    if report.ward_id:
        words.append(db.session.get(Ward, report.ward_id).name)
    if report.technician_id is not None:
        words.append(db.session.get(User, report.technician_id).full_name if report.technician_id
                     else _("not assigned"))
    if report.team_id is not None:
        words.append(_("team %(trade)s", trade=db.session.get(Trade, report.team_id).name) if report.team_id
                     else _("no team"))
    if report.asset_id:
        asset = db.session.get(Asset, report.asset_id)
        words.append(f"{asset.tag} {asset.display_name}")
    if report.location_id:
        location = db.session.get(Location, report.location_id)
        words.append(f"{location.ward.display_name} · {location.display_name}")
    if report.month:
        words.append(month_label(report.month))
    return words


def repeat_of(kind: str, report: ReportFilter):
    """SQL: the same asset (or the same place and trade) had a fault in the 30 days before this one.

    One definition for the counts and for the tickets listed behind them; cancelled reports do not count.
    Worked out once for the report's period rather than ticket by ticket: the faults of the period and
    the 30 days before it in (asset | place and trade, reported, number) order, each compared with the one
    just before it. The latest earlier fault is within 30 days exactly when any earlier one is, so this is
    the same as looking back from every ticket, without a probe of the index (and of the table, for the
    status) for each of a quarter's tickets.
    """
    lower, upper = report.utc_range()
    same = [Ticket.asset_id] if kind == "asset" else [Ticket.location_id, Ticket.trade_id]
    previous = func.lag(Ticket.created_at).over(partition_by=same, order_by=(Ticket.created_at, Ticket.id))
    faults = (select(Ticket.id.label("id"), Ticket.created_at.label("created_at"), previous.label("previous"))
              .where(*[column.is_not(None) for column in same], Ticket.status != "cancelled",
                     Ticket.created_at >= lower - REPEAT_WITHIN - timedelta(days=1), Ticket.created_at < upper)
              .subquery("faults"))
    repeats = select(faults.c.id).where(
        faults.c.previous.is_not(None), faults.c.previous >= days_before(faults.c.created_at, REPEAT_WITHIN.days))
    return Ticket.id.in_(repeats)
