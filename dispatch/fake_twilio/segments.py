"""SMS segment counting the way carriers (and so Twilio's ``num_segments``) do it.

Dispatch pays per segment and keeps on-call texts short, so the fake must
count like Twilio or a budget test would pass here and fail in production.

* A body made only of GSM 03.38 characters is sent as GSM-7: 160 septets fit
  one SMS; a longer body is split into parts of 153 (7 septets go to the
  concatenation header). Characters of the extension table (``€ [ ] { } ^ ~ |
  \\`` and form feed) take two septets (escape + char).
* Any other character forces UCS-2 for the whole body: 70 UTF-16 code units in
  one SMS, 67 per part. Characters outside the BMP (emoji) take two units.
* A character is never split across two parts (neither an escape pair nor a
  surrogate pair), so a part may end a unit short of the limit.
"""
from __future__ import annotations

GSM7_BASIC = (
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
GSM7_EXTENDED = "\f^{}\\[~]|€"

_BASIC = frozenset(GSM7_BASIC)
_EXTENDED = frozenset(GSM7_EXTENDED)

GSM7_SINGLE, GSM7_PART = 160, 153
UCS2_SINGLE, UCS2_PART = 70, 67


def is_gsm7(body: str) -> bool:
    """True when every character has a GSM-7 encoding."""
    return all(ch in _BASIC or ch in _EXTENDED for ch in body)


def encoding(body: str) -> str:
    """"GSM-7" or "UCS-2": the encoding a carrier would use for this body."""
    return "GSM-7" if is_gsm7(body) else "UCS-2"


def _unit_cost(ch: str, gsm: bool) -> int:
    if gsm:
        return 2 if ch in _EXTENDED else 1
    return 2 if ord(ch) > 0xFFFF else 1


def body_units(body: str) -> int:
    """Septets (GSM-7) or UTF-16 code units (UCS-2) the body occupies."""
    gsm = is_gsm7(body)
    return sum(_unit_cost(ch, gsm) for ch in body)


def split_segments(body: str) -> list[str]:
    """The parts the body is sent as, in order; ``"".join`` gives the body back."""
    if not body:
        return []
    gsm = is_gsm7(body)
    single, part_limit = (GSM7_SINGLE, GSM7_PART) if gsm else (UCS2_SINGLE, UCS2_PART)
    if body_units(body) <= single:
        return [body]
    parts: list[str] = []
    current: list[str] = []
    used = 0
    for ch in body:
        cost = _unit_cost(ch, gsm)
        if used + cost > part_limit:
            parts.append("".join(current))
            current, used = [], 0
        current.append(ch)
        used += cost
    if current:
        parts.append("".join(current))
    return parts


def count_segments(body: str) -> int:
    """Number of SMS segments; 0 for an empty body."""
    return len(split_segments(body))
