"""The SMS outbox end to end: a real RQ worker takes the job from real Redis and sends through the
real Twilio SDK, over HTTP, to the project's fake of Twilio, which reports delivery back to the app
served over HTTP. Outages (Redis, Twilio), permanent errors, duplicate jobs, a worker killed
mid-send, callbacks out of order, STOP, and the two-segment budget.

Time moves only by the frozen clock; waits poll the fake (`state.wait_for`), never sleep.
"""
from __future__ import annotations

import base64
import os
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import update

from dispatch.fake_twilio.callbacks import send_message_status_callback
from dispatch.fake_twilio.segments import count_segments
from dispatch.services import notify
from dispatch.services.assignment import assign_ticket
from dispatch.services.tickets import report_fault
from dispatch.sms import segments
from models import InboundMessage, OutboundMessage, Ticket, TicketEvent, User, db
from tests.fault_rig import PrivateRedis

ROOT = Path(__file__).resolve().parent.parent
SPARKY = "+8613900000001"
TAIL = "Reply A {n} accept, R {n} reason refuse, S {n} on site, D {n} note done."


# --- helpers -----------------------------------------------------------------------------------

def file_fault(hospital, description: str = "No power to bed 1, breaker tripped", ward: str = "icu"):
    ward = getattr(hospital, ward)
    nurse = hospital.user("nurse.icu" if ward is hospital.icu else "nurse.ward3")
    return report_fault(nurse, ward_id=ward.id, trade_id=hospital.trades["power"].id, description=description)


def assign(hospital, ticket_id: int, technician: str = "sparky") -> Ticket:
    return assign_ticket(ticket_id, hospital.users[technician].id, hospital.user("dispatcher"))


def fresh() -> None:
    """End the test's own transaction so the next read sees what workers and callbacks wrote."""
    db.session.rollback()
    db.session.expire_all()


def outbox(ticket_id: int) -> list[OutboundMessage]:
    fresh()
    return notify.messages_for_ticket(ticket_id)


def only_row(ticket_id: int) -> OutboundMessage:
    rows = outbox(ticket_id)
    assert len(rows) == 1, [(r.kind, r.state) for r in rows]
    return rows[0]


def create_requests(fake) -> list:
    """Every 'send an SMS' request the fake received (whatever it answered)."""
    return [r for r in fake.state.requests if r.method == "POST" and r.path.endswith("/Messages.json")]


def sms_at_fake(fake, to: str = SPARKY) -> list[dict]:
    """Messages the product sent through the API (not TwiML replies to inbound texts)."""
    return [m for m in fake.state.messages(to=to) if m["direction"] == "outbound-api"]


def status_callbacks(fake, message_id: int | None = None) -> list:
    hooks = fake.state.webhooks("message-status")
    return [w for w in hooks if message_id is None or w.url.endswith(f"/sms/status/{message_id}")]


def wait_for_callback(fake, message_id: int, status: str) -> None:
    """Until the app has answered the fake's `status` callback for this row (its write is committed)."""
    fake.state.wait_for(lambda: [w for w in status_callbacks(fake, message_id)
                                 if w.params["MessageStatus"] == status and w.status_code is not None], timeout=10)
    answered = [w.status_code for w in status_callbacks(fake, message_id) if w.params["MessageStatus"] == status]
    assert answered == [204], answered


def set_row(message_id: int, **values) -> None:
    fresh()
    db.session.execute(update(OutboundMessage).where(OutboundMessage.id == message_id).values(**values))
    db.session.commit()


def events(ticket_id: int, kind: str | None = None) -> list[TicketEvent]:
    fresh()
    query = db.session.query(TicketEvent).filter_by(ticket_id=ticket_id)
    if kind:
        query = query.filter_by(kind=kind)
    return query.order_by(TicketEvent.id).all()


def empty_queue(app, redis_conn) -> None:
    """The job a killed worker had taken is gone from the queue."""
    from rq import Queue
    from rq.serializers import JSONSerializer

    Queue(app.config["RQ_QUEUE"], connection=redis_conn, serializer=JSONSerializer).empty()


# --- sent, delivered, and what Twilio was told ----------------------------------------------------

