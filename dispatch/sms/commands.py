"""The technicians' reply language: `A 1042`, `R 1042 reason`, `S`, `D 1042 note`, `J`, `H`, STOP / START, and
`C 12 ...` for a check form (its number, then the answers: sms/check_commands.py).

Case does not matter; the ticket number may be left out when the sender has exactly one open job. A done
reply may carry the labour time and the parts from the store after semicolons, in any order:
`D 1042 Replaced breaker; 45min; P-100 x2` (also `1h`, `90m`, `45分钟`, `P-100 ×2`, `P-100*2`).
"""
from __future__ import annotations

import re
from dataclasses import dataclass

# Keyword -> command. Single letters from the brief, whole words, and the Chinese verbs
# (接 accept, 拒 refuse, 到 on site, 完 done) so replies work in either language.
KEYWORDS = {
    "A": "accept", "ACCEPT": "accept", "ACK": "accept", "接": "accept",
    "R": "refuse", "REFUSE": "refuse", "拒": "refuse",
    "S": "site", "SITE": "site", "ONSITE": "site", "到": "site",
    "D": "done", "DONE": "done", "完": "done",
    "J": "jobs", "JOBS": "jobs", "单": "jobs",
    "H": "help", "HELP": "help", "?": "help", "帮助": "help",
    # A check form (round or test record) answered by SMS: see sms/check_commands.py.
    "C": "check", "CHECK": "check", "检": "check",
}
# Carrier opt-out words (Twilio's defaults).
STOP_WORDS = {"STOP", "STOPALL", "UNSUBSCRIBE", "CANCEL", "END", "QUIT"}
START_WORDS = {"START", "YES", "UNSTOP"}

_PATTERN = re.compile(r"^\s*(帮助|[接拒到完单检?]|[A-Za-z]+)\s*#?\s*(\d{1,9})?(?:\s+|$|(?=\S))(.*)$", re.DOTALL)


@dataclass(frozen=True)
class Command:
    kind: str  # accept, refuse, site, done, jobs, help, check, stop, start, unknown
    ticket_number: int | None = None
    text: str = ""


def parse(body: str | None) -> Command:
    """Never raises: anything not understood is 'unknown' (answered with the help text)."""
    text = (body or "").strip()
    if not text:
        return Command("unknown")
    upper = text.upper()
    if upper in STOP_WORDS:
        return Command("stop")
    if upper in START_WORDS:
        return Command("start")
    match = _PATTERN.match(text)
    if not match:
        return Command("unknown", text=text[:200])
    word, number, rest = match.groups()
    kind = KEYWORDS.get(word.upper())
    if kind is None:
        return Command("unknown", text=text[:200])
    rest = (rest or "").strip()
    if number is None and rest[:1].isdigit():
        return Command("unknown", text=text[:200])
    return Command(kind, int(number) if number else None, rest[:1000])


_MINUTES = re.compile(r"^(\d{1,5})\s*(?:m|min|mins|minutes|分钟|分)$", re.IGNORECASE)
_HOURS = re.compile(r"^(\d{1,3}(?:\.\d{1,2})?)\s*(?:h|hr|hrs|hour|hours|小时)$", re.IGNORECASE)
_PART = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._/-]{0,29})\s*[x×*]\s*(\d{1,6})$", re.IGNORECASE)


@dataclass(frozen=True)
class DoneDetails:
    note: str
    minutes: int | None = None
    parts: tuple[tuple[str, int], ...] = ()


def done_details(text: str) -> DoneDetails:
    """Split a done reply's text into the note, the labour minutes and the part lines (code, quantity).
    Pieces that are neither stay in the note, so nothing the technician wrote is lost."""
    note, minutes, parts = [], None, []
    for piece in re.split(r"[;；]", text or ""):
        piece = piece.strip()
        if not piece:
            continue
        if (found := _MINUTES.match(piece)) and minutes is None:
            minutes = int(found.group(1))
        elif (found := _HOURS.match(piece)) and minutes is None:
            minutes = round(float(found.group(1)) * 60)
        elif found := _PART.match(piece):
            parts.append((found.group(1).upper(), int(found.group(2))))
        else:
            note.append(piece)
    return DoneDetails("; ".join(note), minutes, tuple(parts))
