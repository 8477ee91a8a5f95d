"""The night power cut (the acceptance issue's held-out scenario): dozens of reports from one building and
nobody answering. Planned work never becomes part of the outage, the incident's lead carries the priority
and the escalation of its most urgent ward, and escalation widens the circle of people paged instead of
passing the job back and forth."""
from __future__ import annotations

import re
from datetime import date, timedelta

import pytest

from dispatch.errors import ValidationError
from dispatch.services import escalation, incidents, planned
from dispatch.services.assignment import assign_ticket
from dispatch.services.tickets import report_fault
from models import Incident, OutboundMessage, Ticket, TicketEscalation, TicketEvent, Ward, db
from tests.factories import give_licence, make_user
from tests.test_escalation import staff_rota


@pytest.fixture
def block_a(hospital):
    """Ten general wards in Block A besides ICU and Ward 3; sparky primary and volt secondary on call for
    power, a supervisor and a duty manager (with phones) on call; and a day electrician who is not."""
    wards = [Ward(building_id=hospital.ward3.building_id, name=f"Ward A{i}", criticality="general") for i in range(10)]
    db.session.add_all(wards)
    day = make_user("day.sparky", "technician", full_name="Qian Day", phone="+8613900000010")
    give_licence(day, "lv-electrician", date(2025, 1, 1), date(2027, 1, 1))
    db.session.commit()
    staff_rota(hospital)
    hospital.users["day.sparky"] = day
    return wards


def report(hospital, ward, description="No power on the ward", trade="power", whole_area=True,
           at_risk=False) -> Ticket:
    return report_fault(hospital.user("dispatcher"), ward_id=ward.id, trade_id=hospital.trades[trade].id,
                        description=description, whole_area=whole_area, patient_at_risk=at_risk)


def fresh(ticket_id: int) -> Ticket:
    db.session.rollback()
    db.session.expire_all()
    return db.session.get(Ticket, ticket_id)


def timer(ticket_id: int) -> TicketEscalation | None:
    db.session.rollback()
    db.session.expire_all()
    return escalation.status(ticket_id)


def planned_ticket(hospital, ward, clock) -> Ticket:
    """A P4 inspection of the ward's distribution board, opened by its schedule and given to the day electrician."""
    planned.save_schedule(hospital.user("supervisor"), planned.ScheduleValues(
        title="Distribution board inspection", ward_id=ward.id, trade_id=hospital.trades["power"].id,
        start_date=clock.now().date() + timedelta(days=2)))
    assert planned.open_due(clock.now()) == 1
    ticket = db.session.query(Ticket).filter_by(priority=4).one()
    assign_ticket(ticket.id, hospital.users["day.sparky"].id, hospital.user("dispatcher"))
    return fresh(ticket.id)


# --- 1. planned work and the lead -----------------------------------------------------------------

def test_a_planned_ticket_never_opens_joins_or_leads_the_power_cut(hospital, block_a, clock):
    inspection = planned_ticket(hospital, block_a[0], clock)
    clock.advance(minutes=4)
    # Four real reports: below the automatic threshold of five (the inspection is not a fifth).
    real = [report(hospital, hospital.icu, "ICU lost power, ventilators on battery").id]
    real += [report(hospital, block_a[i]).id for i in range(1, 4)]
    assert db.session.query(Incident).count() == 0
    [proposal] = incidents.board_panel(clock.now()).proposals
    assert sorted(t.id for t in proposal.tickets) == real
    real.append(report(hospital, block_a[4]).id)
    [incident] = db.session.query(Incident).all()
    members = [t.id for t in incidents.members_of(incident)]
    assert inspection.id not in members and sorted(members) == real
    lead = fresh(incident.lead_ticket_id)
    assert lead.id == real[0] and lead.priority == 1 and lead.assignee.username == "sparky"
    row = timer(lead.id)
    assert (row.state, row.priority, row.waiting_for) == ("active", 1, "acknowledge")
    # The inspection carries on as it was: P4, the day electrician's, never told to stand down.
    inspection = fresh(inspection.id)
    assert (inspection.priority, inspection.status, inspection.assignee.username) == (4, "assigned", "day.sparky")
    day_texts = db.session.query(OutboundMessage).filter_by(recipient_id=hospital.users["day.sparky"].id).all()
    assert [m.kind for m in day_texts] == ["assignment"]


