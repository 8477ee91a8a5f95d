"""`flask seed-history`: believable history in bulk, on the demo hospital, with only a few jobs left open."""
from __future__ import annotations

from datetime import timedelta

from click.testing import CliRunner
from sqlalchemy import func, select

from dispatch.services import sla
from dispatch.services.tickets import report_fault
from models import OPEN_STATUSES, Ticket, TicketBreachCause, TicketEvent, User, Ward, db
from tests.report_data import NOW


def count(query) -> int:
    return db.session.scalar(query)


def test_seed_history_builds_the_demo_hospital_then_adds_the_history(app, db, clock):
    clock.set(NOW)
    result = CliRunner().invoke(app.cli, ["seed-history", "--tickets", "3000", "--years", "2", "--open", "12"],
                                catch_exceptions=False)
    assert result.exit_code == 0, result.output
    assert "empty database: building the demo hospital first" in result.output
    assert "added 3,000 tickets" in result.output
    assert count(select(func.count(Ward.id))) == 9 and count(select(func.count(User.id))) > 20
    assert count(select(func.count(Ticket.id))) > 3000  # the demo's own three months, and the history
    # Only the newest jobs stay open: at most 12 from the history, plus the demo's eight in flight.
    assert count(select(func.count(Ticket.id)).where(Ticket.status.in_(OPEN_STATUSES))) <= 12 + 8
    assert count(select(func.min(Ticket.created_at))) < NOW - timedelta(days=700)


def test_the_history_is_consistent_ticket_by_ticket(app, db, clock):
    clock.set(NOW)
    from dispatch.services.history import seed_history

    summary = seed_history(1500, years=1, seed=3, open_cap=10)
    assert summary.tickets == 1500 and summary.events > 1500 * 4
    tickets = db.session.scalars(select(Ticket).where(Ticket.id > 1000)).all()
    for t in tickets:
        steps = [s for s in (t.created_at, t.acknowledged_at, t.attended_at, t.resolved_at, t.closed_at) if s]
        assert steps == sorted(steps), t.id
        assert t.attend_due_at == t.created_at + timedelta(minutes=t.attend_target_minutes)
        if t.status in ("resolved", "closed"):
            # The stored breach flags agree with the times, as the scheduler would have set them.
            assert t.attend_breached == (t.attended_at > t.attend_due_at), t.id
            assert t.resolve_breached == (sla.resolve_done_at(t) > t.resolve_due_at), t.id
        assert t.status != "cancelled" or t.cancelled_at is not None
    assert count(select(func.count(TicketBreachCause.ticket_id))) > 0
    reported = count(select(func.count(TicketEvent.id)).where(TicketEvent.kind == "reported"))
    assert reported == count(select(func.count(Ticket.id)))


def test_new_tickets_are_numbered_after_the_history(app, db, clock, hospital):
    clock.set(NOW)
    from dispatch.services.history import seed_history

    seed_history(200, years=0.5, seed=5)
    newest = count(select(func.max(Ticket.id)))
    nurse = hospital.user("nurse.icu")
    ticket = report_fault(nurse, ward_id=hospital.icu.id, trade_id=hospital.trades["power"].id, description="No power")
    assert ticket.id == newest + 1
