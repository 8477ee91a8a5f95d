"""The technicians' reply language: `A 1042`, `R 1042 reason`, `S`, `D 1042 note`, `J`, `H`, STOP / START.

Case does not matter; the ticket number may be left out when the sender has exactly one open job.
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
}
# Carrier opt-out words (Twilio's defaults).
STOP_WORDS = {"STOP", "STOPALL", "UNSUBSCRIBE", "CANCEL", "END", "QUIT"}
START_WORDS = {"START", "YES", "UNSTOP"}

_PATTERN = re.compile(r"^\s*(帮助|[接拒到完单?]|[A-Za-z]+)\s*#?\s*(\d{1,9})?(?:\s+|$|(?=\S))(.*)$", re.DOTALL)


@dataclass(frozen=True)
class Command:
    kind: str  # accept, refuse, site, done, jobs, help, stop, start, unknown
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
