"""Major incidents: one outage reported by many wards, handled as one job by one team."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from models.base import UTCDateTime, db

INCIDENT_STATES = ("open", "resolved")


class Incident(db.Model):
    """Reports of one trade from one building (the zone) grouped under a lead ticket.

    The lead ticket carries the work and the escalation; the other tickets follow it, each keeping
    its own creation and due times so every ward's service target is measured on its own.
    """

    __tablename__ = "incident"
    __table_args__ = (Index("ix_incident_state_trade_building", "state", "trade_id", "building_id"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    trade_id: Mapped[int] = mapped_column(ForeignKey("trade.id"))
    building_id: Mapped[int] = mapped_column(ForeignKey("building.id"))
    lead_ticket_id: Mapped[int] = mapped_column(ForeignKey("ticket.id"), index=True)
    state: Mapped[str] = mapped_column(String(10), default="open")
    opened_at: Mapped[datetime] = mapped_column(UTCDateTime)
    # NULL: opened automatically (more reports than MAJOR_INCIDENT_AUTO_THRESHOLD).
    opened_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    resolved_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    resolved_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    outcome: Mapped[str | None] = mapped_column(Text)
    trade: Mapped["Trade"] = relationship()  # noqa: F821
    building: Mapped["Building"] = relationship()  # noqa: F821
    lead_ticket: Mapped["Ticket"] = relationship(foreign_keys=[lead_ticket_id])  # noqa: F821
    members: Mapped[list[IncidentMember]] = relationship(back_populates="incident", order_by="IncidentMember.id")

    @property
    def number(self) -> int:
        """People quote the lead ticket's number: it is the one technicians reply to."""
        return self.lead_ticket_id


class IncidentMember(db.Model):
    """One ticket's place in an incident. Ungrouping keeps the row (ungrouped_at set) as a record."""

    __tablename__ = "incident_member"
    __table_args__ = (Index("ix_incident_member_ticket_active", "ticket_id", "ungrouped_at"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    incident_id: Mapped[int] = mapped_column(ForeignKey("incident.id"), index=True)
    ticket_id: Mapped[int] = mapped_column(ForeignKey("ticket.id"))
    is_lead: Mapped[bool] = mapped_column(Boolean, default=False)
    grouped_at: Mapped[datetime] = mapped_column(UTCDateTime)
    grouped_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    # The ticket's own assignment when it was grouped, given back if it is ungrouped.
    own_status: Mapped[str] = mapped_column(String(20))
    own_assignee_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    own_times: Mapped[dict | None] = mapped_column(db.JSON)
    ungrouped_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    ungrouped_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    ungroup_reason: Mapped[str | None] = mapped_column(String(200))
    incident: Mapped[Incident] = relationship(back_populates="members")
    ticket: Mapped["Ticket"] = relationship(foreign_keys=[ticket_id])  # noqa: F821
