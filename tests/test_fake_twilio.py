"""The local fake of Twilio, driven by the real Twilio SDK over real HTTP.

Dispatch's SMS and call code is tested against this fake, so the fake itself
must answer like Twilio: same paths, fields, error codes, signed callbacks.
These tests use twilio.rest.Client exactly as Dispatch does, pointed at the
fake through ``client.api.base_url``, plus a tiny webhook receiver standing in
for Dispatch that checks every X-Twilio-Signature with the SDK's validator.
"""
from __future__ import annotations

import base64
import re
import threading
from typing import Any, Callable

import pytest
import requests
from hypothesis import given, settings, strategies as st
from twilio.base.exceptions import TwilioRestException
from twilio.request_validator import RequestValidator
from twilio.rest import Client
from werkzeug.serving import make_server
from werkzeug.wrappers import Request, Response

from dispatch.fake_twilio import DEFAULT_ACCOUNT_SID, create_fake_twilio_app, serve_in_thread
from dispatch.fake_twilio.__main__ import build_config, parse_args
from dispatch.fake_twilio.segments import (GSM7_PART, GSM7_SINGLE, UCS2_PART, UCS2_SINGLE,
                                           count_segments, is_gsm7, split_segments)

ACCOUNT_SID = "AC" + "0123456789abcdef" * 2
AUTH_TOKEN = "test-auth-token-1234"
PRODUCT = "+15005550006"
TECH = "+447700900123"
CN_PHONE = "+8613800000000"


# -- fixtures (self-contained; may move to conftest.py later) -----------------

@pytest.fixture
def fake():
    server = serve_in_thread(port=0, ACCOUNT_SID=ACCOUNT_SID, AUTH_TOKEN=AUTH_TOKEN,
                             CALLBACK_DELAY_SECONDS=0.02)
    yield server
    server.stop()


@pytest.fixture
def client(fake) -> Client:
    """The real SDK, pointed at the fake the way Dispatch will do it."""
    sdk = Client(ACCOUNT_SID, AUTH_TOKEN)
    sdk.api.base_url = fake.url
    return sdk


class Receiver:
    """Stands in for Dispatch's webhook endpoints; records what the fake posts."""

    def __init__(self) -> None:
        self.hits: list[dict[str, Any]] = []
        self.routes: dict[str, tuple[int, str | bytes, str]] = {}
        self._cond = threading.Condition()
        self._server = make_server("127.0.0.1", 0, self._wsgi, threaded=True)
        self.url = f"http://127.0.0.1:{self._server.server_port}"
        self._thread = threading.Thread(target=self._server.serve_forever,
                                        kwargs={"poll_interval": 0.05}, daemon=True)
        self._thread.start()

    def answer(self, path: str, body: str | bytes, status: int = 200,
               content_type: str = "text/xml") -> str:
        self.routes[path] = (status, body, content_type)
        return self.url + path

    def _wsgi(self, environ, start_response):
        req = Request(environ)
        hit = {"path": req.path, "url": req.url, "method": req.method,
               "form": req.form.to_dict(), "args": req.args.to_dict(),
               "signature": req.headers.get("X-Twilio-Signature", "")}
        with self._cond:
            self.hits.append(hit)
            self._cond.notify_all()
        status, body, content_type = self.routes.get(req.path, (200, "", "text/plain"))
        return Response(body, status=status, content_type=content_type)(environ, start_response)

    def on(self, path: str) -> list[dict[str, Any]]:
        with self._cond:
            return [h for h in self.hits if h["path"] == path]

    def wait_for(self, predicate: Callable[[], Any], timeout: float = 5.0) -> Any:
        with self._cond:
            if not self._cond.wait_for(predicate, timeout):
                raise AssertionError(f"receiver: condition not met; hits so far: {self.hits}")
            return predicate()

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()


@pytest.fixture
def receiver():
    rec = Receiver()
    yield rec
    rec.stop()


def signed_ok(hit: dict[str, Any], token: str = AUTH_TOKEN) -> bool:
    return RequestValidator(token).validate(hit["url"], hit["form"], hit["signature"])


