"""Auto-dispatch and escalation: the on-call technician gets an emergency at once (never an
unlicensed one), and a job nobody answers climbs its chain step by step on the frozen clock,
through restarts, a Redis flush, two schedulers at once, edited policies and the watchdog."""
from __future__ import annotations

import threading
from datetime import datetime, time, timedelta

import pytest

from dispatch import create_app
from dispatch.errors import ValidationError
from dispatch.services import escalation, notify, operations, rota
from dispatch.services.escalation_policies import StepInput, delete_policy, save_policy
from dispatch.services.scheduler import Rounds, Watchdog
from dispatch.services.tickets import report_fault, transition
from models import OnCallShift, OutboundMessage, Ticket, TicketEscalation, TicketEvent, db
from tests.webhooks import text_in

PHONES = {"sparky": "+8613900000001", "volt": "+8613900000002", "supervisor": "+8613900001999",
          "manager": "+8613900001998"}
CHAIN_KINDS = ("escalated", "escalation_skipped", "escalation_exhausted")


# --- helpers -----------------------------------------------------------------------------------

def staff_rota(hospital, primary: tuple[str, ...] = ("sparky",), secondary: tuple[str, ...] = ("volt",)) -> None:
    """Power technicians on call around the clock, with a hospital-wide supervisor and duty
    manager who (unlike the factory's) carry phones."""
    power = hospital.trades["power"].id
    for weekday in range(7):
        lines = [(power, "primary", name) for name in primary] + [(power, "secondary", name) for name in secondary]
        lines += [(None, "supervisor", "supervisor"), (None, "duty_manager", "manager")]
        for trade_id, role, name in lines:
            db.session.add(OnCallShift(trade_id=trade_id, role=role, user_id=hospital.users[name].id, weekday=weekday,
                                       starts=time(0), ends=time(0)))
    hospital.user("supervisor").phone = PHONES["supervisor"]
    hospital.user("manager").phone = PHONES["manager"]
    db.session.commit()


def file_fault(hospital, priority: int = 1, description: str = "No power to bed 1") -> Ticket:
    """P1: power loss in the ICU; P2: power loss on a general ward; P3: one socket on a general ward."""
    if priority == 1:
        nurse, ward, whole = "nurse.icu", hospital.icu, True
    else:
        nurse, ward, whole = "nurse.ward3", hospital.ward3, priority == 2
    ticket = report_fault(hospital.user(nurse), ward_id=ward.id, trade_id=hospital.trades["power"].id,
                          description=description, whole_area=whole)
    assert ticket.priority == priority
    return ticket


def fresh() -> None:
    """End the test's own transaction so the next read sees what other sessions wrote."""
    db.session.rollback()
    db.session.expire_all()


def ticket_of(ticket_id: int) -> Ticket:
    fresh()
    return db.session.get(Ticket, ticket_id)


def timer(ticket_id: int) -> TicketEscalation:
    fresh()
    return escalation.status(ticket_id)


def events(ticket_id: int, kinds: tuple[str, ...] | None = None) -> list[TicketEvent]:
    fresh()
    query = db.session.query(TicketEvent).filter_by(ticket_id=ticket_id)
    if kinds:
        query = query.filter(TicketEvent.kind.in_(kinds))
    return query.order_by(TicketEvent.id).all()


def chain_events(ticket_id: int) -> list[tuple[str, datetime, int | None, str | None]]:
    """(kind, when, step, target) of every escalation event of the ticket."""
    return [(e.kind, e.at, (e.data or {}).get("step"), (e.data or {}).get("target"))
            for e in events(ticket_id, CHAIN_KINDS)]


def outbox_rows(ticket_id: int | None = None) -> list[OutboundMessage]:
    fresh()
    query = db.session.query(OutboundMessage)
    if ticket_id is not None:
        query = query.filter_by(ticket_id=ticket_id)
    return query.order_by(OutboundMessage.id).all()


def who(rows: list[OutboundMessage]) -> list[tuple[str, str, str]]:
    return [(r.recipient.username, r.channel, r.kind) for r in rows]


