"""Playing an outbound call: ring, answer, fetch TwiML, wait for key presses.

Dispatch phones the on-call technician when an urgent ticket is not
acknowledged by SMS, reads the ticket out and asks "press 1 to accept, 2 to
decline". To let a person (or a test) walk that loop without a real phone,
the fake "answers" each call after a ring, fetches the call's TwiML from its
``Url`` signed like Twilio, records the ``<Say>`` texts as the call's
transcript, and when the TwiML ends in a ``<Gather>`` waits for digits, which
the phone page (or ``press_digits``) posts to the Gather's action URL.
"""
from __future__ import annotations

import logging
import threading
import xml.etree.ElementTree as ET
from urllib.parse import urljoin

from .callbacks import call_params, send_call_status_callback
from .records import PendingGather, TranscriptLine, utcnow
from .state import FakeTwilioState
from .twiml import TwimlError, element_text, looks_like_xml, parse_twiml
from .webhooks import send_webhook

log = logging.getLogger("dispatch.fake_twilio")

APPLICATION_ERROR = "We are sorry, an application error has occurred. Goodbye."
MAX_REDIRECTS = 5


def start_call(state: FakeTwilioState, sid: str) -> threading.Thread:
    """Ring and answer call ``sid`` on a daemon thread."""
    thread = threading.Thread(target=_run_call, args=(state, sid), daemon=True,
                              name=f"fake-twilio-call-{sid[:10]}")
    thread.start()
    return thread


def _run_call(state: FakeTwilioState, sid: str) -> None:
    try:
        _ring_and_answer(state, sid)
    except Exception:
        log.exception("fake Twilio: call %s failed", sid)


def _advance(state: FakeTwilioState, sid: str, status: str,
             only_if: tuple[str, ...], **changes: object) -> bool:
    """Move the call to ``status`` (if still in ``only_if``) and send its callback."""
    if state.update_call(sid, status=status, only_if=only_if, **changes) is None:
        return False
    send_call_status_callback(state, sid, status)
    return True


def _ring_and_answer(state: FakeTwilioState, sid: str) -> None:
    record = state.call_record(sid)
    if record is None:
        return
    send_call_status_callback(state, sid, "initiated")
    delay = state.setting("CALLBACK_DELAY_SECONDS")
    if not state.pause(delay) or not _advance(state, sid, "ringing", ("queued",)):
        return
    if not state.pause(delay):
        return
    for category, status in (("busy", "busy"), ("no_answer", "no-answer")):
        if state.number_is(category, record.to):
            _advance(state, sid, status, ("ringing",), end_time=utcnow())
            return
    if not _advance(state, sid, "in-progress", ("ringing",), start_time=utcnow()):
        return  # hung up (canceled) or reset while ringing
    if record.twiml:
        run_document(state, sid, record.twiml, document_url=record.url)
    elif record.url:
        fetch_and_run(state, sid, record.url, record.method, {})
    else:
        state.update_call(sid, transcript=[TranscriptLine(
            "note", "Calls handled by an ApplicationSid are not simulated by the fake.")])
        complete_call(state, sid)


def fetch_and_run(state: FakeTwilioState, sid: str, url: str, method: str,
                  extra: dict[str, str], depth: int = 0) -> None:
    """Request TwiML from the product and play it; an error ends the call."""
    params = call_params(state, sid)
    if params is None:
        return
    params.update(extra)
    result = send_webhook(state, "voice", url, params, method=method)
    problem = result.problem()
    if problem is None and not looks_like_xml(result.text, result.content_type):
        problem = (f"{url} answered {result.content_type or 'no Content-Type'}, not TwiML "
                   "(Twilio would log error 12300).")
    if problem is not None:
        _fail_call(state, sid, problem)
        return
    run_document(state, sid, result.text, document_url=url, depth=depth)


def _fail_call(state: FakeTwilioState, sid: str, problem: str) -> None:
    record = state.call_record(sid)
    if record is not None:
        state.add_notice(record.phone, problem, level="error")
    state.update_call(sid, transcript=[TranscriptLine("error", APPLICATION_ERROR)])
    complete_call(state, sid)


