"""Technicians answering by SMS, through POST /sms/inbound signed as Twilio signs it: every command
in either case, with and without the ticket number, in English and Chinese; who may answer for what;
webhook retries; and the signature rules (forged, missing, replayed, rotated token, behind a proxy).
"""
from __future__ import annotations

import uuid
import xml.etree.ElementTree as ET
from datetime import datetime, timezone

import pytest
from twilio.request_validator import RequestValidator

from dispatch.services import notify
from dispatch.services.assignment import assign_ticket
from dispatch.services.tickets import report_fault, transition
from models import InboundMessage, OutboundMessage, Ticket, TicketEvent, User, db

URL = "http://localhost/sms/inbound"  # what the app sees behind the test client
PRODUCT = "+15005550006"
SPARKY, VOLT, STRANGER = "+8613900000001", "+8613900000002", "+8613900000099"
HELP = ("Dispatch replies: A 1042 accept, R 1042 reason refuse, S 1042 on site, D 1042 note done, "
        "J my jobs. The number can be left out when you have one job. Rounds and tests: C 12 for form 12's items. "
        "Time and parts: D 1042 note; 45min; P-100 x2")
LAST_SECOND_OF_VOLTS_LICENCE = datetime(2026, 3, 10, 15, 59, 59, tzinfo=timezone.utc)
MIDNIGHT_IN_SHANGHAI = datetime(2026, 3, 10, 16, 0, tzinfo=timezone.utc)


@pytest.fixture
def webhook(app, hospital, redis_conn):
    """Post an inbound SMS as Twilio would: the form fields Twilio sends, signed with the auth token."""
    client = app.test_client()

    def post(sender: str, body: str, *, sid: str | None = None, token: str | None = None, url: str = URL,
             signature: str | None = None, sign_body: str | None = None):
        params = {"AccountSid": app.config["TWILIO_ACCOUNT_SID"], "ApiVersion": "2010-04-01", "Body": body,
                  "From": sender, "MessageSid": sid or new_sid(), "NumMedia": "0", "NumSegments": "1",
                  "SmsStatus": "received", "To": PRODUCT}
        signed = dict(params, Body=body if sign_body is None else sign_body)
        if signature is None:
            signature = RequestValidator(token or app.config["TWILIO_AUTH_TOKEN"]).compute_signature(url, signed)
        headers = {"X-Twilio-Signature": signature} if signature else {}
        return client.post("/sms/inbound", data=params, headers=headers)

    return post


def new_sid() -> str:
    return "SM" + uuid.uuid4().hex


def replies(response) -> list[str]:
    assert response.status_code == 200, response.get_data(as_text=True)
    assert response.mimetype == "application/xml"
    root = ET.fromstring(response.get_data())
    assert root.tag == "Response"
    return [m.text for m in root.iter("Message")]


def file_fault(hospital, ward: str = "icu", description: str = "No power to bed 1"):
    ward = getattr(hospital, ward)
    nurse = hospital.user("nurse.icu" if ward is hospital.icu else "nurse.ward3")
    return report_fault(nurse, ward_id=ward.id, trade_id=hospital.trades["power"].id, description=description)


def job_for(hospital, technician: str = "sparky", status: str = "assigned", ward: str = "icu") -> int:
    """A ticket assigned to the technician, moved on to `status` through the services."""
    ticket = file_fault(hospital, ward=ward)
    assign_ticket(ticket.id, hospital.users[technician].id, hospital.user("dispatcher"))
    tech = hospital.user(technician)
    if status in ("acknowledged", "attended"):
        transition(ticket.id, "acknowledge", tech)
    if status == "attended":
        transition(ticket.id, "attend", tech)
    return ticket.id


def fresh_ticket(ticket_id: int) -> Ticket:
    db.session.rollback()
    db.session.expire_all()
    return db.session.get(Ticket, ticket_id)


def history(ticket_id: int) -> list[TicketEvent]:
    db.session.rollback()
    return db.session.query(TicketEvent).filter_by(ticket_id=ticket_id).order_by(TicketEvent.id).all()