def test_assignment_is_texted_once_through_rq_and_twilio_then_delivered(app, hospital, clock, fake_twilio, live_app,
                                                                         worker, login_as):
    ticket = file_fault(hospital)
    assign(hospital, ticket.id)
    row = only_row(ticket.id)
    assert (row.state, row.kind, row.to_number, row.attempts) == ("pending", "assignment", SPARKY, 0)
    assert row.enqueued_at == clock.now()
    assert sms_at_fake(fake_twilio) == []  # nothing is sent inside the web request

    assert worker() == ["sent"]

    [request] = create_requests(fake_twilio)
    sid, token = app.config["TWILIO_ACCOUNT_SID"], app.config["TWILIO_AUTH_TOKEN"]
    assert request.response_status == 201
    assert request.path == f"/2010-04-01/Accounts/{sid}/Messages.json"
    assert request.auth_username == sid
    assert request.headers["Authorization"] == "Basic " + base64.b64encode(f"{sid}:{token}".encode()).decode()
    assert request.form["To"] == SPARKY
    assert request.form["From"] == app.config["TWILIO_FROM_NUMBER"]
    assert request.form["StatusCallback"] == f"{live_app}/sms/status/{row.id}"
    body = request.form["Body"]
    assert body.startswith("P1 #1001 Power, ICU: No power to bed 1")
    assert body.endswith(TAIL.format(n=1001))
    [message] = sms_at_fake(fake_twilio)
    assert message["body"] == body

    row = only_row(ticket.id)
    assert row.twilio_sid == message["sid"] and row.sent_at == clock.now() and row.attempts == 1
    assert row.state in ("sent", "delivered")  # the fake's first callback may already be in

    wait_for_callback(fake_twilio, row.id, "delivered")
    assert [w.params["MessageStatus"] for w in status_callbacks(fake_twilio, row.id)] == ["sent", "delivered"]
    assert all(w.params["MessageSid"] == message["sid"] for w in status_callbacks(fake_twilio))
    row = only_row(ticket.id)
    assert (row.state, row.delivered_at, row.last_error) == ("delivered", clock.now(), None)
    assert len(sms_at_fake(fake_twilio)) == 1
    page = login_as("dispatcher").get(f"/tickets/{ticket.id}").get_data(as_text=True)
    assert "SMS delivered" in page


def test_the_worker_command_sends_from_its_own_process_with_its_own_connections(app, hospital, database_url,
                                                                              fake_twilio, live_app, redis_conn,
                                                                              tmp_path):
    """`flask worker --burst`, a separate process running each job in itself: the job opens its own
    database connections (SQLite: the same file; PostgreSQL: the same database)."""
    from rq import Queue
    from rq.job import Job
    from rq.serializers import JSONSerializer

    ticket = file_fault(hospital)
    assign(hospital, ticket.id)
    row = only_row(ticket.id)
    queue = Queue(app.config["RQ_QUEUE"], connection=redis_conn, serializer=JSONSerializer)
    [job_id] = queue.job_ids

    env = {k: v for k, v in os.environ.items() if not k.startswith(("TWILIO_", "DATABASE_URL", "REDIS_URL", "RQ_"))}
    env.update({
        "FLASK_APP": "dispatch:create_app",
        "DISPATCH_ENV": "development",
        "DISPATCH_INSTANCE_DIR": str(tmp_path / "instance"),
        "SECRET_KEY": "worker-test",
        "DATABASE_URL": database_url,
        "REDIS_URL": app.config["REDIS_URL"],
        "RQ_QUEUE": app.config["RQ_QUEUE"],
        "TWILIO_API_BASE_URL": fake_twilio.url,
        "TWILIO_ACCOUNT_SID": app.config["TWILIO_ACCOUNT_SID"],
        "TWILIO_AUTH_TOKEN": app.config["TWILIO_AUTH_TOKEN"],
        "TWILIO_FROM_NUMBER": app.config["TWILIO_FROM_NUMBER"],
        "PUBLIC_URL": live_app,
    })
    done = subprocess.run([sys.executable, "-m", "flask", "worker", "--burst"], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=90)
    assert done.returncode == 0, done.stdout + done.stderr

    job = Job.fetch(job_id, connection=redis_conn, serializer=JSONSerializer)
    assert job.is_finished, (job.get_status(), job.latest_result() and job.latest_result().exc_string)
    assert job.return_value() == "sent"
    [request] = create_requests(fake_twilio)
    assert request.form["To"] == SPARKY and request.form["StatusCallback"] == f"{live_app}/sms/status/{row.id}"
    wait_for_callback(fake_twilio, row.id, "delivered")
    row = only_row(ticket.id)
    assert (row.state, row.attempts, row.twilio_sid) == ("delivered", 1, sms_at_fake(fake_twilio)[0]["sid"])


