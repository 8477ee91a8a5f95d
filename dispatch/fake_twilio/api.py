"""Twilio's 2010-04-01 REST API for Messages and Calls, served locally.

Paths, form parameters, required fields, status codes and bodies follow
Twilio's OpenAPI description (shared/twilio/twilio_api_v2010.json), so that the
real Twilio SDK, pointed here, behaves as it would against api.twilio.com and
Dispatch's error handling is exercised by the codes Twilio really returns.
Every request is recorded first (even those that fail auth) so tests can
assert exactly what the SDK sent.
"""
from __future__ import annotations

import hmac
import re
from datetime import datetime, timezone
from typing import Any
from urllib.parse import urlencode

from flask import Blueprint, Flask, Response, current_app, g, jsonify, request

from .callbacks import start_message_delivery
from .errors import CODE_FOR_STATUS, TwilioApiError, twilio_error
from .filters import date_filter
from .records import API_VERSION, CallRecord, MessageRecord, RecordedRequest, new_sid, rfc2822, utcnow
from .segments import count_segments
from .state import FakeTwilioState
from .voice import hang_up, redirect_call, start_call

PREFIX = f"/{API_VERSION}"
E164 = re.compile(r"^\+[1-9]\d{6,14}$")
SHORT_CODE = re.compile(r"^\d{3,8}$")
ALPHA_SENDER = re.compile(r"^(?=.*[A-Za-z])[A-Za-z0-9 ]{1,11}$")
MESSAGING_SERVICE = re.compile(r"^MG[0-9a-fA-F]{32}$")
MAX_BODY = 1600

bp = Blueprint("fake_twilio_api", __name__, url_prefix=PREFIX)


def fake_state() -> FakeTwilioState:
    return current_app.extensions["fake_twilio"]


# -- recording and auth -------------------------------------------------------

def _record_request() -> None:
    """App-wide hook: keep every REST request, even 401s and unknown paths."""
    if not request.path.startswith(PREFIX):
        return
    arrived = datetime.now(timezone.utc)  # before the form is parsed: when the request came in
    auth = request.authorization
    g.fake_twilio_request = fake_state().record_request(RecordedRequest(
        method=request.method,
        path=request.path,
        query=request.args.to_dict(flat=False),
        headers=dict(request.headers),
        form=request.form.to_dict(flat=True),
        form_lists=request.form.to_dict(flat=False),
        auth_username=auth.username if auth is not None else None,
        received_at=arrived,
    ))


def _record_status(response: Response) -> Response:
    recorded = g.pop("fake_twilio_request", None)
    if recorded is not None:
        fake_state().set_response_status(recorded, response.status_code)
    return response


@bp.before_request
def _authenticate() -> Response | None:
    """HTTP Basic with AccountSid:AuthToken, and the URL must name that account."""
    state = fake_state()
    sid, token = state.setting("ACCOUNT_SID"), state.setting("AUTH_TOKEN")
    auth = request.authorization
    if (auth is None or auth.type != "basic" or auth.username is None
            or auth.password is None
            or not hmac.compare_digest(auth.username.encode(), sid.encode())
            or not hmac.compare_digest(auth.password.encode(), token.encode())):
        return twilio_error(401, 20003)
    url_account = (request.view_args or {}).get("account_sid")
    if url_account is not None and url_account != sid:
        return twilio_error(401, 20003)
    return None


@bp.errorhandler(TwilioApiError)
def _api_error(exc: TwilioApiError) -> Response:
    return exc.response()


def _not_found_or_405(exc: Exception) -> Response | tuple[str, int]:
    """Unknown REST paths answer in Twilio's shape; other paths as Flask would."""
    status = getattr(exc, "code", 404)
    if request.path.startswith(PREFIX):
        if status == 405:
            return twilio_error(405, 20004, "Method not allowed")
        return twilio_error(404, 20404, f"The requested resource {request.path} was not found")
    return exc  # type: ignore[return-value]


