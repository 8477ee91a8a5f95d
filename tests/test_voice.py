"""Emergency calls: an auto-dispatched emergency rings the technician through Twilio, the call reads
the job out and takes one key (1 accept, 2 refuse or pass) through signed webhooks only, and the
call's outcome comes back as a status callback. One call is answered end to end on the fake's phone page."""
from __future__ import annotations

import xml.etree.ElementTree as ET
from datetime import time, timedelta

import requests

from dispatch.services import escalation
from dispatch.services.tickets import report_fault
from dispatch.sms import text as sms_text
from models import OnCallShift, OutboundMessage, Ticket, TicketEvent, db
from tests.webhooks import signature, signed_post

SPARKY = "+8613900000001"
SUPERVISOR = "+8613900001999"


# --- helpers -----------------------------------------------------------------------------------

def staff_rota(hospital) -> None:
    """Sparky primary and Volt secondary for power around the clock; a supervisor with a phone."""
    power = hospital.trades["power"].id
    for weekday in range(7):
        for trade_id, role, name in ((power, "primary", "sparky"), (power, "secondary", "volt"),
                                     (None, "supervisor", "supervisor")):
            db.session.add(OnCallShift(trade_id=trade_id, role=role, user_id=hospital.users[name].id, weekday=weekday,
                                       starts=time(0), ends=time(0)))
    hospital.user("supervisor").phone = SUPERVISOR
    db.session.commit()


def file_emergency(hospital) -> Ticket:
    ticket = report_fault(hospital.user("nurse.icu"), ward_id=hospital.icu.id, trade_id=hospital.trades["power"].id,
                          description="No power to bed 1, ventilator on battery")
    assert ticket.priority == 1
    return ticket


def fresh() -> None:
    db.session.rollback()
    db.session.expire_all()


def ticket_of(ticket_id: int) -> Ticket:
    fresh()
    return db.session.get(Ticket, ticket_id)


def call_rows(ticket_id: int, username: str | None = None) -> list[OutboundMessage]:
    fresh()
    rows = db.session.query(OutboundMessage).filter_by(ticket_id=ticket_id, channel="voice").order_by(OutboundMessage.id)
    return [r for r in rows if username is None or r.recipient.username == username]


def events(ticket_id: int, kind: str | None = None) -> list[TicketEvent]:
    fresh()
    query = db.session.query(TicketEvent).filter_by(ticket_id=ticket_id)
    if kind:
        query = query.filter_by(kind=kind)
    return query.order_by(TicketEvent.id).all()


def press(app, message_id: int, digits: str):
    response = signed_post(app, f"/voice/call/{message_id}/digits", {"CallSid": "CA" + "1" * 32, "Digits": digits})
    assert response.status_code == 200 and response.mimetype == "application/xml"
    return ET.fromstring(response.get_data(as_text=True))


def said(twiml: ET.Element) -> list[str]:
    return [element.text for element in twiml.iter("Say")]


# --- the call owed and placed -------------------------------------------------------------------

def test_an_auto_dispatched_emergency_owes_the_technician_a_call(hospital, clock):
    staff_rota(hospital)
    ticket = file_emergency(hospital)
    [call] = call_rows(ticket.id)
    assert (call.recipient.username, call.kind, call.state, call.to_number, call.segments) == (
        "sparky", "call", "pending", SPARKY, 0)
    assert call.body == sms_text.voice_job(ticket_of(ticket.id))
    assert call.body.startswith("Dispatch emergency job 1 0 0 1. Power at ICU")


