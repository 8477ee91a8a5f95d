"""Service targets: proposing a priority, fixing due times at creation, and deciding breaches."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import or_, select, update

from dispatch.services.engine_guard import engine_writing
from dispatch.services.unit_of_work import write_transaction
from models import OPEN_STATUSES, ServiceTarget, Ticket, TicketEvent, Trade, Ward, db

# The brief's defaults (minutes), used when neither a trade-specific nor a hospital-wide row exists.
DEFAULT_TARGETS: dict[int, tuple[int, int, int]] = {
    1: (5, 15, 4 * 60),
    2: (15, 60, 24 * 60),
    3: (2 * 60, 24 * 60, 5 * 24 * 60),
    4: (24 * 60, 7 * 24 * 60, 28 * 24 * 60),
}


@dataclass(frozen=True)
class Targets:
    acknowledge_minutes: int
    attend_minutes: int
    resolve_minutes: int


def targets_for(trade_id: int, priority: int) -> Targets:
    """The targets in force now: a trade's own row wins over the hospital default, which wins over the brief."""
    rows = db.session.scalars(
        select(ServiceTarget).where(
            ServiceTarget.priority == priority,
            or_(ServiceTarget.trade_id == trade_id, ServiceTarget.trade_id.is_(None)),
        )
    ).all()
    row = next((r for r in rows if r.trade_id == trade_id), None) or next(iter(rows), None)
    if row is not None:
        return Targets(row.acknowledge_minutes, row.attend_minutes, row.resolve_minutes)
    return Targets(*DEFAULT_TARGETS[priority])


def propose_priority(trade: Trade, ward: Ward, patient_at_risk: bool, whole_area: bool) -> int:
    """P1..P3 for a reported fault (P4 is planned work only).

    A patient at risk or a medical-gas alarm is always P1; a critical ward (ICU, theatre, ED,
    isolation) raises one level; a single item (one socket, one tap) lowers one level.
    """
    if patient_at_risk or trade.always_emergency:
        return 1
    priority = trade.base_priority + (0 if whole_area else 1) - (1 if ward.is_critical else 0)
    return max(1, min(3, priority))


def fix_due_times(ticket: Ticket, targets: Targets) -> None:
    """Due times count from creation; time spent on hold pushes only the resolve time back."""
    ticket.acknowledge_target_minutes = targets.acknowledge_minutes
    ticket.attend_target_minutes = targets.attend_minutes
    ticket.resolve_target_minutes = targets.resolve_minutes
    ticket.acknowledge_due_at = ticket.created_at + timedelta(minutes=targets.acknowledge_minutes)
    ticket.attend_due_at = ticket.created_at + timedelta(minutes=targets.attend_minutes)
    ticket.resolve_due_at = ticket.created_at + timedelta(
        minutes=targets.resolve_minutes, seconds=ticket.held_seconds or 0
    )


def late(done_at: datetime | None, due_at: datetime, now: datetime) -> bool:
    """Done at exactly the due time is on time; not done and past due is late."""
    return (done_at or now) > due_at


def resolve_done_at(ticket: Ticket) -> datetime | None:
    """Making safe meets the 'resolve or make safe' target."""
    return ticket.made_safe_at or ticket.resolved_at


def live_breaches(ticket: Ticket, now: datetime) -> dict[str, bool]:
    if ticket.status == "on_hold" and resolve_done_at(ticket) is None:
        # The resolve clock is paused: late only if it was already late when the hold began.
        resolve_late = ticket.on_hold_since > ticket.resolve_due_at
    else:
        resolve_late = late(resolve_done_at(ticket), ticket.resolve_due_at, now)
    return {
        "acknowledge": late(ticket.acknowledged_at, ticket.acknowledge_due_at, now),
        "attend": late(ticket.attended_at, ticket.attend_due_at, now),
        "resolve": resolve_late,
    }


