"""Workload per technician, first-time fixes, refused and reassigned jobs, repeat faults, licences to renew."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta

from sqlalchemy import and_, case, distinct, func, select

from dispatch.services.licences import expiring_licences
from dispatch.services.report_filters import (
    ReportFilter, conditions, done_at, first_time_fix, repeat_of, technician_teams,
)
from dispatch.services.report_sql import offset_segments, out_of_hours
from dispatch.services.report_tickets import DAY_ENDS, DAY_STARTS
from dispatch.services.timezone import hospital_date, hospital_zone
from models import Asset, Licence, Location, Ticket, TicketEvent, Trade, User, Ward, db
from models.base import UTCDateTime



@dataclass
class WorkloadRow:
    technician_id: int
    name: str
    team: str
    jobs: int = 0
    attended: int = 0
    finished: int = 0
    labour_minutes: int = 0  # hours on site, as the technicians recorded them when finishing
    out_of_hours: int = 0
    resolved: int = 0
    first_time_fixes: int = 0
    refused: int = 0
    reassigned_away: int = 0

    @property
    def first_time_fix_pct(self) -> float | None:
        return None if not self.resolved else round(100.0 * self.first_time_fixes / self.resolved, 1)


def workload(report: ReportFilter, now: datetime) -> tuple[list[WorkloadRow], WorkloadRow]:
    """Per technician (the one holding the job at the end), for tickets reported in the period."""
    teams = technician_teams()
    where = conditions(report, teams)
    lower, upper = report.utc_range()
    segments = offset_segments(lower, upper + timedelta(days=62), hospital_zone())
    done = done_at("resolve")
    query = (
        select(
            Ticket.assignee_id, func.count(), func.count(Ticket.attended_at),
            func.sum(case((done.is_not(None), 1), else_=0)),
            func.coalesce(func.sum(Ticket.labour_minutes), 0),
            func.sum(case((out_of_hours(Ticket.attended_at, segments, DAY_STARTS, DAY_ENDS), 1), else_=0)),
            func.sum(case((Ticket.resolved_at.is_not(None), 1), else_=0)),
            func.sum(case((and_(Ticket.resolved_at.is_not(None), first_time_fix()), 1), else_=0)),
        )
        .where(*where, Ticket.assignee_id.is_not(None))
        .group_by(Ticket.assignee_id)
    )
    people = {u.id: u for u in db.session.scalars(select(User).where(User.role == "technician"))}
    trades = dict(db.session.execute(select(Trade.id, Trade.display_name)).all())
    rows: dict[int, WorkloadRow] = {}

    def row_for(technician_id: int) -> WorkloadRow:
        if technician_id not in rows:
            person = people.get(technician_id) or db.session.get(User, technician_id)
            rows[technician_id] = WorkloadRow(technician_id, person.full_name if person else "?",
                                              trades.get(teams.of.get(technician_id), ""))
        return rows[technician_id]

    for tech_id, *values in db.session.execute(query):
        row = row_for(tech_id)
        (row.jobs, row.attended, row.finished, row.labour_minutes, row.out_of_hours,
         row.resolved, row.first_time_fixes) = (int(v or 0) for v in values)
    for kind, key, attribute in (("refuse", "technician_id", "refused"),
                                 ("reassigned", "previous_technician_id", "reassigned_away")):
        technician = TicketEvent.data[key].as_integer()
        counted = db.session.execute(
            select(technician, func.count(distinct(TicketEvent.ticket_id)))
            .join(Ticket, Ticket.id == TicketEvent.ticket_id)
            .where(*where, TicketEvent.kind == kind, technician.is_not(None))
            .group_by(technician)
        )
        for tech_id, count in counted:
            setattr(row_for(int(tech_id)), attribute, int(count))
    ordered = sorted(rows.values(), key=lambda r: r.name)
    total = WorkloadRow(0, "", "")
    for name in ("jobs", "attended", "finished", "labour_minutes", "out_of_hours", "resolved",
                 "first_time_fixes", "refused", "reassigned_away"):
        setattr(total, name, sum(getattr(r, name) for r in ordered))
    return ordered, total


@dataclass
class HandoverRow:
    trade_id: int
    trade: str
    tickets: int
    refused_tickets: int
    refusals: int
    reassigned_tickets: int
    reassignments: int


def refusals_by_trade(report: ReportFilter) -> list[HandoverRow]:
    """Jobs refused or reassigned at least once, per trade, for tickets reported in the period."""
    where = conditions(report, technician_teams())
    rows = db.session.execute(
        select(Trade.id, Trade.display_name, func.count(), func.sum(case((Ticket.refusal_count > 0, 1), else_=0)),
               func.coalesce(func.sum(Ticket.refusal_count), 0), func.sum(case((Ticket.reassign_count > 0, 1), else_=0)),
               func.coalesce(func.sum(Ticket.reassign_count), 0))
        .join(Trade, Trade.id == Ticket.trade_id).where(*where)
        .group_by(Trade.id, Trade.display_name, Trade.sort_order).order_by(Trade.sort_order, Trade.display_name)
    )
    return [HandoverRow(t, name, *(int(v or 0) for v in values)) for t, name, *values in rows]


# --- repeat faults ------------------------------------------------------------------------------

@dataclass
class RepeatRow:
    key: dict[str, str]  # link parameters (asset, or location and trade)
    labels: tuple[str, ...]
    faults: int
    repeats: int
    last_fault: datetime | None


def repeat_faults(report: ReportFilter, kind: str) -> list[RepeatRow]:
    """Assets (or places, per trade) with at least one repeat fault in the period, most repeats first."""
    where = conditions(report, technician_teams())
    repeat = case((repeat_of(kind, report), 1), else_=0)
    if kind == "asset":
        query = (select(Asset.id, Asset.tag, Asset.display_name, Ward.display_name, func.count(), func.sum(repeat),
                        func.max(Ticket.created_at))
                 .join(Asset, Asset.id == Ticket.asset_id).join(Ward, Ward.id == Asset.ward_id)
                 .where(*where).group_by(Asset.id, Asset.tag, Asset.display_name, Ward.display_name))
        rows = [RepeatRow({"asset": str(i)}, (tag, name, ward), int(n), int(r or 0), last)
                for i, tag, name, ward, n, r, last in db.session.execute(query)]
    else:
        query = (select(Location.id, Ward.display_name, Location.display_name, Trade.id, Trade.display_name, func.count(), func.sum(repeat),
                        func.max(Ticket.created_at))
                 .join(Location, Location.id == Ticket.location_id).join(Ward, Ward.id == Location.ward_id)
                 .join(Trade, Trade.id == Ticket.trade_id)
                 .where(*where).group_by(Location.id, Ward.display_name, Location.display_name, Trade.id, Trade.display_name))
        rows = [RepeatRow({"location": str(lid), "trade": str(tid)}, (ward, name, trade), int(n), int(r or 0), last)
                for lid, ward, name, tid, trade, n, r, last in db.session.execute(query)]

    decode = UTCDateTime().process_result_value
    for row in rows:  # max() of a UTC column comes back raw on SQLite
        row.last_fault = decode(row.last_fault, None) if row.last_fault is not None else None
    rows = [r for r in rows if r.repeats]
    rows.sort(key=lambda r: (-r.repeats, -r.faults, r.labels))
    return rows


# --- licences -----------------------------------------------------------------------------------

@dataclass
class LicenceRow:
    licence: Licence
    days_left: int  # negative: expired that many days ago

    @property
    def expired(self) -> bool:
        return self.days_left < 0


def licences_to_renew(now: datetime, within_days: int = 30) -> list[LicenceRow]:
    """Licences expired (and not renewed) or expiring within the window, soonest first."""
    today: date = hospital_date(now)
    return [LicenceRow(lic, (lic.expires_on - today).days) for lic in expiring_licences(now, within_days)]
