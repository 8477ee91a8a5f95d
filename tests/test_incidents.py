"""Major incidents: one outage reported by many wards is one incident, one team and one message per person;
grouped tickets keep their own times; a ticket that did not belong goes back to the board on its own."""
from __future__ import annotations

from datetime import timedelta

import pytest

from dispatch.services import incidents, rota
from dispatch.services.assignment import assign_ticket
from dispatch.services.tickets import report_fault, transition
from dispatch.errors import IllegalTransitionError
from models import Incident, OutboundMessage, Ticket, TicketEscalation, TicketEvent, Ward, db
from tests.factories import make_user

DUTY_PHONE = "+8613900000099"


@pytest.fixture
def tower(hospital):
    """Twenty-five general wards in Block A (with ICU and Ward 3), and a duty manager on call now."""
    wards = [Ward(building_id=hospital.ward3.building_id, name=f"Ward T{i}", criticality="general") for i in range(25)]
    db.session.add_all(wards)
    make_user("duty", "manager", full_name="Chen Duty", phone=DUTY_PHONE)
    db.session.commit()
    duty = hospital.user("dispatcher").__class__.query.filter_by(username="duty").one()
    rota.add_shift(trade_id=None, role="duty_manager", user_id=duty.id, weekday=1, starts="00:00", ends="23:59")
    return wards


def report(hospital, ward, trade="power", description="No power on the ward"):
    return report_fault(hospital.user("dispatcher"), ward_id=ward.id, trade_id=hospital.trades[trade].id,
                        description=description)


def fresh(ticket_id: int) -> Ticket:
    db.session.rollback()
    db.session.expire_all()
    return db.session.get(Ticket, ticket_id)


def kinds(ticket_id: int) -> list[str]:
    return [e.kind for e in db.session.query(TicketEvent).filter_by(ticket_id=ticket_id).order_by(TicketEvent.id)]


def test_a_burst_of_50_reports_is_one_incident_with_one_sms_per_person(hospital, tower, clock, fake_twilio, live_app,
                                                                          worker):
    tickets = []
    for i in range(50):
        tickets.append(report(hospital, tower[i % 25], description=f"Lights out, report {i + 1}").id)
        clock.advance(seconds=10)
    [incident] = db.session.query(Incident).all()
    assert incident.lead_ticket_id == tickets[0] and incident.state == "open" and incident.opened_by_id is None
    assert sorted(t.id for t in incidents.members_of(incident)) == tickets
    assert incidents.ward_count(incident) == 25
    # Only the lead escalates; the others' timers were stopped or never started.
    active = db.session.query(TicketEscalation).filter_by(state="active").all()
    assert [e.ticket_id for e in active] == [tickets[0]]

    assign_ticket(tickets[0], hospital.users["sparky"].id, hospital.user("dispatcher"))
    for number in tickets:
        ticket = fresh(number)
        assert (ticket.status, ticket.assignee_id) == ("assigned", hospital.users["sparky"].id)
    # Each keeps its own creation and due times, ten seconds apart.
    first, last = fresh(tickets[0]), fresh(tickets[-1])
    assert last.created_at - first.created_at == timedelta(seconds=490)
    assert last.acknowledge_due_at - first.acknowledge_due_at == timedelta(seconds=490)

    rows = db.session.query(OutboundMessage).order_by(OutboundMessage.id).all()
    assert [(r.kind, r.to_number) for r in rows] == [("incident", DUTY_PHONE), ("assignment", "+8613900000001")]
    assert rows[0].body.startswith("MAJOR INCIDENT #1001 P2 Power, Block A: 5 reports from 5 wards")
    assert rows[1].body.startswith("P2 INCIDENT #1001 Power, Block A: 25 wards affected.")
    assert worker() == ["sent", "sent"]
    sent = [m for m in fake_twilio.state.messages() if m["direction"] == "outbound-api"]
    assert sorted(m["to"] for m in sent) == sorted([DUTY_PHONE, "+8613900000001"])