def next_due(ticket: Ticket) -> tuple[str, datetime] | None:
    """The next target the ticket is running against, or None when none is running. `ticket`: a Ticket, or a
    row of its columns (the board orders every open job from a narrow row)."""
    if ticket.status not in OPEN_STATUSES:
        return None
    if ticket.acknowledged_at is None:
        return ("acknowledge", ticket.acknowledge_due_at)
    if ticket.attended_at is None:
        return ("attend", ticket.attend_due_at)
    if resolve_done_at(ticket) is None and ticket.status != "on_hold":
        return ("resolve", ticket.resolve_due_at)
    return None


def recompute_breaches(ticket: Ticket, now: datetime) -> None:
    """Breach flags as the due times now say (after they moved: a new priority, a ticket given back)."""
    for name, is_late in live_breaches(ticket, now).items():
        setattr(ticket, f"{name}_breached", is_late)


def end_hold(ticket: Ticket, now: datetime, data: dict) -> None:
    """Close a hold: the paused time is added to the resolve due time (the clock stood still)."""
    if ticket.on_hold_since is None:
        return
    paused = int((now - ticket.on_hold_since).total_seconds())
    ticket.held_seconds += paused
    ticket.resolve_due_at += timedelta(seconds=paused)
    data["paused_seconds"] = paused
    ticket.on_hold_since = None
    ticket.hold_reason = None


def record_breaches(ticket: Ticket, now: datetime, actor_id: int | None, channel: str) -> None:
    """Set the stored breach flags that are now known, with one history line for each new breach."""
    for name, is_late in live_breaches(ticket, now).items():
        flag = f"{name}_breached"
        if is_late and not getattr(ticket, flag):
            setattr(ticket, flag, True)
            db.session.add(
                TicketEvent(
                    ticket=ticket, at=now, actor_id=actor_id, kind="breach", channel=channel,
                    note=name, data={"target": name, "due_at": getattr(ticket, f"{name}_due_at").isoformat()},
                )
            )


def sweep_breaches(now: datetime) -> int:
    """Flag open tickets whose running target has passed (the scheduler calls this). Returns how many."""
    checks = (
        (Ticket.acknowledge_breached, Ticket.acknowledged_at, Ticket.acknowledge_due_at, "acknowledge"),
        (Ticket.attend_breached, Ticket.attended_at, Ticket.attend_due_at, "attend"),
        (Ticket.resolve_breached, Ticket.made_safe_at, Ticket.resolve_due_at, "resolve"),
    )
    flagged = 0
    # The one writer of tickets outside engine.move: a bulk UPDATE, through the same door (engine_guard).
    with write_transaction() as session, engine_writing():
        for flag, done, due, name in checks:
            conditions = [Ticket.status.in_(OPEN_STATUSES), flag.is_(False), done.is_(None), due < now]
            if name == "resolve":
                conditions += [Ticket.resolved_at.is_(None), Ticket.status != "on_hold"]
            # Two schedulers may sweep at the same moment: on PostgreSQL each locks the rows it will flag and
            # skips those the other holds (on SQLite BEGIN IMMEDIATE runs the sweeps one after the other), and
            # only rows still unflagged are flagged and get a history line, so each breach is recorded once.
            ids = session.scalars(select(Ticket.id).where(*conditions).order_by(Ticket.id)
                                  .with_for_update(skip_locked=True)).all()
            if not ids:
                continue
            # A plain UPDATE (no version bump): a breach flag must never turn a dispatcher's click into a conflict.
            ids = session.scalars(
                update(Ticket).where(Ticket.id.in_(ids), flag.is_(False)).values({flag.key: True})
                .returning(Ticket.id).execution_options(synchronize_session=False)
            ).all()
            session.add_all(
                TicketEvent(ticket_id=i, at=now, kind="breach", channel="system", note=name, data={"target": name})
                for i in ids
            )
            flagged += len(ids)
    return flagged