def inbound() -> list[InboundMessage]:
    db.session.rollback()
    return db.session.query(InboundMessage).order_by(InboundMessage.id).all()


# --- every command ------------------------------------------------------------------------------

ACCEPTED = "Accepted #{n}. Reply S {n} when on site."
REFUSED = "Refused #{n}. It goes back to dispatch."
ON_SITE = "On site at #{n} recorded. Reply D {n} note when done."
RESOLVED = "#{n} resolved. Thank you."

COMMANDS = [
    # body, status the job is in, status after, event kind, reply, note recorded
    ("A {n}", "assigned", "acknowledged", "acknowledge", ACCEPTED, None),
    ("a {n}", "assigned", "acknowledged", "acknowledge", ACCEPTED, None),
    ("A", "assigned", "acknowledged", "acknowledge", ACCEPTED, None),
    ("a", "assigned", "acknowledged", "acknowledge", ACCEPTED, None),
    ("accept #{n}", "assigned", "acknowledged", "acknowledge", ACCEPTED, None),
    ("R {n} no ladder tall enough", "assigned", "refused", "refuse", REFUSED, "no ladder tall enough"),
    ("r {n} no ladder tall enough", "acknowledged", "refused", "refuse", REFUSED, "no ladder tall enough"),
    ("R no ladder tall enough", "assigned", "refused", "refuse", REFUSED, "no ladder tall enough"),
    ("r no ladder tall enough", "acknowledged", "refused", "refuse", REFUSED, "no ladder tall enough"),
    ("S {n}", "acknowledged", "attended", "attend", ON_SITE, None),
    ("s {n}", "assigned", "attended", "attend", ON_SITE, None),
    ("S", "acknowledged", "attended", "attend", ON_SITE, None),
    ("s", "assigned", "attended", "attend", ON_SITE, None),
    ("D {n} replaced the 16A breaker", "attended", "resolved", "resolve", RESOLVED, "replaced the 16A breaker"),
    ("d {n} replaced the 16A breaker", "attended", "resolved", "resolve", RESOLVED, "replaced the 16A breaker"),
    ("D replaced the 16A breaker", "attended", "resolved", "resolve", RESOLVED, "replaced the 16A breaker"),
    ("d replaced the 16A breaker", "attended", "resolved", "resolve", RESOLVED, "replaced the 16A breaker"),
    ("接 {n}", "assigned", "acknowledged", "acknowledge", ACCEPTED, None),
    ("接", "assigned", "acknowledged", "acknowledge", ACCEPTED, None),
    ("到 {n}", "acknowledged", "attended", "attend", ON_SITE, None),
    ("到", "assigned", "attended", "attend", ON_SITE, None),
    ("完 {n} 更换了断路器", "attended", "resolved", "resolve", RESOLVED, "更换了断路器"),
    ("完更换了断路器", "attended", "resolved", "resolve", RESOLVED, "更换了断路器"),
    ("拒 {n} 没有合适的梯子", "assigned", "refused", "refuse", REFUSED, "没有合适的梯子"),
    ("拒没有合适的梯子", "acknowledged", "refused", "refuse", REFUSED, "没有合适的梯子"),
]


@pytest.mark.parametrize("body, before, after, kind, reply, note", COMMANDS, ids=[c[0] for c in COMMANDS])
def test_each_command_moves_the_job_and_is_answered(webhook, hospital, body, before, after, kind, reply, note):
    ticket_id = job_for(hospital, status=before)
    events_before = len(history(ticket_id))

    answer = replies(webhook(SPARKY, body.format(n=ticket_id)))

    assert answer == [reply.format(n=ticket_id)]
    ticket = fresh_ticket(ticket_id)
    assert ticket.status == after
    new = history(ticket_id)[events_before:]
    [event] = [e for e in new if e.kind == kind]
    assert (event.channel, event.actor_id, event.from_status, event.to_status) == (
        "sms", hospital.users["sparky"].id, before, after)
    assert event.note == note
    [record] = inbound()
    assert (record.outcome, record.sender_id, record.ticket_id, record.reply) == (
        "applied", hospital.users["sparky"].id, ticket_id, reply.format(n=ticket_id))
    assert record.from_number == SPARKY and record.body == body.format(n=ticket_id)


