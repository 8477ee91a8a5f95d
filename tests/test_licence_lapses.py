"""A licence that expires or is revoked while its holder has open jobs of its trade: the board marks the jobs
(in both languages), the supervisors get one SMS per lapse however many passes or schedulers run, and every
later step that would give the person the job is refused with the reason."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import select

from dispatch.errors import NotLicensedError
from dispatch.services import incidents, licence_lapses, staff
from dispatch.services.assignment import assign_ticket
from dispatch.services.scheduler import Rounds
from dispatch.services.tickets import transition
from models import LicenceLapse, OutboundMessage, User, db
from tests.factories import make_user
from tests.test_concurrency import run_together
from tests.test_licences import board_rows, file_fault, ticket_row

# volt's licence is good through 2026-03-10 in Shanghai: it lapses at 16:00 UTC.
MIDNIGHT_IN_SHANGHAI = datetime(2026, 3, 10, 16, 0, tzinfo=timezone.utc)
SUPERVISOR_PHONES = ("+8613900000098", "+8613900000097")


@pytest.fixture
def supervisors(hospital):
    db.session.get(User, hospital.users["supervisor"].id).phone = SUPERVISOR_PHONES[0]
    make_user("supervisor2", "supervisor", full_name="Ma Night", phone=SUPERVISOR_PHONES[1], locale="zh_CN")
    db.session.commit()


def lapse_messages() -> list[OutboundMessage]:
    db.session.expire_all()
    return list(db.session.scalars(select(OutboundMessage).where(OutboundMessage.kind == "licence_lapsed")
                                   .order_by(OutboundMessage.to_number)))


def volts_job(hospital):
    ticket = file_fault(hospital)
    assign_ticket(ticket.id, hospital.users["volt"].id, hospital.user("dispatcher"))
    return ticket.id


def test_the_board_marks_a_job_whose_technicians_licence_expired_at_midnight_hospital_time(hospital, clock, login_as):
    ticket_id = volts_job(hospital)
    dispatcher = login_as("dispatcher")
    clock.set(MIDNIGHT_IN_SHANGHAI - timedelta(seconds=1))
    assert "licence lapsed" not in board_rows(dispatcher.get("/board/").get_data(as_text=True))[ticket_id]
    clock.set(MIDNIGHT_IN_SHANGHAI)
    assert "licence lapsed" in board_rows(dispatcher.get("/board/").get_data(as_text=True))[ticket_id]
    db.session.get(User, hospital.users["dispatcher"].id).locale = "zh_CN"
    db.session.commit()
    assert "执照已失效" in board_rows(dispatcher.get("/board/").get_data(as_text=True))[ticket_id]


def test_the_board_marks_a_job_whose_technicians_licence_was_revoked(hospital, clock, login_as):
    ticket = file_fault(hospital)
    sparky = hospital.user("sparky")
    assign_ticket(ticket.id, sparky.id, hospital.user("dispatcher"))
    staff.revoke_licence(sparky.id, sparky.licences[0].id, hospital.users["manager"].id, "Failed inspection")
    clock.advance(seconds=1)
    assert "licence lapsed" in board_rows(login_as("dispatcher").get("/board/").get_data(as_text=True))[ticket.id]


def test_supervisors_get_one_sms_per_lapse_however_many_passes(hospital, supervisors, clock):
    first, second = volts_job(hospital), volts_job(hospital)
    clock.set(MIDNIGHT_IN_SHANGHAI - timedelta(seconds=1))
    assert licence_lapses.notice_lapses(clock.now()) == 0
    clock.set(MIDNIGHT_IN_SHANGHAI)
    rounds, other = Rounds(), Rounds()
    for _ in range(3):
        rounds.tick(clock.now())
        other.tick(clock.now())
        licence_lapses.notice_lapses(clock.now())
        clock.advance(minutes=2)
    messages = lapse_messages()
    assert [m.to_number for m in messages] == sorted(SUPERVISOR_PHONES)
    english = next(m for m in messages if m.to_number == SUPERVISOR_PHONES[0]).body
    assert "Li Volt" in english and "expired on 2026-03-10" in english
    numbers = sorted(ticket_row(t).number for t in (first, second))
    assert f"#{numbers[0]}" in english and f"#{numbers[1]}" in english
    chinese = next(m for m in messages if m.to_number == SUPERVISOR_PHONES[1]).body
    assert "执照" in chinese
    [lapse] = db.session.scalars(select(LicenceLapse)).all()
    assert (lapse.reason, lapse.open_jobs, lapse.technician_id) == ("expired", 2, hospital.users["volt"].id)


def test_a_revocation_is_a_lapse_of_its_own_and_says_revoked(hospital, supervisors, clock):
    ticket = file_fault(hospital)
    sparky = hospital.user("sparky")
    assign_ticket(ticket.id, sparky.id, hospital.user("dispatcher"))
    staff.revoke_licence(sparky.id, sparky.licences[0].id, hospital.users["manager"].id, "Failed inspection")
    assert licence_lapses.notice_lapses(clock.now()) == 1
    assert licence_lapses.notice_lapses(clock.now()) == 0
    assert all("was revoked on 2026-03-10" in m.body for m in lapse_messages() if m.to_number == SUPERVISOR_PHONES[0])
    assert len(lapse_messages()) == 2


def test_no_lapse_is_reported_for_jobs_of_a_trade_the_licence_did_not_cover(hospital, supervisors, clock):
    ticket = file_fault(hospital, trade="water")
    assign_ticket(ticket.id, hospital.users["plumb"].id, hospital.user("dispatcher"))
    clock.set(MIDNIGHT_IN_SHANGHAI + timedelta(days=3))  # volt's power licence lapsed, but volt has no open job
    assert licence_lapses.notice_lapses(clock.now()) == 0
    assert lapse_messages() == []


def test_two_schedulers_at_the_same_moment_tell_the_supervisors_once(app, hospital, supervisors, clock):
    volts_job(hospital)
    clock.set(MIDNIGHT_IN_SHANGHAI)
    moment = clock.now()
    db.session.remove()
    results = run_together(app, [(lambda: None, lambda _seen: licence_lapses.notice_lapses(moment))] * 2)
    assert sorted(value for kind, value in results if kind == "ok") == [0, 1], results
    assert len(lapse_messages()) == 2  # one per supervisor
    assert db.session.query(LicenceLapse).count() == 1


def test_after_the_lapse_acknowledging_is_refused_with_the_reason(hospital, clock):
    ticket_id = volts_job(hospital)
    clock.set(MIDNIGHT_IN_SHANGHAI)
    with pytest.raises(NotLicensedError, match="expired on 2026-03-10"):
        transition(ticket_id, "acknowledge", hospital.user("volt"))
    assert ticket_row(ticket_id).status == "assigned"


def test_after_a_refusal_or_a_reopening_the_job_cannot_be_given_back_to_the_lapsed_technician(hospital, clock):
    ticket_id = volts_job(hospital)
    transition(ticket_id, "refuse", hospital.user("volt"), note="Busy in theatre")
    clock.set(MIDNIGHT_IN_SHANGHAI)
    with pytest.raises(NotLicensedError, match="expired on 2026-03-10"):
        assign_ticket(ticket_id, hospital.users["volt"].id, hospital.user("dispatcher"))
    assign_ticket(ticket_id, hospital.users["sparky"].id, hospital.user("dispatcher"))
    sparky = hospital.user("sparky")
    for action, note in (("attend", None), ("resolve", "Fuse replaced")):
        transition(ticket_id, action, sparky, note=note)
    transition(ticket_id, "reopen", hospital.user("nurse.icu"), note="Out again")
    staff.revoke_licence(sparky.id, sparky.licences[0].id, hospital.users["manager"].id, "Failed inspection")
    clock.advance(seconds=1)
    with pytest.raises(NotLicensedError, match="was revoked on"):
        assign_ticket(ticket_id, sparky.id, hospital.user("dispatcher"), expected_version=ticket_row(ticket_id).version)
    assert ticket_row(ticket_id).assignee_id is None


def test_ungrouping_does_not_hand_the_job_back_to_a_technician_whose_licence_lapsed(hospital, clock):
    """The ticket had its own technician before the incident took it; by the time it is taken out again
    that technician's licence has expired: the ungrouping is refused, naming why."""
    grouped = [file_fault(hospital, ward="ward3", description=f"Lights out {n}").id for n in range(3)]
    # The first report is furthest on (acknowledged by sparky): it will lead the incident.
    assign_ticket(grouped[0], hospital.users["sparky"].id, hospital.user("dispatcher"))
    transition(grouped[0], "acknowledge", hospital.user("sparky"))
    own = file_fault(hospital, ward="ward3", description="Socket sparking in the sluice")
    assign_ticket(own.id, hospital.users["volt"].id, hospital.user("dispatcher"))
    incident = incidents.group_reports(hospital.trades["power"].id, hospital.ward3.building_id, hospital.user("dispatcher"))
    assert incident.lead_ticket_id == grouped[0]
    assert own.id in {t.id for t in incidents.members_of(incident)}
    assert ticket_row(own.id).assignee_id == hospital.users["sparky"].id
    clock.set(MIDNIGHT_IN_SHANGHAI)
    with pytest.raises(NotLicensedError, match="Li Volt cannot take Power jobs: licence .* expired on 2026-03-10"):
        incidents.ungroup_ticket(own.id, hospital.user("dispatcher"), "A socket, not the outage")
    still = ticket_row(own.id)
    assert still.assignee_id == hospital.users["sparky"].id
    assert incidents.incident_of_ticket(own.id) is not None and grouped
