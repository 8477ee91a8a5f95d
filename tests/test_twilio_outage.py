"""Twilio down for longer than a couple of minutes: a message owed is retried (at most a minute apart)
for as long as it matters, and stops with a clear final state: 'not_needed' once the job was answered,
given away or escalated past; 'failed' on a permanent Twilio error. The watchdog does the SMS sweep
while the scheduler is silent. Each failure is logged at WARNING without the message's text.

Real RQ worker, real Redis, the Twilio SDK against the project's fake of Twilio (its failure
injection), and the frozen clock moved by hand.
"""
from __future__ import annotations

import logging
from datetime import timedelta

import pytest

from dispatch.services import escalation, heartbeats, notify
from dispatch.services.assignment import assign_ticket
from dispatch.services.scheduler import Watchdog
from dispatch.services.tickets import transition
from tests.test_escalation import PHONES, staff_rota
from tests.test_sms_outbox import SPARKY, assign, create_requests, events, file_fault, only_row, outbox, \
    sms_at_fake, wait_for_callback

# Eight attempts 1, 2, 4 ... 60 s apart: where the outbox used to give up, about two minutes in.
OLD_GIVE_UP = timedelta(seconds=1 + 2 + 4 + 8 + 16 + 32 + 60)


def retry_when_due(clock, row_id: int, worker) -> list:
    """Move the clock to the row's next attempt, let the sweep queue it and the worker run it."""
    [row] = [r for r in outbox_all() if r.id == row_id]
    assert row.state == "pending", (row.state, row.last_error)
    clock.set(row.next_attempt_at)
    assert notify.sweep(clock.now())["enqueued"] >= 1
    return worker()


def fresh_ticket(ticket_id: int):
    from models import Ticket, db

    db.session.rollback()
    db.session.expire_all()
    return db.session.get(Ticket, ticket_id)


def outbox_all():
    from models import OutboundMessage, db

    db.session.rollback()
    db.session.expire_all()
    return db.session.query(OutboundMessage).order_by(OutboundMessage.id).all()


@pytest.mark.parametrize("status, code", [(503, 20503), (429, 20429)])
def test_an_outage_longer_than_the_old_give_up_point_is_retried_until_twilio_is_back(
        status, code, hospital, clock, fake_twilio, live_app, worker):
    fake_twilio.state.fail_next(status, count=14)
    ticket = file_fault(hospital)
    assign(hospital, ticket.id)
    start = clock.now()
    row_id = only_row(ticket.id).id
    assert worker() == ["retry"]
    while clock.now() - start <= OLD_GIVE_UP + timedelta(minutes=5):
        assert retry_when_due(clock, row_id, worker) == ["retry"]
        row = only_row(ticket.id)
        # never more than a minute between attempts, however long Twilio fails
        assert row.next_attempt_at - clock.now() <= notify.MAX_BACKOFF
    row = only_row(ticket.id)
    assert (row.state, row.last_error_code) == ("pending", code) and row.attempts > 8
    fake_twilio.state.clear_failures()

    assert retry_when_due(clock, row_id, worker) == ["sent"]
    wait_for_callback(fake_twilio, row_id, "delivered")
    row = only_row(ticket.id)
    assert (row.state, row.last_error) == ("delivered", None)
    assert [r.response_status for r in create_requests(fake_twilio)] == [status] * (row.attempts - 1) + [201]
    assert len(sms_at_fake(fake_twilio)) == 1
    assert events(ticket.id, "sms_failed") == []


def test_a_job_acknowledged_during_the_outage_is_no_longer_texted_and_is_not_a_failure(
        hospital, clock, fake_twilio, live_app, worker):
    fake_twilio.state.fail_for(503, 3600)
    ticket = file_fault(hospital)
    assign(hospital, ticket.id)
    row_id = only_row(ticket.id).id
    assert worker() == ["retry"]
    for _round in range(10):
        assert retry_when_due(clock, row_id, worker) == ["retry"]
    tried = len(create_requests(fake_twilio))
    # The dispatcher phoned Sparky, who acknowledged on the ward's PC.
    transition(ticket.id, "acknowledge", hospital.user("sparky"))

    assert retry_when_due(clock, row_id, worker) == ["not-needed"]
    row = only_row(ticket.id)
    assert row.state == "not_needed" and row.next_attempt_at is None
    assert row.last_error.startswith("the technician has answered the job; last error: HTTP 503")
    assert len(create_requests(fake_twilio)) == tried  # nothing more went to Twilio
    assert events(ticket.id, "sms_failed") == []
    clock.advance(hours=1)
    assert notify.sweep(clock.now()) == {"enqueued": 0, "reconciled": 0}


