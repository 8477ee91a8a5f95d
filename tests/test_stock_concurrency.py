"""The last part on the shelf, wanted by many jobs at once: exactly one gets it, the others are told none is
left, and the stock never goes below zero (real threads, real connections; PostgreSQL queues them on the
row lock of the conditional UPDATE, SQLite on BEGIN IMMEDIATE)."""
from __future__ import annotations

from collections import Counter

from dispatch.errors import ValidationError
from dispatch.services.stock import PartLine
from dispatch.services.tickets import transition
from models import StockLevel, StockMovement, Ticket, TicketPart, User, db
from tests.costs_data import build_stock, job_on_site, local
from tests.test_concurrency import run_together

RACERS = 24


def test_one_breaker_left_and_twenty_four_jobs_finishing_with_it(app, hospital, clock):
    ids = build_stock(hospital, mcb=1)
    tickets = [job_on_site(hospital, clock, reported=local(2026, 3, 10, 9, 0), arrived=local(2026, 3, 10, 9, 30))
               for _ in range(RACERS)]
    clock.set(local(2026, 3, 10, 10, 0))
    sparky_id = hospital.users["sparky"].id

    def finishing(ticket_id):
        def prepare():
            return db.session.get(User, sparky_id)

        def act(sparky):
            return transition(ticket_id, "resolve", sparky, note="Breaker replaced", labour_minutes=15,
                              parts=[PartLine("P-100", 1)]).id

        return prepare, act

    results = run_together(app, [finishing(t) for t in tickets])
    outcomes = Counter(kind for kind, _value in results)
    assert outcomes == {"ok": 1, "error": RACERS - 1}, results
    messages = {str(value) for kind, value in results if kind == "error"}
    assert all(isinstance(value, ValidationError) for kind, value in results if kind == "error")
    assert messages == {"Only 0 each of P-100 left in Main store."}

    db.session.rollback()
    assert db.session.query(StockLevel).filter_by(part_id=ids["breaker"], store_id=ids["main"]).one().quantity == 0
    assert db.session.query(StockMovement).filter_by(kind="issue").count() == 1
    assert db.session.query(TicketPart).count() == 1
    statuses = Counter(db.session.get(Ticket, t).status for t in tickets)
    assert statuses == {"resolved": 1, "attended": RACERS - 1}
    # The losers' labour was not priced either: their whole finish was rolled back.
    assert db.session.query(Ticket).filter(Ticket.labour_cost.is_not(None)).count() == 1