def fire_at(clock, due: datetime) -> int:
    """One second before `due` nothing fires; at `due` the scheduler fires. Returns what it fired."""
    clock.set(due - timedelta(seconds=1))
    assert escalation.run_due(clock.now()) == 0, f"fired before {due}"
    clock.set(due)
    return escalation.run_due(clock.now())


def policy(hospital, steps: list[tuple[str, int]], repeat: int = 1, priority: int | None = 1, name: str = "Power"):
    return save_policy(None, name=name, trade_id=hospital.trades["power"].id, priority=priority, repeat=repeat,
                       steps=[StepInput(i, target, wait) for i, (target, wait) in enumerate(steps, start=1)])


# --- auto-dispatch -------------------------------------------------------------------------------

def test_an_emergency_goes_at_once_to_the_on_call_primary_with_a_call(hospital, clock):
    staff_rota(hospital)
    ticket = ticket_of(file_fault(hospital).id)
    assert (ticket.status, ticket.assignee.username, ticket.auto_assigned, ticket.assigned_at) == (
        "assigned", "sparky", True, clock.now())
    [assigned] = events(ticket.id, ("assigned",))
    assert (assigned.channel, assigned.actor_id, assigned.at) == ("system", None, clock.now())
    assert assigned.data["automatic"] is True and assigned.data["technician_id"] == hospital.users["sparky"].id
    assert who(outbox_rows(ticket.id)) == [("sparky", "sms", "assignment"), ("sparky", "voice", "call")]


def test_an_urgent_job_goes_at_once_too_but_without_a_call(hospital):
    staff_rota(hospital)
    ticket = ticket_of(file_fault(hospital, priority=2, description="No power in bay 2").id)
    assert (ticket.status, ticket.assignee.username) == ("assigned", "sparky")
    assert who(outbox_rows(ticket.id)) == [("sparky", "sms", "assignment")]


def test_an_unlicensed_primary_is_passed_over_for_the_licensed_secondary(hospital):
    staff_rota(hospital, primary=("lapsed",), secondary=("sparky",))
    ticket = ticket_of(file_fault(hospital).id)
    assert ticket.assignee.username == "sparky"


def test_a_primary_on_leave_is_passed_over(hospital, clock):
    staff_rota(hospital)
    rota.add_override(kind="leave", user_id=hospital.users["sparky"].id, starts_at=clock.now() - timedelta(hours=1),
                      ends_at=clock.now() + timedelta(hours=8), actor_id=hospital.users["manager"].id)
    ticket = ticket_of(file_fault(hospital).id)
    assert ticket.assignee.username == "volt"


def test_a_primary_already_on_an_open_emergency_is_passed_over(hospital, clock):
    staff_rota(hospital)
    first = file_fault(hospital, description="No power to bed 1")
    clock.advance(minutes=1)
    second = file_fault(hospital, description="No power to bed 4")
    assert ticket_of(first.id).assignee.username == "sparky"
    assert ticket_of(second.id).assignee.username == "volt"
    # Once sparky has finished the first job, the next emergency is his again.
    sparky = hospital.user("sparky")
    transition(first.id, "attend", sparky)
    transition(first.id, "resolve", sparky, note="Breaker reset")
    third = file_fault(hospital, description="No power to bed 6")
    assert ticket_of(third.id).assignee.username == "sparky"


def test_a_routine_job_waits_for_the_dispatcher(hospital):
    staff_rota(hospital)
    ticket = ticket_of(file_fault(hospital, priority=3, description="One socket dead in bay 2").id)
    assert (ticket.status, ticket.assignee_id) == ("new", None)
    assert events(ticket.id, ("assigned", "auto_dispatch_none")) == []
    assert outbox_rows(ticket.id) == []


def test_a_routine_job_is_dispatched_at_once_when_the_department_turns_it_on(app, hospital):
    app.config["AUTO_DISPATCH_PRIORITIES"] = (1, 2, 3)
    staff_rota(hospital)
    ticket = ticket_of(file_fault(hospital, priority=3, description="One socket dead in bay 2").id)
    assert (ticket.status, ticket.assignee.username, ticket.auto_assigned) == ("assigned", "sparky", True)


