"""The lock on a ticket's engine-owned columns: status, assignee, priority, due times and targets, the hold
clock and the breach flags change only while the ticket engine (dispatch.services.engine) or the scheduler's
breach sweep (sla.sweep_breaches) is writing. Anything else that assigns one of them raises at once, so a
second writer is found by the first test that runs it, not by a ward's wrong board months later."""
from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

from sqlalchemy import event
from sqlalchemy.orm import Session

from models import Ticket

ENGINE_COLUMNS = (
    "status", "assignee_id", "assignee", "priority",
    "acknowledge_target_minutes", "attend_target_minutes", "resolve_target_minutes",
    "acknowledge_due_at", "attend_due_at", "resolve_due_at",
    "held_seconds", "on_hold_since",
    "acknowledge_breached", "attend_breached", "resolve_breached",
)
_writing: ContextVar[bool] = ContextVar("ticket_engine_writing", default=False)


class SecondWriterError(RuntimeError):
    """Code outside the ticket engine assigned one of the columns only the engine writes."""


@contextmanager
def engine_writing(active: bool = True) -> Iterator[None]:
    """Open (or, with active=False, shut for the hooks the engine calls) the door to the engine's columns.
    Only engine.py and sla.py use it; tests/test_architecture.py keeps it so."""
    token = _writing.set(active)
    try:
        yield
    finally:
        _writing.reset(token)


def _refuse(column: str):
    def check(target, value, oldvalue, initiator):
        # A flush copying the assignee's id into the column again writes what is already there: not a move.
        if not _writing.get() and value is not oldvalue and value != oldvalue:
            raise SecondWriterError(f"Ticket.{column} is written by the ticket engine only "
                                    "(dispatch.services.engine.move); ask it to make the move instead.")
        return value
    return check


for _column in ENGINE_COLUMNS:
    event.listen(getattr(Ticket, _column), "set", _refuse(_column), retval=True)


@event.listens_for(Session, "do_orm_execute")
def _refuse_bulk_update(state) -> None:
    """A bulk UPDATE of tickets (the breach sweep's) passes the same door."""
    if state.is_update and state.bind_mapper is not None and state.bind_mapper.class_ is Ticket \
            and not _writing.get():
        raise SecondWriterError("A bulk UPDATE of tickets runs inside the ticket engine only.")
