"""What the fake remembers: messages, calls, requests, and their JSON shapes.

The resource dicts follow ``api.v2010.account.message`` and
``api.v2010.account.call`` of Twilio's OpenAPI document field for field
(string counts, RFC 2822 dates, relative ``uri`` and ``subresource_uris``),
because the Twilio SDK and Dispatch read those fields and should not be able to
tell the fake from Twilio.
"""
from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import datetime, timezone
from email.utils import format_datetime
from typing import Any

API_VERSION = "2010-04-01"

CALL_SUBRESOURCES = (
    ("notifications", "Notifications"),
    ("recordings", "Recordings"),
    ("payments", "Payments"),
    ("events", "Events"),
    ("siprec", "Siprec"),
    ("streams", "Streams"),
    ("transcriptions", "Transcriptions"),
    ("user_defined_message_subscriptions", "UserDefinedMessageSubscriptions"),
    ("user_defined_messages", "UserDefinedMessages"),
)


def new_sid(prefix: str) -> str:
    """A Twilio-style SID: two-letter prefix + 32 lowercase hex digits."""
    return prefix + uuid.uuid4().hex


def utcnow() -> datetime:
    return datetime.now(timezone.utc).replace(microsecond=0)


def rfc2822(when: datetime | None) -> str | None:
    """Twilio's date format, e.g. ``Thu, 24 Aug 2023 05:01:45 +0000``."""
    return format_datetime(when.replace(microsecond=0)) if when else None


def formatted_number(number: str) -> str:
    """``to_formatted``: "(415) 867-5309" for North American numbers, else as is."""
    if number.startswith("+1") and len(number) == 12 and number[1:].isdigit():
        return f"({number[2:5]}) {number[5:8]}-{number[8:]}"
    return number


@dataclass
class MessageRecord:
    """One SMS/MMS, outbound (from the product) or inbound (from a phone)."""

    sid: str
    account_sid: str
    to: str
    from_: str | None
    body: str
    num_segments: int
    direction: str = "outbound-api"
    status: str = "queued"
    messaging_service_sid: str | None = None
    media_urls: list[str] = field(default_factory=list)
    status_callback: str | None = None
    error_code: int | None = None
    error_message: str | None = None
    date_created: datetime = field(default_factory=utcnow)
    date_updated: datetime = field(default_factory=utcnow)
    date_sent: datetime | None = None
    seq: int = 0

    @property
    def phone(self) -> str:
        """The handset this message belongs to on the phone page."""
        return (self.from_ or "") if self.direction == "inbound" else self.to

    @property
    def uri(self) -> str:
        return f"/{API_VERSION}/Accounts/{self.account_sid}/Messages/{self.sid}.json"

    def to_resource(self) -> dict[str, Any]:
        base = self.uri[: -len(".json")]
        return {
            "account_sid": self.account_sid,
            "api_version": API_VERSION,
            "body": self.body,
            "date_created": rfc2822(self.date_created),
            "date_sent": rfc2822(self.date_sent),
            "date_updated": rfc2822(self.date_updated),
            "direction": self.direction,
            "error_code": self.error_code,
            "error_message": self.error_message,
            "from": self.from_,
            "messaging_service_sid": self.messaging_service_sid,
            "num_media": str(len(self.media_urls)),
            "num_segments": str(self.num_segments),
            "price": None,
            "price_unit": None,
            "sid": self.sid,
            "status": self.status,
            "subresource_uris": {
                "media": f"{base}/Media.json",
                "feedback": f"{base}/Feedback.json",
            },
            "to": self.to,
            "uri": self.uri,
        }


@dataclass
class TranscriptLine:
    """One thing that happened on a call, as the phone page shows it."""

    kind: str  # "say", "play", "pressed", "note", "error"
    text: str


@dataclass
class PendingGather:
    """A <Gather> the call is waiting on; digits are posted to ``action``."""

    action: str | None
    method: str = "POST"
    num_digits: int | None = None
    finish_on_key: str = "#"