# --- outages --------------------------------------------------------------------------------------

@pytest.fixture
def private_redis(tmp_path):
    server = PrivateRedis(tmp_path)
    server.start()
    yield server
    server.kill()


def test_redis_down_when_a_ticket_is_assigned_loses_no_sms(app, hospital, clock, fake_twilio, live_app, worker,
                                                           private_redis):
    app.config["REDIS_URL"] = private_redis.url
    private_redis.kill()

    ticket = file_fault(hospital)
    assigned = assign(hospital, ticket.id)  # the web request still succeeds
    assert assigned.status == "assigned"
    fresh()
    assert db.session.get(Ticket, ticket.id).assignee_id == hospital.users["sparky"].id
    row = only_row(ticket.id)
    assert (row.state, row.enqueued_at, row.attempts) == ("pending", None, 0)

    private_redis.start()
    clock.advance(seconds=5)
    assert notify.sweep(clock.now()) == {"enqueued": 1, "reconciled": 0}
    assert worker() == ["sent"]
    assert len(sms_at_fake(fake_twilio)) == 1
    wait_for_callback(fake_twilio, row.id, "delivered")

    clock.advance(minutes=5)  # later rounds find nothing owed
    assert notify.sweep(clock.now()) == {"enqueued": 0, "reconciled": 0}
    assert worker() == []
    row = only_row(ticket.id)
    assert (row.state, row.attempts) == ("delivered", 1)
    assert len(create_requests(fake_twilio)) == 1


@pytest.mark.parametrize("status, code", [(503, 20503), (429, 20429)])
def test_twilio_busy_twice_is_retried_with_backoff_and_sent_once(status, code, hospital, clock, fake_twilio, live_app,
                                                                 worker):
    fake_twilio.state.fail_next(status, count=2)
    ticket = file_fault(hospital)
    assign(hospital, ticket.id)
    row_id = only_row(ticket.id).id
    errors = []

    assert worker() == ["retry"]
    row = only_row(ticket.id)
    assert (row.state, row.attempts, row.last_error_code) == ("pending", 1, code)
    assert row.next_attempt_at == clock.now() + notify._backoff(1)
    errors.append(row.last_error)
    assert notify.sweep(clock.now())["enqueued"] == 0  # not due yet: no hammering

    clock.advance(seconds=1)
    assert notify.sweep(clock.now())["enqueued"] == 1
    assert worker() == ["retry"]
    row = only_row(ticket.id)
    assert (row.state, row.attempts) == ("pending", 2)
    assert row.next_attempt_at == clock.now() + notify._backoff(2) > clock.now() + notify._backoff(1)
    errors.append(row.last_error)

    clock.advance(seconds=1)
    assert notify.sweep(clock.now())["enqueued"] == 0  # backoff doubled: 2 s now
    clock.advance(seconds=1)
    assert notify.sweep(clock.now())["enqueued"] == 1
    assert worker() == ["sent"]
    wait_for_callback(fake_twilio, row_id, "delivered")
    row = only_row(ticket.id)
    errors.append(row.last_error)

    assert errors == [f"HTTP {status} (Twilio {code})"] * 2 + [None]
    assert (row.state, row.attempts, row.last_error_code) == ("delivered", 3, None)
    assert [r.response_status for r in create_requests(fake_twilio)] == [status, status, 201]
    assert len(sms_at_fake(fake_twilio)) == 1
    assert events(ticket.id, "sms_failed") == []


