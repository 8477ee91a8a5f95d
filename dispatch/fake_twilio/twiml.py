"""Reading the TwiML the product answers with.

The phone page shows what a technician would see or hear, so the fake has to
understand the product's TwiML: ``<Message>`` texts of an SMS reply, and
``<Say>``/``<Play>``/``<Gather>``/``<Redirect>``/``<Hangup>`` of a call. Only
what Dispatch uses is interpreted; other verbs are shown as notes, not faked.
"""
from __future__ import annotations

import xml.etree.ElementTree as ET
from dataclasses import dataclass


class TwimlError(ValueError):
    """The document is not TwiML (Twilio: error 12100 Document parse failure)."""


@dataclass
class TwimlMessage:
    """One ``<Message>`` of a messaging response."""

    body: str
    to: str | None = None
    from_: str | None = None
    status_callback: str | None = None


def parse_twiml(text: str) -> ET.Element:
    """Parse a TwiML document; an empty body is an empty ``<Response/>``."""
    if not text or not text.strip():
        return ET.Element("Response")
    try:
        root = ET.fromstring(text.strip())
    except ET.ParseError as exc:
        raise TwimlError(f"not well-formed XML ({exc})") from None
    if root.tag != "Response":
        raise TwimlError(f"root element is <{root.tag}>, expected <Response>")
    return root


def element_text(element: ET.Element) -> str:
    """Text of an element and its children with whitespace collapsed, as spoken."""
    return " ".join("".join(element.itertext()).split())


def messages_in(root: ET.Element) -> list[TwimlMessage]:
    """The ``<Message>`` (or legacy ``<Sms>``) replies of a messaging response."""
    found: list[TwimlMessage] = []
    for child in root:
        if child.tag not in ("Message", "Sms"):
            continue
        body_el = child.find("Body")
        if body_el is not None:
            body = (body_el.text or "").strip()
        else:
            body = (child.text or "").strip()
        found.append(TwimlMessage(
            body=body,
            to=child.get("to"),
            from_=child.get("from"),
            status_callback=child.get("statusCallback") or child.get("action"),
        ))
    return found


def looks_like_xml(text: str, content_type: str) -> bool:
    return "xml" in content_type.lower() or text.lstrip().startswith("<")
