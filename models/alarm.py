"""Machine reports: the admin's map of alarm points, and every alarm message as received."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, CheckConstraint, ForeignKey, Index, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from models.base import UTCDateTime, db

ALARM_STATES = ("active", "cleared")
SEVERITIES = ("critical", "major", "minor", "warning")


class AlarmPoint(db.Model):
    """One point of a building-management or medical-gas panel, mapped by the admin to a place,
    a trade and a priority. Also holds the point's current alarm, so a repeat adds to its ticket."""

    __tablename__ = "alarm_point"
    __table_args__ = (
        UniqueConstraint("source", "point_id"),
        CheckConstraint("priority IS NULL OR priority BETWEEN 1 AND 4", name="priority_range"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    source: Mapped[str] = mapped_column(String(60))
    point_id: Mapped[str] = mapped_column(String(120))
    ward_id: Mapped[int] = mapped_column(ForeignKey("ward.id"))
    asset_id: Mapped[int | None] = mapped_column(ForeignKey("asset.id"))
    trade_id: Mapped[int] = mapped_column(ForeignKey("trade.id"))
    # NULL: proposed like a nurse's report of the whole area.
    priority: Mapped[int | None] = mapped_column(Integer)
    description: Mapped[str] = mapped_column(String(200))
    # The ticket of the point's current alarm, while it is open; repeats are counted on it.
    ticket_id: Mapped[int | None] = mapped_column(ForeignKey("ticket.id"))
    occurrences: Mapped[int] = mapped_column(Integer, default=0)
    alarm_active: Mapped[bool] = mapped_column(Boolean, default=False)
    last_alarm_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    ward: Mapped["Ward"] = relationship()  # noqa: F821
    asset: Mapped["Asset | None"] = relationship()  # noqa: F821
    trade: Mapped["Trade"] = relationship()  # noqa: F821
    ticket: Mapped["Ticket | None"] = relationship()  # noqa: F821


class Alarm(db.Model):
    """One alarm message as a panel sent it, and what became of it (opened, repeat, cleared, unmapped)."""

    __tablename__ = "alarm"
    __table_args__ = (Index("ix_alarm_source_point", "source", "point_id"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    source: Mapped[str] = mapped_column(String(60))
    point_id: Mapped[str] = mapped_column(String(120))
    asset_id: Mapped[int | None] = mapped_column(Integer)  # as sent; may name no known asset
    condition: Mapped[str] = mapped_column(String(200))
    severity: Mapped[str] = mapped_column(String(10))
    state: Mapped[str] = mapped_column(String(10))
    occurred_at: Mapped[datetime] = mapped_column(UTCDateTime)
    received_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    sender_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    alarm_point_id: Mapped[int | None] = mapped_column(ForeignKey("alarm_point.id"), index=True)
    ticket_id: Mapped[int | None] = mapped_column(ForeignKey("ticket.id"), index=True)
    outcome: Mapped[str] = mapped_column(String(20))
    alarm_point: Mapped[AlarmPoint | None] = relationship()