def test_an_invalid_number_fails_at_once_and_the_board_says_so(hospital, clock, fake_twilio, live_app, worker, login_as):
    fake_twilio.state.set_numbers(invalid=[SPARKY])
    ticket = file_fault(hospital)
    assign(hospital, ticket.id)

    assert worker() == ["failed"]
    row = only_row(ticket.id)
    assert (row.state, row.attempts, row.last_error_code) == ("failed", 1, 21211)
    assert row.last_error == "invalid phone number (Twilio 21211)"
    [event] = events(ticket.id, "sms_failed")
    assert event.channel == "system" and event.data["message_id"] == row.id and event.data["code"] == 21211
    assert "Wang Sparky" in event.note and "invalid phone number (Twilio 21211)" in event.note

    clock.advance(minutes=30)  # never retried: no number of attempts fixes an invalid number
    assert notify.sweep(clock.now()) == {"enqueued": 0, "reconciled": 0}
    assert worker() == []
    assert [r.response_status for r in create_requests(fake_twilio)] == [400]
    assert sms_at_fake(fake_twilio) == []

    html = login_as("dispatcher").get("/board/").get_data(as_text=True)
    assert "SMS not delivered" in html
    panel = html.split('<section class="sms-problems"', 1)[1].split("</section>", 1)[0]
    assert f"#{ticket.id}" in panel and "Wang Sparky" in panel and SPARKY in panel
    assert "invalid phone number (Twilio 21211)" in panel


def test_undeliverable_is_reported_by_callback_and_named_on_the_ticket(hospital, fake_twilio, live_app, worker,
                                                                        login_as):
    fake_twilio.state.set_numbers(undeliverable={SPARKY: 30003})
    ticket = file_fault(hospital)
    assign(hospital, ticket.id)

    assert worker() == ["sent"]
    row_id = only_row(ticket.id).id
    wait_for_callback(fake_twilio, row_id, "undelivered")
    assert status_callbacks(fake_twilio, row_id)[-1].params["ErrorCode"] == "30003"
    row = only_row(ticket.id)
    assert (row.state, row.last_error_code) == ("undelivered", 30003)
    assert row.last_error == "the phone is unreachable or switched off (Twilio 30003)"
    [event] = events(ticket.id, "sms_failed")
    assert "the phone is unreachable or switched off (Twilio 30003)" in event.note

    dispatcher = login_as("dispatcher")
    page = dispatcher.get(f"/tickets/{ticket.id}").get_data(as_text=True)
    assert "SMS undelivered" in page
    assert "the phone is unreachable or switched off (Twilio 30003)" in page
    board = dispatcher.get("/board/").get_data(as_text=True)
    assert "SMS not delivered" in board and "the phone is unreachable or switched off (Twilio 30003)" in board
    assert len(sms_at_fake(fake_twilio)) == 1


# --- exactly once -----------------------------------------------------------------------------------

def test_the_same_row_enqueued_twice_is_sent_once(hospital, fake_twilio, live_app, worker):
    ticket = file_fault(hospital)
    assign(hospital, ticket.id)
    row = only_row(ticket.id)
    assert notify.enqueue(row.id) is True  # a second job for the same row (the sweep racing, say)

    assert sorted(worker()) == ["not-claimed", "sent"]
    assert len(create_requests(fake_twilio)) == 1
    wait_for_callback(fake_twilio, row.id, "delivered")
    assert only_row(ticket.id).attempts == 1


def test_sending_the_same_row_twice_directly_sends_once(hospital, fake_twilio, live_app, worker):
    ticket = file_fault(hospital)
    assign(hospital, ticket.id)
    row_id = only_row(ticket.id).id

    assert notify.send_outbox_message(row_id) == "sent"
    assert notify.send_outbox_message(row_id) == "not-claimed"
    assert worker() == ["not-claimed"]  # the job queued at assignment finds it taken
    assert len(create_requests(fake_twilio)) == 1
    wait_for_callback(fake_twilio, row_id, "delivered")
    assert only_row(ticket.id).attempts == 1


def test_a_worker_killed_before_twilio_answered_is_reconciled_and_sent_once(app, hospital, clock, fake_twilio,
                                                                            live_app, worker, redis_conn):
    ticket = file_fault(hospital)
    assign(hospital, ticket.id)
    row = only_row(ticket.id)
    # The worker claimed the row and died before its request reached Twilio; its job is gone.
    empty_queue(app, redis_conn)
    set_row(row.id, state="sending", claimed_at=clock.now(), attempts=1)

    assert notify.sweep(clock.now()) == {"enqueued": 0, "reconciled": 0}  # not stuck yet
    clock.advance(seconds=61)
    assert notify.sweep(clock.now()) == {"enqueued": 0, "reconciled": 1}
    row = only_row(ticket.id)
    assert (row.state, row.twilio_sid) == ("pending", None)
    assert row.last_error == "worker lost before Twilio accepted it; sending again"

    assert notify.sweep(clock.now())["enqueued"] == 1
    assert worker() == ["sent"]
    wait_for_callback(fake_twilio, row.id, "delivered")
    row = only_row(ticket.id)
    assert (row.state, row.attempts, row.last_error) == ("delivered", 2, None)
    assert len(create_requests(fake_twilio)) == 1


