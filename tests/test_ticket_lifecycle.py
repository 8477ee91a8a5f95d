"""The state machine, due times and breaches, driven by the frozen clock."""
from __future__ import annotations

from datetime import timedelta

import pytest

from dispatch.errors import IllegalTransitionError, PermissionDeniedError, ValidationError
from dispatch.services import sla
from dispatch.services.assignment import assign_ticket
from dispatch.services.tickets import report_fault, transition
from models import Ticket, TicketEvent, db


def file_power_fault(hospital, ward=None, **kw):
    ward = ward or hospital.icu
    nurse = hospital.user("nurse.icu" if ward is hospital.icu else "nurse.ward3")
    return report_fault(nurse, ward_id=ward.id, trade_id=hospital.trades["power"].id,
                        description=kw.pop("description", "No power to bed 1"), **kw)


def test_ticket_numbers_start_at_1001(hospital):
    assert file_power_fault(hospital).number == 1001
    assert file_power_fault(hospital).number == 1002


def test_power_loss_in_icu_is_p1_with_the_briefs_targets(hospital, clock):
    ticket = file_power_fault(hospital)
    assert ticket.priority == 1
    assert ticket.acknowledge_due_at == clock.now() + timedelta(minutes=5)
    assert ticket.attend_due_at == clock.now() + timedelta(minutes=15)
    assert ticket.resolve_due_at == clock.now() + timedelta(hours=4)


@pytest.mark.parametrize("trade,ward,whole,at_risk,expected", [
    ("power", "ward3", True, False, 2),   # power loss in a general ward
    ("power", "ward3", False, False, 3),  # a single socket
    ("water", "icu", True, False, 1),     # no water to a clinical area
    ("hvac", "icu", True, False, 2),      # AC failure in a critical area
    ("hvac", "ward3", False, False, 3),   # noisy AC
    ("gas", "ward3", False, False, 1),    # medical gas alarms are always P1
    ("lift", "ward3", True, True, 1),     # person trapped
    ("lift", "ward3", True, False, 2),    # lift out of service
])
def test_priority_is_proposed_from_trade_ward_and_answers(hospital, trade, ward, whole, at_risk, expected):
    assert sla.propose_priority(hospital.trades[trade], getattr(hospital, ward), at_risk, whole) == expected


def test_full_life_records_every_step(hospital, clock):
    ticket = file_power_fault(hospital)
    assign_ticket(ticket.id, hospital.users["sparky"].id, hospital.user("dispatcher"))
    sparky = hospital.user("sparky")
    clock.advance(minutes=3)
    transition(ticket.id, "acknowledge", sparky)
    clock.advance(minutes=10)
    transition(ticket.id, "attend", sparky)
    clock.advance(minutes=30)
    transition(ticket.id, "resolve", sparky, note="Reset breaker", labour_minutes=30, parts_used="1 x 16A MCB")
    transition(ticket.id, "confirm", hospital.user("nurse.icu"), rating=5)
    ticket = db.session.get(Ticket, ticket.id)
    assert ticket.status == "closed" and ticket.rating == 5 and ticket.labour_minutes == 30
    assert not (ticket.acknowledge_breached or ticket.attend_breached or ticket.resolve_breached)
    kinds = [e.kind for e in db.session.query(TicketEvent).filter_by(ticket_id=ticket.id).order_by(TicketEvent.id)]
    assert kinds == ["reported", "assigned", "acknowledge", "attend", "resolve", "confirm"]


def test_acknowledging_exactly_at_the_due_time_is_on_time(hospital, clock):
    ticket = file_power_fault(hospital)
    assign_ticket(ticket.id, hospital.users["sparky"].id, hospital.user("dispatcher"))
    clock.advance(minutes=5)
    ticket = transition(ticket.id, "acknowledge", hospital.user("sparky"))
    assert ticket.acknowledged_at == ticket.acknowledge_due_at
    assert ticket.acknowledge_breached is False


def test_acknowledging_one_second_late_is_a_breach(hospital, clock):
    ticket = file_power_fault(hospital)
    assign_ticket(ticket.id, hospital.users["sparky"].id, hospital.user("dispatcher"))
    clock.advance(minutes=5, seconds=1)
    ticket = transition(ticket.id, "acknowledge", hospital.user("sparky"))
    assert ticket.acknowledge_breached is True
    assert db.session.query(TicketEvent).filter_by(ticket_id=ticket.id, kind="breach").count() == 1


def test_scheduler_sweep_flags_an_unacknowledged_ticket_once(hospital, clock):
    ticket = file_power_fault(hospital)
    clock.advance(minutes=4)
    assert sla.sweep_breaches(clock.now()) == 0
    clock.advance(minutes=2)
    assert sla.sweep_breaches(clock.now()) == 1
    assert sla.sweep_breaches(clock.now()) == 0
    assert db.session.get(Ticket, ticket.id).acknowledge_breached is True


def test_a_long_hold_note_keeps_its_start_as_the_reason_and_the_whole_note_in_the_history(hospital):
    ticket = file_power_fault(hospital)
    sparky = hospital.user("sparky")
    assign_ticket(ticket.id, sparky.id, hospital.user("dispatcher"))
    transition(ticket.id, "attend", sparky)
    note = "Waiting for a contactor " + "x" * 976  # the form allows 1,000 characters; the reason field 200
    held = transition(ticket.id, "hold", sparky, note=note)
    assert held.status == "on_hold" and len(held.hold_reason) == 200
    assert held.hold_reason.startswith("Waiting for a contactor") and held.hold_reason.endswith("…")
    last = db.session.query(TicketEvent).filter_by(ticket_id=ticket.id).order_by(TicketEvent.id.desc()).first()
    assert last.kind == "hold" and last.note == note