def test_the_worker_places_the_call_through_twilio_with_our_webhooks(app, hospital, fake_twilio, live_app, worker):
    staff_rota(hospital)
    ticket = file_emergency(hospital)
    [row] = call_rows(ticket.id)
    assert sorted(worker()) == ["sent", "sent"]  # the SMS and the call
    [request] = [r for r in fake_twilio.state.requests if r.method == "POST" and r.path.endswith("/Calls.json")]
    assert request.response_status == 201
    assert request.form["To"] == SPARKY and request.form["From"] == app.config["TWILIO_FROM_NUMBER"]
    assert request.form["Url"] == f"{live_app}/voice/call/{row.id}"
    assert request.form["StatusCallback"] == f"{live_app}/voice/status/{row.id}"
    [call] = fake_twilio.state.calls(to=SPARKY)
    assert call_rows(ticket.id)[0].twilio_sid == call["sid"]
    # The fake answers, fetches our TwiML (signed) and waits at the Gather with the job read out.
    record = fake_twilio.state.wait_for(
        lambda: (r := fake_twilio.state.call_record(call["sid"])) is not None and r.gather is not None and r, timeout=10)
    spoken = [line.text for line in record.transcript if line.kind == "say"]
    assert spoken == [row.body, "Press 1 to accept the job, or 2 to refuse it."]


# --- what the call says, and the keys -----------------------------------------------------------------

def test_the_answered_call_reads_the_job_and_gathers_one_key(app, hospital):
    staff_rota(hospital)
    ticket = file_emergency(hospital)
    [row] = call_rows(ticket.id)
    response = signed_post(app, f"/voice/call/{row.id}", {"CallSid": "CA" + "2" * 32, "CallStatus": "in-progress"})
    assert response.status_code == 200 and response.mimetype == "application/xml"
    twiml = ET.fromstring(response.get_data(as_text=True))
    gather = twiml.find("Gather")
    assert gather is not None
    assert (gather.get("numDigits"), gather.get("action"), gather.get("method")) == (
        "1", f"/voice/call/{row.id}/digits", "POST")
    assert [s.text for s in gather.findall("Say")] == [row.body, "Press 1 to accept the job, or 2 to refuse it."]
    assert "ventilator on battery" in row.body
    # Silence: the prompt again, then the call starts over.
    assert twiml.find("Redirect").text == f"/voice/call/{row.id}"


def test_pressing_1_accepts_the_job_by_voice(app, hospital, clock):
    staff_rota(hospital)
    ticket = file_emergency(hospital)
    [row] = call_rows(ticket.id)
    clock.advance(minutes=2)
    assert said(press(app, row.id, "1")) == ["Accepted job 1001. Thank you."]
    ticket = ticket_of(ticket.id)
    assert (ticket.status, ticket.acknowledged_at, ticket.assignee.username) == ("acknowledged", clock.now(), "sparky")
    [event] = events(ticket.id, "acknowledge")
    assert (event.channel, event.actor_id, event.at) == ("voice", hospital.users["sparky"].id, clock.now())
    assert escalation.status(ticket.id).waiting_for == "attend"
    # Calling back in now says the job is taken.
    response = signed_post(app, f"/voice/call/{row.id}", {"CallSid": "CA" + "3" * 32})
    assert said(ET.fromstring(response.get_data(as_text=True))) == ["Job 1001 has already been answered. Goodbye."]


def test_pressing_2_refuses_and_the_job_moves_on_at_once(app, hospital, clock):
    staff_rota(hospital)
    ticket = file_emergency(hospital)
    [row] = call_rows(ticket.id)
    clock.advance(minutes=1)
    assert said(press(app, row.id, "2")) == ["Refused. The job goes to the next on call."]
    [event] = events(ticket.id, "refuse")
    assert (event.channel, event.actor_id, event.note) == ("voice", hospital.users["sparky"].id, "Refused by phone")
    assert ticket_of(ticket.id).status == "refused"
    assert escalation.run_due(clock.now()) == 1
    ticket = ticket_of(ticket.id)
    assert (ticket.status, ticket.assignee.username) == ("assigned", "volt")
    assert [r.recipient.username for r in call_rows(ticket.id)] == ["sparky", "volt"]


def supervisor_call(hospital, clock, ticket: Ticket) -> OutboundMessage:
    """Run the chain to its supervisor step (5 min: Volt is paged too; 10 min: the supervisor is rung)."""
    for minutes in (5, 10):
        clock.set(ticket.created_at + timedelta(minutes=minutes))
        assert escalation.run_due(clock.now()) == 1
    [row] = call_rows(ticket.id, "supervisor")
    assert row.kind == "escalation_call"
    return row