@pytest.mark.parametrize("primary, secondary, at", [
    (("lapsed",), (), None),                          # expired yesterday
    (("volt",), (), datetime.fromisoformat("2026-03-10T16:00:00+00:00")),  # licence ended at midnight, hospital time
    (("plumb",), ("lapsed",), None),                  # a plumber on the power rota, and an expired electrician
])
def test_an_emergency_is_never_given_to_someone_unlicensed(hospital, clock, primary, secondary, at):
    staff_rota(hospital, primary=primary, secondary=secondary)
    if at is not None:
        clock.set(at)
    ticket = ticket_of(file_fault(hospital).id)
    assert (ticket.status, ticket.assignee_id) == ("new", None)
    [none] = events(ticket.id, ("auto_dispatch_none",))
    assert none.channel == "system"
    # The chain does not hand it to them either: the technician step is skipped, the supervisor is told.
    assert fire_at(clock, clock.now() + timedelta(minutes=5)) == 1
    assert ticket_of(ticket.id).assignee_id is None
    assert [e[0] for e in chain_events(ticket.id)] == ["escalation_skipped", "escalated"]
    assert {r.recipient.username for r in outbox_rows(ticket.id)} == {"supervisor"}


# --- the whole chain on the frozen clock --------------------------------------------------------

# Default P1 chain, three rounds: (minutes after filing, step, round, target, who is reached). Sparky keeps
# the job throughout; each round's technician step pages volt as well (escalation widens the circle).
P1_TIMELINE = [
    (5, 1, 1, "next_on_call", "volt"), (10, 2, 1, "supervisor", "supervisor"), (15, 3, 1, "duty_manager", "manager"),
    (20, 1, 2, "next_on_call", "volt"), (25, 2, 2, "supervisor", "supervisor"), (30, 3, 2, "duty_manager", "manager"),
    (35, 1, 3, "next_on_call", "volt"), (40, 2, 3, "supervisor", "supervisor"), (45, 3, 3, "duty_manager", "manager"),
]
STEP_ROWS = {  # outbox rows each step owes: (recipient, channel, kind)
    "volt": [("volt", "sms", "page"), ("volt", "voice", "page_call")],
    "supervisor": [("supervisor", "sms", "escalation"), ("supervisor", "voice", "escalation_call")],
    "manager": [("manager", "sms", "escalation"), ("manager", "voice", "escalation_call")],
}


def test_an_unanswered_emergency_climbs_its_chain_on_time_then_gives_up(hospital, clock):
    staff_rota(hospital)
    filed = clock.now()
    ticket = file_fault(hospital)
    escalation_row = timer(ticket.id)
    assert (escalation_row.waiting_for, escalation_row.repeat, [s["target"] for s in escalation_row.chain]) == (
        "acknowledge", 3, ["next_on_call", "supervisor", "duty_manager"])
    seen = len(outbox_rows(ticket.id))
    for minutes, step, round_, target, person in P1_TIMELINE:
        due = filed + timedelta(minutes=minutes)
        assert timer(ticket.id).next_due_at == due
        assert fire_at(clock, due) == 1
        event = events(ticket.id, ("escalated",))[-1]
        assert event.at == due and event.channel == "system"
        assert {k: event.data[k] for k in ("step", "round", "target", "waiting_for", "by", "lag_seconds")} == {
            "step": step, "round": round_, "target": target, "waiting_for": "acknowledge", "by": "scheduler",
            "lag_seconds": 0.0}
        assert datetime.fromisoformat(event.data["due_at"]) == due
        assert event.data["people"] == [hospital.users[person].id]
        rows = outbox_rows(ticket.id)
        assert who(rows[seen:]) == STEP_ROWS[person], (minutes, who(rows[seen:]))
        assert all(r.state == "pending" and r.created_at == due for r in rows[seen:])
        seen = len(rows)
        ticket_now = ticket_of(ticket.id)
        assert (ticket_now.assignee.username, ticket_now.reassign_count) == ("sparky", 0)
    assert [(kind, step) for kind, _at, step, _target in chain_events(ticket.id)] == [
        ("escalated", s) for s in (1, 2, 3) * 3] + [("escalation_exhausted", None)]
    done = timer(ticket.id)
    assert (done.state, done.next_due_at) == ("exhausted", None)
    clock.advance(hours=2)
    assert escalation.run_due(clock.now()) == 0
    assert len(events(ticket.id, CHAIN_KINDS)) == 10


