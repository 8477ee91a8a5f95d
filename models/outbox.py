"""SMS owed and SMS received. The outbox row is written with the change that causes it, so nothing
is lost if Redis or Twilio is down; a worker sends it later, exactly once."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from models.base import UTCDateTime, db

# pending: owed, not yet handed to Twilio; sending: claimed by a worker, request in flight;
# sent: Twilio accepted it; delivered / undelivered / failed: final word from the network;
# not_needed: never taken by Twilio (an outage) and dropped once it stopped mattering (the job was
# answered, given to someone else or closed, or a later escalation step fired): nobody has to act on it.
MESSAGE_STATES = ("pending", "sending", "sent", "delivered", "undelivered", "failed", "not_needed")
# A status never moves to a lower rank, so a late 'sent' callback cannot undo 'delivered'.
STATE_RANK = {"pending": 0, "sending": 1, "sent": 2, "delivered": 3, "undelivered": 3, "failed": 3, "not_needed": 3}
FINAL_STATES = ("delivered", "undelivered", "failed", "not_needed")


class OutboundMessage(db.Model):
    __tablename__ = "outbound_message"
    __table_args__ = (
        Index("ix_outbound_message_state_next", "state", "next_attempt_at"),
        # The monitoring figures: how many reached each state lately, read as index ranges (GET /metrics).
        Index("ix_outbound_message_state_updated", "state", "updated_at"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    ticket_id: Mapped[int | None] = mapped_column(ForeignKey("ticket.id"), index=True)
    recipient_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    to_number: Mapped[str | None] = mapped_column(String(20))
    body: Mapped[str] = mapped_column(Text)
    kind: Mapped[str] = mapped_column(String(20))
    # 'sms', or 'voice' for a call that reads the job and takes a key press.
    channel: Mapped[str] = mapped_column(String(8), default="sms", server_default="sms")
    state: Mapped[str] = mapped_column(String(12), default="pending")
    twilio_sid: Mapped[str | None] = mapped_column(String(40), unique=True)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    segments: Mapped[int] = mapped_column(Integer, default=1)
    last_error_code: Mapped[int | None] = mapped_column(Integer)
    last_error: Mapped[str | None] = mapped_column(String(300))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)
    next_attempt_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    enqueued_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    claimed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    delivered_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    recipient: Mapped["User | None"] = relationship()  # noqa: F821


class InboundMessage(db.Model):
    """Every SMS received, matched or not: the file of what technicians said."""

    __tablename__ = "inbound_message"
    id: Mapped[int] = mapped_column(primary_key=True)
    # Twilio retries a webhook that timed out; the SID makes the second delivery a no-op.
    twilio_sid: Mapped[str] = mapped_column(String(40), unique=True)
    from_number: Mapped[str] = mapped_column(String(20), index=True)
    to_number: Mapped[str | None] = mapped_column(String(20))
    body: Mapped[str] = mapped_column(Text)
    received_at: Mapped[datetime] = mapped_column(UTCDateTime)
    sender_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    ticket_id: Mapped[int | None] = mapped_column(ForeignKey("ticket.id"))
    outcome: Mapped[str] = mapped_column(String(20))
    reply: Mapped[str | None] = mapped_column(Text)