def test_a_worker_killed_after_twilio_accepted_is_adopted_not_resent(app, hospital, clock, fake_twilio, worker,
                                                                     redis_conn):
    ticket = file_fault(hospital)
    assign(hospital, ticket.id)
    row = only_row(ticket.id)
    empty_queue(app, redis_conn)
    # Twilio accepted the worker's request; the worker died before writing the SID down.
    sdk = fake_twilio.twilio_client()
    accepted = sdk.messages.create(to=SPARKY, from_=app.config["TWILIO_FROM_NUMBER"], body=row.body)
    fake_twilio.state.wait_for(lambda: fake_twilio.state.get_message(accepted.sid)["status"] == "delivered")
    set_row(row.id, state="sending", claimed_at=clock.now(), attempts=1)

    clock.advance(seconds=61)
    assert notify.sweep(clock.now()) == {"enqueued": 0, "reconciled": 1}
    row = only_row(ticket.id)
    assert (row.state, row.twilio_sid, row.delivered_at) == ("delivered", accepted.sid, clock.now())

    clock.advance(minutes=5)
    assert notify.sweep(clock.now()) == {"enqueued": 0, "reconciled": 0}
    assert worker() == []
    assert len(create_requests(fake_twilio)) == 1  # only the one the dead worker made
    assert len(sms_at_fake(fake_twilio)) == 1


def test_a_stuck_row_with_its_sid_is_looked_up_and_not_resent(app, hospital, clock, fake_twilio, worker, redis_conn):
    ticket = file_fault(hospital)
    assign(hospital, ticket.id)
    row = only_row(ticket.id)
    empty_queue(app, redis_conn)
    accepted = fake_twilio.twilio_client().messages.create(to=SPARKY, from_=app.config["TWILIO_FROM_NUMBER"],
                                                           body=row.body)
    fake_twilio.state.wait_for(lambda: fake_twilio.state.get_message(accepted.sid)["status"] == "delivered")
    set_row(row.id, state="sending", claimed_at=clock.now(), attempts=1, twilio_sid=accepted.sid)

    clock.advance(seconds=61)
    assert notify.sweep(clock.now()) == {"enqueued": 0, "reconciled": 1}
    assert (only_row(ticket.id).state, only_row(ticket.id).twilio_sid) == ("delivered", accepted.sid)
    assert worker() == []
    assert len(create_requests(fake_twilio)) == 1


# --- callbacks --------------------------------------------------------------------------------------

def test_callbacks_out_of_order_never_move_a_message_backwards(hospital, fake_twilio, live_app, worker):
    fake_twilio.state.configure(SEND_CALLBACKS=False)  # we post the callbacks ourselves, in our order
    ticket = file_fault(hospital)
    assign(hospital, ticket.id)
    assert worker() == ["sent"]
    row = only_row(ticket.id)
    sid = row.twilio_sid
    fake_twilio.state.wait_for(lambda: fake_twilio.state.get_message(sid)["status"] == "delivered")
    fake_twilio.state.configure(SEND_CALLBACKS=True)

    send_message_status_callback(fake_twilio.state, sid)  # 'delivered' arrives first
    wait_for_callback(fake_twilio, row.id, "delivered")
    delivered_at = only_row(ticket.id).delivered_at
    assert only_row(ticket.id).state == "delivered"

    fake_twilio.state.update_message(sid, status="sent")
    send_message_status_callback(fake_twilio.state, sid)  # then a late 'sent'
    wait_for_callback(fake_twilio, row.id, "sent")
    row = only_row(ticket.id)
    assert (row.state, row.delivered_at) == ("delivered", delivered_at)


# --- STOP and START ---------------------------------------------------------------------------------