def test_the_dispatcher_cannot_group_planned_work_from_the_board(hospital, block_a, clock):
    inspection = planned_ticket(hospital, block_a[0], clock)
    report(hospital, block_a[1])
    with pytest.raises(ValidationError, match=f"Ticket {inspection.id} is planned maintenance"):
        incidents.group_reports(hospital.trades["power"].id, hospital.ward3.building_id, hospital.user("dispatcher"))
    assert db.session.query(Incident).count() == 0
    # With two real reports the incident opens, without the inspection.
    second = report(hospital, block_a[2])
    incident = incidents.group_reports(hospital.trades["power"].id, hospital.ward3.building_id,
                                       hospital.user("dispatcher"))
    assert inspection.id not in [t.id for t in incidents.members_of(incident)]
    assert second.id in [t.id for t in incidents.members_of(incident)]


def test_a_lead_raised_by_an_icu_report_is_dispatched_and_escalates_as_a_p1(hospital, block_a, clock):
    # Five routine reports (one socket each, P3): grouped, nobody dispatched, a P3 chain (supervisor after 2 h).
    routine = [report(hospital, block_a[i], "Sockets dead in the bay", whole_area=False).id for i in range(5)]
    [incident] = db.session.query(Incident).all()
    lead_id = incident.lead_ticket_id
    assert fresh(lead_id).priority == 3 and fresh(lead_id).assignee_id is None
    assert timer(lead_id).priority == 3
    clock.advance(minutes=2)
    icu = report(hospital, hospital.icu, "ICU lost power, ventilators on battery")
    assert incidents.incident_of_ticket(icu.id).id == incident.id
    lead = fresh(lead_id)
    # Raised to P1: given at once to the on-call electrician, with a call, and every ward's ticket follows.
    assert (lead.priority, lead.status, lead.assignee.username) == (1, "assigned", "sparky")
    assert {fresh(n).assignee_id for n in routine + [icu.id]} == {hospital.users["sparky"].id}
    calls = db.session.query(OutboundMessage).filter_by(ticket_id=lead_id, channel="voice").all()
    assert [m.recipient.username for m in calls] == ["sparky"]
    # The chain is the P1 chain, from where the lead's own clock stands (filed two minutes ago).
    row = timer(lead_id)
    assert (row.state, row.priority, row.waiting_for, row.repeat) == ("active", 1, "acknowledge", 3)
    assert [(s["target"], s["wait_minutes"], s["voice"]) for s in row.chain] == [
        ("next_on_call", 5, True), ("supervisor", 5, True), ("duty_manager", 5, True)]
    assert row.next_due_at == clock.now() + timedelta(minutes=5)
    clock.set(row.next_due_at)
    assert escalation.run_due(clock.now()) == 1
    [step] = db.session.query(TicketEvent).filter_by(ticket_id=lead_id, kind="escalated").all()
    assert step.data["people"] == [hospital.users["volt"].id]


def test_an_acknowledged_lead_raised_to_p1_gets_the_p1_attend_escalation(hospital, block_a, clock):
    from dispatch.services.tickets import transition

    routine = [report(hospital, block_a[i], "Sockets dead in the bay", whole_area=False).id for i in range(5)]
    lead_id = db.session.query(Incident).one().lead_ticket_id
    assign_ticket(lead_id, hospital.users["sparky"].id, hospital.user("dispatcher"))
    transition(lead_id, "acknowledge", hospital.user("sparky"))
    assert timer(lead_id).waiting_for == "attend"
    report(hospital, hospital.icu, "ICU lost power, ventilators on battery")
    lead, row = fresh(lead_id), timer(lead_id)
    assert (lead.priority, lead.assignee.username) == (1, "sparky")  # nobody is taken off an acknowledged job
    assert (row.priority, row.waiting_for, row.next_due_at) == (1, "attend", lead.attend_due_at)
    assert all(step["voice"] for step in row.chain)
    assert len(routine) == 5


# --- 3. a burst never falls silently to the dispatcher's queue --------------------------------------

def test_in_a_burst_every_urgent_job_goes_to_the_least_loaded_licensed_technician(app, hospital, block_a, clock):
    app.config["MAJOR_INCIDENT_AUTO_THRESHOLD"] = 0  # each report on its own, as when they come from many buildings
    emergencies = []
    for n in range(6):
        emergencies.append(report(hospital, hospital.icu, f"ICU bed {n + 1} has no power").id)
        clock.advance(seconds=20)
    urgent = report(hospital, block_a[0], "No power in the bay").id  # P2: holding P1s does not park it either
    owners = [fresh(n).assignee.username for n in emergencies]
    assert owners == ["sparky", "volt", "sparky", "volt", "sparky", "volt"]
    assert fresh(urgent).assignee.username == "sparky" and fresh(urgent).priority == 2
    notes = [db.session.query(TicketEvent).filter_by(ticket_id=n, kind="assigned").one().note
             for n in emergencies[1:3] + [urgent]]
    assert notes[0] == "Li Volt"  # volt was free
    assert notes[1] == ("all 2 licensed on-call Power technicians are busy on emergencies; given to Wang Sparky "
                        "with 1 open P1")
    assert notes[2] == ("all 2 licensed on-call Power technicians are busy on emergencies; given to Wang Sparky "
                        "with 3 open P1")
    assert db.session.query(TicketEvent).filter_by(kind="auto_dispatch_none").count() == 0
    # Each escalates as usual: unacknowledged, the next step pages the other on-call technician.
    assert {timer(n).state for n in emergencies + [urgent]} == {"active"}


