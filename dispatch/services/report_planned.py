"""Planned-work compliance: per trade and month of the due date, how many planned occurrences were done
on time (resolved by the due date, hospital calendar), late, skipped, or are still open.

Compliance is on time ÷ (on time + late): skipped dates are left out (a decision, recorded with its
reason), and so are those still open before their due date (no outcome yet). A date whose ticket was
cancelled on the board without skipping the date counts as late: the work was not done.
"""
from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import select
from sqlalchemy.orm import selectinload

from dispatch.services.planned import outcome
from dispatch.services.report_filters import ReportFilter
from dispatch.services.timezone import hospital_date
from models import MaintenanceSchedule, PlannedOccurrence, Ticket, TicketChecklistItem, Trade, db


@dataclass
class PlannedRow:
    month: date | None  # first day of the month; None on the totals line
    trade: str
    due: int = 0
    on_time: int = 0
    late: int = 0
    skipped: int = 0
    open: int = 0
    unticked: int = 0  # resolved with checklist steps left unticked

    @property
    def pct(self) -> float | None:
        decided = self.on_time + self.late
        return 100.0 * self.on_time / decided if decided else None

    def add(self, result: str, unticked: bool) -> None:
        self.due += 1
        if result == "on_time":
            self.on_time += 1
        elif result in ("late_done", "overdue"):
            self.late += 1
        elif result == "skipped":
            self.skipped += 1
        else:
            self.open += 1
        self.unticked += int(unticked)


def planned_compliance(report: ReportFilter, now: datetime) -> tuple[list[PlannedRow], PlannedRow]:
    """(one row per month and trade, oldest month first; the totals)."""
    start, end = report.period()
    today = hospital_date(now)
    query = (select(PlannedOccurrence).join(MaintenanceSchedule, MaintenanceSchedule.id == PlannedOccurrence.schedule_id)
             .where(PlannedOccurrence.due_date >= start, PlannedOccurrence.due_date <= end)
             .options(selectinload(PlannedOccurrence.ticket)))
    if report.trade_id:
        query = query.where(PlannedOccurrence.trade_id == report.trade_id)
    if report.ward_id:
        query = query.where(MaintenanceSchedule.ward_id == report.ward_id)
    occurrences = list(db.session.scalars(query))
    ticket_ids = [o.ticket_id for o in occurrences if o.ticket_id]
    unticked = set()
    if ticket_ids:
        unticked = set(db.session.scalars(
            select(TicketChecklistItem.ticket_id).join(Ticket, Ticket.id == TicketChecklistItem.ticket_id)
            .where(TicketChecklistItem.ticket_id.in_(ticket_ids), TicketChecklistItem.done_at.is_(None),
                   Ticket.status.in_(("resolved", "closed"))).distinct()))
    names = dict(db.session.execute(select(Trade.id, Trade.display_name)).all())
    order = {t: i for i, t in enumerate(db.session.scalars(select(Trade.id).order_by(Trade.sort_order, Trade.display_name)))}
    rows: dict[tuple[date, int], PlannedRow] = {}
    total = PlannedRow(None, "")
    grouped = defaultdict(list)
    for o in occurrences:
        grouped[(o.due_date.replace(day=1), o.trade_id)].append(o)
    for (month, trade_id), items in grouped.items():
        row = rows[(month, trade_id)] = PlannedRow(month, names.get(trade_id, "?"))
        for o in items:
            result = outcome(o.due_date, o, o.ticket, today)
            row.add(result, o.ticket_id in unticked)
            total.add(result, o.ticket_id in unticked)
    ordered = [rows[key] for key in sorted(rows, key=lambda k: (k[0], order.get(k[1], 99)))]
    return ordered, total
