"""On call, around the clock: weekly shifts, their overrides (swap, cover, leave), swap requests,
escalation policies, and each ticket's escalation in flight."""
from __future__ import annotations

import secrets
from datetime import date, datetime, time

from sqlalchemy import JSON, Boolean, Date, ForeignKey, Index, Integer, String, Text, Time
from sqlalchemy.orm import Mapped, mapped_column, relationship

from models.base import UTCDateTime, db

# Who a rota line puts on call. primary/secondary are technicians of a trade; the supervisor and
# the duty manager may be per trade or hospital-wide (trade NULL).
ROTA_ROLES = ("primary", "secondary", "supervisor", "duty_manager")
OVERRIDE_KINDS = ("cover", "swap", "leave")
STEP_TARGETS = ("next_on_call", "primary", "secondary", "supervisor", "duty_manager", "group")
# What a step chases: a job nobody has acknowledged, or one acknowledged with nobody on site by the attend target.
STEP_PHASES = ("acknowledge", "attend")


class OnCallShift(db.Model):
    """A weekly repeating shift in hospital wall-clock time (so it stays 08:00 across a DST change).
    An end at or before the start runs past midnight into the next day."""

    __tablename__ = "on_call_shift"
    id: Mapped[int] = mapped_column(primary_key=True)
    trade_id: Mapped[int | None] = mapped_column(ForeignKey("trade.id"), index=True)
    role: Mapped[str] = mapped_column(String(20))
    user_id: Mapped[int] = mapped_column(ForeignKey("user_account.id", ondelete="CASCADE"), index=True)
    weekday: Mapped[int] = mapped_column(Integer)  # 0 = Monday
    starts: Mapped[time] = mapped_column(Time)
    ends: Mapped[time] = mapped_column(Time)
    valid_from: Mapped[date | None] = mapped_column(Date)
    valid_until: Mapped[date | None] = mapped_column(Date)
    user: Mapped["User"] = relationship()  # noqa: F821
    trade: Mapped["Trade | None"] = relationship()  # noqa: F821


class ShiftOverride(db.Model):
    """A change to the weekly pattern for a stretch of time: someone covers, two people swap,
    or someone is on leave (removed from every shift in the window)."""

    __tablename__ = "shift_override"
    __table_args__ = (Index("ix_shift_override_window", "starts_at", "ends_at"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(10))
    trade_id: Mapped[int | None] = mapped_column(ForeignKey("trade.id"))
    role: Mapped[str | None] = mapped_column(String(20))
    starts_at: Mapped[datetime] = mapped_column(UTCDateTime)
    ends_at: Mapped[datetime] = mapped_column(UTCDateTime)
    # cover / swap: who is on call instead; leave: who is away.
    user_id: Mapped[int] = mapped_column(ForeignKey("user_account.id", ondelete="CASCADE"))
    # cover / swap: whom they replace (NULL: they join whoever is on).
    replaces_user_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id", ondelete="CASCADE"))
    reason: Mapped[str | None] = mapped_column(String(200))
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    user: Mapped["User"] = relationship(foreign_keys=[user_id])  # noqa: F821
    replaces: Mapped["User | None"] = relationship(foreign_keys=[replaces_user_id])  # noqa: F821
    trade: Mapped["Trade | None"] = relationship()  # noqa: F821


class SwapRequest(db.Model):
    """A technician asks a colleague to take one of their shifts; accepted, it becomes a swap override."""

    __tablename__ = "swap_request"
    id: Mapped[int] = mapped_column(primary_key=True)
    requester_id: Mapped[int] = mapped_column(ForeignKey("user_account.id", ondelete="CASCADE"))
    colleague_id: Mapped[int] = mapped_column(ForeignKey("user_account.id", ondelete="CASCADE"), index=True)
    trade_id: Mapped[int | None] = mapped_column(ForeignKey("trade.id"))
    role: Mapped[str] = mapped_column(String(20))
    starts_at: Mapped[datetime] = mapped_column(UTCDateTime)
    ends_at: Mapped[datetime] = mapped_column(UTCDateTime)
    note: Mapped[str | None] = mapped_column(String(200))
    state: Mapped[str] = mapped_column(String(10), default="pending")  # pending, accepted, declined, withdrawn
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    override_id: Mapped[int | None] = mapped_column(ForeignKey("shift_override.id"))
    requester: Mapped["User"] = relationship(foreign_keys=[requester_id])  # noqa: F821
    colleague: Mapped["User"] = relationship(foreign_keys=[colleague_id])  # noqa: F821
    trade: Mapped["Trade | None"] = relationship()  # noqa: F821


class EscalationPolicy(db.Model):
    """Ordered steps for unacknowledged jobs of a trade and priority (NULLs = any)."""

    __tablename__ = "escalation_policy"
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(120))
    trade_id: Mapped[int | None] = mapped_column(ForeignKey("trade.id"))
    priority: Mapped[int | None] = mapped_column(Integer)
    # How many times the whole chain runs before it gives up ("keep calling until someone answers").
    repeat: Mapped[int] = mapped_column(Integer, default=3)
    steps: Mapped[list[EscalationStep]] = relationship(
        back_populates="policy", order_by="EscalationStep.position", cascade="all, delete-orphan")
    trade: Mapped["Trade | None"] = relationship()  # noqa: F821


