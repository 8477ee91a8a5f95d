"""The SMS outbox: owe a message in the same transaction as the change, send it exactly once,
follow its delivery, and sweep up whatever Redis or a dead worker dropped."""
from __future__ import annotations

import logging
from datetime import datetime, timedelta

import requests
from flask import current_app
from flask_babel import gettext as _
from sqlalchemy import and_, or_, select, update
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session
from twilio.base.exceptions import TwilioRestException

from dispatch.clock import now as clock_now
from dispatch.sms import segments
from dispatch.sms import text as sms_text
from dispatch.sms import twilio_client
from dispatch.services.engine import UNANSWERED
from dispatch.services.unit_of_work import after_commit, write_transaction
from models import STATE_RANK, OutboundMessage, Ticket, TicketEscalation, TicketEvent, User, db
from dispatch.queue import get_queue

log = logging.getLogger(__name__)

MAX_BACKOFF = timedelta(seconds=60)
# The technician's own job: it matters while the job is theirs and they have not answered it.
JOB_KINDS = ("assignment", "reassignment", "call")
# A step of the chain: it matters until the next step fires or the ticket is answered.
ESCALATION_KINDS = ("escalation", "escalation_call")
# Statuses in which the assignee has not yet answered the job.
UNANSWERED_STATUSES = UNANSWERED  # the engine's: nobody has taken the job on


def stuck_after() -> timedelta:
    """A row 'sending' for longer than this lost its worker (killed, or the process died): reconcile it."""
    return timedelta(seconds=current_app.config["SMS_STUCK_AFTER_SECONDS"])


def requeue_after() -> timedelta:
    """A row 'pending' whose job was queued this long ago and has not run (lost with Redis): queue it again."""
    return timedelta(seconds=current_app.config["SMS_REQUEUE_AFTER_SECONDS"])


def owe_sms(session: Session, *, recipient: User | None, body: str, kind: str, ticket: Ticket | None = None,
            to_number: str | None = None) -> OutboundMessage:
    """Record an SMS the system owes, inside the caller's transaction; it is enqueued after commit.

    A recipient who cannot receive SMS (no number, replied STOP) gets a row that is failed at
    once, so the ticket and the board say plainly that this person was not told.
    """
    moment = clock_now()
    if ticket is not None and ticket.id is None:
        session.flush()  # a ticket filed in this same transaction needs its number first
    number = to_number or (recipient.phone if recipient else None)
    message = OutboundMessage(
        ticket_id=ticket.id if ticket is not None else None, recipient=recipient, to_number=number, body=body,
        kind=kind, state="pending", attempts=0, segments=segments.count(body), created_at=moment, updated_at=moment,
    )
    session.add(message)
    problem = None
    if not number:
        problem = _("no mobile number on record")
    elif recipient is not None and recipient.sms_opted_out:
        problem = _("replied STOP: cannot receive SMS until they send START")
    if problem:
        message.state, message.last_error = "failed", problem
        if ticket is not None:
            _record_failure_event(session, ticket.id, message, problem, moment)
        return message
    _enqueue_after_commit(session, message)
    return message


def _enqueue_after_commit(session: Session, message: OutboundMessage) -> None:
    # Marked as handed to RQ in the same transaction, not by another write after the push: on SQLite
    # every write transaction waits its turn for the one writer, and each report owes an SMS. If the
    # push fails, enqueue() clears the mark so the sweep's next round takes the row; if the process
    # dies between the commit and the push, the sweep takes it once the mark is requeue_after() old.
    message.enqueued_at = clock_now()
    session.flush()
    message_id = message.id
    after_commit(session, lambda: enqueue(message_id, marked=True))