def test_on_hold_pauses_the_resolve_clock(hospital, clock):
    ticket = file_power_fault(hospital)
    sparky = hospital.user("sparky")
    assign_ticket(ticket.id, sparky.id, hospital.user("dispatcher"))
    transition(ticket.id, "attend", sparky)
    original_due = db.session.get(Ticket, ticket.id).resolve_due_at
    clock.advance(hours=1)
    transition(ticket.id, "hold", sparky, note="Waiting for a contactor from the store")
    clock.advance(hours=10)  # well past the 4 h target, but paused
    assert sla.sweep_breaches(clock.now()) == 0
    ticket = transition(ticket.id, "resume", sparky)
    assert ticket.resolve_due_at == original_due + timedelta(hours=10)
    clock.advance(hours=1)
    ticket = transition(ticket.id, "resolve", sparky, note="Contactor replaced")
    assert ticket.resolve_breached is False


def test_made_safe_meets_the_resolve_target(hospital, clock):
    ticket = file_power_fault(hospital)
    sparky = hospital.user("sparky")
    assign_ticket(ticket.id, sparky.id, hospital.user("dispatcher"))
    transition(ticket.id, "attend", sparky)
    clock.advance(hours=3)
    transition(ticket.id, "make_safe", sparky, note="Circuit isolated; new cable tomorrow")
    clock.advance(hours=20)
    ticket = transition(ticket.id, "resolve", sparky, note="Cable replaced")
    assert ticket.resolve_breached is False
    assert sla.sweep_breaches(clock.now()) == 0


@pytest.mark.parametrize("action", ["acknowledge", "attend", "resolve", "confirm"])
def test_illegal_moves_from_new_are_refused_with_a_message(hospital, action):
    ticket = file_power_fault(hospital)
    actor = hospital.user("dispatcher") if action != "confirm" else hospital.user("nurse.icu")
    with pytest.raises(IllegalTransitionError) as error:
        transition(ticket.id, action, actor, note="x")
    assert f"Ticket {ticket.number} is New" in error.value.message


def test_refusal_returns_the_job_to_dispatch(hospital):
    ticket = file_power_fault(hospital)
    assign_ticket(ticket.id, hospital.users["sparky"].id, hospital.user("dispatcher"))
    with pytest.raises(ValidationError):
        transition(ticket.id, "refuse", hospital.user("sparky"), note="  ")
    ticket = transition(ticket.id, "refuse", hospital.user("sparky"), note="On another emergency")
    assert ticket.status == "refused" and ticket.assignee_id is None and ticket.refusal_count == 1


def test_a_technician_cannot_work_someone_elses_job(hospital):
    ticket = file_power_fault(hospital)
    assign_ticket(ticket.id, hospital.users["sparky"].id, hospital.user("dispatcher"))
    from dispatch.errors import NotFoundError

    with pytest.raises(NotFoundError):
        transition(ticket.id, "acknowledge", hospital.user("volt"))


def test_reopen_counts_against_first_time_fix(hospital):
    ticket = file_power_fault(hospital)
    sparky = hospital.user("sparky")
    assign_ticket(ticket.id, sparky.id, hospital.user("dispatcher"))
    transition(ticket.id, "attend", sparky)
    transition(ticket.id, "resolve", sparky, note="Reset")
    ticket = transition(ticket.id, "reopen", hospital.user("nurse.icu"), note="Tripped again")
    assert ticket.status == "reopened" and ticket.reopen_count == 1 and ticket.resolved_at is None


def test_nurse_may_withdraw_only_a_new_ticket(hospital):
    ticket = file_power_fault(hospital)
    nurse = hospital.user("nurse.icu")
    assign_ticket(ticket.id, hospital.users["sparky"].id, hospital.user("dispatcher"))
    with pytest.raises(PermissionDeniedError):
        transition(ticket.id, "cancel", nurse, note="Reported in error")
    second = file_power_fault(hospital)
    assert transition(second.id, "cancel", nurse, note="Reported in error").status == "cancelled"


def test_reprioritising_recomputes_due_times_from_creation(hospital, clock):
    from dispatch.services.tickets import reprioritise

    ticket = file_power_fault(hospital, ward=hospital.ward3, whole_area=False)  # P3
    created = ticket.created_at
    clock.advance(minutes=30)
    ticket = reprioritise(ticket.id, 1, hospital.user("dispatcher"), reason="Sparking: fire risk")
    assert ticket.acknowledge_due_at == created + timedelta(minutes=5)
    assert ticket.acknowledge_breached is True  # 30 minutes in, a P1 is already late


def test_targets_in_force_at_creation_are_kept(hospital, clock):
    from models import ServiceTarget

    ticket = file_power_fault(hospital)
    row = db.session.query(ServiceTarget).filter_by(priority=1, trade_id=None).one()
    row.acknowledge_minutes = 1
    db.session.commit()
    assert db.session.get(Ticket, ticket.id).acknowledge_target_minutes == 5
    assert file_power_fault(hospital).acknowledge_target_minutes == 1


def test_history_is_append_only(hospital):
    from models.ticket import AppendOnlyError

    ticket = file_power_fault(hospital)
    event = db.session.query(TicketEvent).filter_by(ticket_id=ticket.id).first()
    event.note = "rewritten"
    with pytest.raises(AppendOnlyError):
        db.session.commit()
    db.session.rollback()
