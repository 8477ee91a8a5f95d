"""Permits to work (HTM 02-01, 06-02: medical gas, high voltage; lifts) and the log of utility interruptions.

A permit is issued by an Authorised Person for the trade to the Competent Person who does the work; while it
is live (issued or accepted) the ticket cannot be resolved, and attending needs it accepted. Which licence
types make an AP or a CP for a trade is `PermitRequirement`, which also says the trade needs permits at all.
"""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, CheckConstraint, Column, ForeignKey, Integer, String, Table, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from models.base import UTCDateTime, db

PERMIT_STATES = ("draft", "issued", "accepted", "cancelled")
# Live: the isolation may be in place; the ticket waits for the permit to be cancelled (supply restored).
LIVE_PERMIT_STATES = ("issued", "accepted")
UTILITIES = ("power", "water", "medical_gas", "hvac", "lift")

permit_ward = Table(
    "permit_ward", db.metadata,
    Column("permit_id", Integer, ForeignKey("permit.id", ondelete="CASCADE"), primary_key=True),
    Column("ward_id", Integer, ForeignKey("ward.id", ondelete="CASCADE"), primary_key=True),
)
interruption_ward = Table(
    "interruption_ward", db.metadata,
    Column("interruption_id", Integer, ForeignKey("utility_interruption.id", ondelete="CASCADE"), primary_key=True),
    Column("ward_id", Integer, ForeignKey("ward.id", ondelete="CASCADE"), primary_key=True),
)
interruption_ticket = Table(
    "interruption_ticket", db.metadata,
    Column("interruption_id", Integer, ForeignKey("utility_interruption.id", ondelete="CASCADE"), primary_key=True),
    Column("ticket_id", Integer, ForeignKey("ticket.id", ondelete="CASCADE"), primary_key=True),
)


class PermitRequirement(db.Model):
    """A trade whose work needs a permit, and the licence types that make its Authorised and Competent
    Persons. `keywords` (comma-separated, any language) narrows it to work types named in the fault's
    description; empty: every job of the trade."""

    __tablename__ = "permit_requirement"
    id: Mapped[int] = mapped_column(primary_key=True)
    trade_id: Mapped[int] = mapped_column(ForeignKey("trade.id"), unique=True)
    authorised_type_id: Mapped[int] = mapped_column(ForeignKey("licence_type.id"))
    competent_type_id: Mapped[int] = mapped_column(ForeignKey("licence_type.id"))
    keywords: Mapped[str | None] = mapped_column(String(300))
    trade: Mapped["Trade"] = relationship()  # noqa: F821
    authorised_type: Mapped["LicenceType"] = relationship(foreign_keys=[authorised_type_id])  # noqa: F821
    competent_type: Mapped["LicenceType"] = relationship(foreign_keys=[competent_type_id])  # noqa: F821

    @property
    def keyword_list(self) -> list[str]:
        return [k.strip().lower() for k in (self.keywords or "").split(",") if k.strip()]


class Permit(db.Model):
    """One permit to work for one ticket: drafted, issued by an AP, accepted by a CP, cancelled when the work
    is done and supply restored (who restored what, and when)."""

    __tablename__ = "permit"
    __table_args__ = (CheckConstraint("state IN ('draft', 'issued', 'accepted', 'cancelled')", name="state_known"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    ticket_id: Mapped[int] = mapped_column(ForeignKey("ticket.id"), index=True)
    trade_id: Mapped[int] = mapped_column(ForeignKey("trade.id"))
    state: Mapped[str] = mapped_column(String(10), default="draft")
    work: Mapped[str] = mapped_column(Text)
    isolation_points: Mapped[str] = mapped_column(Text)  # one per line
    precautions: Mapped[str] = mapped_column(Text)  # one per line
    valid_from: Mapped[datetime] = mapped_column(UTCDateTime)
    valid_until: Mapped[datetime] = mapped_column(UTCDateTime)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    issued_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    issued_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    accepted_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    accepted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    cancelled_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    cancelled_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    restored: Mapped[str | None] = mapped_column(Text)  # what was restored, in the canceller's words
    ticket: Mapped["Ticket"] = relationship()  # noqa: F821
    trade: Mapped["Trade"] = relationship()  # noqa: F821
    wards: Mapped[list["Ward"]] = relationship(secondary=permit_ward, order_by="Ward.name")  # noqa: F821
    created_by: Mapped["User | None"] = relationship(foreign_keys=[created_by_id])  # noqa: F821
    issued_by: Mapped["User | None"] = relationship(foreign_keys=[issued_by_id])  # noqa: F821
    accepted_by: Mapped["User | None"] = relationship(foreign_keys=[accepted_by_id])  # noqa: F821
    cancelled_by: Mapped["User | None"] = relationship(foreign_keys=[cancelled_by_id])  # noqa: F821

    @property
    def is_live(self) -> bool:
        return self.state in LIVE_PERMIT_STATES

    @property
    def isolation_list(self) -> list[str]:
        return [line.strip() for line in self.isolation_points.splitlines() if line.strip()]

    @property
    def precaution_list(self) -> list[str]:
        return [line.strip() for line in self.precautions.splitlines() if line.strip()]


class UtilityInterruption(db.Model):
    """A planned or unplanned interruption of a utility: what, where, when, why, the emergency plan used and
    what the clinical teams did. A planned one is announced to its wards `notice_hours` before it starts,
    once (`announced_at` is claimed by a conditional UPDATE)."""

    __tablename__ = "utility_interruption"
    __table_args__ = (
        CheckConstraint("utility IN ('power', 'water', 'medical_gas', 'hvac', 'lift')", name="utility_known"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    utility: Mapped[str] = mapped_column(String(20))
    planned: Mapped[bool] = mapped_column(Boolean, default=False)
    starts_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    ends_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    cause: Mapped[str] = mapped_column(Text)
    clinical_actions: Mapped[str | None] = mapped_column(Text)
    plan_version_id: Mapped[int | None] = mapped_column(ForeignKey("emergency_plan_version.id"))
    incident_id: Mapped[int | None] = mapped_column(ForeignKey("incident.id"), index=True)
    permit_id: Mapped[int | None] = mapped_column(ForeignKey("permit.id"))
    notice_hours: Mapped[int] = mapped_column(Integer, default=48)
    announce_at: Mapped[datetime | None] = mapped_column(UTCDateTime, index=True)
    announced_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    wards: Mapped[list["Ward"]] = relationship(secondary=interruption_ward, order_by="Ward.name")  # noqa: F821
    tickets: Mapped[list["Ticket"]] = relationship(secondary=interruption_ticket, order_by="Ticket.id")  # noqa: F821
    plan_version: Mapped["EmergencyPlanVersion | None"] = relationship()  # noqa: F821
    incident: Mapped["Incident | None"] = relationship()  # noqa: F821
    permit: Mapped[Permit | None] = relationship()
    created_by: Mapped["User | None"] = relationship()  # noqa: F821

    @property
    def minutes(self) -> int | None:
        if self.ends_at is None:
            return None
        return int((self.ends_at - self.starts_at).total_seconds() // 60)
