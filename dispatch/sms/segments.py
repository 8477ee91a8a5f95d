"""How many SMS segments a text costs: GSM-7 when every character fits it, UCS-2 otherwise."""
from __future__ import annotations

# GSM 03.38 basic set and the extension table (each extension character costs two septets).
GSM_BASIC = set(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
GSM_EXTENDED = set("^{}\\[~]|€\f")


def is_gsm(text: str) -> bool:
    return all(ch in GSM_BASIC or ch in GSM_EXTENDED for ch in text)


def units(text: str) -> tuple[str, int]:
    """('gsm', septets) or ('ucs2', UTF-16 code units)."""
    if is_gsm(text):
        return "gsm", sum(2 if ch in GSM_EXTENDED else 1 for ch in text)
    return "ucs2", len(text.encode("utf-16-le")) // 2


def count(text: str) -> int:
    encoding, n = units(text)
    single, part = (160, 153) if encoding == "gsm" else (70, 67)
    if n <= single:
        return 1
    # Carriers never split an escape pair or a surrogate pair, so a part may end a unit short.
    parts, used = 1, 0
    for ch in text:
        cost = (2 if ch in GSM_EXTENDED else 1) if encoding == "gsm" else len(ch.encode("utf-16-le")) // 2
        if used + cost > part:
            parts, used = parts + 1, 0
        used += cost
    return parts


def fit(text: str, max_segments: int) -> str:
    """Shorten `text` (with an ellipsis) until it fits in max_segments."""
    if count(text) <= max_segments:
        return text
    mark = ellipsis(text)
    keep = longest(len(text), lambda n: count(text[:n].rstrip() + mark) <= max_segments)
    return text[:keep].rstrip() + mark


def longest(limit: int, fits) -> int:
    """The largest n in 0..limit for which fits(n) holds, by halving: what fits shrinks as n grows (fits(0) is
    taken as true). Used to keep the longest prefix of a text that still fits its segments."""
    low, high = 0, limit
    while low < high:
        mid = (low + high + 1) // 2
        if fits(mid):
            low = mid
        else:
            high = mid - 1
    return low


def ellipsis(text: str) -> str:
    """'…' is not GSM-7: in a GSM text it would turn the whole message to UCS-2 and halve the room."""
    return "..." if is_gsm(text) else "…"
