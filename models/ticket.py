"""Tickets (one reported fault each), their append-only history, and the service targets they are held to."""
from __future__ import annotations

import re
from datetime import datetime
from decimal import Decimal

from sqlalchemy import (
    JSON,
    Boolean,
    CheckConstraint,
    ForeignKey,
    Index,
    Integer,
    Numeric,
    String,
    Text,
    UniqueConstraint,
    event,
)
from sqlalchemy.orm import Mapped, Session, mapped_column, relationship

from models.base import UTCDateTime, db

STATUSES = (
    "new",
    "assigned",
    "acknowledged",
    "attended",
    "on_hold",
    "made_safe",
    "resolved",
    "closed",
    "refused",
    "reopened",
    "cancelled",
)
# Open = the ward is still waiting for logistics; resolved waits on the ward, not on us.
OPEN_STATUSES = ("new", "assigned", "acknowledged", "attended", "on_hold", "made_safe", "refused", "reopened")
UNASSIGNED_STATUSES = ("new", "refused", "reopened")
PRIORITIES = (1, 2, 3, 4)


class ServiceTarget(db.Model):
    """Minutes to acknowledge, attend and resolve (or make safe), per priority and optionally per trade."""

    __tablename__ = "service_target"
    __table_args__ = (
        UniqueConstraint("trade_id", "priority"),
        CheckConstraint("priority BETWEEN 1 AND 4", name="priority_range"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    # NULL trade = the hospital-wide default for that priority.
    trade_id: Mapped[int | None] = mapped_column(ForeignKey("trade.id"))
    priority: Mapped[int] = mapped_column(Integer)
    acknowledge_minutes: Mapped[int] = mapped_column(Integer)
    attend_minutes: Mapped[int] = mapped_column(Integer)
    resolve_minutes: Mapped[int] = mapped_column(Integer)
    trade: Mapped["Trade | None"] = relationship()  # noqa: F821


def join_place(parts: list[str]) -> str:
    """Parts of a place, widest first, joined with ' · ': empty parts and any part another already says are left
    out (a detail 'Bay 1 bed 4' in Bay 1 stands for both). The first part (the ward) always stays."""
    def says(longer: str, shorter: str) -> bool:
        return re.search(rf"(?<!\w){re.escape(shorter)}(?!\w)", longer, re.IGNORECASE) is not None

    kept: list[str] = []
    for part in (p.strip() for p in parts if p and p.strip()):
        if any(says(k, part) for k in kept):
            continue
        kept = kept[:1] + [k for k in kept[1:] if not says(part, k)]
        kept.append(part)
    return " · ".join(kept)


class Ticket(db.Model):
    __tablename__ = "ticket"
    __table_args__ = (
        CheckConstraint("priority BETWEEN 1 AND 4", name="priority_range"),
        CheckConstraint("rating IS NULL OR rating BETWEEN 1 AND 5", name="rating_range"),
        Index("ix_ticket_status_priority", "status", "priority"),
        Index("ix_ticket_ward_created", "ward_id", "created_at"),
        Index("ix_ticket_assignee_status", "assignee_id", "status"),
        Index("ix_ticket_trade_created", "trade_id", "created_at"),
        # The managers' reports read a period's tickets from this index alone (every column they need is in
        # it), so a month of a million-ticket history is one index range; see docs/benchmarks.md.
        Index("ix_ticket_report", "created_at", "status", "trade_id", "priority", "ward_id", "assignee_id",
              "acknowledged_at", "acknowledge_due_at", "attended_at", "attend_due_at", "made_safe_at", "resolved_at",
              "resolve_due_at", "held_seconds", "on_hold_since", "attend_target_minutes"),
        # Repeat faults: the same asset, or the same place and trade, within 30 days.
        Index("ix_ticket_asset_created", "asset_id", "created_at"),
        Index("ix_ticket_location_trade_created", "location_id", "trade_id", "created_at"),
        {"sqlite_autoincrement": True},
    )
    # The ticket number people quote on the phone is the id; numbering starts at 1001 (see migration).
    id: Mapped[int] = mapped_column(primary_key=True)
    version: Mapped[int] = mapped_column(Integer, default=1)
    ward_id: Mapped[int] = mapped_column(ForeignKey("ward.id"))
    location_id: Mapped[int | None] = mapped_column(ForeignKey("location.id"))
    asset_id: Mapped[int | None] = mapped_column(ForeignKey("asset.id"), index=True)
    place_detail: Mapped[str | None] = mapped_column(String(120))
    trade_id: Mapped[int] = mapped_column(ForeignKey("trade.id"))
    priority: Mapped[int] = mapped_column(Integer)
    patient_at_risk: Mapped[bool] = mapped_column(Boolean, default=False)
    whole_area: Mapped[bool] = mapped_column(Boolean, default=True)
    description: Mapped[str] = mapped_column(Text)
    reporter_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    assignee_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    auto_assigned: Mapped[bool] = mapped_column(Boolean, default=False)
    status: Mapped[str] = mapped_column(String(20), default="new")

    created_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)
    assigned_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    acknowledged_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    attended_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    made_safe_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    resolved_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    cancelled_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    # Targets in force when the ticket was created (or re-prioritised), kept with the ticket.
    acknowledge_target_minutes: Mapped[int] = mapped_column(Integer)
    attend_target_minutes: Mapped[int] = mapped_column(Integer)
    resolve_target_minutes: Mapped[int] = mapped_column(Integer)
    acknowledge_due_at: Mapped[datetime] = mapped_column(UTCDateTime)
    attend_due_at: Mapped[datetime] = mapped_column(UTCDateTime)
    resolve_due_at: Mapped[datetime] = mapped_column(UTCDateTime)

    # On hold pauses the resolve clock: the paused seconds push resolve_due_at back.
    on_hold_since: Mapped[datetime | None] = mapped_column(UTCDateTime)
    hold_reason: Mapped[str | None] = mapped_column(String(200))
    held_seconds: Mapped[int] = mapped_column(Integer, default=0)

    acknowledge_breached: Mapped[bool] = mapped_column(Boolean, default=False)
    attend_breached: Mapped[bool] = mapped_column(Boolean, default=False)
    resolve_breached: Mapped[bool] = mapped_column(Boolean, default=False)

    resolution_note: Mapped[str | None] = mapped_column(Text)
    parts_used: Mapped[str | None] = mapped_column(Text)
    labour_minutes: Mapped[int | None] = mapped_column(Integer)
    # Cost, priced when it happened (dispatch.services.costs): parts at their issue price, labour at the
    # trade's rate when the job was finished. Later price or rate changes do not rewrite these.
    parts_cost: Mapped[Decimal | None] = mapped_column(Numeric(12, 2))
    labour_cost: Mapped[Decimal | None] = mapped_column(Numeric(12, 2))
    labour_out_of_hours_minutes: Mapped[int | None] = mapped_column(Integer)
    cancel_reason: Mapped[str | None] = mapped_column(String(200))
    refusal_count: Mapped[int] = mapped_column(Integer, default=0)
    reassign_count: Mapped[int] = mapped_column(Integer, default=0)
    reopen_count: Mapped[int] = mapped_column(Integer, default=0)
    rating: Mapped[int | None] = mapped_column(Integer)
    feedback: Mapped[str | None] = mapped_column(Text)
    # The emergency plan version this ticket is handled under, fixed when the plan is attached.
    plan_version_id: Mapped[int | None] = mapped_column(ForeignKey("emergency_plan_version.id"))

    ward: Mapped["Ward"] = relationship()  # noqa: F821
    location: Mapped["Location | None"] = relationship()  # noqa: F821
    asset: Mapped["Asset | None"] = relationship()  # noqa: F821
    trade: Mapped["Trade"] = relationship()  # noqa: F821
    reporter: Mapped["User | None"] = relationship(foreign_keys=[reporter_id])  # noqa: F821
    assignee: Mapped["User | None"] = relationship(foreign_keys=[assignee_id])  # noqa: F821
    plan_version: Mapped["EmergencyPlanVersion | None"] = relationship()  # noqa: F821
    events: Mapped[list[TicketEvent]] = relationship(
        back_populates="ticket", order_by="TicketEvent.id", passive_deletes="all"
    )
    photos: Mapped[list["TicketPhoto"]] = relationship(  # noqa: F821
        back_populates="ticket", order_by="TicketPhoto.id", passive_deletes="all"
    )

    __mapper_args__ = {"version_id_col": version}

    @property
    def number(self) -> int:
        return self.id

    @property
    def is_open(self) -> bool:
        return self.status in OPEN_STATUSES

    @property
    def place(self) -> str:
        """'ICU · Bay 1 · Bed 4': ward, location, the reporter's detail, each said once (a detail typed as
        'Bay 1 bed 4' in Bay 1 stands for both)."""
        return join_place([self.ward.display_name if self.ward else "", self.location.display_name if self.location else "",
                           self.place_detail or ""])


class TicketEvent(db.Model):
    """One line in a ticket's file: who did what, when. Never updated, never deleted."""

    __tablename__ = "ticket_event"
    id: Mapped[int] = mapped_column(primary_key=True)
    ticket_id: Mapped[int] = mapped_column(ForeignKey("ticket.id"), index=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime)
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    kind: Mapped[str] = mapped_column(String(30))
    from_status: Mapped[str | None] = mapped_column(String(20))
    to_status: Mapped[str | None] = mapped_column(String(20))
    note: Mapped[str | None] = mapped_column(Text)
    # Via which path: web, api, sms, system.
    channel: Mapped[str] = mapped_column(String(10), default="web")
    data: Mapped[dict | None] = mapped_column(JSON)
    ticket: Mapped[Ticket] = relationship(back_populates="events")
    actor: Mapped["User | None"] = relationship()  # noqa: F821


class AppendOnlyError(RuntimeError):
    pass


@event.listens_for(Session, "before_flush")
def _ticket_history_is_append_only(session: Session, flush_context, instances) -> None:
    for obj in list(session.dirty) + list(session.deleted):
        if isinstance(obj, TicketEvent) and (obj in session.deleted or session.is_modified(obj)):
            raise AppendOnlyError("ticket history is append-only")
