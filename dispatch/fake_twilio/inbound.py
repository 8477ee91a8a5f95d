"""A technician's handset texting the product, through the fake.

Dispatch's main loop is two-way: it texts "Ticket 1042: boiler leak, reply
ACCEPT 1042", and the technician answers from their phone. ``send_inbound_sms``
plays the phone's side: it stores the inbound message, posts Twilio's inbound
SMS webhook (signed) to ``SMS_WEBHOOK_URL``, reads the TwiML answer and turns
each ``<Message>`` into an ``outbound-reply`` message that is delivered to the
phone (with its own status lifecycle). The phone page, ``POST /_fake/inbound``
and ``FakeTwilioServer.text_from`` all call it.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from .callbacks import start_message_delivery
from .records import API_VERSION, MessageRecord, new_sid
from .segments import count_segments
from .state import FakeTwilioState
from .twiml import TwimlError, looks_like_xml, messages_in, parse_twiml
from .webhooks import send_webhook


@dataclass
class InboundResult:
    """What happened to one inbound SMS, for the page, the control API and tests."""

    message: dict[str, Any]
    webhook_url: str | None
    webhook_status: int | None = None
    problem: str | None = None
    replies: list[dict[str, Any]] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {
            "message": self.message,
            "webhook_url": self.webhook_url,
            "webhook_status": self.webhook_status,
            "problem": self.problem,
            "replies": self.replies,
            "reply_texts": [r["body"] for r in self.replies],
        }


def inbound_params(record: MessageRecord) -> dict[str, str]:
    """The form fields of Twilio's inbound SMS webhook."""
    return {
        "AccountSid": record.account_sid,
        "ApiVersion": API_VERSION,
        "Body": record.body,
        "From": record.from_ or "",
        "MessageSid": record.sid,
        "NumMedia": "0",
        "NumSegments": str(record.num_segments),
        "SmsMessageSid": record.sid,
        "SmsSid": record.sid,
        "SmsStatus": "received",
        "To": record.to,
    }


def send_inbound_sms(state: FakeTwilioState, phone: str, body: str,
                     to: str | None = None) -> InboundResult:
    """Text ``body`` from ``phone`` to the product and show its answer in the thread."""
    to = to or state.last_sender_to(phone) or state.setting("FROM")
    record = MessageRecord(
        sid=new_sid("SM"), account_sid=state.setting("ACCOUNT_SID"), to=to, from_=phone,
        body=body, num_segments=count_segments(body) or 1, direction="inbound",
        status="received",
    )
    message = state.add_message(record)
    url = state.setting("SMS_WEBHOOK_URL")
    result = InboundResult(message=message, webhook_url=url)
    if not url:
        result.problem = ("No SMS webhook is configured, so the product never saw this text. "
                          "Start the fake with FAKE_TWILIO_SMS_WEBHOOK_URL set.")
        state.add_notice(phone, result.problem, level="error")
        return result

    answer = send_webhook(state, "sms-inbound", url, inbound_params(record))
    result.webhook_status = answer.status_code
    result.problem = answer.problem()
    if result.problem is None:
        texts, result.problem = _reply_texts(answer.text, answer.content_type, url)
        for reply in texts:
            result.replies.append(_send_reply(state, phone, to, reply))
    if result.problem is not None:
        state.add_notice(phone, result.problem, level="error")
    return result


def _reply_texts(text: str, content_type: str, url: str) -> tuple[list[Any], str | None]:
    """The replies in the webhook's answer, or a sentence saying why there are none."""
    if not text.strip():
        return [], None
    if "text/plain" in content_type.lower() and not text.lstrip().startswith("<"):
        return [_PlainReply(text.strip())], None
    if not looks_like_xml(text, content_type):
        return [], (f"{url} answered {content_type or 'no Content-Type'}, not TwiML "
                    "(Twilio would log error 12300).")
    try:
        return messages_in(parse_twiml(text)), None
    except TwimlError as exc:
        return [], f"The reply from {url} is not TwiML: {exc} (Twilio would log error 12100)."


@dataclass
class _PlainReply:
    body: str
    to: str | None = None
    from_: str | None = None
    status_callback: str | None = None


def _send_reply(state: FakeTwilioState, phone: str, product_number: str, reply: Any) -> dict:
    record = MessageRecord(
        sid=new_sid("SM"), account_sid=state.setting("ACCOUNT_SID"),
        to=reply.to or phone, from_=reply.from_ or product_number, body=reply.body,
        num_segments=count_segments(reply.body) or 1, direction="outbound-reply",
        status_callback=reply.status_callback,
    )
    resource = state.add_message(record)
    start_message_delivery(state, record.sid)
    return resource
