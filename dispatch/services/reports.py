"""Compliance with service targets, computed in the database (never by loading every ticket)."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from sqlalchemy import and_, case, func, or_, select

from dispatch.services.timezone import hospital_zone
from models import Ticket, Trade, db


@dataclass
class ComplianceRow:
    trade: str
    priority: int
    tickets: int
    acknowledge_met: int
    acknowledge_missed: int
    attend_met: int
    attend_missed: int
    resolve_met: int
    resolve_missed: int

    @staticmethod
    def percent(met: int, missed: int) -> float | None:
        return None if met + missed == 0 else round(100.0 * met / (met + missed), 1)

    @property
    def acknowledge_pct(self) -> float | None:
        return self.percent(self.acknowledge_met, self.acknowledge_missed)

    @property
    def attend_pct(self) -> float | None:
        return self.percent(self.attend_met, self.attend_missed)

    @property
    def resolve_pct(self) -> float | None:
        return self.percent(self.resolve_met, self.resolve_missed)


def utc_range(start: date, end: date) -> tuple[datetime, datetime]:
    """Hospital-local dates [start, end] inclusive as a UTC half-open interval."""
    zone = hospital_zone()
    return (
        datetime.combine(start, time.min, zone),
        datetime.combine(end + timedelta(days=1), time.min, zone),
    )


def _met_missed(done, due, now: datetime):
    """Met: done by the due time. Missed: done late, or not done and already past due.
    Not done and not yet due counts as neither (the outcome is not known)."""
    met = func.sum(case((and_(done.is_not(None), done <= due), 1), else_=0))
    missed = func.sum(case((or_(done > due, and_(done.is_(None), due < now)), 1), else_=0))
    return met, missed


def compliance(start: date, end: date, now: datetime) -> list[ComplianceRow]:
    """Per trade and priority, for tickets created in the date range; cancelled tickets excluded."""
    lower, upper = utc_range(start, end)
    resolve_done = func.coalesce(Ticket.made_safe_at, Ticket.resolved_at)
    ack = _met_missed(Ticket.acknowledged_at, Ticket.acknowledge_due_at, now)
    att = _met_missed(Ticket.attended_at, Ticket.attend_due_at, now)
    res = _met_missed(resolve_done, Ticket.resolve_due_at, now)
    query = (
        select(Trade.name, Ticket.priority, func.count(Ticket.id), *ack, *att, *res)
        .join(Trade, Trade.id == Ticket.trade_id)
        .where(Ticket.created_at >= lower, Ticket.created_at < upper, Ticket.status != "cancelled")
        .group_by(Trade.name, Trade.sort_order, Ticket.priority)
        .order_by(Trade.sort_order, Trade.name, Ticket.priority)
    )
    return [ComplianceRow(*(int(v or 0) if i > 0 else v for i, v in enumerate(row))) for row in db.session.execute(query)]