def test_with_nobody_licensed_on_call_the_burst_waits_and_the_supervisor_is_told_once(app, hospital, clock):
    app.config["MAJOR_INCIDENT_AUTO_THRESHOLD"] = 0
    staff_rota(hospital, primary=("lapsed",), secondary=())
    waiting = []
    for n in range(4):
        waiting.append(report(hospital, hospital.icu, f"ICU bed {n + 1} has no power").id)
        clock.advance(minutes=2)
    assert {fresh(n).status for n in waiting} == {"new"}
    notes = {e.note for e in db.session.query(TicketEvent).filter_by(kind="auto_dispatch_none")}
    assert notes == {"Nobody licensed for Power is on call: waiting for the dispatcher."}
    told = db.session.query(OutboundMessage).filter_by(kind="nobody_on_call").all()
    assert [(m.recipient.username, m.ticket_id) for m in told] == [("supervisor", waiting[0])]
    assert told[0].body.startswith(f"NOBODY ON CALL for Power: P1 #{waiting[0]} ICU")
    # Each line says whom it told, so the one SMS traces to the first report's line.
    lines = db.session.query(TicketEvent).filter_by(kind="auto_dispatch_none").order_by(TicketEvent.id).all()
    assert [line.data["people"] for line in lines] == [[hospital.users["supervisor"].id], [], [], []]
    # A quiet spell longer than the grouping window ends the burst: the next one is told again.
    clock.advance(minutes=16)
    later = report(hospital, hospital.icu, "ICU bed 9 has no power").id
    told = db.session.query(OutboundMessage).filter_by(kind="nobody_on_call").all()
    assert [m.ticket_id for m in told] == [waiting[0], later]


# --- 5. the demo hospital ---------------------------------------------------------------------------

def test_the_demo_hospitals_urgent_jobs_in_flight_were_auto_dispatched_to_the_technician_on_call(app, db, clock):
    from dispatch.seed import seed_demo_hospital
    from dispatch.services import rota
    from models import OPEN_STATUSES

    seed_demo_hospital(days=3)
    live = db.session.query(Ticket).filter(Ticket.status.in_(OPEN_STATUSES), Ticket.priority <= 2).all()
    dispatched = []
    for ticket in live:
        on_call = rota.on_call(ticket.trade_id, ("primary", "secondary"), ticket.created_at)
        # Nothing urgent sits unassigned while a licensed technician of its trade was on call when it came in.
        assert ticket.status != "new" or not on_call, (ticket.id, ticket.trade.code, [u.username for u in on_call])
        auto = [e for e in ticket.events if e.kind == "assigned" and (e.data or {}).get("automatic")]
        if auto:
            assert (auto[0].at, auto[0].channel) == (ticket.created_at, "system")
            assert ticket.assignee in on_call
            dispatched.append(ticket)
        if ticket.attended_at is None:
            assert escalation.status(ticket.id) is not None, ticket.id  # each escalates like a report does
    assert dispatched, "no urgent job in flight went through auto-dispatch"
    assert any(t.priority == 1 and t.patient_at_risk for t in dispatched)


# --- 2. escalation widens the circle ---------------------------------------------------------------

def sms_in(hospital, username: str, body: str) -> str:
    from dispatch.services.sms_replies import handle_inbound

    sms_in.count = getattr(sms_in, "count", 0) + 1
    return handle_inbound(f"SM{sms_in.count:032x}", hospital.users[username].phone, None, body)


def outbox(kind: str | None = None) -> list[tuple[str, str]]:
    db.session.rollback()
    query = db.session.query(OutboundMessage).order_by(OutboundMessage.id)
    if kind:
        query = query.filter_by(kind=kind)
    return [(m.recipient.username, m.kind) for m in query]