@pytest.mark.parametrize("body", ["R {n}", "r", "D {n}", "d"])
def test_refusing_or_finishing_without_a_note_is_refused_with_the_reason(webhook, hospital, body):
    before = "assigned" if body.lower().startswith("r") else "attended"
    ticket_id = job_for(hospital, status=before)
    answer = replies(webhook(SPARKY, body.format(n=ticket_id)))
    assert answer == ["This field is required."]
    assert fresh_ticket(ticket_id).status == before
    assert inbound()[0].outcome == "rejected"


@pytest.mark.parametrize("body", ["J", "j", "jobs", "单"])
def test_j_lists_my_open_jobs_and_changes_nothing(webhook, hospital, body):
    first = job_for(hospital)
    second = job_for(hospital, status="acknowledged", ward="ward3")
    job_for(hospital, technician="volt")  # not sparky's
    version = fresh_ticket(first).version

    assert replies(webhook(SPARKY, body)) == [
        f"#{first} P1 Power ICU (Assigned); #{second} P2 Power Ward 3 (Acknowledged)"]
    assert fresh_ticket(first).version == version
    assert inbound()[0].outcome == "listed"


def test_j_with_no_jobs_says_so(webhook, hospital):
    assert replies(webhook(VOLT, "J")) == ["You have no open jobs."]


@pytest.mark.parametrize("body", ["H", "h", "help", "?", "帮助", "hello, is this the hospital?", "Y 1001", "   ", "A1"])
def test_help_and_anything_not_understood_get_the_help_text(webhook, hospital, body):
    ticket_id = job_for(hospital)
    answer = replies(webhook(SPARKY, body))
    ticket = fresh_ticket(ticket_id)
    if body == "A1":  # understood, but #1 is not one of sparky's jobs
        assert answer == ["#1 is not one of your jobs. Reply J for your jobs."]
    else:
        assert answer == [HELP]
        assert inbound()[0].outcome == "help"
    assert ticket.status == "assigned"
    assert [e.kind for e in history(ticket_id)] == ["reported", "assigned"]


@pytest.mark.parametrize("body", ["A {n}", "a", "R {n} busy", "S {n}", "D {n} fixed", "J", "H", "STOP"])
def test_an_unknown_number_is_recorded_and_changes_nothing(webhook, hospital, body):
    ticket_id = job_for(hospital)
    version = fresh_ticket(ticket_id).version

    assert replies(webhook(STRANGER, body.format(n=ticket_id))) == []

    [record] = inbound()
    assert (record.outcome, record.sender_id, record.ticket_id, record.reply) == ("unknown_sender", None, None, None)
    assert record.from_number == STRANGER and record.body == body.format(n=ticket_id)
    ticket = fresh_ticket(ticket_id)
    assert (ticket.status, ticket.version) == ("assigned", version)
    assert [e.kind for e in history(ticket_id)] == ["reported", "assigned"]
    db.session.rollback()
    assert db.session.query(User).filter(User.sms_opted_out.is_(True)).count() == 0


def test_without_a_number_two_jobs_ask_which_one(webhook, hospital):
    first = job_for(hospital)
    second = job_for(hospital, ward="ward3")

    answer = replies(webhook(SPARKY, "A"))

    assert answer == [f"You have several jobs (#{first}, #{second}). Add the number, e.g. A {first}."]
    assert fresh_ticket(first).status == fresh_ticket(second).status == "assigned"
    assert inbound()[0].outcome == "not_matched"
    assert replies(webhook(SPARKY, f"A {second}")) == [ACCEPTED.format(n=second)]
    assert (fresh_ticket(first).status, fresh_ticket(second).status) == ("assigned", "acknowledged")