def register_api(app: Flask) -> None:
    app.before_request(_record_request)
    app.after_request(_record_status)
    app.register_error_handler(404, _not_found_or_405)
    app.register_error_handler(405, _not_found_or_405)
    app.register_blueprint(bp)


# -- helpers -----------------------------------------------------------------

def _param(name: str) -> str | None:
    value = request.form.get(name)
    return value if value not in (None, "") else None


def _check_to(to: str) -> None:
    address = to.split(":", 1)[1] if to.startswith("whatsapp:") else to
    if not E164.match(address) or fake_state().number_is("invalid", address):
        raise TwilioApiError(400, 21211, f"The 'To' number {to} is not a valid phone number.")


def _check_from(from_: str, allow_alpha: bool) -> None:
    address = from_.split(":", 1)[1] if from_.startswith("whatsapp:") else from_
    if E164.match(address) or SHORT_CODE.match(address) or (allow_alpha and ALPHA_SENDER.match(address)):
        return
    raise TwilioApiError(400, 21212, f"The 'From' number {from_} is not a valid phone number, "
                                     "shortcode, or alphanumeric sender ID.")


def _check_url(name: str, value: str | None, code: int) -> None:
    if value is not None and not re.match(r"^https?://[^/\s_]+(/\S*)?$", value):
        raise TwilioApiError(400, code, f"{name} is not a valid URL: {value}")


def _inject_failure() -> None:
    failure = fake_state().take_failure()
    if failure is not None:
        status, code, message = failure
        raise TwilioApiError(status, code or CODE_FOR_STATUS.get(status, 20500), message)


def _page(items: list[dict[str, Any]], key: str, base: str, filters: dict[str, str]) -> Response:
    """A list page in Twilio's shape (newest first, Page/PageSize paging)."""
    try:
        page_size = max(1, min(1000, int(request.args.get("PageSize", 50))))
        page = max(0, int(request.args.get("Page", 0)))
    except ValueError:
        raise TwilioApiError(400, 20001, "Invalid paging parameters") from None
    items = list(reversed(items))
    start = page * page_size
    chunk = items[start:start + page_size]

    def uri(number: int, token: str | None = None) -> str:
        query = dict(filters, PageSize=str(page_size), Page=str(number))
        if token:
            query["PageToken"] = token
        return f"{base}?{urlencode(query)}"

    has_next = start + page_size < len(items)
    body = {
        key: chunk,
        "end": start + max(len(chunk) - 1, 0),
        "first_page_uri": uri(0),
        "next_page_uri": uri(page + 1, "PA" + chunk[-1]["sid"]) if has_next and chunk else None,
        "page": page,
        "page_size": page_size,
        "previous_page_uri": uri(page - 1, "PB" + chunk[0]["sid"]) if page > 0 and chunk else None,
        "start": start,
        "uri": uri(page),
    }
    return jsonify(body)


def _created(resource: dict[str, Any]) -> Response:
    # RESPONSE_DELAY_SECONDS: accepted already, answered late (cut short when the fake stops).
    fake_state().pause(fake_state().setting("RESPONSE_DELAY_SECONDS"))
    response = jsonify(resource)
    response.status_code = 201
    return response


# -- accounts ----------------------------------------------------------------

@bp.get("/Accounts/<account_sid>.json")
def fetch_account(account_sid: str) -> Response:
    """Lets Dispatch check its credentials (``client.api.accounts(sid).fetch()``)."""
    now = rfc2822(utcnow())
    base = f"{PREFIX}/Accounts/{account_sid}"
    return jsonify({
        "auth_token": fake_state().setting("AUTH_TOKEN"),
        "date_created": now, "date_updated": now,
        "friendly_name": "Dispatch fake Twilio account",
        "owner_account_sid": account_sid, "sid": account_sid,
        "status": "active", "type": "Full",
        "subresource_uris": {"messages": f"{base}/Messages.json", "calls": f"{base}/Calls.json"},
        "uri": f"{base}.json",
    })