def test_each_steps_messages_reach_twilio_once_through_redis_and_a_real_worker(app, hospital, clock, fake_twilio,
                                                                              live_app, worker):
    staff_rota(hospital)
    filed = clock.now()
    ticket = file_fault(hospital)
    worker()
    for minutes, *_step in P1_TIMELINE:
        assert fire_at(clock, filed + timedelta(minutes=minutes)) == 1
        results = worker()
        assert results.count("sent") == len([r for r in outbox_rows(ticket.id) if r.created_at == clock.now()])
    rows = outbox_rows(ticket.id)
    sms_rows = [r for r in rows if r.channel == "sms"]
    call_rows = [r for r in rows if r.channel == "voice"]
    sent_sms = [m for m in fake_twilio.state.messages() if m["direction"] == "outbound-api"]
    calls = fake_twilio.state.calls()
    assert len(sms_rows) == 1 + 9  # filing; one per step (nobody is taken off the job, so nobody is told so)
    assert len(sent_sms) == len(sms_rows) and len(calls) == len(call_rows) == 1 + 9
    assert sorted(r.twilio_sid for r in sms_rows) == sorted(m["sid"] for m in sent_sms)
    assert sorted(r.twilio_sid for r in call_rows) == sorted(c["sid"] for c in calls)
    assert sorted(m["body"] for m in sent_sms) == sorted(r.body for r in sms_rows)
    supervisor_texts = [m for m in sent_sms if m["to"] == PHONES["supervisor"]]
    assert len(supervisor_texts) == 3 and all(m["body"].startswith("ESCALATION P1 #1001") for m in supervisor_texts)


def test_a_step_is_recorded_when_it_fires_not_when_the_scheduler_round_began(hospital, clock):
    staff_rota(hospital)
    filed = clock.now()
    ticket = file_fault(hospital)
    due = filed + timedelta(minutes=5)
    clock.set(due + timedelta(seconds=3))  # the round began at the due time; this ticket's turn came 3 s later
    assert escalation.run_due(due) == 1
    [event] = events(ticket.id, ("escalated",))
    assert (event.at, event.data["lag_seconds"]) == (due + timedelta(seconds=3), 3.0)
    assert timer(ticket.id).next_due_at == due + timedelta(minutes=5, seconds=3)


# --- answered mid-chain --------------------------------------------------------------------------

def test_accepting_by_sms_stops_the_chain_and_the_attend_phase_begins(app, hospital, clock):
    staff_rota(hospital)
    filed = clock.now()
    ticket = file_fault(hospital)
    clock.advance(minutes=2)
    text_in(app, PHONES["sparky"], "A 1001")
    row = timer(ticket.id)
    assert (row.waiting_for, row.state, row.next_due_at) == ("attend", "active", filed + timedelta(minutes=15))
    for minutes in (5, 10, 14):
        clock.set(filed + timedelta(minutes=minutes))
        assert escalation.run_due(clock.now()) == 0
    assert chain_events(ticket.id) == []
    # Nobody on site by the 15-minute attend target: the supervisor hears of it, then the duty manager.
    attend_due = ticket_of(ticket.id).attend_due_at
    assert fire_at(clock, attend_due) == 1
    assert fire_at(clock, attend_due + timedelta(minutes=15)) == 1
    assert chain_events(ticket.id) == [
        ("escalated", attend_due, 1, "supervisor"), ("escalated", attend_due + timedelta(minutes=15), 2, "duty_manager"),
        ("escalation_exhausted", attend_due + timedelta(minutes=15), None, None)]
    assert [e.data["waiting_for"] for e in events(ticket.id, ("escalated",))] == ["attend", "attend"]
    assert ticket_of(ticket.id).assignee.username == "sparky"  # nobody is taken off an acknowledged job
    texts = [r for r in outbox_rows(ticket.id) if r.kind == "escalation"]
    assert [r.recipient.username for r in texts] == ["supervisor", "manager"]
    assert all("acknowledged by Wang Sparky but nobody on site yet" in r.body for r in texts)