def test_a_supervisor_pressing_1_acknowledges_on_the_technicians_behalf(app, hospital, clock):
    staff_rota(hospital)
    ticket = file_emergency(hospital)
    row = supervisor_call(hospital, clock, ticket)
    response = signed_post(app, f"/voice/call/{row.id}", {"CallSid": "CA" + "4" * 32})
    gather = ET.fromstring(response.get_data(as_text=True)).find("Gather")
    assert [s.text for s in gather.findall("Say")][-1] == "Press 1 to take charge and acknowledge it, or 2 to pass."
    clock.advance(seconds=40)
    assert said(press(app, row.id, "1")) == ["Accepted job 1001. Thank you."]
    ticket = ticket_of(ticket.id)
    # Sparky kept the job when volt was paged as well (escalation widens the circle, it does not move the job).
    assert (ticket.status, ticket.assignee.username) == ("acknowledged", "sparky")
    [event] = events(ticket.id, "acknowledge")
    assert (event.channel, event.actor_id) == ("voice", hospital.users["supervisor"].id)
    assert escalation.status(ticket.id).waiting_for == "attend"


def test_a_supervisor_pressing_2_passes_and_the_chain_goes_on(app, hospital, clock):
    staff_rota(hospital)
    ticket = file_emergency(hospital)
    row = supervisor_call(hospital, clock, ticket)
    due = escalation.status(ticket.id).next_due_at
    assert said(press(app, row.id, "2")) == ["Understood. The escalation continues."]
    [comment] = events(ticket.id, "comment")
    assert (comment.channel, comment.actor_id) == ("voice", hospital.users["supervisor"].id)
    ticket = ticket_of(ticket.id)
    assert (ticket.status, ticket.assignee.username) == ("assigned", "sparky")
    assert escalation.status(ticket.id).next_due_at == due


# --- only Twilio gets in --------------------------------------------------------------------------------

def test_unsigned_or_forged_key_presses_are_refused_and_change_nothing(app, hospital):
    staff_rota(hospital)
    ticket = file_emergency(hospital)
    [row] = call_rows(ticket.id)
    other = call_rows(ticket.id)[0].id + 1000
    path = f"/voice/call/{row.id}/digits"
    params = {"CallSid": "CA" + "5" * 32, "Digits": "1"}
    before = [e.id for e in events(ticket.id)]
    client = app.test_client()
    attempts = [
        {},  # no signature at all
        {"X-Twilio-Signature": "not-a-signature"},
        {"X-Twilio-Signature": signature("someone-elses-token", path, params)},
        {"X-Twilio-Signature": signature(app.config["TWILIO_AUTH_TOKEN"], path, {**params, "Digits": "2"})},
        {"X-Twilio-Signature": signature(app.config["TWILIO_AUTH_TOKEN"], f"/voice/call/{other}/digits", params)},
    ]
    for headers in attempts:
        assert client.post(path, data=params, headers=headers).status_code == 403
    assert client.post(f"/voice/call/{row.id}", data={"CallSid": params["CallSid"]}).status_code == 403
    assert client.post(f"/voice/status/{row.id}", data={"CallStatus": "completed"}).status_code == 403
    assert ticket_of(ticket.id).status == "assigned"
    assert [e.id for e in events(ticket.id)] == before
    assert call_rows(ticket.id)[0].state == "pending"


# --- the call's outcome -----------------------------------------------------------------------------------