def test_a_job_given_to_someone_else_during_the_outage_stops_texting_the_first(hospital, clock, fake_twilio,
                                                                               live_app, worker):
    fake_twilio.state.fail_next(503, count=3)
    ticket = file_fault(hospital)
    assign(hospital, ticket.id, "sparky")
    first = only_row(ticket.id)
    assert worker() == ["retry"]
    seen = fresh_ticket(ticket.id).version
    assign_ticket(ticket.id, hospital.users["volt"].id, hospital.user("dispatcher"), expected_version=seen)
    assert worker() == ["retry", "retry"]  # Sparky's "you are off this job" and Volt's job, Twilio still down
    # All three are due again and Twilio is back. Sparky's job text is not sent: the job is Volt's now.
    assert retry_when_due(clock, first.id, worker) == ["not-needed", "sent", "sent"]
    rows = {(r.recipient.username, r.kind): r for r in outbox(ticket.id)}
    assert rows[("sparky", "assignment")].state == "not_needed"
    assert rows[("sparky", "assignment")].last_error.startswith("the job is no longer theirs")
    assert rows[("volt", "reassignment")].state in ("sent", "delivered")
    assert rows[("sparky", "reassigned_away")].state in ("sent", "delivered")
    sent = [m["body"] for m in sms_at_fake(fake_twilio)]
    assert rows[("sparky", "assignment")].body not in sent and rows[("sparky", "reassigned_away")].body in sent
    assert events(ticket.id, "sms_failed") == []


def test_an_escalation_text_is_retried_until_the_next_step_fires(app, hospital, clock, fake_twilio, live_app, worker):
    staff_rota(hospital)
    filed = clock.now()
    ticket = file_fault(hospital)  # P1: Sparky at once, with a call
    worker()
    fake_twilio.state.fail_for(503, 3600)
    clock.set(filed + timedelta(minutes=5))
    assert escalation.run_due(clock.now()) == 1  # step 1: next on call (Volt)
    clock.set(filed + timedelta(minutes=10))
    assert escalation.run_due(clock.now()) == 1  # step 2: the supervisor, text and call
    worker()
    supervisor = [r for r in outbox(ticket.id) if r.kind in notify.ESCALATION_KINDS]
    assert {r.channel for r in supervisor} == {"sms", "voice"}
    assert all(r.state == "pending" and r.to_number == PHONES["supervisor"] for r in supervisor)
    for row in supervisor:
        for _round in range(4):
            retry_when_due(clock, row.id, worker)
    assert all(r.state == "pending" for r in outbox(ticket.id) if r.id in {s.id for s in supervisor})

    assert clock.now() < filed + timedelta(minutes=15)
    clock.set(filed + timedelta(minutes=15))
    assert escalation.run_due(clock.now()) == 1  # step 3: the duty manager
    tried = len(fake_twilio.state.requests)
    clock.set(max(r.next_attempt_at for r in outbox(ticket.id) if r.id in {s.id for s in supervisor}))
    notify.sweep(clock.now())
    assert worker().count("not-needed") == 2
    assert not [r for r in fake_twilio.state.requests[tried:] if r.form.get("To") == PHONES["supervisor"]]
    done = {r.id: r for r in outbox(ticket.id)}
    assert all(done[r.id].state == "not_needed" and done[r.id].last_error.startswith("a later escalation step")
               for r in supervisor)
    assert events(ticket.id, "sms_failed") == []


def test_a_permanent_error_after_an_outage_fails_for_good(hospital, clock, fake_twilio, live_app, worker):
    fake_twilio.state.fail_next(503, count=10)
    ticket = file_fault(hospital)
    assign(hospital, ticket.id)
    row_id = only_row(ticket.id).id
    assert worker() == ["retry"]
    for _round in range(9):
        assert retry_when_due(clock, row_id, worker) == ["retry"]
    fake_twilio.state.set_numbers(invalid=[SPARKY])

    assert retry_when_due(clock, row_id, worker) == ["failed"]
    row = only_row(ticket.id)
    assert (row.state, row.last_error_code) == ("failed", 21211)
    [event] = events(ticket.id, "sms_failed")
    assert "invalid phone number (Twilio 21211)" in event.note


def test_a_message_with_no_ticket_rule_is_given_up_after_the_configured_hours(app, hospital, clock, fake_twilio,
                                                                              live_app, worker):
    from dispatch.services.staff_records import send_test_sms

    app.config["SMS_RETRY_HOURS"] = 1
    fake_twilio.state.fail_for(503, 3600)
    send_test_sms(hospital.users["sparky"].id)
    [row] = outbox_all()
    assert worker() == ["retry"]
    results = []
    while not results or results[-1] == ["retry"]:
        results.append(retry_when_due(clock, row.id, worker))
    [row] = outbox_all()
    assert results[-1] == ["failed"] and row.state == "failed"
    assert clock.now() - row.created_at >= timedelta(hours=1)
    assert row.last_error.startswith("still not sent after 1 hours")


def test_twilio_failures_are_logged_at_warning_with_code_status_row_and_ticket_but_no_text(
        hospital, clock, fake_twilio, live_app, worker, caplog):
    fake_twilio.state.fail_next(429, count=1)
    ticket = file_fault(hospital, description="Bed 7, Mr Secret's oxygen alarm")
    assign(hospital, ticket.id)
    row = only_row(ticket.id)
    with caplog.at_level(logging.WARNING, logger="dispatch.services.notify"):
        assert worker() == ["retry"]
    [record] = [r for r in caplog.records if r.name == "dispatch.services.notify"]
    text = record.getMessage()
    assert record.levelno == logging.WARNING
    assert f"outbox message {row.id}" in text and f"ticket {ticket.id}" in text
    assert "HTTP 429" in text and "Twilio error 20429" in text and "retry" in text
    assert "Secret" not in text and "Bed 7" not in text