def test_the_attend_phase_follows_the_hospitals_policy(app, hospital, clock):
    """A policy may say whom to tell when an acknowledged job has nobody on site: here the duty manager five
    minutes after the attend target, then a named group. Its acknowledge steps are the chain as before."""
    staff_rota(hospital)
    save_policy(None, name="Power emergencies", trade_id=hospital.trades["power"].id, priority=1, repeat=1, steps=[
        StepInput(1, "next_on_call", 5), StepInput(2, "duty_manager", 5, phase="attend"),
        StepInput(3, "group", 10, phase="attend", group_name="Estates managers",
                  group_user_ids=[hospital.users["supervisor"].id])])
    ticket = file_fault(hospital)
    clock.advance(minutes=2)
    text_in(app, PHONES["sparky"], "A 1001")
    attend_due = ticket_of(ticket.id).attend_due_at
    row = timer(ticket.id)
    assert (row.waiting_for, [step["target"] for step in row.chain]) == ("attend", ["duty_manager", "group"])
    assert row.next_due_at == attend_due + timedelta(minutes=5)
    assert fire_at(clock, attend_due + timedelta(minutes=5)) == 1
    assert fire_at(clock, attend_due + timedelta(minutes=15)) == 1
    assert [(kind, target) for kind, _at, _step, target in chain_events(ticket.id)] == [
        ("escalated", "duty_manager"), ("escalated", "group"), ("escalation_exhausted", None)]


def test_a_policy_without_attend_steps_keeps_the_default_attend_phase(app, hospital, clock):
    staff_rota(hospital)
    policy(hospital, [("next_on_call", 5), ("supervisor", 5)])
    ticket = file_fault(hospital)
    clock.advance(minutes=2)
    text_in(app, PHONES["sparky"], "A 1001")
    row = timer(ticket.id)
    assert [(s["target"], s["wait_minutes"], s["voice"]) for s in row.chain] == escalation.default_attend_chain(1)
    assert row.next_due_at == ticket_of(ticket.id).attend_due_at


def test_a_policy_needs_a_step_for_an_unacknowledged_job(hospital):
    with pytest.raises(ValidationError, match="nobody has acknowledged"):
        save_policy(None, name="Only attend", trade_id=None, priority=None, repeat=1,
                    steps=[StepInput(1, "supervisor", 0, phase="attend")])


def test_arriving_on_site_stops_the_attend_phase(hospital, clock):
    staff_rota(hospital)
    filed = clock.now()
    ticket = file_fault(hospital)
    sparky = hospital.user("sparky")
    clock.advance(minutes=3)
    transition(ticket.id, "acknowledge", sparky, channel="sms")
    clock.advance(minutes=9)
    transition(ticket.id, "attend", sparky, channel="sms")
    row = timer(ticket.id)
    assert (row.state, row.next_due_at) == ("stopped", None)
    clock.set(filed + timedelta(hours=2))
    assert escalation.run_due(clock.now()) == 0
    assert chain_events(ticket.id) == []


def test_accepting_after_the_first_step_stops_the_rest_of_the_chain(hospital, clock):
    staff_rota(hospital)
    filed = clock.now()
    ticket = file_fault(hospital)
    assert fire_at(clock, filed + timedelta(minutes=5)) == 1  # volt gets the job
    clock.advance(minutes=2)
    transition(ticket.id, "acknowledge", hospital.user("volt"), channel="sms")
    for minutes in (10, 14):
        clock.set(filed + timedelta(minutes=minutes))
        assert escalation.run_due(clock.now()) == 0
    assert [e[:4] for e in chain_events(ticket.id)] == [("escalated", filed + timedelta(minutes=5), 1, "next_on_call")]