def test_without_a_number_and_no_job_waiting_for_it(webhook, hospital):
    job_for(hospital)
    assert replies(webhook(SPARKY, "D all done")) == ["You have no job waiting for that. Reply J for your jobs."]


@pytest.mark.parametrize("moment, allowed", [(LAST_SECOND_OF_VOLTS_LICENCE, True), (MIDNIGHT_IN_SHANGHAI, False)])
def test_a_licence_that_expired_at_midnight_hospital_time_refuses_accept(webhook, hospital, clock, moment, allowed):
    ticket_id = job_for(hospital, technician="volt")
    clock.set(moment)

    answer = replies(webhook(VOLT, f"A {ticket_id}"))

    ticket = fresh_ticket(ticket_id)
    if allowed:
        assert answer == [ACCEPTED.format(n=ticket_id)] and ticket.status == "acknowledged"
        return
    assert answer == ["Li Volt cannot take Power jobs: licence L-volt-lv-electrician expired on 2026-03-10."]
    assert (ticket.status, ticket.acknowledged_at) == ("assigned", None)
    assert [e.kind for e in history(ticket_id)] == ["reported", "assigned"]
    assert (inbound()[0].outcome, inbound()[0].ticket_id) == ("rejected", ticket_id)


@pytest.mark.parametrize("body", ["A {n}", "S {n}", "R {n} not mine", "D {n} done", "A 99999"])
def test_a_reply_for_someone_elses_job_is_refused(webhook, hospital, body):
    ticket_id = job_for(hospital)  # sparky's
    version = fresh_ticket(ticket_id).version

    answer = replies(webhook(VOLT, body.format(n=ticket_id)))

    number = ticket_id if "{n}" in body else 99999
    assert answer == [f"#{number} is not one of your jobs. Reply J for your jobs."]
    ticket = fresh_ticket(ticket_id)
    assert (ticket.status, ticket.version, ticket.assignee_id) == ("assigned", version, hospital.users["sparky"].id)
    assert inbound()[0].outcome == "not_matched"


def test_a_webhook_delivered_twice_acts_once_and_answers_the_same(webhook, hospital):
    ticket_id = job_for(hospital)
    sid = new_sid()

    first = replies(webhook(SPARKY, f"A {ticket_id}", sid=sid))
    version = fresh_ticket(ticket_id).version
    second = replies(webhook(SPARKY, f"A {ticket_id}", sid=sid))

    assert first == second == [ACCEPTED.format(n=ticket_id)]
    assert fresh_ticket(ticket_id).version == version
    assert [e.kind for e in history(ticket_id)].count("acknowledge") == 1
    assert len(inbound()) == 1


def test_stop_and_start_from_a_technician(webhook, hospital):
    assert replies(webhook(SPARKY, "stop")) == []  # Twilio / the carrier confirms STOP itself
    db.session.rollback()
    assert hospital.user("sparky").sms_opted_out is True
    assert replies(webhook(SPARKY, "Start")) == ["You will receive Dispatch jobs by SMS again."]
    db.session.rollback()
    assert hospital.user("sparky").sms_opted_out is False
    assert [m.outcome for m in inbound()] == ["opted_out", "opted_in"]


# --- signatures ---------------------------------------------------------------------------------------

def assert_nothing_happened(ticket_id: int, version: int) -> None:
    assert inbound() == []
    ticket = fresh_ticket(ticket_id)
    assert (ticket.status, ticket.version) == ("assigned", version)
    assert [e.kind for e in history(ticket_id)] == ["reported", "assigned"]


