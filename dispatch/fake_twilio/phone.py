"""The phone page: a browser stand-in for the technicians' handsets.

With no Twilio account, a new Dispatch user still needs to see the on-call
text arrive, reply "ACCEPT 1042", and answer the escalation call. This page
lists every number the product has texted or called, shows each one's thread
like a messaging app (delivery status, replies, calls with what was said), and
lets the person reply or press keys. Everything goes through the same code as
the control API (``send_inbound_sms``, ``press_digits``), so what a person sees
is what a test asserts. The page is plain HTML; one small static script polls
for changes every two seconds.
"""
from __future__ import annotations

import re
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from flask import (Blueprint, Response, abort, jsonify, redirect, render_template, request,
                   url_for)

from .api import fake_state
from .inbound import send_inbound_sms
from .records import CallRecord, MessageRecord, Notice
from .voice import hang_up, press_digits

bp = Blueprint("fake_twilio_phone", __name__, template_folder="templates",
               static_folder="static", static_url_path="/_fake/static")

E164 = re.compile(r"^\+[1-9]\d{6,14}$")
MAX_REPLY = 1600

STATUS_WORDS = {
    "queued": "Queued", "sending": "Sending", "sent": "Sent", "delivered": "Delivered",
    "undelivered": "Not delivered", "failed": "Failed", "received": "Sent from this phone",
}


def _clock(moment: datetime) -> str:
    """A record's time (kept in UTC, as Twilio's API gives it) on the page's clock: the zone it is set
    to (TIMEZONE, the hospital's under `make run`), so it matches the times on Dispatch's pages."""
    return moment.astimezone(ZoneInfo(fake_state().setting("TIMEZONE"))).strftime("%H:%M:%S")


def _thread_items(phone: str) -> list[dict[str, Any]]:
    """The thread as plain dicts for the template (no live records leak out)."""
    items: list[dict[str, Any]] = []
    for item in fake_state().thread(phone):
        if isinstance(item, MessageRecord):
            items.append({
                "type": "message",
                "mine": item.direction == "inbound",  # written on this phone
                "body": item.body,
                "other": item.to if item.direction == "inbound" else item.from_,
                "status": item.status,
                "status_text": STATUS_WORDS.get(item.status, item.status),
                "error_code": item.error_code,
                "error_message": item.error_message,
                "segments": item.num_segments,
                "media": item.media_urls,
                "when": _clock(item.date_created),
                "reply": item.direction == "outbound-reply",
            })
        elif isinstance(item, CallRecord):
            items.append({
                "type": "call",
                "sid": item.sid,
                "from": item.from_,
                "status": item.status,
                "transcript": [{"kind": t.kind, "text": t.text} for t in item.transcript],
                "gather": item.gather,
                "live": item.status in ("queued", "ringing", "in-progress"),
                "when": _clock(item.date_created),
                "duration": item.duration,
            })
        elif isinstance(item, Notice):
            items.append({"type": "notice", "text": item.text, "level": item.level,
                          "when": _clock(item.created)})
    return items


def _check_number(number: str) -> str:
    if not E164.match(number):
        abort(404)
    return number


def _render_thread(number: str) -> str:
    return render_template("fake_twilio/_thread.html", number=number,
                           items=_thread_items(number))


@bp.get("/")
@bp.get("/phone")
def index() -> str:
    state = fake_state()
    return render_template("fake_twilio/index.html", phones=state.phones(),
                           version=state.version, config=state.settings(), error=None)


@bp.get("/phone.json")
def index_json() -> Response:
    state = fake_state()
    version = state.version
    html = render_template("fake_twilio/_phones.html", phones=state.phones())
    return jsonify({"version": version, "html": html})


@bp.post("/phone/new")
def new_phone() -> Response | tuple[str, int]:
    """Text the product from a number it has never contacted (e.g. "HELP")."""
    number = (request.form.get("number") or "").replace(" ", "")
    body = request.form.get("body") or ""
    if not E164.match(number) or not body.strip():
        state = fake_state()
        error = "Give a number in E.164 form (like +447700900123) and a message."
        return render_template("fake_twilio/index.html", phones=state.phones(),
                               version=state.version, config=state.settings(),
                               error=error), 400
    send_inbound_sms(fake_state(), number, body[:MAX_REPLY])
    return redirect(url_for(".thread", number=number), code=303)


@bp.get("/phone/<number>")
def thread(number: str) -> str:
    _check_number(number)
    state = fake_state()
    version = state.version
    return render_template("fake_twilio/thread.html", number=number, version=version,
                           thread_html=_render_thread(number), name=state.name_of(number),
                           zone=state.setting("TIMEZONE"),
                           product_number=state.last_sender_to(number) or state.setting("FROM"),
                           webhook=state.setting("SMS_WEBHOOK_URL"))


@bp.get("/phone/<number>/thread.json")
def thread_json(number: str) -> Response:
    _check_number(number)
    version = fake_state().version
    return jsonify({"version": version, "html": _render_thread(number)})


@bp.post("/phone/<number>/reply")
def reply(number: str) -> Response:
    _check_number(number)
    body = (request.form.get("body") or "")[:MAX_REPLY]
    if body.strip():
        send_inbound_sms(fake_state(), number, body)
    return redirect(url_for(".thread", number=number), code=303)


@bp.post("/phone/<number>/calls/<sid>/digits")
def digits(number: str, sid: str) -> Response:
    _check_number(number)
    # Buttons "1"/"2" and the free box share the field name; take the one used.
    pressed = next((d for d in request.form.getlist("digits") if d.strip()), "")
    problem = press_digits(fake_state(), sid, pressed)
    if problem is not None:
        fake_state().add_notice(number, problem, level="error")
    return redirect(url_for(".thread", number=number), code=303)


@bp.post("/phone/<number>/calls/<sid>/hangup")
def hangup(number: str, sid: str) -> Response:
    _check_number(number)
    hang_up(fake_state(), sid)
    return redirect(url_for(".thread", number=number), code=303)
