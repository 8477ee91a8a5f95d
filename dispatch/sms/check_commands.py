"""The reply language for check forms (rounds and test records) by SMS.

`C 12` asks for form 12's items; `C 12 1P 2P 3F leak at valve 4=4.2` answers them: `<n>P` passed,
`<n>F` failed, `<n>=<value>` a reading (also `<n>:<value>`); any words after an answer are its note.
`检` works as `C`. Every item must be answered. Reading the text never raises and never queries: the
problems are returned for the service to put into words, with the item they concern.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field

_ANSWER = re.compile(r"(?<![\d.,])(\d{1,2})\s*(?:([PpFf])(?![A-Za-z])|[=:：]\s*(-?\d{1,9}(?:[.,]\d{1,6})?)(?![\d.]))")


@dataclass(frozen=True)
class ItemAnswer:
    position: int
    passed: bool | None = None
    reading: float | None = None
    note: str = ""


@dataclass
class CheckReply:
    answers: list[ItemAnswer] = field(default_factory=list)
    unreadable: str | None = None  # text before the first answer, or nothing that reads as one
    repeated: int | None = None  # an item answered twice


def parse_answers(text: str) -> CheckReply:
    text = (text or "").strip()
    reply = CheckReply()
    matches = list(_ANSWER.finditer(text))
    if not matches:
        reply.unreadable = text[:40]
        return reply
    if text[:matches[0].start()].strip():
        reply.unreadable = text[:matches[0].start()].strip()[:40]
        return reply
    seen = set()
    for index, match in enumerate(matches):
        end = matches[index + 1].start() if index + 1 < len(matches) else len(text)
        note = text[match.end():end].strip(" ,;，；")
        position = int(match.group(1))
        if position in seen:
            reply.repeated = position
            return reply
        seen.add(position)
        if match.group(2):
            reply.answers.append(ItemAnswer(position, passed=match.group(2).upper() == "P", note=note))
        else:
            reply.answers.append(ItemAnswer(position, reading=float(match.group(3).replace(",", ".")), note=note))
    return reply