def test_refusing_by_sms_moves_the_job_on_at_once(app, hospital, clock):
    staff_rota(hospital)
    filed = clock.now()
    ticket = file_fault(hospital)
    clock.advance(minutes=1)
    text_in(app, PHONES["sparky"], "R 1001 no ladder")
    assert ticket_of(ticket.id).status == "refused"
    assert timer(ticket.id).next_due_at == clock.now()
    assert escalation.run_due(clock.now()) == 1
    ticket = ticket_of(ticket.id)
    assert (ticket.status, ticket.assignee.username) == ("assigned", "volt")
    [event] = events(ticket.id, ("escalated",))
    assert (event.at, event.data["step"], event.data["lag_seconds"]) == (filed + timedelta(minutes=1), 1, 0.0)
    # Volt gets the step's full wait before the supervisor is told.
    assert timer(ticket.id).next_due_at == clock.now() + timedelta(minutes=5)


# --- restarts, Redis flushed ----------------------------------------------------------------------

def _second_app(app, clock):
    """What a restarted scheduler (and worker) builds: new app, engine and sessions, same database."""
    keys = ("SQLALCHEMY_DATABASE_URI", "REDIS_URL", "RQ_QUEUE", "HOSPITAL_TIMEZONE", "TWILIO_API_BASE_URL",
            "PUBLIC_URL", "TWILIO_ACCOUNT_SID", "TWILIO_AUTH_TOKEN", "SECRET_KEY", "PASSWORD_HASH_METHOD")
    return create_app({"TESTING": True, "CLOCK": clock, **{k: app.config[k] for k in keys}})


def test_a_restart_and_a_redis_flush_mid_chain_lose_nothing_and_repeat_nothing(app, hospital, clock, fake_twilio,
                                                                              live_app, worker, redis_conn):
    import workers.context

    staff_rota(hospital)
    filed = clock.now()
    ticket = file_fault(hospital)
    worker()
    assert fire_at(clock, filed + timedelta(minutes=5)) == 1  # step 1 committed with its messages...
    redis_conn.flushdb()  # ...and then Redis loses every queued job
    assert worker() == []

    # The scheduler dies here. Its successor is a new process: new app, new engine, same database.
    restarted = _second_app(app, clock)
    workers.context.use_app(restarted)
    try:
        with restarted.app_context():
            rounds = Rounds()
            clock.set(filed + timedelta(minutes=5, seconds=31))  # the lost jobs are 31 s old
            rounds.tick(clock.now())
            step_one = [r for r in outbox_rows(ticket.id) if r.created_at == filed + timedelta(minutes=5)]
            assert len(step_one) == 2 and all(r.enqueued_at == clock.now() for r in step_one)  # swept back in
            worker()
            clock.set(filed + timedelta(minutes=10, seconds=3))  # step 2 came due while nobody was running
            rounds.tick(clock.now())
            worker()
            clock.set(filed + timedelta(minutes=10, seconds=4))
            rounds.tick(clock.now())  # the next round finds nothing left to fire
            clock.set(filed + timedelta(minutes=15, seconds=3))  # each step waits in full from the one before
            rounds.tick(clock.now())
            worker()
        with restarted.app_context():
            db.session.remove()
            db.engine.dispose()
    finally:
        workers.context.use_app(app)

    fired = events(ticket.id, ("escalated",))
    assert [(e.data["step"], e.at) for e in fired] == [
        (1, filed + timedelta(minutes=5)), (2, filed + timedelta(minutes=10, seconds=3)),
        (3, filed + timedelta(minutes=15, seconds=3))]
    assert [e.data["lag_seconds"] for e in fired] == [0.0, 3.0, 0.0]
    assert len(outbox_rows(ticket.id)) == 2 + 2 + 2 + 2  # filing, then steps 1-3: none lost, none twice
    rows = outbox_rows()  # with the duty manager's daily coverage text the restarted scheduler owed
    assert all(r.state in ("sent", "delivered") for r in rows), [(r.kind, r.state) for r in rows]
    sent_sms = [m for m in fake_twilio.state.messages() if m["direction"] == "outbound-api"]
    assert sorted(m["sid"] for m in sent_sms) == sorted(r.twilio_sid for r in rows if r.channel == "sms")
    assert sorted(c["sid"] for c in fake_twilio.state.calls()) == sorted(r.twilio_sid for r in rows if r.channel == "voice")
    assert len(fake_twilio.state.calls()) == 4


