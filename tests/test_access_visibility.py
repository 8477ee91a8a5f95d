"""Who may see a ticket's SMS, parts and cost is one service rule (dispatch/services/access.py), used by the
ticket page, its history and the API: nurses see none of them; the people who do or direct the work do."""
from __future__ import annotations

import pytest

from dispatch.services import access
from dispatch.services.assignment import assign_ticket
from dispatch.services.tickets import transition
from models import Ticket, TicketEvent, User, db
from tests.factories import make_user
from tests.test_licences import file_fault

RULES = (access.may_see_messages, access.may_see_parts, access.may_see_costs)


@pytest.fixture
def resolved_job(hospital, clock):
    """An ICU job done by sparky with parts noted, its SMS on record, a line of parts taken and a failed SMS."""
    ticket = file_fault(hospital)
    assign_ticket(ticket.id, hospital.users["sparky"].id, hospital.user("dispatcher"))
    sparky = hospital.user("sparky")
    transition(ticket.id, "attend", sparky)
    transition(ticket.id, "resolve", sparky, note="Breaker reset", labour_minutes=45, parts_used="2 x MCB 16A")
    db.session.add_all([
        TicketEvent(ticket_id=ticket.id, kind="parts", at=clock.now(), channel="web", note="MCB-16 × 2",
                    actor_id=sparky.id),
        TicketEvent(ticket_id=ticket.id, kind="sms_failed", at=clock.now(), channel="system",
                    note="SMS to Wang Sparky failed: unreachable handset"),
    ])
    make_user("panel", "integration", full_name="BMS panel")
    db.session.commit()
    return ticket.id


@pytest.mark.parametrize("username, sees", [
    ("nurse.icu", False), ("sparky", True), ("dispatcher", True), ("supervisor", True), ("manager", True),
    ("admin", True), ("panel", False),
])
def test_each_role_sees_messages_parts_and_costs_or_none_of_them(hospital, resolved_job, username, sees):
    user = db.session.query(User).filter_by(username=username).one()
    ticket = db.session.get(Ticket, resolved_job)
    assert [rule(user, ticket) for rule in RULES] == [sees] * 3
    kinds = {e.kind for e in access.visible_events(user, ticket)}
    assert {"parts", "sms_failed"} & kinds == ({"parts", "sms_failed"} if sees else set())


def test_a_technician_sees_nothing_of_a_job_that_is_not_theirs(hospital, resolved_job):
    volt = hospital.user("volt")
    ticket = db.session.get(Ticket, resolved_job)
    assert [rule(volt, ticket) for rule in RULES] == [False] * 3
    assert [rule(volt) for rule in RULES] == [True] * 3  # their own jobs' details, in general


def test_the_nurses_ticket_page_shows_the_work_but_no_sms_parts_or_cost(hospital, resolved_job, login_as):
    page = login_as("nurse.icu").get(f"/tickets/{resolved_job}").get_data(as_text=True)
    assert "Breaker reset" in page  # the work done
    for hidden in ("2 x MCB 16A", "MCB-16 × 2", "unreachable handset", "Parts and cost", 'class="table messages"'):
        assert hidden not in page, hidden


def test_the_control_rooms_ticket_page_shows_sms_parts_and_cost(hospital, resolved_job, login_as):
    page = login_as("dispatcher").get(f"/tickets/{resolved_job}").get_data(as_text=True)
    for shown in ("2 x MCB 16A", "MCB-16 × 2", "unreachable handset", "Parts and cost", 'class="table messages"'):
        assert shown in page, shown


@pytest.mark.parametrize("username, sees", [("nurse.icu", False), ("dispatcher", True), ("sparky", True)])
def test_the_api_leaves_out_parts_and_labour_for_those_who_may_not_see_them(hospital, resolved_job, api_token,
                                                                           client, username, sees):
    body = client.get(f"/api/v1/tickets/{resolved_job}", headers=api_token(username)).get_json()
    assert body["resolution_note"] == "Breaker reset"
    assert (body["parts_used"], body["labour_minutes"]) == (("2 x MCB 16A", 45) if sees else (None, None))