def closed_port_url() -> str:
    server = make_server("127.0.0.1", 0, lambda e, s: [])
    port = server.server_port
    server.server_close()
    return f"http://127.0.0.1:{port}/status"


# -- messages ---------------------------------------------------------------

def test_sdk_sends_form_fields_and_basic_auth(fake, client):
    msg = client.messages.create(to=TECH, from_=PRODUCT, body="Ticket 1042: boiler leak",
                                 status_callback="http://127.0.0.1:9/status")

    [req] = fake.state.requests
    assert req.method == "POST"
    assert req.path == f"/2010-04-01/Accounts/{ACCOUNT_SID}/Messages.json"
    assert req.form == {"To": TECH, "From": PRODUCT, "Body": "Ticket 1042: boiler leak",
                        "StatusCallback": "http://127.0.0.1:9/status"}
    scheme, _, encoded = req.headers["Authorization"].partition(" ")
    assert scheme == "Basic"
    assert base64.b64decode(encoded).decode() == f"{ACCOUNT_SID}:{AUTH_TOKEN}"
    assert req.headers["User-Agent"].startswith("twilio-python/9.13")
    assert req.headers["Content-Type"] == "application/x-www-form-urlencoded"
    assert req.response_status == 201

    assert re.fullmatch(r"SM[0-9a-f]{32}", msg.sid)
    assert (msg.status, msg.direction, msg.api_version) == ("queued", "outbound-api", "2010-04-01")
    assert (msg.to, msg.from_, msg.account_sid) == (TECH, PRODUCT, ACCOUNT_SID)
    assert msg.num_segments == "1" and msg.num_media == "0" and msg.price is None
    assert msg.uri == f"/2010-04-01/Accounts/{ACCOUNT_SID}/Messages/{msg.sid}.json"
    assert msg.date_created is not None and msg.date_created.tzinfo is not None
    assert msg.subresource_uris["media"].endswith(f"/Messages/{msg.sid}/Media.json")


def test_raw_create_response_matches_twilio_shape(fake):
    answer = requests.post(f"{fake.url}/2010-04-01/Accounts/{ACCOUNT_SID}/Messages.json",
                           data={"To": TECH, "From": PRODUCT, "Body": "hi"},
                           auth=(ACCOUNT_SID, AUTH_TOKEN), timeout=5)
    assert answer.status_code == 201
    body = answer.json()
    assert set(body) == {
        "account_sid", "api_version", "body", "date_created", "date_sent", "date_updated",
        "direction", "error_code", "error_message", "from", "messaging_service_sid",
        "num_media", "num_segments", "price", "price_unit", "sid", "status",
        "subresource_uris", "to", "uri"}
    assert re.fullmatch(r"[A-Z][a-z]{2}, \d{2} [A-Z][a-z]{2} \d{4} \d{2}:\d{2}:\d{2} \+0000",
                        body["date_created"])
    assert body["date_sent"] is None and body["error_code"] is None


def test_fetch_message_tracks_delivery_and_list_filters(fake, client):
    first = client.messages.create(to=TECH, from_=PRODUCT, body="one")
    client.messages.create(to=CN_PHONE, from_=PRODUCT, body="two")
    client.messages.create(to=TECH, from_=PRODUCT, body="three")

    fetched = client.messages(first.sid).fetch()
    assert (fetched.sid, fetched.body) == (first.sid, "one")
    fake.state.wait_for(lambda: fake.state.get_message(first.sid)["status"] == "delivered")
    delivered = client.messages(first.sid).fetch()
    assert delivered.status == "delivered" and delivered.date_sent is not None

    to_tech = client.messages.list(to=TECH, page_size=1)  # forces next_page_uri paging
    assert [m.body for m in to_tech] == ["three", "one"]
    assert [m.body for m in client.messages.list(from_=PRODUCT)] == ["three", "two", "one"]
    assert [m["body"] for m in fake.state.messages(to=TECH)] == ["one", "three"]


def test_unknown_message_is_404_20404(client):
    with pytest.raises(TwilioRestException) as err:
        client.messages("SM" + "f" * 32).fetch()
    assert (err.value.status, err.value.code) == (404, 20404)


