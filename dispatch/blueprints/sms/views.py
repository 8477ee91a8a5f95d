"""Twilio webhooks: inbound SMS and delivery reports. Only requests Twilio signed get in."""
from __future__ import annotations

from functools import wraps

from flask import Blueprint, Response, abort, current_app, request
from twilio.request_validator import RequestValidator
from twilio.twiml.messaging_response import MessagingResponse

from dispatch.numbers import whole_number
from dispatch.services import notify
from dispatch.services.sms_replies import handle_inbound

bp = Blueprint("sms", __name__, url_prefix="/sms")


def _signed_url() -> str:
    """The URL Twilio signed: the public one when behind a proxy, else what we were asked for."""
    base = current_app.config.get("TWILIO_WEBHOOK_BASE_URL")
    if base:
        return base.rstrip("/") + request.full_path.rstrip("?")
    return request.url


def refuse_while_sms_is_off():
    """SMS_ENABLED=false: the hospital has no Twilio account, so nothing may come in as if from Twilio (the
    credentials left are the public development ones, and a signature made with them proves nothing)."""
    if not current_app.config.get("SMS_ENABLED", True):
        current_app.logger.warning("refused a Twilio webhook to %s: SMS is turned off (SMS_ENABLED=false)", request.path)
        abort(403)


bp.before_request(refuse_while_sms_is_off)


def twilio_signed(view):
    """403 unless X-Twilio-Signature matches (current token, or the previous one during a rotation)."""

    @wraps(view)
    def wrapped(*args, **kwargs):
        signature = request.headers.get("X-Twilio-Signature", "")
        tokens = [current_app.config["TWILIO_AUTH_TOKEN"], current_app.config.get("TWILIO_AUTH_TOKEN_SECONDARY")]
        url, params = _signed_url(), request.form.to_dict()
        if not signature or not any(t and RequestValidator(t).validate(url, params, signature) for t in tokens):
            current_app.logger.warning("rejected unsigned or forged Twilio webhook to %s", request.path)
            abort(403)
        return view(*args, **kwargs)

    return wrapped


@bp.route("/inbound", methods=["POST"])
@twilio_signed
def inbound():
    form = request.form
    sid = form.get("MessageSid") or form.get("SmsSid")
    sender = form.get("From")
    if not sid or not sender:
        return Response("MessageSid and From are required", status=400, mimetype="text/plain")
    reply = handle_inbound(sid, sender, form.get("To"), form.get("Body", ""))
    twiml = MessagingResponse()
    if reply:
        twiml.message(reply)
    return Response(str(twiml), mimetype="application/xml")


@bp.route("/status/<int:message_id>", methods=["POST"])
@twilio_signed
def status_callback(message_id: int):
    form = request.form
    code = form.get("ErrorCode")
    notify.apply_status(message_id, form.get("MessageStatus") or form.get("SmsStatus") or "",
                        whole_number(code, max_digits=9), form.get("MessageSid"))
    return Response(status=204)


voice_bp = Blueprint("voice", __name__, url_prefix="/voice")
voice_bp.before_request(refuse_while_sms_is_off)


def _twiml(response) -> Response:
    return Response(str(response), mimetype="application/xml")


@voice_bp.route("/call/<int:message_id>", methods=["POST"])
@twilio_signed
def call_answered(message_id: int):
    """The callee picked up: read the job and wait for one key."""
    from twilio.twiml.voice_response import VoiceResponse

    from dispatch.services.voice import script_for

    text, prompt = script_for(message_id)
    response = VoiceResponse()
    if text is None:
        response.say(prompt)
        return _twiml(response)
    gather = response.gather(num_digits=1, action=f"/voice/call/{message_id}/digits", method="POST", timeout=10)
    gather.say(text)
    gather.say(prompt)
    response.say(prompt)
    response.redirect(f"/voice/call/{message_id}", method="POST")
    return _twiml(response)


@voice_bp.route("/call/<int:message_id>/digits", methods=["POST"])
@twilio_signed
def call_digits(message_id: int):
    from twilio.twiml.voice_response import VoiceResponse

    from dispatch.services.voice import key_pressed

    response = VoiceResponse()
    response.say(key_pressed(message_id, request.form.get("Digits", "")))
    return _twiml(response)


@voice_bp.route("/status/<int:message_id>", methods=["POST"])
@twilio_signed
def call_status(message_id: int):
    notify.apply_status(message_id, request.form.get("CallStatus", ""), None, request.form.get("CallSid"))
    return Response(status=204)