def owe_call(session: Session, *, recipient: User, body: str, kind: str, ticket: Ticket | None = None) -> OutboundMessage:
    """A voice call that reads `body` and takes 1 (accept) or 2 (refuse); sent through the same outbox."""
    message = owe_sms(session, recipient=recipient, body=body, kind=kind, ticket=ticket)
    message.channel = "voice"
    message.segments = 0
    if message.state == "failed" and recipient is not None and recipient.sms_opted_out and recipient.phone:
        # STOP concerns SMS only: a call still goes through.
        message.state, message.last_error = "pending", None
        _enqueue_after_commit(session, message)
    return message


def enqueue(message_id: int, *, marked: bool = False) -> bool:
    """Hand a row to RQ. If Redis is down the row stays pending and the sweep enqueues it later.
    `marked`: the row's enqueued_at was set when it was written (see _enqueue_after_commit)."""

    try:
        get_queue().enqueue("workers.jobs.send_sms", message_id, job_timeout=60, result_ttl=300, failure_ttl=86400)
    except Exception:
        log.warning("could not enqueue SMS %s; the sweep will retry", message_id, exc_info=True)
        if marked:
            # Cleared so the sweep's next round takes it (if the database is gone too, it takes it once
            # the mark is requeue_after() old).
            _mark_enqueued(message_id, None)
        return False
    if not marked:
        _mark_enqueued(message_id, clock_now())
    return True


def _mark_enqueued(message_id: int, moment: datetime | None) -> None:
    try:
        with write_transaction() as session:
            session.execute(update(OutboundMessage).where(OutboundMessage.id == message_id,
                                                          OutboundMessage.state == "pending")
                            .values(enqueued_at=moment))
    except SQLAlchemyError as error:
        # The change that owed this SMS is committed: the database going away now must not turn that answer
        # into an error. A stale mark only changes when the sweep queues the row, and the claim makes a
        # second job harmless.
        if moment is None:
            log.warning("SMS %s not queued and still marked as queued (%s)", message_id, type(error).__name__)
        else:
            log.warning("SMS %s queued but not marked as queued (%s)", message_id, type(error).__name__)


def webhook_url(path: str) -> str:
    """An address Twilio calls back on. Built by hand because workers have no request to build
    URLs from (the routes are in blueprints/sms)."""
    base = current_app.config.get("TWILIO_WEBHOOK_BASE_URL") or current_app.config["PUBLIC_URL"]
    return f"{base.rstrip('/')}{path}"


def status_callback_url(message_id: int) -> str:
    """Where Twilio reports delivery; the row's id in the path ties the report to the row."""
    return webhook_url(f"/sms/status/{message_id}")


def _backoff(attempts: int) -> timedelta:
    # The exponent is capped too: an outage of hours means hundreds of attempts, and 2 ** 300 seconds
    # is more than a timedelta holds.
    return min(MAX_BACKOFF, timedelta(seconds=2 ** min(max(0, attempts - 1), 16)))


def give_up_after() -> timedelta:
    """A message with no ticket rule to say it no longer matters (a coverage report, a swap, a note to
    the technician taken off a job) is tried for this long, then failed."""
    return timedelta(hours=current_app.config["SMS_RETRY_HOURS"])


def why_stop_retrying(session: Session, message: OutboundMessage, now: datetime) -> tuple[str, str] | None:
    """(final state, why) when a message Twilio has not yet taken is not worth trying again, or None
    while it still matters. Asked before each retry: during a Twilio outage a job's text is retried
    for as long as the job waits for that person, however long that is, and dropped ('not_needed',
    which is not a failure) the moment it stops mattering."""
    ticket = session.get(Ticket, message.ticket_id) if message.ticket_id else None
    if ticket is not None and (message.kind in JOB_KINDS or message.kind in ESCALATION_KINDS):
        timer = (session.scalar(select(TicketEscalation).where(TicketEscalation.ticket_id == ticket.id))
                 if message.kind in ESCALATION_KINDS else None)
        why = why_not_needed(message, ticket, timer)
        return ("not_needed", why) if why else None
    if now - message.created_at >= give_up_after():
        hours = f"{give_up_after().total_seconds() / 3600:g}"
        return "failed", _("still not sent after %(hours)s hours", hours=hours)
    return None


