"""The ticket engine is the one writer of a ticket's state: a write from anywhere else fails at once, a guard can
veto a move with its reason, and the engine's table refuses a move it does not allow."""
from __future__ import annotations

import pytest
from sqlalchemy import update

from dispatch.errors import IllegalTransitionError
from dispatch.services import engine
from dispatch.services.engine_guard import ENGINE_COLUMNS, SecondWriterError
from dispatch.services.tickets import report_fault
from models import Ticket, db


def _ticket(hospital):
    return report_fault(hospital.user("nurse.icu"), ward_id=hospital.icu.id, trade_id=hospital.trades["power"].id,
                        description="Socket sparking by bed 2")


@pytest.mark.parametrize("column, value", [("status", "closed"), ("assignee_id", None), ("priority", 4),
                                           ("held_seconds", 60), ("resolve_breached", True)])
def test_a_direct_write_of_a_tickets_state_raises(hospital, column, value):
    ticket = db.session.get(Ticket, _ticket(hospital).id)
    if column == "assignee_id":
        value = hospital.users["volt"].id
    with pytest.raises(SecondWriterError):
        setattr(ticket, column, value)
    db.session.rollback()


def test_every_engine_column_is_locked():
    assert {"status", "assignee_id", "assignee", "priority", "resolve_due_at", "held_seconds", "on_hold_since",
            "acknowledge_breached"} <= set(ENGINE_COLUMNS)


def test_a_bulk_update_of_tickets_outside_the_engine_raises(hospital):
    _ticket(hospital)
    with pytest.raises(SecondWriterError):
        db.session.execute(update(Ticket).values(status="closed"))
    db.session.rollback()


def test_a_guard_vetoes_a_move_with_its_reason(hospital, app):
    ticket_id = _ticket(hospital).id
    engine.add_guard("cancel", lambda session, made: "The permit to work is live." if made.ticket.id == ticket_id else None)
    try:
        ticket = db.session.get(Ticket, ticket_id)
        with pytest.raises(IllegalTransitionError, match="permit to work"):
            engine.move(db.session, ticket, "cancel", actor=hospital.user("dispatcher"), at=ticket.created_at,
                        note="Duplicate")
        db.session.rollback()
    finally:
        from dispatch.services.policies import register_policies

        register_policies()
    assert db.session.get(Ticket, ticket_id).status != "cancelled"


def test_the_table_refuses_a_move_it_does_not_allow(hospital):
    ticket = db.session.get(Ticket, _ticket(hospital).id)
    status = ticket.status
    with pytest.raises(IllegalTransitionError):
        engine.move(db.session, ticket, "confirm", actor=hospital.user("nurse.icu"), at=ticket.created_at)
    db.session.rollback()
    assert db.session.get(Ticket, ticket.id).status == status


def test_the_past_is_replayed_through_the_same_table(hospital):
    from datetime import timedelta

    from dispatch.services.engine import Past

    ticket = _ticket(hospital)
    created = ticket.created_at - timedelta(days=3)
    fields = dict(ward_id=hospital.icu.id, trade_id=hospital.trades["power"].id, priority=2, description="Old fault")
    with pytest.raises(IllegalTransitionError):  # resolving a job nobody was on site for is not in the table
        engine.replay(db.session, fields, [Past(created + timedelta(hours=1), "resolve")], created,
                      reported=Past(created, "report"))
    db.session.rollback()
    sparky = hospital.users["sparky"].id
    past = engine.replay(db.session, fields, [Past(created + timedelta(minutes=5), "assign", technician_id=sparky),
                                              Past(created + timedelta(minutes=20), "attend", sparky)],
                         created + timedelta(days=1), reported=Past(created, "report"))
    db.session.commit()
    assert (past.status, past.assignee_id, past.attend_breached) == ("attended", sparky, False)
    assert [e.kind for e in past.events] == ["reported", "assigned", "attend"]
