"""The Twilio SDK, configured from the app: credentials, API base URL (local fake or a regional
edge), an HTTP timeout; and which Twilio errors are worth retrying."""
from __future__ import annotations

import threading
import time
from dataclasses import dataclass

from flask import current_app
from twilio.http.http_client import TwilioHttpClient
from twilio.rest import Client

# Twilio error codes (https://www.twilio.com/docs/api/errors) that no retry can fix.
PERMANENT_ERRORS = {
    21211: "invalid phone number",
    21214: "phone number cannot be reached",
    21408: "SMS to this region is not enabled on the account",
    21606: "the sender number cannot send SMS",
    21610: "the recipient replied STOP (opted out)",
    21612: "this route cannot carry the message",
    21614: "the number is not a mobile phone",
    21617: "the message is too long",
    30003: "the phone is unreachable or switched off",
    30004: "the message was blocked",
    30005: "unknown number: it does not exist",
    30006: "landline or unreachable carrier",
    30007: "filtered as spam by the carrier",
}
# Twilio error codes that mean "try again later", whatever the HTTP status says.
RETRYABLE_ERRORS = {
    20429: "too many requests (throttled)",
    20500: "Twilio internal error",
    20503: "Twilio service unavailable",
    30001: "queue overflow: the account sends faster than its numbers allow",
}
# HTTP statuses that mean "try again later": throttling and Twilio-side trouble.
RETRYABLE_STATUSES = {429, 500, 502, 503, 504}


@dataclass(frozen=True)
class TwilioSettings:
    account_sid: str
    auth_token: str
    from_number: str | None
    messaging_service_sid: str | None
    base_url: str | None
    timeout: float


def settings() -> TwilioSettings:
    config = current_app.config
    return TwilioSettings(
        account_sid=config["TWILIO_ACCOUNT_SID"],
        auth_token=config["TWILIO_AUTH_TOKEN"],
        from_number=config.get("TWILIO_FROM_NUMBER"),
        messaging_service_sid=config.get("TWILIO_MESSAGING_SERVICE_SID"),
        base_url=config.get("TWILIO_API_BASE_URL"),
        timeout=float(config.get("TWILIO_HTTP_TIMEOUT", 10)),
    )


_clients = threading.local()
# A connection idle longer than this may have been dropped on the way without our side noticing (NAT
# and load balancers forget idle connections); a send on it would fail as "no answer" and wait for
# reconciliation, so after a quiet spell the next send opens a new one.
KEEP_IDLE_SECONDS = 30.0


def client() -> Client:
    """This thread's client for the configured account. Kept between sends, so its HTTP connection to
    Twilio stays open during a burst: a TCP and TLS handshake per SMS cost more than the rest of the
    send. One per thread: the SDK's requests session is not meant to be shared between threads."""
    conf = settings()
    kept = getattr(_clients, "kept", None)
    moment = time.monotonic()
    if kept is not None and kept[0] == conf and moment - kept[2] < KEEP_IDLE_SECONDS:
        _clients.kept = (conf, kept[1], moment)
        return kept[1]
    # No SDK-level retries: retries are ours, recorded on the outbox row.
    twilio = Client(conf.account_sid, conf.auth_token, http_client=TwilioHttpClient(timeout=conf.timeout))
    if conf.base_url:
        twilio.api.base_url = conf.base_url.rstrip("/")
        # TWILIO_EDGE / TWILIO_REGION in the environment would rewrite the host away from base_url.
        twilio.edge = None
        twilio.region = None
    if kept is not None and kept[1].http_client.session is not None:
        kept[1].http_client.session.close()
    _clients.kept = (conf, twilio, moment)
    return twilio


def describe_error(code: int | None, fallback: str = "") -> str:
    if code in PERMANENT_ERRORS:
        return f"{PERMANENT_ERRORS[code]} (Twilio {code})"
    return f"{fallback} (Twilio {code})" if code else fallback


def is_permanent(status: int | None, code: int | None) -> bool:
    """By Twilio's error code first (the codes above), then by the HTTP status for codes not listed."""
    if code in PERMANENT_ERRORS:
        return True
    if code in RETRYABLE_ERRORS or status in RETRYABLE_STATUSES:
        return False
    # Other 4xx (bad request, auth) will not fix themselves by retrying.
    return status is not None and 400 <= status < 500