@pytest.mark.parametrize("to", ["447700900123", "+0447700900123", "+44 7700 900123", "+12"])
def test_malformed_to_is_400_21211(fake, client, to):
    with pytest.raises(TwilioRestException) as err:
        client.messages.create(to=to, from_=PRODUCT, body="hello")
    assert (err.value.status, err.value.code) == (400, 21211)
    assert "is not a valid phone number" in err.value.msg
    assert fake.state.messages() == []


@pytest.mark.parametrize("category, code", [
    ("invalid", 21211), ("not_mobile", 21614), ("opted_out", 21610)])
def test_number_rules_reject_with_twilio_codes(fake, client, category, code):
    fake.state.set_numbers(**{category: [CN_PHONE]})
    with pytest.raises(TwilioRestException) as err:
        client.messages.create(to=CN_PHONE, from_=PRODUCT, body="hello")
    assert (err.value.status, err.value.code) == (400, code)
    assert client.messages.create(to=TECH, from_=PRODUCT, body="hello").status == "queued"


@pytest.mark.parametrize("kwargs, code", [
    ({"from_": PRODUCT, "body": "x"}, 21604),
    ({"to": TECH, "body": "x"}, 21603),
    ({"to": TECH, "from_": PRODUCT}, 21602),
    ({"to": TECH, "from_": PRODUCT, "body": "x" * 1601}, 21617),
])
def test_missing_or_oversized_fields(fake, kwargs, code):
    form = {"To": kwargs.get("to"), "From": kwargs.get("from_"), "Body": kwargs.get("body")}
    answer = requests.post(f"{fake.url}/2010-04-01/Accounts/{ACCOUNT_SID}/Messages.json",
                           data={k: v for k, v in form.items() if v is not None},
                           auth=(ACCOUNT_SID, AUTH_TOKEN), timeout=5)
    assert answer.status_code == 400
    assert answer.json() == {"code": code, "message": answer.json()["message"],
                             "more_info": f"https://www.twilio.com/docs/errors/{code}",
                             "status": 400}
    assert fake.state.messages() == []


def test_messaging_service_without_from_and_unknown_params(fake, client):
    msg = client.messages.create(to=TECH, messaging_service_sid="MG" + "a" * 32, body="hi")
    assert msg.from_ is None and msg.messaging_service_sid == "MG" + "a" * 32
    answer = requests.post(f"{fake.url}/2010-04-01/Accounts/{ACCOUNT_SID}/Messages.json",
                           data={"To": TECH, "From": PRODUCT, "Body": "x", "NotAParam": "1"},
                           auth=(ACCOUNT_SID, AUTH_TOKEN), timeout=5)
    assert answer.status_code == 201  # Twilio ignores parameters it does not know


def test_fail_next_503_twice_then_success(fake, client):
    fake.state.fail_next(503, 2)
    for _ in range(2):
        with pytest.raises(TwilioRestException) as err:
            client.messages.create(to=TECH, from_=PRODUCT, body="retry me")
        assert (err.value.status, err.value.code) == (503, 20503)
    assert client.messages.create(to=TECH, from_=PRODUCT, body="retry me").status == "queued"
    assert [r.response_status for r in fake.state.requests] == [503, 503, 201]
    assert len(fake.state.messages()) == 1


def test_fail_429_through_control_api(fake, client):
    answer = requests.post(f"{fake.url}/_fake/fail", json={"status": 429, "count": 2}, timeout=5)
    assert answer.status_code == 200
    for _ in range(2):
        with pytest.raises(TwilioRestException) as err:
            client.messages.create(to=TECH, from_=PRODUCT, body="x")
        assert (err.value.status, err.value.code) == (429, 20429)
        assert "Too Many Requests" in err.value.msg
    client.messages.create(to=TECH, from_=PRODUCT, body="x")
    assert len(requests.get(f"{fake.url}/_fake/messages", timeout=5).json()["messages"]) == 1
    recorded = requests.get(f"{fake.url}/_fake/requests", timeout=5).json()["requests"]
    assert [r["response_status"] for r in recorded] == [429, 429, 201]
    assert recorded[0]["form"]["Body"] == "x"