def test_unanswered_the_power_cut_pages_more_people_and_never_passes_the_job_back_and_forth(hospital, block_a, clock):
    tickets = [report(hospital, hospital.icu, "ICU lost power, ventilators on battery").id]
    tickets += [report(hospital, block_a[i]).id for i in range(4)]
    lead_id = db.session.query(Incident).one().lead_ticket_id
    assert fresh(lead_id).assignee.username == "sparky"
    filed = fresh(lead_id).created_at
    for minutes in (5, 10, 15, 20, 25, 30, 35, 40, 45):  # the whole default P1 chain, three rounds
        clock.set(filed + timedelta(minutes=minutes))
        assert escalation.run_due(clock.now()) == 1
    assert timer(lead_id).state == "exhausted"
    lead = fresh(lead_id)
    assert (lead.assignee.username, lead.reassign_count) == ("sparky", 0)
    assert {fresh(n).assignee.username for n in tickets} == {"sparky"}
    moves = db.session.query(TicketEvent).filter(TicketEvent.kind == "reassigned", TicketEvent.at > filed).count()
    assert moves == 0  # (the grouping itself, at filing, gave volt's two reports to the incident's team)
    assert outbox("reassigned_away") == [] and outbox("reassignment") == []
    # Volt was paged once a round (SMS and call); sparky was never told to stand down.
    assert outbox("page") == [("volt", "page")] * 3 and outbox("page_call") == [("volt", "page_call")] * 3
    assert [kind for who, kind in outbox() if who == "sparky"] == ["assignment", "call"]
    page_text = db.session.query(OutboundMessage).filter_by(kind="page").first().body
    assert page_text.startswith(f"PATIENT AT RISK P1 #{lead_id} Power, ICU, not yet accepted by Wang Sparky:") or \
        page_text.startswith(f"P1 #{lead_id} Power, ICU, not yet accepted by Wang Sparky:")
    assert page_text.endswith(f"Reply A {lead_id} to take it; the first to accept has the job.")

    # Someone never paged cannot take it; volt, paged, can: the incident is his, and everyone else paged is told.
    assert sms_in(hospital, "day.sparky", f"A {lead_id}") == f"#{lead_id} is not one of your jobs. Reply J for your jobs."
    assert sms_in(hospital, "volt", f"A {lead_id}").startswith(f"Accepted #{lead_id}")
    lead = fresh(lead_id)
    assert (lead.status, lead.assignee.username) == ("acknowledged", "volt")
    assert {(fresh(n).status, fresh(n).assignee.username) for n in tickets} == {("acknowledged", "volt")}
    taken = db.session.query(OutboundMessage).filter_by(kind="page_taken").order_by(OutboundMessage.id).all()
    assert sorted(m.recipient.username for m in taken) == ["manager", "sparky", "supervisor"]
    assert taken[0].body == f"#{lead_id} accepted by Li Volt. No action needed from you."
    [accepted] = db.session.query(TicketEvent).filter_by(ticket_id=lead_id, kind="reassigned").all()
    assert (accepted.actor_id, accepted.channel, accepted.note) == (hospital.users["volt"].id, "sms",
                                                                     "Li Volt accepted the page")
    # The first to accept has it: sparky's page closed with volt's acceptance.
    assert sms_in(hospital, "sparky", f"A {lead_id}") == f"#{lead_id} is not one of your jobs. Reply J for your jobs."
    assert timer(lead_id).waiting_for == "attend"


def test_the_paged_technician_accepts_by_pressing_1_on_the_call(hospital, block_a, clock):
    from dispatch.services import voice

    ticket = report(hospital, hospital.icu, "ICU lost power, ventilators on battery")
    clock.advance(minutes=5)
    assert escalation.run_due(clock.now()) == 1
    call = db.session.query(OutboundMessage).filter_by(kind="page_call").one()
    assert call.recipient.username == "volt"
    script, prompt = voice.script_for(call.id)
    assert script and prompt == "Press 1 to take charge and acknowledge it, or 2 to pass."
    assert voice.key_pressed(call.id, "1") == f"Accepted job {ticket.id}. Thank you."
    ticket = fresh(ticket.id)
    assert (ticket.status, ticket.assignee.username, ticket.reassign_count) == ("acknowledged", "volt", 1)
    assert outbox("page_taken") == [("sparky", "page_taken")]