def why_not_needed(message: OutboundMessage, ticket: Ticket, timer: TicketEscalation | None) -> str | None:
    """Why a job's or an escalation's message to this person no longer matters, or None while it does
    (other kinds have no such rule: None). `timer`: the ticket's escalation row, for an escalation's."""
    if message.kind in JOB_KINDS:
        if not ticket.is_open:
            return _("the job is no longer open")
        if ticket.assignee_id != message.recipient_id:
            return _("the job is no longer theirs")
        if ticket.status not in UNANSWERED_STATUSES:
            return _("the technician has answered the job")
    elif message.kind in ESCALATION_KINDS:
        if not ticket.is_open:
            return _("the job is no longer open")
        if timer is not None and timer.last_fired_at is not None and timer.last_fired_at > message.created_at:
            return _("a later escalation step has fired")
        if timer is not None and timer.state == "stopped":
            return _("the escalation has stopped")
        # A step of the acknowledge phase asked for an answer that has come since.
        if (ticket.status not in UNANSWERED_STATUSES and ticket.acknowledged_at is not None
                and ticket.acknowledged_at >= message.created_at):
            return _("the job has been acknowledged")
    return None


def send_outbox_message(message_id: int) -> str:
    """Send one outbox row through Twilio, at most once. Returns what happened (for the job log)."""
    moment = clock_now()
    # Claim first: of two jobs for the same row, only one gets past this conditional update.
    with write_transaction(urgent=True) as session:
        claimed = session.execute(
            update(OutboundMessage)
            .where(OutboundMessage.id == message_id, OutboundMessage.state == "pending",
                   or_(OutboundMessage.next_attempt_at.is_(None), OutboundMessage.next_attempt_at <= moment))
            .values(state="sending", claimed_at=moment, updated_at=moment, attempts=OutboundMessage.attempts + 1)
        ).rowcount
    if not claimed:
        return "not-claimed"
    message = db.session.get(OutboundMessage, message_id)
    if message.attempts > 1:
        # A retry: the job may have been answered, given away or escalated past while Twilio was down.
        with write_transaction(urgent=True) as session:
            message = session.get(OutboundMessage, message_id)
            stop = why_stop_retrying(session, message, moment)
            if stop is not None:
                message.attempts -= 1  # this claim sent nothing
                _stop_retrying(session, message, *stop, code=message.last_error_code)
                return stop[0].replace("_", "-")
    conf = twilio_client.settings()
    sender = {"messaging_service_sid": conf.messaging_service_sid} if conf.messaging_service_sid else {"from_": conf.from_number}
    try:
        if message.channel == "voice":
            created = twilio_client.client().calls.create(
                to=message.to_number, from_=conf.from_number, url=webhook_url(f"/voice/call/{message.id}"),
                status_callback=webhook_url(f"/voice/status/{message.id}"),
                status_callback_event=["initiated", "ringing", "answered", "completed"])
        else:
            created = twilio_client.client().messages.create(
                to=message.to_number, body=message.body, status_callback=status_callback_url(message.id), **sender)
    except TwilioRestException as error:
        return _after_rest_error(message_id, error)
    except (requests.ConnectionError, requests.Timeout) as error:
        return _after_network_error(message_id, error)
    # Store the SID at once; 'sent' only if no callback has already moved the row further on.
    moment = clock_now()
    with write_transaction(urgent=True) as session:
        session.execute(update(OutboundMessage).where(OutboundMessage.id == message_id)
                        .values(twilio_sid=created.sid, sent_at=moment, updated_at=moment, last_error=None,
                                last_error_code=None))
        session.execute(update(OutboundMessage).where(OutboundMessage.id == message_id, OutboundMessage.state == "sending")
                        .values(state="sent"))
    return "sent"


