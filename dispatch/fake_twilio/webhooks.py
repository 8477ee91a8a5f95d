"""Signed HTTP requests from the fake to the product, as Twilio makes them.

Dispatch rejects webhooks whose ``X-Twilio-Signature`` does not validate, so
every request the fake sends (status callbacks, inbound SMS, voice TwiML
fetches, <Gather> actions) is signed with the account's auth token by the
SDK's own ``RequestValidator.compute_signature`` — the same code Dispatch
validates with. A failure is logged, recorded and returned, never raised: a
product that is down must not crash the fake.
"""
from __future__ import annotations

import logging
import re
import uuid
from dataclasses import dataclass
from urllib.parse import urlencode

import requests
from twilio.request_validator import RequestValidator

from .records import WebhookLog
from .state import FakeTwilioState

log = logging.getLogger("dispatch.fake_twilio")

USER_AGENT = "TwilioProxy/1.1"


@dataclass
class WebhookResult:
    """What the product answered (or why it could not be reached)."""

    url: str
    status_code: int | None = None
    text: str = ""
    content_type: str = ""
    error: str | None = None

    @property
    def ok(self) -> bool:
        return self.error is None and self.status_code is not None and 200 <= self.status_code < 300

    def problem(self) -> str | None:
        """A plain sentence for the phone page when the request did not succeed."""
        if self.error is not None:
            return f"Could not reach {self.url}: {self.error} (Twilio would log error 11200)."
        if not self.ok:
            snippet = " ".join(re.sub(r"<[^>]*>", " ", self.text).split())[:200]
            extra = f" Body: {snippet}" if snippet else ""
            return (f"{self.url} answered HTTP {self.status_code}"
                    f" (Twilio would log error 11200).{extra}")
        return None


def sign(auth_token: str, url: str, params: dict[str, str]) -> str:
    """``X-Twilio-Signature`` for a request to ``url`` with POST ``params``."""
    return RequestValidator(auth_token).compute_signature(url, params)


def send_webhook(state: FakeTwilioState, kind: str, url: str, params: dict[str, str],
                 method: str = "POST") -> WebhookResult:
    """Send one signed request; GET puts the params in the query string like Twilio."""
    token = state.setting("AUTH_TOKEN")
    timeout = state.setting("WEBHOOK_TIMEOUT_SECONDS")
    method = (method or "POST").upper()
    if method == "GET":
        target = url + ("&" if "?" in url else "?") + urlencode(params) if params else url
        signature = sign(token, target, {})
    else:
        method, target = "POST", url
        signature = sign(token, url, params)
    headers = {
        "X-Twilio-Signature": signature,
        "User-Agent": USER_AGENT,
        "I-Twilio-Idempotency-Token": uuid.uuid4().hex,
        "Accept": "*/*",
    }
    entry = WebhookLog(kind=kind, url=target, method=method, params=dict(params),
                       signature=signature)
    result = WebhookResult(url=url)
    try:
        with requests.Session() as session:
            session.trust_env = False  # never send the product's webhooks through a proxy
            if method == "GET":
                response = session.get(target, headers=headers, timeout=timeout,
                                       allow_redirects=False)
            else:
                response = session.post(target, data=params, headers=headers,
                                        timeout=timeout, allow_redirects=False)
        result.status_code = response.status_code
        if "charset" not in response.headers.get("Content-Type", "").lower():
            # requests would guess ISO-8859-1 for text/*; Twilio reads TwiML as UTF-8.
            response.encoding = "utf-8"
        result.text = response.text
        result.content_type = response.headers.get("Content-Type", "")
        entry.status_code = response.status_code
        if not result.ok:
            log.warning("fake Twilio: %s %s answered %s", kind, url, response.status_code)
    except requests.RequestException as exc:
        result.error = _short_error(exc)
        entry.error = result.error
        log.warning("fake Twilio: %s %s failed: %s", kind, url, result.error)
    state.log_webhook(entry)
    return result


def _short_error(exc: Exception) -> str:
    """``requests`` errors nest the useful part; keep it readable for a person."""
    if isinstance(exc, requests.ConnectionError):
        text = str(exc)
        if "Connection refused" in text:
            return "connection refused"
        if "Name or service not known" in text or "getaddrinfo" in text:
            return "host name not found"
        return "connection failed"
    if isinstance(exc, requests.Timeout):
        return "timed out"
    return f"{type(exc).__name__}: {exc}"
