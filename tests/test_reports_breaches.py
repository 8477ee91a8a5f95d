"""Breaches and their causes: the prompt on the ticket page, recording a cause, the list, and the department's causes."""
from __future__ import annotations

import re
from datetime import date

import pytest
from sqlalchemy import select

from dispatch.errors import ValidationError
from dispatch.services.report_breaches import (
    add_cause, breaches_by_cause, causes, change_cause, ensure_default_causes, record_breach_cause,
)
from dispatch.services.report_filters import ReportFilter
from models import BreachCause, TicketBreachCause, TicketEvent, db
from tests.conftest import text_of
from tests.report_data import NOW

MARCH = ReportFilter(start=date(2026, 3, 1), end=date(2026, 3, 31))




def cause_named(name: str) -> BreachCause:
    return db.session.scalar(select(BreachCause).where(BreachCause.name == name))



@pytest.mark.parametrize("username,prompted", [("dispatcher", True), ("supervisor", True), ("manager", True),
                                               ("admin", True), ("nurse.icu", False)])
def test_a_breached_ticket_asks_the_control_room_and_managers_why(fixed, login_as, username, prompted):
    page = login_as(username).get(f"/tickets/{fixed['p4'].id}").get_data(as_text=True)
    assert ("This ticket missed a target: why?" in page) is prompted


def test_a_ticket_within_all_its_targets_does_not_ask(fixed, login_as):
    page = login_as("dispatcher").get(f"/tickets/{fixed['p1'].id}").get_data(as_text=True)
    assert "missed a target" not in page


def test_recording_a_cause_keeps_it_and_writes_the_history(fixed, login_as):
    ticket = fixed["p4"]
    parts = cause_named("Parts not in stock")
    dispatcher = login_as("dispatcher")
    response = dispatcher.post(f"/reports/breaches/{ticket.id}/cause",
                               data={"cause_id": parts.id, "note": "Contactor on order", "next": f"/tickets/{ticket.id}"})
    assert response.status_code == 302 and response.headers["Location"] == f"/tickets/{ticket.id}"
    page = text_of(dispatcher.get(f"/tickets/{ticket.id}").get_data(as_text=True))
    assert "Cause recorded for ticket" in page
    assert "Breach cause Parts not in stock : Contactor on order" in page
    assert "Breach cause recorded · Dispatcher" in page
    db.session.expire_all()
    record = db.session.get(TicketBreachCause, ticket.id)
    assert (record.cause_id, record.note) == (parts.id, "Contactor on order")
    events = db.session.scalars(select(TicketEvent).where(TicketEvent.ticket_id == ticket.id,
                                                          TicketEvent.kind == "breach_cause")).all()
    assert [e.note for e in events] == ["Parts not in stock: Contactor on order"]


def test_a_second_answer_replaces_the_first_and_both_stay_in_the_history(fixed, hospital):
    manager = hospital.user("manager")
    record_breach_cause(fixed["p4"].id, cause_named("Parts not in stock").id, None, manager, NOW)
    record_breach_cause(fixed["p4"].id, cause_named("Specialist contractor needed").id, "Lift firm", manager, NOW)
    db.session.expire_all()
    assert db.session.get(TicketBreachCause, fixed["p4"].id).cause.name == "Specialist contractor needed"
    notes = db.session.scalars(select(TicketEvent.note).where(TicketEvent.kind == "breach_cause")).all()
    assert notes == ["Parts not in stock", "Specialist contractor needed: Lift firm"]


def test_no_cause_for_a_ticket_that_missed_nothing(fixed, hospital):
    with pytest.raises(ValidationError, match="has not missed a target"):
        record_breach_cause(fixed["p1"].id, causes()[0].id, None, hospital.user("manager"), NOW)


def test_a_retired_cause_is_no_longer_offered_or_accepted(fixed, hospital):
    manager = hospital.user("manager")
    retired = change_cause(cause_named("SMS not delivered or not seen").id, manager, active=False)
    assert retired.id not in [c.id for c in causes()]
    with pytest.raises(ValidationError, match="Choose a cause"):
        record_breach_cause(fixed["p4"].id, retired.id, None, manager, NOW)


def test_the_breach_list_counts_by_cause_and_shows_the_uncaused_first(fixed, hospital, login_as):
    record_breach_cause(fixed["p4"].id, cause_named("Parts not in stock").id, None, hospital.user("manager"), NOW)
    counts = {c.name: c.breaches for c in breaches_by_cause(MARCH, NOW)}
    # Breached in March: p4, p5 and w1 (p2 was made safe in time; p3 was done exactly at each due time).
    assert counts == {"No cause recorded yet": 2, "Parts not in stock": 1}
    page = login_as("manager").get("/reports/breaches?start=2026-03-01&end=2026-03-31").get_data(as_text=True)
    assert "2 breaches have no cause recorded yet." in text_of(page)
    uncaused = login_as("manager").get("/reports/breaches?start=2026-03-01&end=2026-03-31&cause=0").get_data(as_text=True)
    listed = sorted(int(n) for n in re.findall(r'<a href="/tickets/(\d+)">#', uncaused))
    assert listed == sorted([fixed["p5"].id, fixed["w1"].id])


def test_the_department_keeps_its_list_of_causes(hospital, db, login_as):
    ensure_default_causes()
    manager = login_as("manager")
    manager.post("/reports/causes", data={"name": "Power company outage"})
    assert cause_named("Power company outage") is not None
    page = manager.post("/reports/causes", data={"name": "power company OUTAGE"}, follow_redirects=True)
    assert "is already on the list" in page.get_data(as_text=True)
    added = cause_named("Power company outage")
    manager.post(f"/reports/causes/{added.id}", data={"action": "rename", "name": "Grid outage"})
    manager.post(f"/reports/causes/{added.id}", data={"action": "retire"})
    db.session.expire_all()
    assert (added.name, added.active) == ("Grid outage", False)
    with pytest.raises(ValidationError):
        add_cause("x", hospital.user("manager"))