def _after_rest_error(message_id: int, error: TwilioRestException) -> str:
    description = twilio_client.describe_error(error.code, f"HTTP {error.status}")
    with write_transaction(urgent=True) as session:
        message = session.get(OutboundMessage, message_id)
        if twilio_client.is_permanent(error.status, error.code):
            outcome = "failed"
            _fail(session, message, error.code, description)
        else:
            stop = why_stop_retrying(session, message, clock_now())
            outcome = stop[0] if stop else "retry"
            if stop:
                _stop_retrying(session, message, *stop, code=error.code, error=description)
            else:
                _retry_later(message, error.code, description)
        # The body is left out: it may name the patient's bed.
        log.warning("Twilio refused outbox message %s (%s, ticket %s, attempt %s): HTTP %s, Twilio error %s; %s",
                    message_id, message.channel, message.ticket_id, message.attempts, error.status, error.code,
                    outcome.replace("_", " "))
    return outcome.replace("_", "-")


def _after_network_error(message_id: int, error: Exception) -> str:
    never_sent = isinstance(error, requests.ConnectTimeout) or (
        isinstance(error, requests.ConnectionError) and not isinstance(error, requests.ReadTimeout)
        and "NewConnectionError" in repr(error)
    )
    with write_transaction(urgent=True) as session:
        message = session.get(OutboundMessage, message_id)
        log.warning("no answer from Twilio for outbox message %s (%s, ticket %s, attempt %s): %s; %s",
                    message_id, message.channel, message.ticket_id, message.attempts, type(error).__name__,
                    "will retry" if never_sent else "will check with Twilio before resending")
        if never_sent:
            # The request never left: safe to send again, while it still matters.
            stop = why_stop_retrying(session, message, clock_now())
            if stop:
                _stop_retrying(session, message, *stop, code=None, error=f"network: {type(error).__name__}")
                return stop[0].replace("_", "-")
            _retry_later(message, None, f"network: {type(error).__name__}")
            return "retry"
        # The request may have reached Twilio: leave it 'sending' so reconciliation looks before resending.
        message.last_error = f"no answer from Twilio ({type(error).__name__}); will check before resending"
        message.updated_at = clock_now()
    return "unknown"


def _stop_retrying(session: Session, message: OutboundMessage, state: str, why: str, *, code: int | None,
                   error: str | None = None) -> None:
    """Final word on a message that will not be tried again: 'not_needed' (quietly: nobody has to act)
    or 'failed' (the ticket's history and the board say who was not reached)."""
    last = error or message.last_error
    description = _("%(why)s; last error: %(error)s", why=why, error=last) if last else why
    if state == "failed":
        _fail(session, message, code, description)
        return
    message.state = "not_needed"
    message.last_error_code, message.last_error = code, description[:300]
    message.next_attempt_at = None
    message.updated_at = clock_now()


def _retry_later(message: OutboundMessage, code: int | None, description: str) -> None:
    moment = clock_now()
    message.state = "pending"
    message.last_error_code, message.last_error = code, description[:300]
    message.next_attempt_at = moment + _backoff(message.attempts)
    message.enqueued_at = None
    message.updated_at = moment


def _fail(session: Session, message: OutboundMessage, code: int | None, description: str) -> None:
    moment = clock_now()
    message.state = "failed"
    message.last_error_code, message.last_error = code, description[:300]
    message.updated_at = moment
    if message.ticket_id:
        _record_failure_event(session, message.ticket_id, message, description, moment)


# A call Twilio reports in one of these did ring (or was meant to) but nobody took it.
UNANSWERED_CALL = {"busy": "line busy", "no-answer": "no answer", "canceled": "cancelled before it was answered"}


def failure_kind(message: OutboundMessage) -> str:
    """The history's word for what went wrong: a text not delivered, a call not answered, a call that
    could not be made. Different facts for the dispatcher: an unanswered call reached a working phone."""
    if message.channel != "voice":
        return "sms_failed"
    return "call_unanswered" if message.state == "undelivered" else "call_failed"


