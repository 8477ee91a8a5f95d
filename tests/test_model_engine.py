"""The model-based test of the ticket engine: random interleavings of reports, assignment, answers by SMS and
phone, time passing, licences, the rota, incidents and planned work (tests/model/machine.py), with the
engine's invariants checked against the database after every step (tests/model/invariants.py).

In the suite (and under CI=true, derandomized) it runs a fixed budget; `make test-model` runs a long search.
Below it, each counterexample the search found, as a plain regression test."""
from __future__ import annotations

import json
import os

from hypothesis import HealthCheck, settings
from hypothesis.stateful import run_state_machine_as_test

from tests.model.machine import STATS, TicketEngineMachine

STEPS_PER_EXAMPLE = 40
# The suite's budget: about a minute per database on the 2-core machine. MODEL_STEPS asks for a long search.
SUITE_STEPS = 200


def test_ticket_engine_model(app, db, clock, redis_conn):
    steps = int(os.environ.get("MODEL_STEPS", SUITE_STEPS))
    TicketEngineMachine.app, TicketEngineMachine.clock = app, clock
    budget = settings(max_examples=max(1, steps // STEPS_PER_EXAMPLE), stateful_step_count=STEPS_PER_EXAMPLE,
                      deadline=None, suppress_health_check=list(HealthCheck))
    try:
        run_state_machine_as_test(TicketEngineMachine, settings=budget)
    except BaseException as failure:
        STATS["counterexamples"].append(str(failure)[-4000:])
        raise
    finally:
        report = os.environ.get("MODEL_STATS_FILE")
        if report:
            with open(report, "w") as out:
                json.dump({"rules": STATS["rules"], "checks": STATS["checks"], "statuses": sorted(STATS["statuses"]),
                           "steps": STATS["steps"], "examples": STATS["examples"],
                           "counterexamples": STATS["counterexamples"]}, out, indent=1)


# ---- counterexamples the search found, as plain regression tests -------------------------------------

def _on_call_round_the_clock(hospital) -> None:
    """Sparky primary and volt secondary for power, the supervisor and the duty manager, every hour of the week."""
    from datetime import time

    from models import OnCallShift, db

    for weekday in range(7):
        for trade, role, name in (("power", "primary", "sparky"), ("power", "secondary", "volt"),
                                  (None, "supervisor", "supervisor"), (None, "duty_manager", "manager")):
            db.session.add(OnCallShift(trade_id=hospital.trades[trade].id if trade else None, role=role,
                                       user_id=hospital.users[name].id, weekday=weekday, starts=time(0), ends=time(0)))
    db.session.commit()


def _timer(ticket_id: int):
    from dispatch.services import escalation
    from models import db

    db.session.rollback()
    db.session.expire_all()
    return escalation.status(ticket_id)


def test_a_p4_job_raised_to_p1_on_the_board_starts_paging(hospital, clock, login_as, api_token):
    """Found by the model: a P4 job (planned work, or one the control room filed as P4) has no escalation timer;
    raised to P1 on the board it stayed unassigned and paged nobody, however long it waited."""
    from dispatch.services import escalation

    _on_call_round_the_clock(hospital)
    dispatcher = login_as("dispatcher")
    filed = dispatcher.client.post("/api/v1/tickets", headers=api_token("dispatcher"), json={
        "ward_id": hospital.ward3.id, "trade": "power", "description": "Distribution board inspection", "priority": 4})
    number = filed.get_json()["number"]
    assert _timer(number) is None  # planned-type work does not escalate
    clock.advance(minutes=1)
    dispatcher.post(f"/board/{number}/priority", data={"priority": "1", "note": "Sparking found"})
    timer = _timer(number)
    assert timer is not None and timer.state == "active" and timer.waiting_for == "acknowledge"
    clock.advance(minutes=5)
    assert escalation.run_due(clock.now()) == 1  # the P1 chain's first step fires: the next on call is given the job


def _report_emergency(hospital):
    from dispatch.services.tickets import report_fault

    ticket = report_fault(hospital.user("nurse.icu"), ward_id=hospital.icu.id, trade_id=hospital.trades["power"].id,
                          description="No power to bed 1", patient_at_risk=True)
    assert ticket.priority == 1
    return ticket.id


def _escalation_steps(ticket_id: int) -> list[str]:
    from models import TicketEvent, db

    db.session.rollback()
    return [e.kind for e in db.session.query(TicketEvent).filter_by(ticket_id=ticket_id).order_by(TicketEvent.id)
            if e.kind in ("escalated", "escalation_skipped", "escalation_exhausted")]


def test_a_p1_job_reassigned_after_someone_was_on_site_pages_the_new_technician(hospital, clock, login_as):
    """Found by the model: sparky is on site at a P1 job; the control room gives it to volt. Volt never answers,
    and nothing escalates: the timer stopped when sparky arrived and reassigning does not start it again. Escalation
    now reads what it chases from the ticket's status, not from its first on-site time."""
    from dispatch.services import escalation

    _on_call_round_the_clock(hospital)
    number = _report_emergency(hospital)  # auto-dispatched to sparky
    login_as("sparky").post(f"/tickets/{number}/attend")
    dispatcher = login_as("dispatcher")
    from models import Ticket, db

    version = db.session.get(Ticket, number).version
    dispatcher.post(f"/board/{number}/assign", data={"technician_id": hospital.users["volt"].id, "version": version,
                                                     "confirmed": "1"})
    db.session.expire_all()
    assert (db.session.get(Ticket, number).status, db.session.get(Ticket, number).assignee_id) == (
        "assigned", hospital.users["volt"].id)
    clock.advance(minutes=6)
    escalation.run_due(clock.now())
    assert _timer(number).state == "active" and "escalated" in _escalation_steps(number)


def test_a_reopened_p1_job_keeps_paging_until_someone_takes_it(hospital, clock, login_as):
    """Found by the model: a P1 job resolved and reopened by the ward is nobody's again and its chain restarts,
    but the first due pass stops it (someone was on site once), so it waits with nobody paged."""
    from dispatch.services import escalation

    _on_call_round_the_clock(hospital)
    number = _report_emergency(hospital)
    sparky = login_as("sparky")
    sparky.post(f"/tickets/{number}/attend")
    sparky.post(f"/tickets/{number}/resolve", data={"note": "Reset the breaker"})
    clock.advance(minutes=30)
    login_as("nurse.icu").post(f"/tickets/{number}/reopen", data={"note": "No power again"})
    assert _timer(number).state == "active"
    clock.advance(minutes=6)
    escalation.run_due(clock.now())
    assert _timer(number).state == "active" and "escalated" in _escalation_steps(number)


def test_an_incident_lead_cannot_be_lowered_below_its_most_urgent_member(hospital, clock, login_as):
    """Found by the model: Ward 3 and then ICU (patient at risk, P1) report a power loss; grouped, Ward 3's ticket
    leads and is raised to P1. Lowered to P2 on the board, the incident was less urgent than the ICU it covers."""
    from dispatch.services.tickets import report_fault
    from models import Incident, Ticket, db

    ward3 = report_fault(hospital.user("nurse.ward3"), ward_id=hospital.ward3.id, trade_id=hospital.trades["power"].id,
                         description="No power on the ward").id
    icu = report_fault(hospital.user("nurse.icu"), ward_id=hospital.icu.id, trade_id=hospital.trades["power"].id,
                       description="No power to bed 1", patient_at_risk=True).id
    dispatcher = login_as("dispatcher")
    dispatcher.post("/incidents/group", data={"trade_id": hospital.trades["power"].id,
                                              "building_id": hospital.icu.building_id})
    incident = db.session.query(Incident).one()
    assert incident.lead_ticket_id == ward3 and db.session.get(Ticket, ward3).priority == 1
    dispatcher.post(f"/board/{ward3}/priority", data={"priority": "2", "note": "Only one ward really"})
    db.session.expire_all()
    assert db.session.get(Ticket, ward3).priority <= db.session.get(Ticket, icu).priority


def test_a_grouped_report_raised_above_its_lead_raises_the_lead(hospital, clock, login_as):
    """The other half of the same rule: a report in an incident re-prioritised to P1 on the board makes the
    incident P1 (its lead takes the priority and its escalation), as when a P1 report joins it."""
    from dispatch.services import escalation
    from dispatch.services.tickets import report_fault
    from models import Incident, Ticket, db

    power = hospital.trades["power"].id
    first = report_fault(hospital.user("nurse.ward3"), ward_id=hospital.ward3.id, trade_id=power,
                         description="No power on the ward").id
    second = report_fault(hospital.user("nurse.ward3"), ward_id=hospital.ward3.id, trade_id=power,
                          description="Lights out in the corridor").id
    dispatcher = login_as("dispatcher")
    dispatcher.post("/incidents/group", data={"trade_id": power, "building_id": hospital.icu.building_id})
    incident = db.session.query(Incident).one()
    follower = second if incident.lead_ticket_id == first else first
    assert db.session.get(Ticket, incident.lead_ticket_id).priority > 1
    dispatcher.post(f"/board/{follower}/priority", data={"priority": "1", "note": "Ventilated patient in the bay"})
    assert db.session.get(Ticket, incident.lead_ticket_id).priority == 1
    timer = _timer(incident.lead_ticket_id)
    assert timer is not None and timer.state == "active" and timer.priority == 1
    assert escalation.status(follower) is None or escalation.status(follower).state != "active"


def test_planned_work_is_never_grouped_into_an_incident(hospital, clock, login_as):
    """Found by the model (with MODEL_KNOWN_PROBLEMS=reach): the scheduler opens Ward 3's planned distribution
    board inspection; ICU reports a power fault minutes later and the dispatcher groups the power reports of
    the building. The inspection was swept into the incident."""
    from datetime import date

    from dispatch.services import planned
    from models import IncidentMember, Ticket, db

    planned.save_schedule(hospital.user("supervisor"), planned.ScheduleValues(
        title="Distribution board inspection", ward_id=hospital.ward3.id, trade_id=hospital.trades["power"].id,
        start_date=date(2026, 3, 12), interval_unit="week", interval_count=1, lead_days=2))
    assert planned.open_due(clock.now()) == 1
    inspection = db.session.query(Ticket).filter_by(priority=4).one().id
    clock.advance(minutes=1)
    nurse = login_as("nurse.icu")
    nurse.post("/report", data={"ward_id": hospital.icu.id, "trade_id": hospital.trades["power"].id,
                                "whole_area": "1", "location_id": "0", "description": "Lights out in the bay"})
    login_as("dispatcher").post("/incidents/group", data={"trade_id": hospital.trades["power"].id,
                                                          "building_id": hospital.icu.building_id})
    db.session.expire_all()
    assert db.session.query(IncidentMember).filter_by(ticket_id=inspection).count() == 0