def test_fail_for_a_time_window_and_clear(fake, client):
    requests.post(f"{fake.url}/_fake/fail", json={"status": 503, "seconds": 30}, timeout=5)
    for _ in range(3):
        with pytest.raises(TwilioRestException):
            client.calls.create(to=TECH, from_=PRODUCT, twiml="<Response/>")
    requests.post(f"{fake.url}/_fake/fail", json={"status": 0}, timeout=5)
    assert client.calls.create(to=TECH, from_=PRODUCT, twiml="<Response/>").status == "queued"

    fake.state.fail_for(503, 0.05)
    fake.state.wait_for(lambda: fake.state.take_failure() is None, timeout=2)
    assert client.messages.create(to=TECH, from_=PRODUCT, body="after").status == "queued"


def test_a_slow_answer_comes_after_the_message_is_accepted(fake, client):
    """RESPONSE_DELAY_SECONDS: the message exists (and is listed) while the client still waits for the answer,
    which is what a client that dies in that time leaves behind."""
    import threading

    requests.post(f"{fake.url}/_fake/config", json={"RESPONSE_DELAY_SECONDS": 0.5}, timeout=5)
    answers = []
    sender = threading.Thread(target=lambda: answers.append(client.messages.create(to=TECH, from_=PRODUCT, body="slow")))
    sender.start()
    [held] = fake.state.wait_for(lambda: fake.state.messages(to=TECH), timeout=5)
    assert [r.response_status for r in fake.state.requests] == [None] and answers == []
    sender.join(timeout=5)
    assert [a.sid for a in answers] == [held["sid"]]
    assert [r.response_status for r in fake.state.requests] == [201]


# -- segments ---------------------------------------------------------------

@pytest.mark.parametrize("body, segments", [
    ("a" * 160, "1"), ("a" * 161, "2"), ("a" * 306, "2"), ("a" * 307, "3"),
    ("中" * 70, "1"), ("中" * 80, "2"), ("中" * 134, "2"), ("中" * 135, "3"),
    ("€" * 80, "1"), ("€" * 81, "2"),          # extension chars take two septets
    ("😀" * 35, "1"), ("😀" * 36, "2"),        # surrogate pairs take two UCS-2 units
    ("a" * 159 + "é", "1"), ("a" * 69 + "ā", "1"), ("a" * 70 + "ā", "2"),
])
def test_num_segments_like_twilio(client, body, segments):
    assert client.messages.create(to=TECH, from_=PRODUCT, body=body).num_segments == segments


@settings(max_examples=200, deadline=None)
@given(st.text(alphabet=st.sampled_from(list("aZ9 @€[]{}^~|\\\n中ā😀")), max_size=400))
def test_segments_split_without_losing_or_overfilling(body):
    parts = split_segments(body)
    assert "".join(parts) == body
    gsm = is_gsm7(body)

    def units(part: str) -> int:
        if gsm:
            return sum(2 if ch in "€[]{}^~|\\\f" else 1 for ch in part)
        return len(part.encode("utf-16-le")) // 2

    single, per_part = (GSM7_SINGLE, GSM7_PART) if gsm else (UCS2_SINGLE, UCS2_PART)
    if units(body) <= single:
        assert len(parts) == (1 if body else 0)
    else:
        assert len(parts) >= 2 and all(units(p) <= per_part for p in parts)
        assert all(units(p) > per_part - 2 for p in parts[:-1])  # parts are packed full
    assert count_segments(body) == len(parts)


# -- status callbacks -------------------------------------------------------

def test_status_callbacks_sent_then_delivered_and_signed(fake, client, receiver):
    url = receiver.answer("/status", "")
    msg = client.messages.create(to=TECH, from_=PRODUCT, body="page", status_callback=url)
    hits = receiver.wait_for(lambda: len(receiver.on("/status")) >= 2 and receiver.on("/status"))
    assert [h["form"]["MessageStatus"] for h in hits] == ["sent", "delivered"]
    for hit in hits:
        assert signed_ok(hit)
        assert not signed_ok(hit, token="some-other-token")
        form = hit["form"]
        assert form["MessageSid"] == form["SmsSid"] == msg.sid
        assert form["SmsStatus"] == form["MessageStatus"]
        assert (form["AccountSid"], form["From"], form["To"]) == (ACCOUNT_SID, PRODUCT, TECH)
        assert form["ApiVersion"] == "2010-04-01" and "ErrorCode" not in form
    assert client.messages(msg.sid).fetch().status == "delivered"


