"""``/_fake``: the control API tests (in any language, or curl) use to steer the fake.

Twilio itself cannot be told "fail the next two sends" or "this number has
unsubscribed", yet those are exactly the cases Dispatch's retry and escalation
rules exist for. These JSON endpoints need no auth: the fake only ever listens
on a developer's or CI's own machine. The same controls exist as methods of
``FakeTwilioState`` for Python tests.
"""
from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, jsonify, request

from .api import fake_state
from .inbound import send_inbound_sms
from .voice import hang_up, press_digits

bp = Blueprint("fake_twilio_control", __name__, url_prefix="/_fake")


def _json() -> dict[str, Any]:
    data = request.get_json(silent=True)
    return data if isinstance(data, dict) else {}


def _bad(message: str) -> tuple[Response, int]:
    return jsonify({"error": message}), 400


@bp.post("/reset")
def reset() -> Response:
    fake_state().reset()
    return jsonify({"ok": True})


@bp.get("/messages")
def messages() -> Response:
    state = fake_state()
    return jsonify({"messages": state.messages(to=request.args.get("to"),
                                               from_=request.args.get("from"))})


@bp.get("/calls")
def calls() -> Response:
    state = fake_state()
    found = state.calls(to=request.args.get("to"), from_=request.args.get("from"))
    for call in found:
        record = state.call_record(call["sid"])
        if record is not None:
            call["transcript"] = [{"kind": t.kind, "text": t.text} for t in record.transcript]
            call["waiting_for_digits"] = record.gather is not None
    return jsonify({"calls": found})


@bp.get("/requests")
def requests_received() -> Response:
    return jsonify({"requests": [r.as_dict() for r in fake_state().requests]})


@bp.get("/webhooks")
def webhooks() -> Response:
    """Status callbacks and webhooks the fake sent to the product, oldest first."""
    kind = request.args.get("kind")
    return jsonify({"webhooks": [w.as_dict() for w in fake_state().webhooks(kind)]})


@bp.post("/fail")
def fail() -> Response | tuple[Response, int]:
    """``{"status": 503, "count": 2}`` or ``{"status": 429, "seconds": 20}``; status 0 clears."""
    data = _json()
    try:
        status = int(data.get("status", 503))
        code = int(data["code"]) if data.get("code") is not None else None
        if status == 0:
            fake_state().clear_failures()
        elif "seconds" in data:
            fake_state().fail_for(status, float(data["seconds"]), code, data.get("message"))
        else:
            fake_state().fail_next(status, int(data.get("count", 1)), code, data.get("message"))
    except (TypeError, ValueError) as exc:
        return _bad(f"bad failure rule: {exc}")
    return jsonify({"ok": True})


@bp.route("/numbers", methods=["GET", "POST"])
def numbers() -> Response | tuple[Response, int]:
    """Per-number behaviour; each category given replaces that category."""
    if request.method == "GET":
        return jsonify(fake_state().numbers())
    data = _json()
    allowed = {"invalid", "not_mobile", "opted_out", "undeliverable", "no_answer", "busy"}
    unknown = set(data) - allowed
    if unknown:
        return _bad(f"unknown number categories: {sorted(unknown)}")
    try:
        return jsonify(fake_state().set_numbers(**data))
    except (TypeError, ValueError, AttributeError) as exc:
        return _bad(f"bad number rules: {exc}")


@bp.route("/names", methods=["GET", "POST"])
def names() -> Response | tuple[Response, int]:
    """Who holds which number, for the phone page: ``{"names": {"+8613...": "Wang Electric, technician"},
    "replace": true}`` (``replace`` false adds to the names already given)."""
    if request.method == "GET":
        return jsonify({"names": fake_state().names()})
    data = _json()
    given = data.get("names")
    if not isinstance(given, dict) or not all(isinstance(v, (str, type(None))) for v in given.values()):
        return _bad("'names' must map numbers to names")
    return jsonify({"names": fake_state().set_names(given, replace=bool(data.get("replace", True)))})


@bp.route("/config", methods=["GET", "POST"])
def config() -> Response | tuple[Response, int]:
    if request.method == "GET":
        return jsonify(fake_state().settings())
    try:
        return jsonify(fake_state().configure(**_json()))
    except (KeyError, TypeError, ValueError) as exc:
        return _bad(str(exc))


@bp.post("/inbound")
def inbound() -> Response | tuple[Response, int]:
    """A phone texts the product: ``{"from": "+44...", "body": "ACCEPT 1042", "to": optional}``."""
    data = _json()
    if not data.get("from") or "body" not in data:
        return _bad("'from' and 'body' are required")
    result = send_inbound_sms(fake_state(), str(data["from"]), str(data["body"]), data.get("to"))
    return jsonify(result.as_dict())


@bp.post("/calls/<sid>/digits")
def digits(sid: str) -> Response | tuple[Response, int]:
    """The phone keys ``{"digits": "1"}`` into a call waiting at a <Gather>."""
    problem = press_digits(fake_state(), sid, str(_json().get("digits", "")))
    if problem is not None:
        return _bad(problem)
    return jsonify({"call": fake_state().get_call(sid)})


@bp.post("/calls/<sid>/hangup")
def hangup(sid: str) -> Response:
    hang_up(fake_state(), sid)
    return jsonify({"call": fake_state().get_call(sid)})