def test_the_sweep_enqueues_again_only_messages_whose_job_was_lost(hospital, clock, fake_twilio, live_app, worker,
                                                                   redis_conn):
    """A worker that is merely behind still has the job: enqueueing it again would only lengthen its queue."""
    from dispatch.queue import get_queue

    staff_rota(hospital)
    ticket = file_fault(hospital)  # the assignment SMS and the call, queued
    assert len(get_queue().job_ids) == 2
    clock.advance(seconds=31)
    assert notify.sweep(clock.now())["enqueued"] == 0
    assert len(get_queue().job_ids) == 2
    redis_conn.flushdb()  # now they are lost
    assert notify.sweep(clock.now())["enqueued"] == 2
    assert sorted(worker()) == ["sent", "sent"]
    assert all(r.state in ("sent", "delivered") for r in outbox_rows(ticket.id))
    assert len([m for m in fake_twilio.state.messages() if m["direction"] == "outbound-api"]) == 1
    assert len(fake_twilio.state.calls()) == 1


# --- two schedulers at once ------------------------------------------------------------------------

def test_two_schedulers_at_once_fire_each_step_exactly_once(app, hospital, clock):
    app.config["MAJOR_INCIDENT_AUTO_THRESHOLD"] = 0  # thirty reports from one ward are thirty jobs here
    staff_rota(hospital, primary=(), secondary=())  # nobody to hand them to: step 1 is skipped, step 2 tells
    filed = clock.now()
    ids = [file_fault(hospital, description=f"No power to bed {n}").id for n in range(30)]
    fresh()

    def two_schedulers(now: datetime) -> list[int]:
        barrier = threading.Barrier(2)
        fired: list[int] = []
        failures: list[BaseException] = []

        def scheduler() -> None:
            try:
                with app.app_context():
                    barrier.wait(timeout=10)
                    fired.append(escalation.run_due(now))
            except BaseException as error:  # surfaced below with the thread's traceback
                failures.append(error)

        threads = [threading.Thread(target=scheduler) for _ in range(2)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=60)
        assert not failures, failures
        assert len(fired) == 2
        return fired

    assert sum(two_schedulers(filed + timedelta(minutes=5))) == 30
    assert sum(two_schedulers(filed + timedelta(minutes=10))) == 30
    for ticket_id in ids:
        assert [e[:3] for e in chain_events(ticket_id)] == [
            ("escalation_skipped", filed + timedelta(minutes=5), 1), ("escalated", filed + timedelta(minutes=5), 2),
            ("escalated", filed + timedelta(minutes=10), 3)]
        assert who(outbox_rows(ticket_id)) == [
            ("supervisor", "sms", "escalation"), ("supervisor", "voice", "escalation_call"),
            ("manager", "sms", "escalation"), ("manager", "voice", "escalation_call")]
        assert timer(ticket_id).step_index == 0 and timer(ticket_id).round == 1


# --- chains that change or have holes --------------------------------------------------------------

def test_a_step_with_nobody_to_tell_is_skipped_without_waiting(hospital, clock):
    staff_rota(hospital, secondary=())
    policy(hospital, [("supervisor", 5), ("secondary", 5), ("duty_manager", 5)])
    filed = clock.now()
    ticket = file_fault(hospital)
    assert fire_at(clock, filed + timedelta(minutes=5)) == 1
    assert fire_at(clock, filed + timedelta(minutes=10)) == 1
    ten = filed + timedelta(minutes=10)
    assert chain_events(ticket.id) == [
        ("escalated", filed + timedelta(minutes=5), 1, "supervisor"), ("escalation_skipped", ten, 2, "secondary"),
        ("escalated", ten, 3, "duty_manager"), ("escalation_exhausted", ten, None, None)]
    skipped = events(ticket.id, ("escalation_skipped",))[0]
    assert skipped.data["people"] == [] and "nobody on call or licensed" in skipped.note
    third = events(ticket.id, ("escalated",))[-1]
    assert third.data["lag_seconds"] == 0.0 and datetime.fromisoformat(third.data["due_at"]) == ten