def test_undeliverable_number_ends_undelivered_with_error_code(fake, client, receiver):
    url = receiver.answer("/status", "")
    requests.post(f"{fake.url}/_fake/numbers", json={"undeliverable": {CN_PHONE: 30003}},
                  timeout=5)
    msg = client.messages.create(to=CN_PHONE, from_=PRODUCT, body="page", status_callback=url)
    hits = receiver.wait_for(lambda: len(receiver.on("/status")) >= 2 and receiver.on("/status"))
    assert [h["form"]["MessageStatus"] for h in hits] == ["sent", "undelivered"]
    assert hits[1]["form"]["ErrorCode"] == "30003" and signed_ok(hits[1])
    fetched = client.messages(msg.sid).fetch()
    assert (fetched.status, fetched.error_code) == ("undelivered", 30003)


def test_failed_delivery_skips_sent(fake, client, receiver):
    url = receiver.answer("/status", "")
    fake.state.set_numbers(undeliverable={CN_PHONE: {"code": 30008, "status": "failed"}})
    client.messages.create(to=CN_PHONE, from_=PRODUCT, body="page", status_callback=url)
    [hit] = receiver.wait_for(lambda: receiver.on("/status"))
    assert (hit["form"]["MessageStatus"], hit["form"]["ErrorCode"]) == ("failed", "30008")


def test_unreachable_callback_is_logged_not_fatal(fake, client):
    msg = client.messages.create(to=TECH, from_=PRODUCT, body="x", status_callback=closed_port_url())
    fake.state.wait_for(lambda: len(fake.state.webhooks("message-status")) == 2)
    assert [w.error for w in fake.state.webhooks()] == ["connection refused"] * 2
    assert client.messages(msg.sid).fetch().status == "delivered"


def test_send_callbacks_off_still_advances_status(fake, client, receiver):
    answer = requests.post(f"{fake.url}/_fake/config", json={"SEND_CALLBACKS": False}, timeout=5)
    assert answer.json()["SEND_CALLBACKS"] is False
    msg = client.messages.create(to=TECH, from_=PRODUCT, body="x",
                                 status_callback=receiver.answer("/status", ""))
    fake.state.wait_for(lambda: fake.state.get_message(msg.sid)["status"] == "delivered")
    assert receiver.on("/status") == []
    assert requests.post(f"{fake.url}/_fake/config", json={"NOPE": 1}, timeout=5).status_code == 400


# -- calls ------------------------------------------------------------------

GATHER = ('<?xml version="1.0" encoding="UTF-8"?><Response><Gather numDigits="1" '
          'action="/voice/gather"><Say>Urgent ticket 1042, boiler leak.</Say>'
          '<Say>Press 1 to accept, 2 to decline.</Say></Gather></Response>')