@pytest.mark.parametrize("how", ["forged", "missing", "empty", "other token", "body changed", "other url"])
def test_an_unsigned_or_forged_inbound_webhook_is_403_and_changes_nothing(app, webhook, hospital, how):
    ticket_id = job_for(hospital)
    version = fresh_ticket(ticket_id).version
    body = f"A {ticket_id}"
    response = {
        "forged": lambda: webhook(SPARKY, body, signature="bm90IGEgc2lnbmF0dXJl"),
        "missing": lambda: webhook(SPARKY, body, signature=""),
        "empty": lambda: app.test_client().post("/sms/inbound", data={}),
        "other token": lambda: webhook(SPARKY, body, token="not-the-auth-token"),
        # A real signed request replayed with a different body.
        "body changed": lambda: webhook(SPARKY, f"R {ticket_id} not going", sign_body=body),
        "other url": lambda: webhook(SPARKY, body, url="http://localhost/sms/status/1"),
    }[how]()
    assert response.status_code == 403
    assert_nothing_happened(ticket_id, version)


def status_post(app, client, message_id: int, status: str, sid: str, *, token: str | None = None, sign: bool = True,
                base: str = "http://localhost"):
    params = {"AccountSid": app.config["TWILIO_ACCOUNT_SID"], "ApiVersion": "2010-04-01", "From": PRODUCT,
              "MessageSid": sid, "MessageStatus": status, "SmsSid": sid, "SmsStatus": status, "To": SPARKY}
    headers = {}
    if sign:
        validator = RequestValidator(token or app.config["TWILIO_AUTH_TOKEN"])
        headers["X-Twilio-Signature"] = validator.compute_signature(f"{base}/sms/status/{message_id}", params)
    return client.post(f"/sms/status/{message_id}", data=params, headers=headers)


def outbox_row(ticket_id: int) -> OutboundMessage:
    db.session.rollback()
    db.session.expire_all()
    [row] = notify.messages_for_ticket(ticket_id)
    return row


def test_an_unsigned_status_callback_is_403_and_changes_nothing(app, hospital, redis_conn):
    ticket_id = job_for(hospital)
    row = outbox_row(ticket_id)
    client = app.test_client()
    sid = new_sid()

    assert status_post(app, client, row.id, "delivered", sid, sign=False).status_code == 403
    assert status_post(app, client, row.id, "delivered", sid, token="forged-token").status_code == 403
    row = outbox_row(ticket_id)
    assert (row.state, row.twilio_sid, row.delivered_at) == ("pending", None, None)

    assert status_post(app, client, row.id, "delivered", sid).status_code == 204
    assert (outbox_row(ticket_id).state, outbox_row(ticket_id).twilio_sid) == ("delivered", sid)


def test_the_previous_auth_token_is_accepted_during_a_rotation(app, webhook, hospital):
    app.config["TWILIO_AUTH_TOKEN_SECONDARY"] = "previous-auth-token"
    ticket_id = job_for(hospital)
    version = fresh_ticket(ticket_id).version

    assert webhook(SPARKY, f"A {ticket_id}", token="some-other-token").status_code == 403
    assert_nothing_happened(ticket_id, version)
    assert replies(webhook(SPARKY, f"A {ticket_id}", token="previous-auth-token")) == [ACCEPTED.format(n=ticket_id)]
    assert fresh_ticket(ticket_id).status == "acknowledged"
    row = outbox_row(ticket_id)
    assert status_post(app, app.test_client(), row.id, "sent", new_sid(), token="previous-auth-token").status_code == 204


def test_behind_a_proxy_the_public_url_is_what_twilio_signed(app, webhook, hospital):
    public = "https://dispatch.hospital.example"
    app.config["TWILIO_WEBHOOK_BASE_URL"] = public
    ticket_id = job_for(hospital)
    version = fresh_ticket(ticket_id).version

    assert webhook(SPARKY, f"A {ticket_id}").status_code == 403  # signed over the internal URL
    assert_nothing_happened(ticket_id, version)
    assert replies(webhook(SPARKY, f"A {ticket_id}", url=f"{public}/sms/inbound")) == [ACCEPTED.format(n=ticket_id)]
    assert fresh_ticket(ticket_id).status == "acknowledged"

    row = outbox_row(ticket_id)
    client = app.test_client()
    assert status_post(app, client, row.id, "sent", new_sid()).status_code == 403
    assert status_post(app, client, row.id, "sent", new_sid(), base=public).status_code == 204