class EscalationStep(db.Model):
    __tablename__ = "escalation_step"
    id: Mapped[int] = mapped_column(primary_key=True)
    policy_id: Mapped[int] = mapped_column(ForeignKey("escalation_policy.id", ondelete="CASCADE"), index=True)
    position: Mapped[int] = mapped_column(Integer)
    target: Mapped[str] = mapped_column(String(20))
    wait_minutes: Mapped[int] = mapped_column(Integer)
    voice: Mapped[bool] = mapped_column(Boolean, default=False)
    # 'acknowledge' (the chain) or 'attend' (once acknowledged: the first waits from the attend target).
    phase: Mapped[str] = mapped_column(String(12), default="acknowledge", server_default="acknowledge")
    # For target 'group': the people to tell, by user id.
    group_name: Mapped[str | None] = mapped_column(String(80))
    group_user_ids: Mapped[list | None] = mapped_column(JSON)
    policy: Mapped[EscalationPolicy] = relationship(back_populates="steps")


class TicketEscalation(db.Model):
    """The escalation timer of one ticket, in the database so restarts lose nothing.

    The chain is frozen here when it starts: editing the policy later does not change it.
    """

    __tablename__ = "ticket_escalation"
    __table_args__ = (Index("ix_ticket_escalation_due", "state", "next_due_at"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    ticket_id: Mapped[int] = mapped_column(ForeignKey("ticket.id"), unique=True)
    # What the chain waits for: 'acknowledge', then 'attend' once acknowledged.
    waiting_for: Mapped[str] = mapped_column(String(12))
    policy_name: Mapped[str | None] = mapped_column(String(120))
    # The ticket priority the chain was frozen for (NULL: before this was kept). A ticket raised above it,
    # e.g. an incident's lead when an ICU report joins, gets the chain of its new priority.
    priority: Mapped[int | None] = mapped_column(Integer)
    chain: Mapped[list] = mapped_column(JSON)
    repeat: Mapped[int] = mapped_column(Integer, default=1)
    round: Mapped[int] = mapped_column(Integer, default=0)
    step_index: Mapped[int] = mapped_column(Integer, default=0)
    next_due_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    state: Mapped[str] = mapped_column(String(10), default="active")  # active, stopped, exhausted
    # People already tried in this chain, so 'next on call' moves on rather than back.
    tried_user_ids: Mapped[list] = mapped_column(JSON, default=list)
    started_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)
    last_fired_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    version: Mapped[int] = mapped_column(Integer, default=1)
    ticket: Mapped["Ticket"] = relationship()  # noqa: F821

    __mapper_args__ = {"version_id_col": version}


class EscalationPage(db.Model):
    """One person paged for one ticket: the technician it was given to, or someone an escalation step
    reached. Escalation widens the circle rather than moving the job: anyone paged for a job nobody has
    accepted yet may accept it (SMS A, voice 1, web), the first to accept takes it and the others are
    told who did. Accepting closes every open page of the ticket."""

    __tablename__ = "escalation_page"
    __table_args__ = (Index("ix_escalation_page_ticket_user", "ticket_id", "user_id", "closed_at"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    ticket_id: Mapped[int] = mapped_column(ForeignKey("ticket.id"))
    user_id: Mapped[int] = mapped_column(ForeignKey("user_account.id", ondelete="CASCADE"))
    paged_at: Mapped[datetime] = mapped_column(UTCDateTime)
    # 'assigned' (given the job), or the step's target: next_on_call, primary, secondary, supervisor, ...
    target: Mapped[str] = mapped_column(String(20))
    step: Mapped[int | None] = mapped_column(Integer)
    round: Mapped[int | None] = mapped_column(Integer)
    voice: Mapped[bool] = mapped_column(Boolean, default=False)
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # accepted (this person took the job), taken (someone else did), grouped (the ticket joined an incident)
    outcome: Mapped[str | None] = mapped_column(String(10))
    user: Mapped["User"] = relationship()  # noqa: F821


def calendar_token() -> str:
    return secrets.token_urlsafe(24)