def test_call_plays_twiml_gathers_digits_and_reports_progress(fake, client, receiver):
    voice_url = receiver.answer("/voice", GATHER)
    receiver.answer("/voice/gather", "<Response><Say>Accepted. Thank you.</Say></Response>")
    status_url = receiver.answer("/call-status", "")
    call = client.calls.create(to=TECH, from_=PRODUCT, url=voice_url, status_callback=status_url,
                               status_callback_event=["initiated", "ringing", "answered",
                                                      "completed"])
    assert re.fullmatch(r"CA[0-9a-f]{32}", call.sid) and call.status == "queued"
    assert (call.to, call._from, call.direction) == (TECH, PRODUCT, "outbound-api")
    assert fake.state.requests[0].form_lists["StatusCallbackEvent"] == [
        "initiated", "ringing", "answered", "completed"]

    fake.state.wait_for(lambda: fake.state.call_record(call.sid).gather is not None)
    [voice] = receiver.on("/voice")
    assert signed_ok(voice)
    assert voice["form"]["CallSid"] == call.sid and voice["form"]["CallStatus"] == "in-progress"
    assert (voice["form"]["From"], voice["form"]["To"]) == (PRODUCT, TECH)
    assert client.calls(call.sid).fetch().status == "in-progress"

    page = requests.get(f"{fake.url}/phone/{TECH}", timeout=5).text
    assert "Urgent ticket 1042, boiler leak." in page and 'value="1"' in page

    pressed = requests.post(f"{fake.url}/phone/{TECH}/calls/{call.sid}/digits",
                            data={"digits": ["1", ""]}, allow_redirects=False, timeout=5)
    assert pressed.status_code == 303
    [gather] = receiver.on("/voice/gather")
    assert gather["form"]["Digits"] == "1" and signed_ok(gather)

    fetched = client.calls(call.sid).fetch()
    assert fetched.status == "completed" and fetched.duration is not None
    statuses = receiver.wait_for(lambda: len(receiver.on("/call-status")) >= 4 and [
        h["form"]["CallStatus"] for h in receiver.on("/call-status")])
    assert statuses == ["initiated", "ringing", "in-progress", "completed"]
    assert all(signed_ok(h) for h in receiver.on("/call-status"))
    page = requests.get(f"{fake.url}/phone/{TECH}", timeout=5).text
    assert "You pressed 1" in page and "Accepted. Thank you." in page


def test_call_without_gather_just_speaks_and_completes(fake, client):
    call = client.calls.create(to=TECH, from_=PRODUCT,
                               twiml="<Response><Say>Ticket 7 closed.</Say></Response>")
    fake.state.wait_for(lambda: fake.state.get_call(call.sid)["status"] == "completed")
    assert [t.text for t in fake.state.call_record(call.sid).transcript] == ["Ticket 7 closed."]


def test_unanswered_call_and_hang_up(fake, client):
    fake.state.set_numbers(no_answer=[CN_PHONE])
    unanswered = client.calls.create(to=CN_PHONE, from_=PRODUCT, twiml="<Response/>")
    fake.state.wait_for(lambda: fake.state.get_call(unanswered.sid)["status"] == "no-answer")

    waiting = client.calls.create(to=TECH, from_=PRODUCT, twiml=GATHER.replace(
        "/voice/gather", "http://127.0.0.1:9/gather"))
    fake.state.wait_for(lambda: fake.state.call_record(waiting.sid).gather is not None)
    assert client.calls(waiting.sid).update(status="completed").status == "completed"


@pytest.mark.parametrize("form, code", [
    ({"From": PRODUCT, "Url": "http://example.test/v"}, 21201),
    ({"To": TECH, "Url": "http://example.test/v"}, 21213),
    ({"To": TECH, "From": PRODUCT}, 21205),
    ({"To": "12345", "From": PRODUCT, "Url": "http://example.test/v"}, 21211),
])
def test_call_create_errors(fake, form, code):
    answer = requests.post(f"{fake.url}/2010-04-01/Accounts/{ACCOUNT_SID}/Calls.json",
                           data=form, auth=(ACCOUNT_SID, AUTH_TOKEN), timeout=5)
    assert (answer.status_code, answer.json()["code"]) == (400, code)
    assert fake.state.calls() == []


# -- auth -------------------------------------------------------------------

def test_wrong_basic_auth_is_401_20003(fake):
    wrong = Client(ACCOUNT_SID, "not-the-token")
    wrong.api.base_url = fake.url
    with pytest.raises(TwilioRestException) as err:
        wrong.messages.create(to=TECH, from_=PRODUCT, body="x")
    assert (err.value.status, err.value.code) == (401, 20003)

    anonymous = requests.get(f"{fake.url}/2010-04-01/Accounts/{ACCOUNT_SID}/Messages.json",
                             timeout=5)
    assert anonymous.status_code == 401
    assert anonymous.headers["WWW-Authenticate"].startswith("Basic")
    assert anonymous.json() == {"code": 20003, "message": "Authenticate",
                                "more_info": "https://www.twilio.com/docs/errors/20003",
                                "status": 401}
    other_account = requests.get(
        f"{fake.url}/2010-04-01/Accounts/{DEFAULT_ACCOUNT_SID}/Messages.json",
        auth=(ACCOUNT_SID, AUTH_TOKEN), timeout=5)
    assert (other_account.status_code, other_account.json()["code"]) == (401, 20003)
    assert fake.state.messages() == [] and len(fake.state.requests) == 3


