"""The board's red panel of people not reached: a text not delivered and a call not answered are told
apart (on the board and in the ticket's history, in English and Chinese), each person is named once,
and a failure drops off once it no longer matters (the job answered, given away or closed, or a later
escalation step fired). Through the real worker, the Twilio SDK and the fake's delivery callbacks."""
from __future__ import annotations

from datetime import timedelta

from dispatch.services import escalation
from dispatch.services.tickets import transition
from models import User, db
from tests.test_escalation import PHONES, file_fault, staff_rota
from tests.test_sms_outbox import SPARKY, events, outbox


def panel(login_as, who: str = "dispatcher") -> str:
    html = login_as(who).get("/board/").get_data(as_text=True)
    if '<section class="sms-problems"' not in html:
        return ""
    return html.split('<section class="sms-problems"', 1)[1].split("</section>", 1)[0]


def settled(fake_twilio, worker, count: int) -> None:
    """Run the queued sends, then wait until the app has answered `count` final callbacks."""
    worker()
    final = {"undelivered", "failed", "delivered", "no-answer", "busy", "completed"}

    def answered():
        hooks = fake_twilio.state.webhooks("message-status") + fake_twilio.state.webhooks("call-status")
        done = [w for w in hooks if (w.params.get("MessageStatus") or w.params.get("CallStatus")) in final
                and w.status_code is not None]
        return len(done) >= count

    fake_twilio.state.wait_for(answered, timeout=10)


def test_an_undelivered_text_and_an_unanswered_call_are_told_apart_once_for_the_person_until_acknowledged(
        hospital, clock, fake_twilio, live_app, worker, login_as):
    staff_rota(hospital)
    fake_twilio.state.set_numbers(undeliverable={SPARKY: 30003}, no_answer=[SPARKY])
    ticket = file_fault(hospital)  # P1: Sparky is texted and called at once
    settled(fake_twilio, worker, 2)

    [sms_event] = events(ticket.id, "sms_failed")
    [call_event] = events(ticket.id, "call_unanswered")
    assert sms_event.note.startswith("SMS to Wang Sparky failed: the phone is unreachable")
    assert call_event.note == "Call to Wang Sparky not answered: no answer"
    states = {r.channel: r.state for r in outbox(ticket.id)}
    assert states == {"sms": "undelivered", "voice": "undelivered"}

    shown = panel(login_as)
    assert shown.count("<li>") == 1 and shown.count("Wang Sparky") == 1 and SPARKY in shown
    assert "SMS not delivered" in shown and "Call not answered" in shown
    assert "(the phone is unreachable or switched off (Twilio 30003))" in shown
    assert f"#{ticket.id}" in shown

    detail = login_as("dispatcher").get(f"/tickets/{ticket.id}").get_data(as_text=True)
    assert "Call not answered" in detail and "SMS not delivered" in detail

    dispatcher = db.session.get(User, hospital.users["dispatcher"].id)
    dispatcher.locale = "zh_CN"
    db.session.commit()
    chinese = panel(login_as)
    assert "短信未送达" in chinese and "电话无人接听" in chinese
    dispatcher = db.session.get(User, hospital.users["dispatcher"].id)
    dispatcher.locale = "en"
    db.session.commit()

    # The dispatcher phoned Sparky, who acknowledged: nothing left to act on.
    transition(ticket.id, "acknowledge", hospital.user("sparky"))
    assert panel(login_as) == ""


def test_a_supervisor_with_a_dead_phone_is_named_once_for_two_jobs_and_only_until_the_next_step(
        hospital, clock, fake_twilio, live_app, worker, login_as):
    staff_rota(hospital)
    fake_twilio.state.set_numbers(invalid=[PHONES["supervisor"]])
    filed = clock.now()
    first = file_fault(hospital, description="No power to bed 1")
    second = file_fault(hospital, description="No power to bed 2")
    worker()
    # Sparky has one job and Volt the other. At five minutes each chain widens the circle to the other
    # technician on call (both busy, both still paged); at ten it reaches the supervisor (text and call).
    clock.set(filed + timedelta(minutes=5))
    assert escalation.run_due(clock.now()) == 2
    worker()
    clock.set(filed + timedelta(minutes=10))
    assert escalation.run_due(clock.now()) == 2
    worker()

    shown = panel(login_as)
    supervisor_lines = [line for line in shown.split("<li>") if "Supervisor" in line]
    assert len(supervisor_lines) == 1
    line = supervisor_lines[0]
    assert f"#{first.id}" in line and f"#{second.id}" in line and PHONES["supervisor"] in line
    assert "SMS not delivered" in line and "Call failed" in line and "invalid phone number" in line
    assert [e.kind for e in events(first.id) if e.kind in ("sms_failed", "call_failed", "call_unanswered")] == [
        "sms_failed", "call_failed"]

    # The duty manager's step fires: the supervisor's step is superseded, nobody need phone them now.
    clock.set(filed + timedelta(minutes=15))
    assert escalation.run_due(clock.now()) == 2
    assert "Supervisor" not in panel(login_as)


def test_the_migration_gives_calls_already_in_the_history_their_own_kind(app, hospital, clock):
    """History written before this change called every failed call 'sms_failed'."""
    import importlib.util

    from alembic.migration import MigrationContext
    from alembic.operations import Operations

    from dispatch import ROOT
    from dispatch.services import notify
    from models import OutboundMessage, TicketEvent

    ticket = file_fault(hospital)
    rows = {}
    for name, channel, state in (("unanswered", "voice", "undelivered"), ("failed", "voice", "failed"),
                                 ("text", "sms", "undelivered")):
        rows[name] = OutboundMessage(ticket_id=ticket.id, to_number=SPARKY, body="x", kind="call", channel=channel,
                                     state=state, created_at=clock.now(), updated_at=clock.now())
        db.session.add(rows[name])
    db.session.flush()
    events = {name: TicketEvent(ticket_id=ticket.id, at=clock.now(), kind="sms_failed", channel="system",
                                note=name, data={"message_id": row.id, "code": None}) for name, row in rows.items()}
    events["no row"] = TicketEvent(ticket_id=ticket.id, at=clock.now(), kind="sms_failed", channel="system",
                                   note="no row", data=None)
    db.session.add_all(events.values())
    db.session.commit()
    spec = importlib.util.spec_from_file_location(
        "call_history", ROOT / "migrations" / "versions" / "0012_outage_call_history.py")
    migration = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(migration)

    def run(step) -> dict[str, str]:
        with db.engine.begin() as connection, Operations.context(MigrationContext.configure(connection)):
            step()
        db.session.rollback()  # a new read transaction: SQLite would show this session its old snapshot
        return {name: db.session.get(TicketEvent, event.id).kind for name, event in events.items()}

    assert run(migration.upgrade) == {"unanswered": "call_unanswered", "failed": "call_failed",
                                      "text": "sms_failed", "no row": "sms_failed"}
    # the same words as the app now writes for each
    assert [notify.failure_kind(rows[n]) for n in ("unanswered", "failed", "text")] == [
        "call_unanswered", "call_failed", "sms_failed"]
    assert set(run(migration.downgrade).values()) == {"sms_failed"}
