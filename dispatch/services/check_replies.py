"""Check forms answered by SMS (`C 12 1P 2P 3F leak at valve 4=4.2`, sms/check_commands.py): the answers
go through the same service as the phone page, and the reply says what was recorded and which tickets
opened, or exactly what could not be read."""
from __future__ import annotations

from flask_babel import gettext as _

from dispatch.errors import RefusalReply, refusal_as_reply
from dispatch.i18n import local_date
from dispatch.services import access, check_forms
from dispatch.services.check_forms import Answer, limits_text
from dispatch.sms.check_commands import parse_answers
from dispatch.sms.commands import Command
from models import CheckForm, User, db

HOW = "1P 2F note 3=4.2"


def answer(sender: User, command: Command) -> tuple[str, str, int | None]:
    """(outcome, reply, the first corrective ticket's id) for a `C` reply."""
    reply = _answer(sender, command)
    if isinstance(reply, RefusalReply):
        return "rejected", str(reply), None
    return reply


@refusal_as_reply
def _answer(sender: User, command: Command):
    access.require_role(sender, access.CHECK_RECORDERS)
    if command.ticket_number is None:
        return "not_matched", _("Which form? Reply C and the form's number, e.g. C 12, for its items."), None
    form = db.session.get(CheckForm, command.ticket_number)
    if form is None or not form.active:
        return "not_matched", _("Form %(n)d not found. Its number is on the form's page.", n=command.ticket_number), None
    if not command.text.strip():
        return "listed", items_text(form), None
    parsed = parse_answers(command.text)
    if parsed.unreadable is not None:
        return "rejected", _("Could not read \"%(text)s\". Answer each item: %(how)s (P passed, F failed, = a "
                             "reading).", text=parsed.unreadable, how=HOW), None
    if parsed.repeated is not None:
        return "rejected", _("Item %(n)d is answered twice. Send the whole form again.", n=parsed.repeated), None
    answers = {a.position: Answer(a.passed, a.reading, a.note or None) for a in parsed.answers}
    submission = check_forms.submit_record(sender, form.id, answers, channel="sms")
    record = submission.record
    when = local_date(record.due_date)
    if not submission.created:
        return "repeated", _("%(form)s for %(date)s was recorded already; nothing changed.", form=form.title,
                             date=when), None
    text = _("%(form)s recorded for %(date)s: %(passed)d passed, %(failed)d failed.", form=form.title, date=when,
             passed=len(answers) - record.failed_count, failed=record.failed_count)
    if submission.tickets:
        numbers = ", ".join(f"#{t.number}" for t in submission.tickets)
        text += " " + _("Corrective tickets: %(numbers)s.", numbers=numbers)
    return "applied", text, (submission.tickets[0].id if submission.tickets else None)


def items_text(form: CheckForm) -> str:
    """The form's items as the SMS numbers them, and how to answer."""
    lines = []
    for item in form.items:
        if item.kind == "reading":
            lines.append(f"{item.position} {item.label} ({limits_text(item.unit, item.min_value, item.max_value)})")
        else:
            lines.append(f"{item.position} {item.label}")
    return _("Form %(n)d %(title)s: %(items)s. Reply C %(n)d %(how)s", n=form.id, title=form.title,
             items="; ".join(lines), how=HOW)