# -- phone page -------------------------------------------------------------

def test_reply_from_phone_page_posts_signed_webhook_and_shows_twiml(fake, client, receiver):
    webhook = receiver.answer("/sms", "<Response><Message>OK 1042</Message></Response>")
    fake.state.configure(SMS_WEBHOOK_URL=webhook)
    client.messages.create(to=TECH, from_="+15005550009", body="Ticket 1042: reply ACCEPT 1042")

    sent = requests.post(f"{fake.url}/phone/{TECH}/reply", data={"body": "ACCEPT 1042"},
                         allow_redirects=False, timeout=5)
    assert sent.status_code == 303 and sent.headers["Location"].endswith(f"/phone/{TECH}")

    [hit] = receiver.on("/sms")
    assert signed_ok(hit) and hit["url"] == webhook
    form = hit["form"]
    assert (form["From"], form["To"], form["Body"]) == (TECH, "+15005550009", "ACCEPT 1042")
    assert re.fullmatch(r"SM[0-9a-f]{32}", form["MessageSid"]) and form["SmsSid"] == form["MessageSid"]
    assert (form["AccountSid"], form["NumMedia"], form["NumSegments"]) == (ACCOUNT_SID, "0", "1")
    assert form["ApiVersion"] == "2010-04-01"

    [reply] = [m for m in fake.state.messages(to=TECH) if m["direction"] == "outbound-reply"]
    assert (reply["body"], reply["from"]) == ("OK 1042", "+15005550009")
    page = requests.get(f"{fake.url}/phone/{TECH}", timeout=5).text
    assert "Ticket 1042: reply ACCEPT 1042" in page
    assert page.index(">ACCEPT 1042</div>") < page.index(">OK 1042</div>")
    assert "Reply as this phone" in page


def test_twiml_without_charset_is_read_as_utf8(fake, receiver):
    reply = "<Response><Message>Réparé — merci</Message></Response>".encode()
    fake.state.configure(SMS_WEBHOOK_URL=receiver.answer("/sms", reply, content_type="text/xml"))
    result = fake.text_from(TECH, "DONE 1042")
    assert result.problem is None and result.webhook_status == 200
    assert [r["body"] for r in result.replies] == ["Réparé — merci"]


@pytest.mark.parametrize("setup, expected", [
    ("500", "answered HTTP 500"),
    ("down", "connection refused"),
    ("unset", "No SMS webhook is configured"),
    ("html", "not TwiML"),
])
def test_phone_page_says_plainly_when_the_webhook_fails(fake, receiver, setup, expected):
    if setup == "500":
        fake.state.configure(SMS_WEBHOOK_URL=receiver.answer("/sms", "boom", status=500))
    elif setup == "down":
        fake.state.configure(SMS_WEBHOOK_URL=closed_port_url())
    elif setup == "html":
        fake.state.configure(SMS_WEBHOOK_URL=receiver.answer("/sms", "<p>hi", content_type="text/html"))
    requests.post(f"{fake.url}/phone/{TECH}/reply", data={"body": "ACCEPT 1042"}, timeout=5)
    page = requests.get(f"{fake.url}/phone/{TECH}", timeout=5).text
    assert expected in page and 'class="notice error"' in page


