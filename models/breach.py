"""Why a service target was missed: the department's list of causes, and the cause recorded for each breached ticket."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from models.names import Bilingual
from models.base import UTCDateTime, db

# The list a new hospital starts with; the department renames, adds and retires causes as it learns.
DEFAULT_BREACH_CAUSES = (
    "No licensed technician available",
    "Technician busy on a higher-priority job",
    "SMS not delivered or not seen",
    "Parts not in stock",
    "Specialist contractor needed",
    "No access: clinical activity or infection control",
    "Reported with the wrong trade or place",
    "Priority set too low at reporting",
    "Other (say what in the note)",
)


class BreachCause(Bilingual, db.Model):
    """One entry in the department's list. Retired causes stay on the breaches they explain."""

    __tablename__ = "breach_cause"
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(120), unique=True)
    name_zh: Mapped[str | None] = mapped_column(String(120))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    sort_order: Mapped[int] = mapped_column(Integer, default=0)


class TicketBreachCause(db.Model):
    """The cause recorded for a breached ticket: one per ticket, covering every target it missed.

    Kept beside the ticket rather than on it, so recording a cause never bumps the ticket's version
    under a dispatcher's open form; every change is also a line in the ticket's history.
    """

    __tablename__ = "ticket_breach_cause"
    ticket_id: Mapped[int] = mapped_column(ForeignKey("ticket.id", ondelete="CASCADE"), primary_key=True)
    cause_id: Mapped[int] = mapped_column(ForeignKey("breach_cause.id"), index=True)
    note: Mapped[str | None] = mapped_column(Text)
    recorded_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime)
    cause: Mapped[BreachCause] = relationship()
    recorded_by: Mapped["User | None"] = relationship()  # noqa: F821