def board_option(html: str, ticket_id: int, name: str) -> str:
    row = html.split(f'data-ticket="{ticket_id}"', 1)[1].split("</tr>", 1)[0]
    [option] = [o for o in row.split("<option")[1:] if name in o]
    return option.split("</option>", 1)[0]


def test_stop_marks_the_technician_and_no_sms_is_attempted_until_start(hospital, clock, fake_twilio, live_app, worker,
                                                                        login_as):
    ticket = file_fault(hospital)
    answer = fake_twilio.text_from(SPARKY, "STOP")
    assert (answer.webhook_status, answer.problem, answer.replies) == (200, None, [])
    fresh()
    assert db.session.get(User, hospital.users["sparky"].id).sms_opted_out is True
    assert db.session.query(InboundMessage).one().outcome == "opted_out"

    dispatcher = login_as("dispatcher")
    assert "no SMS (STOP)" in board_option(dispatcher.get("/board/").get_data(as_text=True), ticket.id, "Wang Sparky")
    assert "no SMS (STOP)" not in board_option(dispatcher.get("/board/").get_data(as_text=True), ticket.id, "Li Volt")

    assign(hospital, ticket.id)
    row = only_row(ticket.id)
    assert (row.state, row.attempts) == ("failed", 0)
    assert row.last_error == "replied STOP: cannot receive SMS until they send START"
    [event] = events(ticket.id, "sms_failed")
    assert "replied STOP" in event.note
    assert worker() == []
    assert create_requests(fake_twilio) == []  # Twilio was not even asked

    answer = fake_twilio.text_from(SPARKY, "START")
    assert answer.as_dict()["reply_texts"] == ["You will receive Dispatch jobs by SMS again."]
    fresh()
    assert db.session.get(User, hospital.users["sparky"].id).sms_opted_out is False
    second = file_fault(hospital, description="Socket sparking in bay 2", ward="ward3")
    page = dispatcher.get("/board/").get_data(as_text=True)
    assert "no SMS (STOP)" not in board_option(page, second.id, "Wang Sparky")
    assign(hospital, second.id)
    assert worker() == ["sent"]
    assert [r.form["Body"][:10] for r in create_requests(fake_twilio)] == [f"P2 #{second.id} P"]
    wait_for_callback(fake_twilio, only_row(second.id).id, "delivered")


# --- the two-segment budget -------------------------------------------------------------------------

def test_a_900_character_description_still_fits_two_segments_with_the_reply_codes(hospital, fake_twilio, live_app,
                                                                                  worker):
    description = ("Sparking socket behind bed 1, smell of burning, breaker tripped twice; " * 15)[:900]
    ticket = file_fault(hospital, description=description)
    assign(hospital, ticket.id)
    assert worker() == ["sent"]
    row = only_row(ticket.id)
    assert segments.units(row.body)[0] == "gsm"
    assert len(row.body) > 290  # the GSM-7 room is used (306 septets), not UCS-2's 134 characters
    assert row.segments == segments.count(row.body) <= 2
    assert row.body.startswith(f"P1 #{ticket.id} Power, ICU: Sparking socket")
    assert row.body.endswith("... " + TAIL.format(n=ticket.id))
    [message] = sms_at_fake(fake_twilio)
    assert int(message["num_segments"]) <= 2  # as Twilio counts (and bills) it
    wait_for_callback(fake_twilio, row.id, "delivered")


def test_a_chinese_description_is_counted_in_ucs2_segments(hospital, fake_twilio, live_app, worker):
    description = ("床旁插座冒火花，有焦糊味，断路器跳闸两次，请立即派电工处理。" * 10)[:300]
    ticket = file_fault(hospital, description=description)
    assign(hospital, ticket.id)
    assert worker() == ["sent"]
    row = only_row(ticket.id)
    encoding, units = segments.units(row.body)
    assert encoding == "ucs2" and 70 < units <= 2 * 67
    assert row.segments == segments.count(row.body) == 2
    assert row.body.startswith(f"P1 #{ticket.id} Power, ICU: 床旁插座冒火花")
    assert row.body.endswith("… " + TAIL.format(n=ticket.id))
    [message] = sms_at_fake(fake_twilio)
    assert int(message["num_segments"]) == count_segments(row.body) == 2
    wait_for_callback(fake_twilio, row.id, "delivered")