def test_the_paged_technician_accepts_on_the_web_and_someone_never_paged_cannot(hospital, block_a, clock, login_as):
    ticket = report(hospital, hospital.icu, "ICU lost power, ventilators on battery")
    day = login_as("day.sparky")
    assert day.get(f"/tickets/{ticket.id}").status_code == 404  # never paged: not theirs to see
    clock.advance(minutes=5)
    assert escalation.run_due(clock.now()) == 1
    volt = login_as("volt")
    page = volt.get(f"/tickets/{ticket.id}").get_data(as_text=True)
    assert f'action="/tickets/{ticket.id}/acknowledge"' in page
    assert volt.post(f"/tickets/{ticket.id}/acknowledge", data={"version": fresh(ticket.id).version}).status_code == 302
    ticket = fresh(ticket.id)
    assert (ticket.status, ticket.assignee.username) == ("acknowledged", "volt")
    assert outbox("page_taken") == [("sparky", "page_taken")]
    # Acknowledged by volt: the refused stranger still gets nothing.
    assert day.post(f"/tickets/{ticket.id}/acknowledge", data={}).status_code in (302, 404)
    assert fresh(ticket.id).assignee.username == "volt"


def test_the_holder_accepting_after_a_page_tells_the_one_paged(hospital, block_a, clock):
    ticket = report(hospital, hospital.icu, "ICU lost power, ventilators on battery")
    clock.advance(minutes=5)
    assert escalation.run_due(clock.now()) == 1
    assert sms_in(hospital, "sparky", f"A {ticket.id}").startswith(f"Accepted #{ticket.id}")
    assert (fresh(ticket.id).assignee.username, fresh(ticket.id).reassign_count) == ("sparky", 0)
    assert outbox("page_taken") == [("volt", "page_taken")]
    assert sms_in(hospital, "volt", f"A {ticket.id}") == f"#{ticket.id} is not one of your jobs. Reply J for your jobs."


def test_every_page_sms_traces_to_the_history_line_that_sent_it(hospital, block_a, clock):
    """The step that pages beside the holder says who held the job, and accepting writes the line that names
    who was told who took it: the outbox can be read back from the history (the model's invariant (d))."""
    ticket = report(hospital, hospital.icu, "ICU lost power, ventilators on battery")
    clock.advance(minutes=5)
    assert escalation.run_due(clock.now()) == 1
    step = db.session.query(TicketEvent).filter_by(ticket_id=ticket.id, kind="escalated").one()
    sparky, volt = hospital.users["sparky"].id, hospital.users["volt"].id
    assert (step.data["holder_id"], step.data["people"]) == (sparky, [volt])
    assert sms_in(hospital, "sparky", f"A {ticket.id}").startswith(f"Accepted #{ticket.id}")
    told = db.session.query(TicketEvent).filter_by(ticket_id=ticket.id, kind="page_taken").one()
    assert (told.data, told.at) == ({"people": [volt], "accepted_by": sparky}, clock.now())
    assert outbox("page_taken") == [("volt", "page_taken")]


# --- 4. the incident on the board ---------------------------------------------------------------------

def test_the_board_shows_the_power_cut_at_a_glance_and_counts_what_it_lists(hospital, block_a, clock, login_as):
    from tests.conftest import text_of

    lead_id = report(hospital, hospital.icu, "ICU lost power, ventilators on battery", at_risk=True).id
    for i in range(8):
        report(hospital, block_a[i], "Lights and sockets out", at_risk=i < 6)
        clock.advance(seconds=30)
    other = report(hospital, hospital.ward3, "Tap dripping in bay 2", trade="water", whole_area=False)
    assert db.session.query(Incident).one().lead_ticket_id == lead_id
    clock.set(fresh(lead_id).created_at + timedelta(minutes=5))
    assert escalation.run_due(clock.now()) == 1  # volt paged as well
    board = login_as("dispatcher")
    page = text_of(board.get("/board/rows").get_data(as_text=True))
    assert f"INCIDENT #{lead_id}: Power, Block A 7 reports with a patient at risk" in page
    wards = ", ".join(sorted(["ICU"] + [f"Ward A{i}" for i in range(8)]))
    assert f"9 reports from {wards} · 9 wards · opened 10:01 · grouped automatically" in page
    assert f"Lead ticket #{lead_id} · Team: Wang Sparky (Assigned, auto)" in page
    assert "Paged: Wang Sparky 10:00 (given the job), Li Volt 10:05 (next on call)" in page
    assert "Next step: if nobody accepts, supervisor at 10:10 5 min left" in page
    # The board lists the incident once (its lead) and the water job: that is what it counts.
    assert "2 open · 1 incident, 9 reports grouped" in page
    rows = re.findall(r'data-ticket="(\d+)"', board.get("/board/rows").get_data(as_text=True))
    assert sorted(map(int, rows)) == sorted([lead_id, other.id])