def _record_failure_event(session: Session, ticket_id: int, message: OutboundMessage, description: str,
                          moment: datetime) -> None:
    """The ticket's history says who was not reached and why; the board lists it for the dispatcher."""
    name = message.recipient.full_name if message.recipient else (message.to_number or "?")
    kind = failure_kind(message)
    note = {"sms_failed": _("SMS to %(name)s failed: %(why)s", name=name, why=description),
            "call_unanswered": _("Call to %(name)s not answered: %(why)s", name=name, why=description),
            "call_failed": _("Call to %(name)s failed: %(why)s", name=name, why=description)}[kind]
    session.add(TicketEvent(ticket_id=ticket_id, at=moment, kind=kind, channel="system", note=note,
                            data={"message_id": message.id, "code": message.last_error_code}))


def apply_status(message_id: int, twilio_status: str, error_code: int | None, sid: str | None) -> bool:
    """A delivery report from Twilio. Never moves a message backwards. Returns whether it changed."""
    state = {"accepted": "sent", "queued": "sent", "sending": "sent", "sent": "sent", "delivered": "delivered",
             "undelivered": "undelivered", "failed": "failed", "read": "delivered",
             # voice calls
             "initiated": "sent", "ringing": "sent", "in-progress": "sent", "answered": "sent",
             "completed": "delivered", "busy": "undelivered", "no-answer": "undelivered",
             "canceled": "undelivered"}.get((twilio_status or "").lower())
    if state is None:
        return False
    # Many reports change nothing (Twilio's 'sent' comes after the worker has marked the row sent): say
    # so from a plain read, without taking the write lock. States only move on, so a row seen at or past
    # `state` stays there; a stale read can only send us on to the locked check below.
    seen = db.session.execute(select(OutboundMessage.state, OutboundMessage.twilio_sid)
                              .where(OutboundMessage.id == message_id)).one_or_none()
    if seen is None or (sid and seen.twilio_sid and sid != seen.twilio_sid) or STATE_RANK[state] <= STATE_RANK[seen.state]:
        return False
    moment = clock_now()
    with write_transaction() as session:
        message = session.scalars(select(OutboundMessage).where(OutboundMessage.id == message_id).with_for_update()).one_or_none()
        if message is None or (sid and message.twilio_sid and sid != message.twilio_sid):
            return False
        if STATE_RANK[state] <= STATE_RANK[message.state]:
            return False
        message.state = state
        message.twilio_sid = message.twilio_sid or sid
        message.updated_at = moment
        if state == "delivered":
            message.delivered_at = moment
        if state in ("failed", "undelivered"):
            message.last_error_code = error_code
            fallback = UNANSWERED_CALL.get(twilio_status.lower(), state) if message.channel == "voice" else state
            message.last_error = twilio_client.describe_error(error_code, fallback)[:300]
            if message.ticket_id:
                _record_failure_event(session, message.ticket_id, message, message.last_error, moment)
    return True


def sweep(now: datetime) -> dict[str, int]:
    """Scheduler round: re-enqueue pending rows whose job was lost, reconcile rows stuck in 'sending'."""
    due = db.session.scalars(
        select(OutboundMessage.id).where(
            OutboundMessage.state == "pending",
            or_(OutboundMessage.next_attempt_at.is_(None), OutboundMessage.next_attempt_at <= now),
            or_(OutboundMessage.enqueued_at.is_(None), OutboundMessage.enqueued_at <= now - requeue_after()),
        ).limit(500)
    ).all()
    db.session.commit()
    waiting = _waiting_in_queue() if due else set()
    enqueued = sum(1 for message_id in due if message_id not in waiting and enqueue(message_id))
    stuck = db.session.scalars(
        select(OutboundMessage.id).where(and_(OutboundMessage.state == "sending", OutboundMessage.claimed_at <= now - stuck_after()))
        .limit(100)
    ).all()
    db.session.commit()
    reconciled = sum(1 for message_id in stuck if reconcile(message_id) != "unchanged")
    return {"enqueued": enqueued, "reconciled": reconciled}