@dataclass
class CallRecord:
    """One outbound call placed by the product, with what the phone heard."""

    sid: str
    account_sid: str
    to: str
    from_: str
    url: str | None
    method: str = "POST"
    twiml: str | None = None
    status: str = "queued"
    direction: str = "outbound-api"
    status_callback: str | None = None
    status_callback_method: str = "POST"
    status_callback_events: list[str] = field(default_factory=lambda: ["completed"])
    date_created: datetime = field(default_factory=utcnow)
    date_updated: datetime = field(default_factory=utcnow)
    start_time: datetime | None = None
    end_time: datetime | None = None
    transcript: list[TranscriptLine] = field(default_factory=list)
    gather: PendingGather | None = None
    #: URL of the TwiML document now playing; relative Gather actions resolve against it.
    document_url: str | None = None
    callback_sequence: int = 0
    seq: int = 0
    #: The call that spawned this one (a <Dial> leg); the fake makes none, but keeps the field filterable.
    parent_call_sid: str | None = None

    @property
    def phone(self) -> str:
        return self.to if self.direction.startswith("outbound") else self.from_

    @property
    def duration(self) -> str | None:
        if self.start_time and self.end_time:
            return str(int((self.end_time - self.start_time).total_seconds()))
        if self.end_time:
            return "0"
        return None

    @property
    def uri(self) -> str:
        return f"/{API_VERSION}/Accounts/{self.account_sid}/Calls/{self.sid}.json"

    def to_resource(self) -> dict[str, Any]:
        base = self.uri[: -len(".json")]
        return {
            "account_sid": self.account_sid,
            "answered_by": None,
            "api_version": API_VERSION,
            "caller_name": None,
            "date_created": rfc2822(self.date_created),
            "date_updated": rfc2822(self.date_updated),
            "direction": self.direction,
            "duration": self.duration,
            "end_time": rfc2822(self.end_time),
            "forwarded_from": None,
            "from": self.from_,
            "from_formatted": formatted_number(self.from_),
            "group_sid": None,
            "parent_call_sid": self.parent_call_sid,
            "phone_number_sid": None,
            "price": None,
            "price_unit": None,
            "queue_time": "0",
            "sid": self.sid,
            "start_time": rfc2822(self.start_time),
            "status": self.status,
            "subresource_uris": {
                name: f"{base}/{path}.json" for name, path in CALL_SUBRESOURCES
            },
            "to": self.to,
            "to_formatted": formatted_number(self.to),
            "trunk_sid": None,
            "uri": self.uri,
        }


@dataclass
class RecordedRequest:
    """One request to the REST API, exactly as it arrived (for assertions)."""

    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]
    form: dict[str, str]
    form_lists: dict[str, list[str]]
    auth_username: str | None
    # To the microsecond (unlike Twilio's own dates): benchmarks time the product's sends by it.
    received_at: datetime = field(default_factory=lambda: datetime.now(timezone.utc))
    response_status: int | None = None

    def as_dict(self) -> dict[str, Any]:
        return {
            "method": self.method,
            "path": self.path,
            "query": self.query,
            "headers": self.headers,
            "form": self.form,
            "form_lists": self.form_lists,
            "auth_username": self.auth_username,
            "received_at": rfc2822(self.received_at),
            "received_at_iso": self.received_at.isoformat(),
            "response_status": self.response_status,
        }


@dataclass
class Notice:
    """A line on the phone page that is not a message: a webhook that failed, etc."""

    phone: str
    text: str
    level: str = "info"  # "info" or "error"
    created: datetime = field(default_factory=utcnow)
    seq: int = 0


@dataclass
class WebhookLog:
    """One HTTP request the fake made to the product (callback or webhook)."""

    kind: str  # "message-status", "call-status", "sms-inbound", "voice"
    url: str
    method: str
    params: dict[str, str]
    signature: str
    status_code: int | None = None
    error: str | None = None
    sent_at: datetime = field(default_factory=utcnow)

    def as_dict(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "url": self.url,
            "method": self.method,
            "params": self.params,
            "signature": self.signature,
            "status_code": self.status_code,
            "error": self.error,
            "sent_at": rfc2822(self.sent_at),
        }