def test_acknowledging_the_lead_acknowledges_every_grouped_ticket_with_its_own_breach(hospital, tower, clock):
    tickets = [report(hospital, tower[i]).id for i in range(5)]
    assign_ticket(tickets[0], hospital.users["sparky"].id, hospital.user("dispatcher"))
    clock.advance(minutes=20)  # past the P2 acknowledge target of 15 minutes for all of them
    transition(tickets[0], "acknowledge", hospital.user("sparky"), channel="sms")
    for number in tickets:
        ticket = fresh(number)
        assert ticket.status == "acknowledged" and ticket.acknowledged_at == clock.now()
        assert ticket.acknowledge_breached
    assert "acknowledge" in kinds(tickets[3])


def test_resolving_the_incident_resolves_every_ticket_with_the_outcome(hospital, tower, clock):
    tickets = [report(hospital, tower[i]).id for i in range(6)]
    [incident] = db.session.query(Incident).all()
    assign_ticket(tickets[0], hospital.users["sparky"].id, hospital.user("dispatcher"))
    clock.advance(minutes=40)  # nobody recorded on site: the resolution records it (see incidents._resolve_members)
    incidents.resolve_incident(incident.id, hospital.user("dispatcher"), "Main breaker replaced in the switch room")
    for number in tickets:
        ticket = fresh(number)
        assert ticket.status == "resolved" and ticket.resolved_at == clock.now()
        assert ticket.resolution_note == "Main breaker replaced in the switch room"
    follower = fresh(tickets[4])
    assert follower.attended_at == clock.now() and not follower.attend_breached  # within P2's hour on site
    assert follower.acknowledge_breached  # but nobody acknowledged it within 15 minutes
    assert kinds(tickets[4])[-2:] == ["attend", "resolve"]
    assert db.session.get(Incident, incident.id).state == "resolved"


def test_the_lead_resolved_by_sms_resolves_the_incident(hospital, tower):
    tickets = [report(hospital, tower[i]).id for i in range(5)]
    assign_ticket(tickets[0], hospital.users["sparky"].id, hospital.user("dispatcher"))
    transition(tickets[0], "attend", hospital.user("sparky"), channel="sms")
    assert {fresh(n).status for n in tickets} == {"attended"}
    transition(tickets[0], "resolve", hospital.user("sparky"), channel="sms", note="Breaker reset")
    assert {fresh(n).status for n in tickets} == {"resolved"}
    assert db.session.query(Incident).one().outcome == "Breaker reset"


def test_ungrouping_a_ticket_that_did_not_belong_returns_it_to_the_board_on_its_own(hospital, tower, clock, login_as):
    tickets = [report(hospital, tower[i]).id for i in range(5)]
    assign_ticket(tickets[0], hospital.users["sparky"].id, hospital.user("dispatcher"))
    stray = tickets[3]
    assert fresh(stray).assignee_id == hospital.users["sparky"].id
    board = login_as("dispatcher")
    response = board.post(f"/incidents/ungroup/{stray}", data={"note": "A socket in the sluice, not the outage"})
    assert response.status_code == 302
    ticket = fresh(stray)
    assert (ticket.status, ticket.assignee_id, ticket.assigned_at) == ("new", None, None)
    assert kinds(stray)[-1] == "ungrouped"
    assert db.session.query(TicketEscalation).filter_by(ticket_id=stray).one().state == "active"
    assert stray not in {t.id for t in incidents.members_of(db.session.query(Incident).one())}
    page = board.get("/board/").get_data(as_text=True)
    assert f'data-ticket="{stray}"' in page  # an ordinary row again
    assert f'data-ticket="{tickets[2]}"' not in page  # still grouped
    # It is now assigned on its own, like any ticket.
    assign_ticket(stray, hospital.users["volt"].id, hospital.user("dispatcher"))
    assert fresh(stray).assignee_id == hospital.users["volt"].id


def test_a_ticket_taken_out_after_the_team_arrived_starts_no_chain(hospital, tower, clock, login_as):
    """Found by the model search (on PostgreSQL): a report grouped as it came in never had a chain of its own;
    the team arrived, and taken out of the incident it started a fresh acknowledge chain on a job on site."""
    tickets = [report(hospital, tower[i]).id for i in range(5)]
    assign_ticket(tickets[0], hospital.users["sparky"].id, hospital.user("dispatcher"))
    transition(tickets[0], "attend", hospital.user("sparky"))
    stray = tickets[4]
    assert fresh(stray).status == "attended"
    response = login_as("dispatcher").post(f"/incidents/ungroup/{stray}", data={"note": "A different fault"})
    assert response.status_code == 302 and kinds(stray)[-1] == "ungrouped"
    timer = db.session.query(TicketEscalation).filter_by(ticket_id=stray).one_or_none()
    assert timer is None or timer.state != "active"