def _waiting_in_queue() -> set[int]:
    """Rows whose send job is still in the queue. A worker that is behind has not lost them, and
    enqueueing them again would only lengthen its queue (and this round) under a backlog."""
    from rq.job import Job

    try:
        queue = get_queue()
        jobs = Job.fetch_many(queue.get_job_ids(), connection=queue.connection, serializer=queue.serializer)
    except Exception:  # Redis down: nothing is waiting there, and enqueue() says so per row
        log.warning("could not read the SMS queue; enqueueing every pending row again", exc_info=True)
        return set()
    return {job.args[0] for job in jobs if job is not None and job.func_name == "workers.jobs.send_sms" and job.args}


def reconcile(message_id: int) -> str:
    """Find out from Twilio what became of a row whose worker vanished mid-send.

    With a SID we fetch the message. Without one (the worker died between Twilio's answer and
    our write), we look for a message to the same number with the same body sent since the claim;
    only if there is none is the row sent again.
    """
    message = db.session.get(OutboundMessage, message_id)
    if message is None or message.state != "sending":
        return "unchanged"
    twilio = twilio_client.client()
    try:
        if message.channel == "voice":
            # A call cannot be matched by its text; if its SID was lost, ring again (a repeat ring is harmless).
            found = twilio.calls(message.twilio_sid).fetch() if message.twilio_sid else None
        elif message.twilio_sid:
            found = twilio.messages(message.twilio_sid).fetch()
        else:
            since = (message.claimed_at or message.created_at) - timedelta(minutes=1)
            candidates = twilio.messages.list(to=message.to_number, date_sent_after=since, limit=50)
            found = next((m for m in candidates if m.body == message.body), None)
    except (TwilioRestException, requests.RequestException):
        log.warning("reconciliation of SMS %s could not reach Twilio", message_id, exc_info=True)
        return "unchanged"
    moment = clock_now()
    stuck = (OutboundMessage.id == message_id, OutboundMessage.state == "sending")
    with write_transaction() as session:
        if found is None:
            session.execute(update(OutboundMessage).where(*stuck).values(
                state="pending", next_attempt_at=None, enqueued_at=None, updated_at=moment,
                last_error="worker lost before Twilio accepted it; sending again"))
            return "resend"
        session.execute(update(OutboundMessage).where(*stuck).values(
            state="sent", twilio_sid=found.sid, sent_at=moment, updated_at=moment))
    apply_status(message_id, found.status, getattr(found, "error_code", None), found.sid)
    return "adopted"


def messages_for_ticket(ticket_id: int) -> list[OutboundMessage]:
    return list(db.session.scalars(select(OutboundMessage).where(OutboundMessage.ticket_id == ticket_id)
                                   .order_by(OutboundMessage.id)))


def owe_for_action(session: Session, made) -> None:
    """The hook after a refusal or a cancellation (engine.Move `made`): the SMS it owes, in the same transaction.
    A refusal tells the supervisors; a cancellation tells the technician who had the job (unless they did it)."""
    ticket, note = made.ticket, made.note
    if made.name == "refuse":
        refuser = session.get(User, made.data["technician_id"]) if made.data.get("technician_id") else None
        for supervisor in session.scalars(select(User).where(User.role == "supervisor", User.active.is_(True),
                                                             User.phone.is_not(None))):
            owe_sms(session, recipient=supervisor, kind="refusal", ticket=ticket,
                    body=sms_text.for_user(supervisor, sms_text.refused, ticket,
                                           refuser.full_name if refuser else "?", note))
    elif made.name == "cancel" and ticket.assignee_id and ticket.assignee_id != made.actor_id:
        assignee = session.get(User, ticket.assignee_id)
        owe_sms(session, recipient=assignee, kind="cancellation", ticket=ticket,
                body=sms_text.for_user(assignee, sms_text.cancelled, ticket, note))
