"""Finishing by SMS with the time and the parts: `D 1042 Replaced breaker; 45min; P-100 x2`."""
from __future__ import annotations

from decimal import Decimal

import pytest

from dispatch.sms.commands import DoneDetails, done_details
from models import StockLevel, Ticket, TicketPart, db
from tests.costs_data import build_stock, job_on_site, local
from tests.test_sms_replies import SPARKY, replies, webhook  # noqa: F401  (fixture)


@pytest.mark.parametrize("text, expected", [
    ("Replaced breaker", DoneDetails("Replaced breaker")),
    ("Replaced breaker; 45min; P-100 x2", DoneDetails("Replaced breaker", 45, (("P-100", 2),))),
    ("p-100 ×1; 1.5h ；W-7*3; reset", DoneDetails("reset", 90, (("P-100", 1), ("W-7", 3)))),
    ("换了开关；30分钟；P-100 x1", DoneDetails("换了开关", 30, (("P-100", 1),))),
    ("Fixed 2 x sockets", DoneDetails("Fixed 2 x sockets")),  # no semicolon: all note
    ("45min; 60min", DoneDetails("60min", 45)),
])
def test_a_done_reply_is_split_into_note_minutes_and_parts(text, expected):
    assert done_details(text) == expected


def test_done_by_sms_takes_the_parts_and_prices_the_labour(webhook, hospital, clock):
    ids = build_stock(hospital)
    ticket_id = job_on_site(hospital, clock, reported=local(2026, 3, 10, 9, 50), arrived=local(2026, 3, 10, 10, 0))
    clock.set(local(2026, 3, 10, 11, 0))
    assert replies(webhook(SPARKY, f"D {ticket_id} Replaced breaker; 45min; P-100 x2")) == [
        f"#{ticket_id} resolved. Thank you."]
    db.session.rollback()
    ticket = db.session.get(Ticket, ticket_id)
    assert (ticket.status, ticket.resolution_note, ticket.labour_minutes) == ("resolved", "Replaced breaker", 45)
    assert (ticket.parts_cost, ticket.labour_cost) == (Decimal("24.70"), Decimal("45.00"))
    assert db.session.query(StockLevel).filter_by(part_id=ids["breaker"], store_id=ids["main"]).one().quantity == 8
    assert [e.channel for e in ticket.events if e.kind == "resolve"] == ["sms"]


def test_done_by_sms_with_too_few_parts_left_is_answered_and_changes_nothing(webhook, hospital, clock):
    build_stock(hospital, mcb=1)
    ticket_id = job_on_site(hospital, clock, reported=local(2026, 3, 10, 9, 50), arrived=local(2026, 3, 10, 10, 0))
    assert replies(webhook(SPARKY, "D Replaced breaker; 45min; P-100 x2")) == ["Only 1 each of P-100 left in Main store."]
    assert replies(webhook(SPARKY, "D Replaced breaker; 30min; NOPE x1")) == ["No part NOPE in the stock list."]
    db.session.rollback()
    assert db.session.get(Ticket, ticket_id).status == "attended"
    assert db.session.query(TicketPart).count() == 0
