"""Statutory equipment and required activities: what the regulators ask the estates team to show.

An asset's entry in the register (its kind, whether it is a high-risk utility component, and for statutory
equipment its registration number and authority), its inspection certificates with the authority's report,
the reminders and the request-the-inspection task each certificate owes, schedules marked required by a
standard, and each required occurrence with its tolerance window."""
from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import (
    Boolean, CheckConstraint, Date, ForeignKey, Integer, LargeBinary, String, Text, UniqueConstraint,
)
from sqlalchemy.orm import Mapped, deferred, mapped_column, relationship

from models.base import UTCDateTime, db

# The asset classes the compliance reports count by. Lifts, boilers and pressure vessels are China's special
# equipment (特种设备, registered with the market regulator); the others are utility systems the Joint
# Commission's EC.02.05.01 asks to be in the inventory.
EQUIPMENT_KINDS = ("lift", "boiler", "pressure_vessel", "generator", "medical_gas", "electrical", "hvac", "fire",
                   "water", "other")
# What a certificate owes before it expires: SMS reminders to the estates managers 60 and 30 days ahead, and
# the task of asking the authority for the next inspection a month ahead (the owner's duty under TSG 08).
NOTICE_KINDS = ("remind_60", "remind_30", "request_inspection")


class AssetRegister(db.Model):
    """An asset's line in the inventory of utility components; statutory when it has a registration number."""

    __tablename__ = "asset_register"
    asset_id: Mapped[int] = mapped_column(ForeignKey("asset.id", ondelete="CASCADE"), primary_key=True)
    kind: Mapped[str] = mapped_column(String(20), default="other")
    high_risk: Mapped[bool] = mapped_column(Boolean, default=False)
    registration_number: Mapped[str | None] = mapped_column(String(60))
    authority: Mapped[str | None] = mapped_column(String(120))
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)
    asset: Mapped["Asset"] = relationship()  # noqa: F821

    @property
    def statutory(self) -> bool:
        return bool(self.registration_number)


class Certificate(db.Model):
    """An inspection certificate (定期检验合格证 / thorough examination report): valid through `valid_until`,
    a hospital day. The authority's report is kept as uploaded when it is a checked PDF, or redrawn as a JPEG."""

    __tablename__ = "certificate"
    __table_args__ = (CheckConstraint("valid_until >= inspected_on", name="valid_after_inspection"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    asset_id: Mapped[int] = mapped_column(ForeignKey("asset.id"), index=True)
    number: Mapped[str] = mapped_column(String(60))
    inspected_on: Mapped[date] = mapped_column(Date)
    valid_until: Mapped[date] = mapped_column(Date, index=True)
    # What the download URL carries: random, never the row id.
    report_id: Mapped[str | None] = mapped_column(String(40), unique=True)
    report_name: Mapped[str | None] = mapped_column(String(120))
    report_type: Mapped[str | None] = mapped_column(String(40))
    report_size: Mapped[int | None] = mapped_column(Integer)
    report: Mapped[bytes | None] = deferred(mapped_column(LargeBinary))
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime)
    recorded_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    asset: Mapped["Asset"] = relationship()  # noqa: F821
    recorded_by: Mapped["User | None"] = relationship()  # noqa: F821


class CertificateNotice(db.Model):
    """A reminder sent or a task owed for one certificate, once each (the unique pair decides between two
    schedulers). A task is done when someone records it; a reminder is done when it is sent."""

    __tablename__ = "certificate_notice"
    __table_args__ = (UniqueConstraint("certificate_id", "kind", name="uq_certificate_notice_kind"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    certificate_id: Mapped[int] = mapped_column(ForeignKey("certificate.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(20))
    due_on: Mapped[date] = mapped_column(Date)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    done_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    done_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    note: Mapped[str | None] = mapped_column(String(200))
    certificate: Mapped[Certificate] = relationship()
    done_by: Mapped["User | None"] = relationship()  # noqa: F821


class RequiredActivity(db.Model):
    """A maintenance schedule a standard requires, with its tolerance window when not the interval's own rule."""

    __tablename__ = "required_activity"
    __table_args__ = (CheckConstraint("window_before_days IS NULL OR window_before_days >= 0", name="before_positive"),
                      CheckConstraint("window_after_days IS NULL OR window_after_days >= 0", name="after_positive"))
    schedule_id: Mapped[int] = mapped_column(ForeignKey("maintenance_schedule.id", ondelete="CASCADE"),
                                             primary_key=True)
    standard: Mapped[str] = mapped_column(String(60))
    window_before_days: Mapped[int | None] = mapped_column(Integer)
    window_after_days: Mapped[int | None] = mapped_column(Integer)
    # Due dates from this day on are counted (the day it was marked required, or a day the manager gives).
    required_since: Mapped[date] = mapped_column(Date)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)
    schedule: Mapped["MaintenanceSchedule"] = relationship()  # noqa: F821


class RequiredOccurrence(db.Model):
    """One due date of a required schedule with its window, fixed when the date is first seen: a later change
    of the rule does not move the windows of dates already passed. `closes_at` is the hospital midnight after
    the window's last day (UTC): work resolved before it is on time."""

    __tablename__ = "required_occurrence"
    __table_args__ = (UniqueConstraint("schedule_id", "due_date", name="uq_required_occurrence_due"),
                      CheckConstraint("window_last >= window_first", name="window_ordered"))
    id: Mapped[int] = mapped_column(primary_key=True)
    schedule_id: Mapped[int] = mapped_column(ForeignKey("maintenance_schedule.id", ondelete="CASCADE"), index=True)
    due_date: Mapped[date] = mapped_column(Date, index=True)
    window_first: Mapped[date] = mapped_column(Date)
    window_last: Mapped[date] = mapped_column(Date)
    opens_at: Mapped[datetime] = mapped_column(UTCDateTime)
    closes_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    standard: Mapped[str] = mapped_column(String(60))
    equipment_kind: Mapped[str | None] = mapped_column(String(20))
    # A late or missed activity is a breach, explained with a cause from the department's list.
    cause_id: Mapped[int | None] = mapped_column(ForeignKey("breach_cause.id"))
    cause_note: Mapped[str | None] = mapped_column(Text)
    cause_recorded_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    cause_recorded_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    schedule: Mapped["MaintenanceSchedule"] = relationship()  # noqa: F821
    cause: Mapped["BreachCause | None"] = relationship()  # noqa: F821