def test_the_watchdog_sweeps_the_outbox_while_the_scheduler_is_silent(hospital, clock, fake_twilio, live_app,
                                                                      worker):
    fake_twilio.state.fail_next(503, count=1)
    ticket = file_fault(hospital)
    assign(hospital, ticket.id)
    row_id = only_row(ticket.id).id
    assert worker() == ["retry"]
    heartbeats.beat("scheduler")
    clock.set(only_row(ticket.id).next_attempt_at)
    Watchdog().tick(clock.now())
    assert worker() == []  # the scheduler is alive: the sweep is its job

    clock.advance(seconds=heartbeats.SILENCE_LIMITS["scheduler"].total_seconds() + 1)  # the scheduler died
    Watchdog().tick(clock.now())
    assert worker() == ["sent"]
    wait_for_callback(fake_twilio, row_id, "delivered")
    assert only_row(ticket.id).state == "delivered"
    assert "swept SMS (queued 1" in heartbeats_detail("watchdog")


def heartbeats_detail(name: str) -> str:
    from models import Heartbeat, db

    db.session.rollback()
    return db.session.get(Heartbeat, name).detail or ""


# --- what the service asks Twilio: lookups by send time, and a Messaging Service ------------------

def test_a_lookup_after_a_lost_worker_does_not_take_an_older_identical_text_for_this_one(
        app, hospital, clock, fake_twilio, live_app, worker, redis_conn):
    from tests.test_sms_outbox import empty_queue, set_row

    ticket = file_fault(hospital)
    assign(hospital, ticket.id)
    row = only_row(ticket.id)
    empty_queue(app, redis_conn)
    # The same words went to the same phone two hours ago (an earlier send of this text).
    earlier = fake_twilio.twilio_client().messages.create(to=SPARKY, from_=app.config["TWILIO_FROM_NUMBER"], body=row.body)
    fake_twilio.state.wait_for(lambda: fake_twilio.state.get_message(earlier.sid)["status"] == "delivered")
    fake_twilio.state.update_message(earlier.sid, date_sent=clock.now() - timedelta(hours=2))
    # This row's worker claimed it and died before its request reached Twilio.
    set_row(row.id, state="sending", claimed_at=clock.now(), attempts=1)

    clock.advance(seconds=61)
    assert notify.sweep(clock.now()) == {"enqueued": 0, "reconciled": 1}
    row = only_row(ticket.id)
    assert (row.state, row.twilio_sid) == ("pending", None)  # not adopted: sent again
    lookups = [r for r in fake_twilio.state.requests if r.method == "GET" and r.path.endswith("/Messages.json")]
    assert [r.query.get("DateSent>") for r in lookups] == [[(clock.now() - timedelta(seconds=61 + 60)).strftime(
        "%Y-%m-%dT%H:%M:%SZ")]]
    assert notify.sweep(clock.now())["enqueued"] == 1
    assert worker() == ["sent"]
    assert only_row(ticket.id).twilio_sid != earlier.sid


def test_a_text_through_a_messaging_service_is_accepted_then_delivered(app, hospital, clock, fake_twilio, live_app,
                                                                       worker, redis_conn):
    from tests.test_sms_outbox import set_row

    app.config["TWILIO_MESSAGING_SERVICE_SID"] = "MG" + "b" * 32
    ticket = file_fault(hospital)
    assign(hospital, ticket.id)
    row_id = only_row(ticket.id).id
    assert worker() == ["sent"]
    wait_for_callback(fake_twilio, row_id, "delivered")
    [request] = create_requests(fake_twilio)
    assert request.form["MessagingServiceSid"] == "MG" + "b" * 32 and "From" not in request.form
    row = only_row(ticket.id)
    assert row.state == "delivered"
    assert [w.params["MessageStatus"] for w in fake_twilio.state.webhooks("message-status")] == [
        "queued", "sent", "delivered"]

    # A row whose worker died right after Twilio answered 'accepted' is adopted as sent, not sent again.
    fake_twilio.state.configure(CALLBACK_DELAY_SECONDS=60)
    second = file_fault(hospital, description="Second fault, same ward")
    assign(hospital, second.id)
    stuck = only_row(second.id)
    accepted = fake_twilio.twilio_client().messages.create(
        to=SPARKY, messaging_service_sid="MG" + "b" * 32, body=stuck.body)
    assert accepted.status == "accepted"
    from tests.test_sms_outbox import empty_queue
    empty_queue(app, redis_conn)
    set_row(stuck.id, state="sending", claimed_at=clock.now(), attempts=1, twilio_sid=accepted.sid)
    clock.advance(seconds=61)
    assert notify.sweep(clock.now()) == {"enqueued": 0, "reconciled": 1}
    assert (only_row(second.id).state, only_row(second.id).twilio_sid) == ("sent", accepted.sid)