def test_a_completed_call_is_delivered_and_an_unanswered_one_undelivered(app, hospital, clock):
    staff_rota(hospital)
    ticket = file_emergency(hospital)
    first = supervisor_call(hospital, clock, ticket)
    [sparky_call, volt_call] = [r for r in call_rows(ticket.id) if r.recipient.username != "supervisor"]
    assert signed_post(app, f"/voice/status/{sparky_call.id}",
                       {"CallSid": "CA" + "6" * 32, "CallStatus": "completed"}).status_code == 204
    assert signed_post(app, f"/voice/status/{volt_call.id}",
                       {"CallSid": "CA" + "7" * 32, "CallStatus": "no-answer"}).status_code == 204
    assert signed_post(app, f"/voice/status/{first.id}",
                       {"CallSid": "CA" + "8" * 32, "CallStatus": "busy"}).status_code == 204
    states = {r.recipient.username: (r.state, r.twilio_sid) for r in call_rows(ticket.id)}
    assert states == {"sparky": ("delivered", "CA" + "6" * 32), "volt": ("undelivered", "CA" + "7" * 32),
                      "supervisor": ("undelivered", "CA" + "8" * 32)}
    assert call_rows(ticket.id)[0].delivered_at == clock.now()
    # The ticket's history names who was not reached, for the dispatcher to phone.
    # An unanswered call is its own fact (the phone works), not an undelivered SMS, and says how it went.
    assert events(ticket.id, "sms_failed") == []
    failures = [(e.data["message_id"], e.note) for e in events(ticket.id, "call_unanswered")]
    assert failures == [(volt_call.id, "Call to Li Volt not answered: no answer"),
                        (first.id, "Call to Supervisor not answered: line busy")]
    # A late 'ringing' never moves a finished call back.
    signed_post(app, f"/voice/status/{volt_call.id}", {"CallSid": "CA" + "7" * 32, "CallStatus": "ringing"})
    assert call_rows(ticket.id, "volt")[0].state == "undelivered"


def test_an_unanswered_call_comes_back_undelivered_from_twilio(app, hospital, fake_twilio, live_app, worker):
    staff_rota(hospital)
    fake_twilio.state.set_numbers(no_answer=[SPARKY])
    ticket = file_emergency(hospital)
    worker()
    [row] = call_rows(ticket.id)
    fake_twilio.state.wait_for(lambda: [w for w in fake_twilio.state.webhooks("call-status")
                                        if w.params.get("CallStatus") == "no-answer" and w.status_code == 204], timeout=10)
    row = call_rows(ticket.id)[0]
    assert (row.state, row.twilio_sid) == ("undelivered", fake_twilio.state.calls(to=SPARKY)[0]["sid"])
    assert ticket_of(ticket.id).status == "assigned"


# --- end to end on the fake's phone page -------------------------------------------------------------------

def test_pressing_1_on_the_fake_phone_page_accepts_the_job(app, hospital, clock, fake_twilio, live_app, worker):
    staff_rota(hospital)
    ticket = file_emergency(hospital)
    worker()
    [call] = fake_twilio.state.calls(to=SPARKY)
    fake_twilio.state.wait_for(lambda: (r := fake_twilio.state.call_record(call["sid"])) and r.gather, timeout=10)
    clock.advance(minutes=1)
    page = requests.post(f"{fake_twilio.url}/phone/{SPARKY}/calls/{call['sid']}/digits", data={"digits": "1"},
                         allow_redirects=False, timeout=10)
    assert page.status_code == 303
    record = fake_twilio.state.call_record(call["sid"])
    assert [(line.kind, line.text) for line in record.transcript][-2:] == [
        ("pressed", "1"), ("say", "Accepted job 1001. Thank you.")]
    ticket = ticket_of(ticket.id)
    assert (ticket.status, ticket.acknowledged_at) == ("acknowledged", clock.now())
    [event] = events(ticket.id, "acknowledge")
    assert (event.channel, event.actor_id) == ("voice", hospital.users["sparky"].id)
    # The call ends and Twilio's 'completed' callback marks it delivered.
    fake_twilio.state.wait_for(lambda: [w for w in fake_twilio.state.webhooks("call-status")
                                        if w.params.get("CallStatus") == "completed" and w.status_code == 204], timeout=10)
    assert call_rows(ticket.id)[0].state == "delivered"
    voice_hooks = [w for w in fake_twilio.state.webhooks("voice")]
    assert [w.status_code for w in voice_hooks] == [200, 200]  # the TwiML, then the key press, both signed
    assert voice_hooks[1].url == f"{live_app}/voice/call/{call_rows(ticket.id)[0].id}/digits"
