"""Permits by SMS. The grammar (case does not matter; the permit number is the one on its page and printout):

    PTW ISSUE 12                       the Authorised Person issues permit 12 (drafted on the page)
    PTW ACCEPT 12                      the technician (Competent Person) accepts it before going on site
    PTW CANCEL 12 <what was restored>  the Authorised Person cancels it: supply restored, wards told
    许可 签发 12 / 许可 接受 12 / 许可 注销 12 已恢复供氧   the same in Chinese

`PERMIT` may stand for `PTW`. The sender is known by their phone: a permit can only be issued or cancelled
from the phone of someone who may issue it, and accepted from the phone of its ticket's technician; anyone
else is told why not (a refusal through `refusal_as_reply`, as for the job replies).
"""
from __future__ import annotations

import re
from dataclasses import dataclass

from flask_babel import gettext as _

from dispatch.errors import RefusalReply, refusal_as_reply
from dispatch.services import permits
from models import User

PREFIXES = {"PTW", "PERMIT", "许可"}
VERBS = {"ISSUE": "issue", "签发": "issue", "ACCEPT": "accept", "接受": "accept", "CANCEL": "cancel", "注销": "cancel"}
_PATTERN = re.compile(r"^\s*(\S+)\s*(\S*?)\s*#?(\d{1,9})?(?:\s+(.*))?\s*$", re.DOTALL)


@dataclass(frozen=True)
class PermitCommand:
    verb: str | None  # issue, accept, cancel; None: a permit message not understood
    permit_number: int | None = None
    text: str = ""


def help_text() -> str:
    return _("Permits: PTW ISSUE 12, PTW ACCEPT 12, PTW CANCEL 12 what was restored.")


def parse(body: str | None) -> PermitCommand | None:
    """None when the message is not about permits at all (then the job replies' parser answers it)."""
    text = (body or "").strip()
    words = text.split(None, 1)
    if not words or words[0].upper() not in PREFIXES:
        return None
    match = _PATTERN.match(text)
    verb = VERBS.get((match.group(2) or "").upper()) if match else None
    if verb is None or match.group(3) is None:
        return PermitCommand(None)
    return PermitCommand(verb, int(match.group(3)), (match.group(4) or "").strip()[:1000])


def answer(sender: User, command: PermitCommand) -> tuple[str, str, None]:
    """(outcome, reply, ticket id) as sms_replies records them."""
    if command.verb is None:
        return "help", help_text(), None
    reply = _act(sender, command)
    return ("rejected" if isinstance(reply, RefusalReply) else "applied"), str(reply), None


@refusal_as_reply
def _act(sender: User, command: PermitCommand) -> str:
    number = command.permit_number
    if command.verb == "issue":
        permit = permits.issue_permit(number, sender, channel="sms")
        return _("Permit %(number)d issued for ticket %(ticket)d; the wards are told. The technician replies "
                 "PTW ACCEPT %(number)d.", number=number, ticket=permit.ticket_id)
    if command.verb == "accept":
        permit = permits.accept_permit(number, sender, channel="sms")
        return _("Permit %(number)d accepted: you may go on site at ticket %(ticket)d (reply S %(ticket)d).",
                 number=number, ticket=permit.ticket_id)
    if not command.text:
        return RefusalReply(_("Say what was restored: PTW CANCEL %(number)d oxygen valve V3 reopened.", number=number))
    permits.cancel_permit(number, sender, command.text, channel="sms")
    return _("Permit %(number)d cancelled; supply restored recorded and the wards are told.", number=number)