# -- messages ----------------------------------------------------------------

@bp.post("/Accounts/<account_sid>/Messages.json")
def create_message(account_sid: str) -> Response:
    state = fake_state()
    _inject_failure()
    to, from_ = _param("To"), _param("From")
    service = _param("MessagingServiceSid")
    body = request.form.get("Body") or ""
    media = [u for u in request.form.getlist("MediaUrl") if u]
    if to is None:
        raise TwilioApiError(400, 21604)
    if from_ is None and service is None:
        raise TwilioApiError(400, 21603)
    if not body and not media and _param("ContentSid") is None:
        raise TwilioApiError(400, 21602)
    _check_to(to)
    if from_ is not None:
        _check_from(from_, allow_alpha=True)
        if from_ == to:
            raise TwilioApiError(400, 21266, "'To' and 'From' number cannot be the same")
    if service is not None and not MESSAGING_SERVICE.match(service):
        raise TwilioApiError(400, 21701, f"The Messaging Service Sid {service} is invalid.")
    if len(body) > MAX_BODY:
        raise TwilioApiError(400, 21617)
    _check_url("StatusCallback", _param("StatusCallback"), 21609)
    if state.number_is("not_mobile", to):
        raise TwilioApiError(400, 21614, f"'To' number {to} is not a valid mobile number")
    if state.number_is("opted_out", to):
        raise TwilioApiError(400, 21610)
    # Through a Messaging Service Twilio answers 'accepted', with no sender chosen and "0" segments
    # counted yet; the message becomes 'queued' (sender and segments known) once the service takes it.
    through_service = from_ is None
    record = MessageRecord(
        sid=new_sid("MM" if media else "SM"), account_sid=account_sid, to=to, from_=from_,
        body=body, num_segments=0 if through_service else 1 if media else count_segments(body),
        messaging_service_sid=service, media_urls=media,
        status_callback=_param("StatusCallback"), status="accepted" if through_service else "queued",
    )
    resource = state.add_message(record)
    start_message_delivery(state, record.sid)
    return _created(resource)


@bp.get("/Accounts/<account_sid>/Messages.json")
def list_messages(account_sid: str) -> Response:
    to, from_ = request.args.get("To"), request.args.get("From")
    filters = {k: v for k, v in (("To", to), ("From", from_)) if v}
    dates, sent_when = date_filter(request.args, "DateSent", "date_sent", before_inclusive=True)
    items = [m for m in fake_state().messages(to=to, from_=from_) if sent_when(m)]
    return _page(items, "messages", f"{PREFIX}/Accounts/{account_sid}/Messages.json", {**filters, **dates})


@bp.get("/Accounts/<account_sid>/Messages/<sid>.json")
def fetch_message(account_sid: str, sid: str) -> Response:
    resource = fake_state().get_message(sid)
    if resource is None:
        raise TwilioApiError(404, 20404, f"The requested resource {request.path} was not found")
    return jsonify(resource)


@bp.post("/Accounts/<account_sid>/Messages/<sid>.json")
def update_message(account_sid: str, sid: str) -> Response:
    """Only redaction (``Body=""``) is modelled, the update Dispatch could use."""
    state = fake_state()
    if state.get_message(sid) is None:
        raise TwilioApiError(404, 20404, f"The requested resource {request.path} was not found")
    if "Body" in request.form:
        if request.form["Body"] != "":
            raise TwilioApiError(400, 21602, "Body can only be set to an empty string")
        state.update_message(sid, body="")
    return jsonify(state.get_message(sid))


@bp.delete("/Accounts/<account_sid>/Messages/<sid>.json")
def delete_message(account_sid: str, sid: str) -> Response | tuple[str, int]:
    if not fake_state().delete_message(sid):
        raise TwilioApiError(404, 20404, f"The requested resource {request.path} was not found")
    return "", 204