@pytest.mark.parametrize("change", ["edit", "delete"])
def test_a_policy_changed_mid_chain_leaves_the_running_chain_alone(hospital, clock, change):
    staff_rota(hospital)
    power_p1 = policy(hospital, [("supervisor", 2), ("duty_manager", 2)], name="Power emergencies")
    filed = clock.now()
    first = file_fault(hospital)
    frozen = timer(first.id).chain
    clock.advance(minutes=1)
    if change == "edit":
        save_policy(power_p1.id, name="Power emergencies", trade_id=hospital.trades["power"].id, priority=1, repeat=2,
                    steps=[StepInput(1, "duty_manager", 10), StepInput(2, "supervisor", 10)])
    else:
        delete_policy(power_p1.id)
    second = file_fault(hospital, description="No power to bed 4")
    assert timer(first.id).chain == frozen
    assert fire_at(clock, filed + timedelta(minutes=2)) == 1
    assert fire_at(clock, filed + timedelta(minutes=4)) == 1
    assert chain_events(first.id) == [
        ("escalated", filed + timedelta(minutes=2), 1, "supervisor"),
        ("escalated", filed + timedelta(minutes=4), 2, "duty_manager"),
        ("escalation_exhausted", filed + timedelta(minutes=4), None, None)]
    # The new ticket follows the policy as it is now.
    new = timer(second.id)
    if change == "edit":
        assert ([s["target"] for s in new.chain], new.repeat, new.policy_name) == (
            ["duty_manager", "supervisor"], 2, "Power emergencies")
        assert new.next_due_at == filed + timedelta(minutes=11)
    else:
        assert [s["target"] for s in new.chain] == ["next_on_call", "supervisor", "duty_manager"]
        assert new.policy_name == "Default P1 chain"
        assert new.next_due_at == filed + timedelta(minutes=6)


# --- the watchdog -------------------------------------------------------------------------------------

def test_a_step_is_due_at_its_time_for_the_scheduler_and_the_monitoring_alike(hospital, clock):
    """One definition of due (the watchdog's overdue is the same, 30 seconds on): the monitoring never
    shows nothing due while the scheduler has a step to fire."""
    staff_rota(hospital)
    ticket = file_fault(hospital)
    clock.set(escalation.status(ticket.id).next_due_at)
    assert operations.database_figures(clock.now()).escalations_overdue == 1
    assert escalation.overdue_count(clock.now()) == 0  # not late enough for the watchdog yet
    assert escalation.run_due(clock.now()) == 1
    assert operations.database_figures(clock.now()).escalations_overdue == 0


def test_the_watchdog_fires_a_step_over_30_seconds_late_and_leaves_a_10_second_one_to_the_scheduler(hospital, clock):
    staff_rota(hospital)
    filed = clock.now()
    ticket = file_fault(hospital)
    due = filed + timedelta(minutes=5)
    clock.set(due + timedelta(seconds=10))
    Watchdog().tick(clock.now())
    assert events(ticket.id, ("escalated", "watchdog")) == []
    assert escalation.overdue_count(clock.now()) == 0
    clock.set(due + timedelta(seconds=31))
    assert escalation.overdue_count(clock.now()) == 1
    Watchdog().tick(clock.now())
    fired, watchdog = events(ticket.id, ("escalated", "watchdog"))
    assert (fired.kind, fired.at, fired.data["by"], fired.data["lag_seconds"]) == ("escalated", clock.now(), "watchdog", 31.0)
    assert (watchdog.kind, watchdog.channel, watchdog.data["step"]) == ("watchdog", "system", 1)
    assert ticket_of(ticket.id).assignee.username == "sparky"  # volt was paged as well; sparky keeps the job
    assert fired.data["people"] == [hospital.users["volt"].id]
    # The scheduler, back, does not fire it again.
    assert escalation.run_due(clock.now()) == 0
    assert len(events(ticket.id, ("escalated",))) == 1
    assert notify.messages_for_ticket(ticket.id)[-1].created_at == clock.now()
