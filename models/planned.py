"""Preventive maintenance: schedules, the occurrences they open as planned tickets, and ticket checklists."""
from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import JSON, Boolean, CheckConstraint, Date, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from models.names import Bilingual
from models.base import UTCDateTime, db

# Every N days, weeks or months from the start date, or on a list of fixed dates.
RECURRENCE_UNITS = ("day", "week", "month")
RECURRENCE_KINDS = ("interval", "dates")
OCCURRENCE_STATES = ("opened", "skipped")


class MaintenanceSchedule(Bilingual, db.Model):
    """A recurring job on a place or an asset (the monthly lift inspection, the weekly gas-alarm test)."""

    __tablename__ = "maintenance_schedule"
    __table_args__ = (
        CheckConstraint("interval_count IS NULL OR interval_count >= 1", name="interval_positive"),
        CheckConstraint("lead_days >= 0", name="lead_days_positive"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    title: Mapped[str] = mapped_column(String(160))
    bilingual_field = "title"
    title_zh: Mapped[str | None] = mapped_column(String(160))
    ward_id: Mapped[int] = mapped_column(ForeignKey("ward.id"), index=True)
    location_id: Mapped[int | None] = mapped_column(ForeignKey("location.id"))
    asset_id: Mapped[int | None] = mapped_column(ForeignKey("asset.id"), index=True)
    trade_id: Mapped[int] = mapped_column(ForeignKey("trade.id"), index=True)
    # The steps the technician ticks off, in order; copied onto each ticket when it opens.
    checklist: Mapped[list] = mapped_column(JSON, default=list)
    # The same steps in Chinese, step for step (a blank one falls back to the English step).
    checklist_zh: Mapped[list | None] = mapped_column(JSON)
    estimated_minutes: Mapped[int | None] = mapped_column(Integer)
    recurrence: Mapped[str] = mapped_column(String(10), default="interval")
    interval_unit: Mapped[str | None] = mapped_column(String(10))
    interval_count: Mapped[int | None] = mapped_column(Integer)
    start_date: Mapped[date] = mapped_column(Date)
    # ISO dates (hospital calendar) for recurrence == "dates".
    fixed_dates: Mapped[list | None] = mapped_column(JSON)
    # The ticket opens this many days before the due date, so the work can be planned into the week.
    lead_days: Mapped[int] = mapped_column(Integer, default=7)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    # Occurrences due before this date are never opened: set when the schedule is created or
    # switched back on, so a schedule does not flood the board with its past.
    opens_from: Mapped[date] = mapped_column(Date)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))

    ward: Mapped["Ward"] = relationship()  # noqa: F821
    location: Mapped["Location | None"] = relationship()  # noqa: F821
    asset: Mapped["Asset | None"] = relationship()  # noqa: F821
    trade: Mapped["Trade"] = relationship()  # noqa: F821

    @property
    def place(self) -> str:
        parts = [self.ward.display_name if self.ward else ""]
        if self.location:
            parts.append(self.location.display_name)
        if self.asset:
            parts.append(f"{self.asset.display_name} ({self.asset.tag})")
        return " · ".join(p for p in parts if p)


class PlannedOccurrence(db.Model):
    """One due date of a schedule, once it is opened (a ticket) or skipped. The unique (schedule,
    due date) is what keeps two schedulers, or a restarted one, from opening the same date twice."""

    __tablename__ = "planned_occurrence"
    __table_args__ = (
        UniqueConstraint("schedule_id", "due_date", name="uq_planned_occurrence_schedule_due"),
        Index("ix_planned_occurrence_due_trade", "due_date", "trade_id"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    schedule_id: Mapped[int] = mapped_column(ForeignKey("maintenance_schedule.id"))
    due_date: Mapped[date] = mapped_column(Date)
    # The trade when it was opened or skipped: reports count it there even if the schedule changes.
    trade_id: Mapped[int] = mapped_column(ForeignKey("trade.id"))
    state: Mapped[str] = mapped_column(String(10))
    ticket_id: Mapped[int | None] = mapped_column(ForeignKey("ticket.id"), unique=True)
    opened_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    skipped_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    skipped_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    skip_reason: Mapped[str | None] = mapped_column(String(200))

    schedule: Mapped[MaintenanceSchedule] = relationship()
    ticket: Mapped["Ticket | None"] = relationship()  # noqa: F821
    skipped_by: Mapped["User | None"] = relationship()  # noqa: F821


class TicketChecklistItem(Bilingual, db.Model):
    """One step of a planned ticket's checklist, ticked off by the technician (page or SMS)."""

    __tablename__ = "ticket_checklist_item"
    __table_args__ = (UniqueConstraint("ticket_id", "position", name="uq_ticket_checklist_item_position"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    ticket_id: Mapped[int] = mapped_column(ForeignKey("ticket.id"), index=True)
    position: Mapped[int] = mapped_column(Integer)  # 1, 2, 3 ... as the SMS reply numbers them
    text: Mapped[str] = mapped_column(Text)
    bilingual_field = "text"
    text_zh: Mapped[str | None] = mapped_column(Text)
    done_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    done_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    done_by: Mapped["User | None"] = relationship()  # noqa: F821