def test_phone_index_and_assets(fake, client):
    client.messages.create(to=TECH, from_=PRODUCT, body="first")
    client.messages.create(to=CN_PHONE, from_=PRODUCT, body="second")
    client.calls.create(to=CN_PHONE, from_=PRODUCT, twiml="<Response/>")
    index = requests.get(f"{fake.url}/", timeout=5).text
    assert index.index(CN_PHONE) < index.index(TECH)  # newest activity first
    assert "1 message, 1 call" in index
    assert not re.search(r"<script(?![^>]*\bsrc=)", index)  # no inline script
    assert not re.search(r"(src|href)=\"(https?:)?//", index)  # nothing from a CDN
    for asset, kind in (("phone.css", "text/css"), ("poll.js", "javascript")):
        got = requests.get(f"{fake.url}/_fake/static/{asset}", timeout=5)
        assert got.status_code == 200 and kind in got.headers["Content-Type"]
    polled = requests.get(f"{fake.url}/phone/{TECH}/thread.json", timeout=5).json()
    assert "first" in polled["html"] and isinstance(polled["version"], int)
    assert requests.get(f"{fake.url}/phone/not-a-number", timeout=5).status_code == 404


def test_inbound_control_api_and_reset(fake, receiver):
    fake.state.configure(SMS_WEBHOOK_URL=receiver.answer("/sms", "Thanks", content_type="text/plain"))
    result = requests.post(f"{fake.url}/_fake/inbound", json={"from": TECH, "body": "HELP"},
                           timeout=5).json()
    assert result["webhook_status"] == 200 and result["reply_texts"] == ["Thanks"]
    assert receiver.on("/sms")[0]["form"]["To"] == "+15005550006"  # default FROM
    assert requests.post(f"{fake.url}/_fake/reset", timeout=5).json() == {"ok": True}
    assert fake.state.messages() == [] and fake.state.requests == []
    assert fake.state.setting("SMS_WEBHOOK_URL") is None  # config back to start-up values


# -- helpers and entry point --------------------------------------------------

def test_twilio_client_helper_and_test_client():
    with serve_in_thread(CALLBACK_DELAY_SECONDS=0) as server:
        sdk = server.twilio_client()
        assert sdk.api.base_url == server.url and server.account_sid == DEFAULT_ACCOUNT_SID
        assert sdk.messages.create(to=TECH, from_=PRODUCT, body="x").account_sid == DEFAULT_ACCOUNT_SID
        with pytest.raises(TimeoutError):
            server.state.wait_for(lambda: False, timeout=0.05)
    flask_client = create_fake_twilio_app().test_client()
    assert flask_client.get("/phone").status_code == 200
    assert flask_client.get("/2010-04-01/Nope.json").json["code"] == 20404


def test_command_line_config_precedence():
    env = {"FAKE_TWILIO_AUTH_TOKEN": "from-env", "FAKE_TWILIO_FROM": "+15005550001",
           "FAKE_TWILIO_SMS_WEBHOOK_URL": "http://127.0.0.1:5000/sms/inbound"}
    config = build_config(parse_args(["--port", "0", "--auth-token", "from-args"]), env)
    assert config == {"AUTH_TOKEN": "from-args", "FROM": "+15005550001",
                      "SMS_WEBHOOK_URL": "http://127.0.0.1:5000/sms/inbound"}
    with pytest.raises(ValueError):
        create_fake_twilio_app({"ACCOUNT_SID": "AC123"})


def test_python_dash_m_serves_the_fake(tmp_path):
    """``python -m dispatch.fake_twilio`` (what ``make run`` starts) really serves the API."""
    import os
    import subprocess
    import sys
    from pathlib import Path

    root = Path(__file__).resolve().parents[1]
    env = dict(os.environ, PYTHONPATH=str(root), FAKE_TWILIO_AUTH_TOKEN="env-token",
               FAKE_TWILIO_ACCOUNT_SID=ACCOUNT_SID)
    proc = subprocess.Popen([sys.executable, "-m", "dispatch.fake_twilio", "--port", "0"],
                            cwd=tmp_path, env=env, stderr=subprocess.PIPE, text=True)
    try:
        first_line = proc.stderr.readline()
        url = re.search(r"http://127\.0\.0\.1:\d+", first_line).group(0)
        sdk = Client(ACCOUNT_SID, "env-token")
        sdk.api.base_url = url
        assert sdk.messages.create(to=TECH, from_=PRODUCT, body="hi").status == "queued"
    finally:
        proc.terminate()
        proc.wait(timeout=5)