# -- calls -------------------------------------------------------------------

@bp.post("/Accounts/<account_sid>/Calls.json")
def create_call(account_sid: str) -> Response:
    state = fake_state()
    _inject_failure()
    to, from_ = _param("To"), _param("From")
    url, twiml, app_sid = _param("Url"), _param("Twiml"), _param("ApplicationSid")
    if to is None:
        raise TwilioApiError(400, 21201)
    if from_ is None:
        raise TwilioApiError(400, 21213)
    if url is None and twiml is None and app_sid is None:
        raise TwilioApiError(400, 21205)
    if not to.startswith(("client:", "sip:")):
        _check_to(to)
    if not from_.startswith("client:"):
        _check_from(from_, allow_alpha=False)
    _check_url("Url", url, 21205)
    _check_url("StatusCallback", _param("StatusCallback"), 21609)
    events = [e for value in request.form.getlist("StatusCallbackEvent") for e in value.split()]
    record = CallRecord(
        sid=new_sid("CA"), account_sid=account_sid, to=to, from_=from_, url=url,
        method=(_param("Method") or "POST").upper(), twiml=twiml,
        status_callback=_param("StatusCallback"),
        status_callback_method=(_param("StatusCallbackMethod") or "POST").upper(),
        status_callback_events=events or ["completed"],
    )
    resource = state.add_call(record)
    start_call(state, record.sid)
    return _created(resource)


@bp.get("/Accounts/<account_sid>/Calls.json")
def list_calls(account_sid: str) -> Response:
    to, from_, status, parent = (request.args.get(k) for k in ("To", "From", "Status", "ParentCallSid"))
    filters = {k: v for k, v in (("To", to), ("From", from_), ("Status", status), ("ParentCallSid", parent)) if v}
    started, started_when = date_filter(request.args, "StartTime", "start_time", before_inclusive=False)
    ended, ended_when = date_filter(request.args, "EndTime", "end_time", before_inclusive=False)
    items = [c for c in fake_state().calls(to=to, from_=from_) if status in (None, c["status"])
             and parent in (None, c["parent_call_sid"]) and started_when(c) and ended_when(c)]
    return _page(items, "calls", f"{PREFIX}/Accounts/{account_sid}/Calls.json", {**filters, **started, **ended})


@bp.get("/Accounts/<account_sid>/Calls/<sid>.json")
def fetch_call(account_sid: str, sid: str) -> Response:
    resource = fake_state().get_call(sid)
    if resource is None:
        raise TwilioApiError(404, 20404, f"The requested resource {request.path} was not found")
    return jsonify(resource)


@bp.post("/Accounts/<account_sid>/Calls/<sid>.json")
def update_call(account_sid: str, sid: str) -> Response:
    """Hang up (``Status=completed|canceled``) or redirect (``Url``/``Twiml``) a live call."""
    state = fake_state()
    if state.get_call(sid) is None:
        raise TwilioApiError(404, 20404, f"The requested resource {request.path} was not found")
    status = _param("Status")
    if status is not None:
        if status not in ("completed", "canceled"):
            raise TwilioApiError(400, 21218, f"Invalid Status: {status}")
        hang_up(state, sid)
    elif _param("Url") or _param("Twiml"):
        _check_url("Url", _param("Url"), 21205)
        redirect_call(state, sid, _param("Url"), (_param("Method") or "POST").upper(),
                      _param("Twiml"))
    return jsonify(state.get_call(sid))


@bp.delete("/Accounts/<account_sid>/Calls/<sid>.json")
def delete_call(account_sid: str, sid: str) -> Response | tuple[str, int]:
    state = fake_state()
    if not state.delete_call(sid):
        raise TwilioApiError(404, 20404, f"The requested resource {request.path} was not found")
    return "", 204
