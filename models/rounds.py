"""Check forms: the items of an inspection round (巡检) or of a test record (the generator's monthly test),
each pass/fail or a reading with limits, and the records of each time a form is filled in."""
from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import (
    Boolean, CheckConstraint, Date, Float, ForeignKey, Index, Integer, String, UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from models.base import UTCDateTime, db

# A round walks a route of places and assets; a test record is one piece of plant put through its test.
FORM_KINDS = ("round", "test")
# A check is passed or failed by the technician; a reading passes when it lies within its limits.
ITEM_KINDS = ("check", "reading")


class CheckForm(db.Model):
    """What is checked, in order, and when (the maintenance schedule it follows, if any)."""

    __tablename__ = "check_form"
    __table_args__ = (CheckConstraint("kind IN ('round', 'test')", name="kind_known"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(10))
    title: Mapped[str] = mapped_column(String(160))
    # Where a failed item's corrective ticket goes when the item names no asset or room of its own.
    ward_id: Mapped[int] = mapped_column(ForeignKey("ward.id"))
    trade_id: Mapped[int] = mapped_column(ForeignKey("trade.id"), index=True)
    # The standard or rule the form answers to, as the inspector reads it ("NFPA 110", "TSG T5001").
    standard: Mapped[str | None] = mapped_column(String(60))
    # Its due dates: the planned-work schedule's (one recurrence for all planned work); none: done when needed.
    schedule_id: Mapped[int | None] = mapped_column(ForeignKey("maintenance_schedule.id"), unique=True)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)

    ward: Mapped["Ward"] = relationship()  # noqa: F821
    trade: Mapped["Trade"] = relationship()  # noqa: F821
    schedule: Mapped["MaintenanceSchedule | None"] = relationship()  # noqa: F821
    items: Mapped[list["CheckItem"]] = relationship(
        primaryjoin="and_(CheckItem.form_id == CheckForm.id, CheckItem.retired_at.is_(None))",
        order_by="CheckItem.position", viewonly=True)


class CheckItem(db.Model):
    """One stop and question of a form. Changing a form retires its items and adds new ones, so the
    records already made keep the items they answered."""

    __tablename__ = "check_item"
    __table_args__ = (
        CheckConstraint("kind IN ('check', 'reading')", name="kind_known"),
        CheckConstraint("min_value IS NULL OR max_value IS NULL OR min_value <= max_value", name="limits_in_order"),
        Index("ix_check_item_form_position", "form_id", "position"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    form_id: Mapped[int] = mapped_column(ForeignKey("check_form.id"))
    position: Mapped[int] = mapped_column(Integer)  # 1, 2, 3 ... as the SMS numbers them
    label: Mapped[str] = mapped_column(String(160))
    kind: Mapped[str] = mapped_column(String(10))
    unit: Mapped[str | None] = mapped_column(String(20))
    # Inclusive: a reading equal to a limit passes (NFPA 110: "at least 30 minutes", "within 10 seconds").
    min_value: Mapped[float | None] = mapped_column(Float)
    max_value: Mapped[float | None] = mapped_column(Float)
    # The stop on a round's route: an asset, or a room.
    asset_id: Mapped[int | None] = mapped_column(ForeignKey("asset.id"))
    location_id: Mapped[int | None] = mapped_column(ForeignKey("location.id"))
    retired_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    asset: Mapped["Asset | None"] = relationship()  # noqa: F821
    location: Mapped["Location | None"] = relationship()  # noqa: F821


class CheckRecord(db.Model):
    """One filling-in of a form. Unique per form and due date: a page sent twice, an SMS the network
    delivered twice or two technicians at once make one record, and so one ticket per failed item."""

    __tablename__ = "check_record"
    __table_args__ = (UniqueConstraint("form_id", "due_date", name="uq_check_record_form_due"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    form_id: Mapped[int] = mapped_column(ForeignKey("check_form.id"))
    # The due date it answers: the first of the form's due dates on or after the day it was done
    # (hospital calendar); the day itself for a form without a schedule.
    due_date: Mapped[date] = mapped_column(Date)
    done_at: Mapped[datetime] = mapped_column(UTCDateTime)
    done_by_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"))
    channel: Mapped[str] = mapped_column(String(10))
    failed_count: Mapped[int] = mapped_column(Integer, default=0)

    form: Mapped[CheckForm] = relationship()
    done_by: Mapped["User"] = relationship()  # noqa: F821
    results: Mapped[list["CheckResult"]] = relationship(back_populates="record", order_by="CheckResult.position")


class CheckResult(db.Model):
    """The answer to one item, with the item's words and limits as they were, and the corrective
    ticket a failed answer opened (opened in the record's own transaction, so exactly one)."""

    __tablename__ = "check_result"
    __table_args__ = (UniqueConstraint("record_id", "item_id", name="uq_check_result_record_item"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    record_id: Mapped[int] = mapped_column(ForeignKey("check_record.id"))
    item_id: Mapped[int] = mapped_column(ForeignKey("check_item.id"))
    position: Mapped[int] = mapped_column(Integer)
    label: Mapped[str] = mapped_column(String(160))
    unit: Mapped[str | None] = mapped_column(String(20))
    min_value: Mapped[float | None] = mapped_column(Float)
    max_value: Mapped[float | None] = mapped_column(Float)
    reading: Mapped[float | None] = mapped_column(Float)
    passed: Mapped[bool] = mapped_column(Boolean)
    note: Mapped[str | None] = mapped_column(String(200))
    ticket_id: Mapped[int | None] = mapped_column(ForeignKey("ticket.id"), unique=True)

    record: Mapped[CheckRecord] = relationship(back_populates="results")
    item: Mapped[CheckItem] = relationship()
    ticket: Mapped["Ticket | None"] = relationship()  # noqa: F821