def run_document(state: FakeTwilioState, sid: str, text: str, document_url: str | None,
                 depth: int = 0) -> None:
    """Play a TwiML document: speak, then wait at a <Gather> or hang up at the end."""
    try:
        root = parse_twiml(text)
    except TwimlError as exc:
        _fail_call(state, sid, f"The call's TwiML could not be read: {exc} "
                               "(Twilio would log error 12100).")
        return
    lines: list[TranscriptLine] = []
    for verb in root:
        if verb.tag == "Say":
            lines.append(TranscriptLine("say", element_text(verb)))
        elif verb.tag == "Play":
            lines.append(TranscriptLine("play", element_text(verb)))
        elif verb.tag == "Pause":
            continue
        elif verb.tag == "Gather":
            lines.extend(TranscriptLine("say" if child.tag == "Say" else "play",
                                        element_text(child))
                         for child in verb if child.tag in ("Say", "Play"))
            gather = _pending_gather(verb, document_url)
            state.update_call(sid, transcript=lines, gather=gather, document_url=document_url)
            return
        elif verb.tag == "Redirect":
            state.update_call(sid, transcript=lines)
            target = _resolve(document_url, element_text(verb))
            if target is None or depth >= MAX_REDIRECTS:
                _fail_call(state, sid, "A <Redirect> could not be followed.")
                return
            fetch_and_run(state, sid, target, verb.get("method", "POST"), {}, depth + 1)
            return
        elif verb.tag in ("Hangup", "Reject"):
            break
        else:
            lines.append(TranscriptLine("note", f"<{verb.tag}> is not simulated by the fake."))
    state.update_call(sid, transcript=lines, gather=None, document_url=document_url)
    complete_call(state, sid)


def _pending_gather(verb: ET.Element, document_url: str | None) -> PendingGather:
    num_digits = verb.get("numDigits")
    return PendingGather(
        # Without an action Twilio posts the digits back to the current document.
        action=_resolve(document_url, verb.get("action") or ""),
        method=(verb.get("method") or "POST").upper(),
        num_digits=int(num_digits) if num_digits and num_digits.isdigit() else None,
        finish_on_key=verb.get("finishOnKey", "#"),
    )


def _resolve(base: str | None, target: str) -> str | None:
    if target.startswith(("http://", "https://")):
        return target
    if base is None:
        return None
    return urljoin(base, target) if target else base


def press_digits(state: FakeTwilioState, sid: str, digits: str) -> str | None:
    """Key ``digits`` into a call waiting at a <Gather>; returns a problem or None."""
    record = state.call_record(sid)
    if record is None:
        return "No such call."
    gather = record.gather
    if gather is None or record.status != "in-progress":
        return "This call is not waiting for key presses."
    digits = "".join(ch for ch in digits if ch.isdigit() or ch in "*#")
    if gather.finish_on_key and gather.finish_on_key in digits:
        digits = digits.split(gather.finish_on_key, 1)[0]
    if not digits:
        return "Type at least one digit."
    state.update_call(sid, gather=None, transcript=[TranscriptLine("pressed", digits)])
    if gather.action is None:
        _fail_call(state, sid, "The <Gather> has a relative action but the call has no Url "
                               "to resolve it against.")
        return None
    fetch_and_run(state, sid, gather.action, gather.method,
                  {"Digits": digits, "FinishedOnKey": ""})
    return None


def complete_call(state: FakeTwilioState, sid: str, status: str = "completed") -> None:
    """End the call (if not already ended) and send the final status callback."""
    live = ("queued", "ringing", "in-progress")
    _advance(state, sid, status, live, end_time=utcnow(), gather=None)


def hang_up(state: FakeTwilioState, sid: str) -> None:
    """The phone (or the API's Status=completed/canceled) ends the call."""
    record = state.call_record(sid)
    if record is None:
        return
    complete_call(state, sid, "completed" if record.status == "in-progress" else "canceled")


def redirect_call(state: FakeTwilioState, sid: str, url: str | None, method: str,
                  twiml: str | None) -> None:
    """API update with new Url/Twiml: play it in place of the current document."""
    def run() -> None:
        try:
            state.update_call(sid, gather=None)
            if twiml:
                run_document(state, sid, twiml, document_url=url)
            elif url:
                fetch_and_run(state, sid, url, method, {})
        except Exception:
            log.exception("fake Twilio: redirecting call %s failed", sid)
    threading.Thread(target=run, daemon=True, name=f"fake-twilio-redirect-{sid[:10]}").start()
