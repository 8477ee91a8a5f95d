"""Delivery of outbound messages and the status callbacks Twilio posts about them.

Dispatch learns that an on-call page reached the technician's handset only
from status callbacks, and escalates when one says ``undelivered``. So after a
message is accepted the fake walks it through Twilio's lifecycle on a
background thread — ``queued`` → ``sent`` → ``delivered`` (or ``undelivered``
/ ``failed`` with an ErrorCode for numbers configured so) — updating the
resource that ``GET Messages/{Sid}.json`` returns and, when the message has a
``StatusCallback``, posting each step there signed like Twilio does.

Call status callbacks are built here too, so that both kinds carry the same
fields Twilio documents.
"""
from __future__ import annotations

import logging
import threading

from .errors import DELIVERY_ERRORS
from .records import API_VERSION, rfc2822, utcnow
from .segments import count_segments
from .state import FakeTwilioState
from .webhooks import send_webhook

log = logging.getLogger("dispatch.fake_twilio")


def start_message_delivery(state: FakeTwilioState, sid: str) -> threading.Thread:
    """Walk message ``sid`` through its lifecycle on a daemon thread."""
    thread = threading.Thread(target=_deliver, args=(state, sid), daemon=True,
                              name=f"fake-twilio-deliver-{sid[:10]}")
    thread.start()
    return thread


def delivery_steps(state: FakeTwilioState, to: str, accepted: bool = False) -> list[tuple[str, int | None]]:
    """The statuses a message to ``to`` goes through after ``queued`` (after ``accepted``, for one
    sent through a Messaging Service: ``queued`` first)."""
    first = [("queued", None)] if accepted else []
    failure = state.delivery_failure(to)
    if failure is None:
        return first + [("sent", None), ("delivered", None)]
    code, final = failure
    if final == "failed":
        return first + [("failed", code)]
    return first + [("sent", None), ("undelivered", code)]


def _deliver(state: FakeTwilioState, sid: str) -> None:
    try:
        record = state.message_record(sid)
        if record is None:
            return
        for status, code in delivery_steps(state, record.to, accepted=record.status == "accepted"):
            if not state.pause(state.setting("CALLBACK_DELAY_SECONDS")):
                return
            changes: dict[str, object] = {"status": status}
            if record.from_ is None:  # sent through a Messaging Service: it picks the sender and counts
                changes["from_"] = state.setting("FROM")
                changes["num_segments"] = 1 if record.media_urls else count_segments(record.body)
            if status == "sent":
                changes["date_sent"] = utcnow()
            if code is not None:
                changes["error_code"] = code
                changes["error_message"] = DELIVERY_ERRORS.get(code, "Unknown error")
            if state.update_message(sid, **changes) is None:
                return  # reset while we slept
            send_message_status_callback(state, sid)
    except Exception:  # a bug here must never take the fake down
        log.exception("fake Twilio: delivering %s failed", sid)


def message_status_params(state: FakeTwilioState, sid: str) -> dict[str, str] | None:
    """The form fields of a message status callback, as Twilio sends them."""
    record = state.message_record(sid)
    if record is None:
        return None
    params = {
        "AccountSid": record.account_sid,
        "ApiVersion": API_VERSION,
        "From": record.from_ or "",
        "MessageSid": record.sid,
        "MessageStatus": record.status,
        "SmsSid": record.sid,
        "SmsStatus": record.status,
        "To": record.to,
    }
    if record.messaging_service_sid:
        params["MessagingServiceSid"] = record.messaging_service_sid
    if record.error_code is not None:
        params["ErrorCode"] = str(record.error_code)
    if record.status in ("delivered", "undelivered"):
        params["RawDlrDoneDate"] = utcnow().strftime("%y%m%d%H%M")
    return params


def send_message_status_callback(state: FakeTwilioState, sid: str) -> None:
    """Post the message's current status to its StatusCallback, if it has one."""
    record = state.message_record(sid)
    if record is None or not record.status_callback or not state.setting("SEND_CALLBACKS"):
        return
    params = message_status_params(state, sid)
    if params is not None:
        send_webhook(state, "message-status", record.status_callback, params)


#: StatusCallbackEvent name -> the CallStatus values that trigger it.
CALL_EVENTS = {
    "initiated": ("initiated",),
    "ringing": ("ringing",),
    "answered": ("in-progress",),
    "completed": ("completed", "busy", "no-answer", "failed", "canceled"),
}


def call_params(state: FakeTwilioState, sid: str) -> dict[str, str] | None:
    """The fields Twilio sends with every voice request about a call."""
    record = state.call_record(sid)
    if record is None:
        return None
    return {
        "AccountSid": record.account_sid,
        "ApiVersion": API_VERSION,
        "CallSid": record.sid,
        "CallStatus": record.status,
        "Called": record.to,
        "Caller": record.from_,
        "Direction": record.direction,
        "From": record.from_,
        "To": record.to,
    }


def send_call_status_callback(state: FakeTwilioState, sid: str, call_status: str) -> None:
    """Post a call progress event if the call subscribed to it."""
    record = state.call_record(sid)
    if record is None or not record.status_callback or not state.setting("SEND_CALLBACKS"):
        return
    event = next((e for e, statuses in CALL_EVENTS.items() if call_status in statuses), None)
    if event is None or event not in record.status_callback_events:
        return
    params = call_params(state, sid) or {}
    params.update({
        "CallStatus": call_status,
        "CallbackSource": "call-progress-events",
        "SequenceNumber": str(state.next_callback_sequence(sid)),
        "Timestamp": rfc2822(utcnow()) or "",
    })
    if event == "completed":
        params["CallDuration"] = record.duration or "0"
        params["Duration"] = str((int(record.duration or 0) + 59) // 60)
    send_webhook(state, "call-status", record.status_callback, params,
                 method=record.status_callback_method)