def test_a_grouped_ticket_cannot_be_assigned_on_its_own(hospital, tower):
    tickets = [report(hospital, tower[i]).id for i in range(5)]
    with pytest.raises(IllegalTransitionError, match="part of incident #1001"):
        assign_ticket(tickets[2], hospital.users["sparky"].id, hospital.user("dispatcher"))


def test_below_the_automatic_threshold_the_board_proposes_and_the_dispatcher_groups(hospital, tower, clock, login_as):
    tickets = [report(hospital, tower[i]).id for i in range(3)]
    clock.advance(minutes=4)
    tickets.append(report(hospital, tower[3]).id)
    assert db.session.query(Incident).count() == 0
    board = login_as("dispatcher")
    page = board.get("/board/").get_data(as_text=True)
    assert "4 Power reports from Block A in 4 min — group as one incident?" in page
    response = board.post("/incidents/group", data={"trade_id": hospital.trades["power"].id,
                                                     "building_id": hospital.ward3.building_id})
    assert response.status_code == 302
    incident = db.session.query(Incident).one()
    assert incident.opened_by_id == hospital.users["dispatcher"].id
    assert sorted(t.id for t in incidents.members_of(incident)) == tickets
    # A later report from the building joins it at once.
    late = report(hospital, tower[10])
    assert incidents.incident_of_ticket(late.id).id == incident.id


def test_reports_of_other_trades_or_older_than_the_window_are_not_grouped(hospital, tower, clock):
    for i in range(3):
        report(hospital, tower[i])
    clock.advance(minutes=16)
    for i in range(3):
        report(hospital, tower[i])
    report(hospital, tower[5], trade="water")
    assert db.session.query(Incident).count() == 0


def test_an_icu_report_joining_raises_the_incident_to_its_priority(hospital, tower):
    tickets = [report(hospital, tower[i]).id for i in range(5)]
    assert fresh(tickets[0]).priority == 2
    report(hospital, hospital.icu)  # power in ICU is P1
    assert fresh(tickets[0]).priority == 1


def test_the_nurse_is_told_at_once_and_can_add_to_the_lead_ticket(hospital, tower, login_as):
    tickets = [report(hospital, tower[i]).id for i in range(5)]
    assign_ticket(tickets[0], hospital.users["sparky"].id, hospital.user("dispatcher"))
    nurse = login_as("nurse.ward3")
    answer = nurse.get(f"/incidents/ongoing?trade_id={hospital.trades['power'].id}").get_json()
    assert answer["ticket"] == tickets[0]
    assert answer["message"].startswith("Power in Block A is being worked on: ticket 1001 (assigned, Wang Sparky)")
    assert nurse.get(f"/incidents/ongoing?trade_id={hospital.trades['water'].id}").get_json() == {"incident": None}
    assert 'id="ongoing"' in nurse.get("/report").get_data(as_text=True)
    response = nurse.post(answer["comment_url"], data={"note": "Our monitors are on battery"})
    assert response.status_code == 302
    [comment] = db.session.query(TicketEvent).filter_by(ticket_id=tickets[0], kind="comment").all()
    assert comment.note == "Ward 3: Our monitors are on battery"
    assert db.session.query(Ticket).count() == 5  # nothing filed again


def test_the_team_answers_the_lead_by_sms_without_a_number(hospital, tower):
    from dispatch.services.sms_replies import handle_inbound

    tickets = [report(hospital, tower[i]).id for i in range(5)]
    assign_ticket(tickets[0], hospital.users["sparky"].id, hospital.user("dispatcher"))
    # The grouped wards' tickets are sparky's too, but a bare "A" means the lead he was texted about.
    reply = handle_inbound("SM" + "a" * 32, hospital.users["sparky"].phone, None, "A")
    assert reply.startswith(f"Accepted #{tickets[0]}")
    assert {fresh(n).status for n in tickets} == {"acknowledged"}
    assert handle_inbound("SM" + "b" * 32, hospital.users["sparky"].phone, None, "J").count("#") == 1
