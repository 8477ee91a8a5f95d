"""Technicians answering by SMS: each reply is recorded first, matched to the sender's job, applied
through the same rules as the web, and answered in words."""
from __future__ import annotations

from flask_babel import gettext as _
from sqlalchemy import exists, select
from sqlalchemy.exc import IntegrityError

from dispatch.clock import now as clock_now
from dispatch.errors import DispatchError, RefusalReply, refusal_as_reply
from dispatch.i18n import in_language_of
from dispatch.services import access, check_replies, checklists, permit_sms
from dispatch.services import tickets as ticket_service
from dispatch.services.staff import normalise_phone
from dispatch.services.unit_of_work import write_transaction
from dispatch.sms import segments
from dispatch.services.stock import PartLine
from dispatch.sms.commands import Command, done_details, parse
from models import OPEN_STATUSES, EscalationPage, InboundMessage, Ticket, User, db
from models.incident import Incident, IncidentMember

ACTIONS = {"accept": "acknowledge", "refuse": "refuse", "site": "attend", "done": "resolve"}
# Which of the sender's jobs a command without a number can mean.
NUMBERLESS_STATUSES = {
    "accept": ("assigned",),
    "refuse": ("assigned", "acknowledged"),
    "site": ("assigned", "acknowledged"),
    "done": ("attended", "made_safe", "on_hold"),
}


def help_text() -> str:
    return " ".join((_("Dispatch replies: A 1042 accept, R 1042 reason refuse, S 1042 on site, D 1042 note done, "
                       "J my jobs. The number can be left out when you have one job."),
                      _("Rounds and tests: C 12 for form 12's items."),
                     _("Time and parts: D 1042 note; 45min; P-100 x2")))


def handle_inbound(sid: str, from_number: str, to_number: str | None, body: str) -> str | None:
    """Record and act on one inbound SMS. Returns the reply text (None: send no reply).

    A repeat of the same Twilio message (a webhook retry) is answered with the first reply and
    changes nothing.
    """
    moment = clock_now()
    # PostgreSQL text cannot hold NUL, and no handset means one: drop it rather than answer 500.
    body = (body or "").replace("\x00", "")
    try:
        with write_transaction() as session:
            record = InboundMessage(twilio_sid=sid[:40], from_number=from_number[:20], to_number=(to_number or "")[:20],
                                    body=(body or "")[:2000], received_at=moment, outcome="received")
            session.add(record)
            session.flush()
            record_id = record.id
    except IntegrityError:
        db.session.rollback()
        earlier = db.session.scalar(select(InboundMessage).where(InboundMessage.twilio_sid == sid[:40]))
        return earlier.reply if earlier else None

    sender = _sender(from_number)
    command = parse(body)
    ticket_id = None
    if sender is None:
        outcome, reply = "unknown_sender", None
    else:
        with in_language_of(sender):
            outcome, reply, ticket_id = _apply(sender, command)
    if reply is not None:
        reply = segments.fit(reply, 2)
    with write_transaction() as session:
        record = session.get(InboundMessage, record_id)
        record.sender_id = sender.id if sender else None
        record.ticket_id = ticket_id
        record.outcome = outcome
        record.reply = reply
    return reply


def _sender(from_number: str) -> User | None:
    try:
        number = normalise_phone(from_number)
    except DispatchError:
        return None
    if number is None:
        return None
    return db.session.scalar(select(User).where(User.phone == number, User.active.is_(True)))


def _apply(sender: User, command: Command) -> tuple[str, str | None, int | None]:
    """(outcome, reply, ticket id) for a known sender."""
    if command.kind == "stop":
        _set_opt_out(sender.id, True)
        return "opted_out", None, None  # the carrier / Twilio confirms STOP itself
    if command.kind == "start":
        _set_opt_out(sender.id, False)
        return "opted_in", _("You will receive Dispatch jobs by SMS again."), None
    if command.kind == "jobs":
        return "listed", _jobs_text(sender), None
    if command.kind == "check":
        return check_replies.answer(sender, command)
    if command.kind == "unknown" and (permit_command := permit_sms.parse(command.text)) is not None:
        return permit_sms.answer(sender, permit_command)  # PTW ISSUE / ACCEPT / CANCEL n: see permit_sms
    if command.kind not in ACTIONS:
        return "help", help_text(), None
    ticket, problem = _target_ticket(sender, command)
    if ticket is None:
        return "not_matched", problem, None
    details = {}
    note = command.text or None
    if command.kind == "done":
        done = done_details(command.text)
        note = done.note or None
        details = {"labour_minutes": done.minutes, "parts": [PartLine(code, quantity) for code, quantity in done.parts]}
    reply = _act(ticket, sender, command.kind, note, details)
    return ("rejected" if isinstance(reply, RefusalReply) else "applied"), str(reply), ticket.id


@refusal_as_reply
def _act(ticket: Ticket, sender: User, kind: str, note: str | None, details: dict) -> str:
    """Apply the reply's action; the confirmation to send back (a refusal says why, through refusal_as_reply)."""
    checklist = None
    if kind == "done":
        checklist = _tick_from_note(ticket, sender, note or "")
    ticket_service.transition(ticket.id, ACTIONS[kind], sender, channel="sms", note=note, **details)
    confirmations = {
        "accept": _("Accepted #%(n)d. Reply S %(n)d when on site.", n=ticket.number),
        "refuse": _("Refused #%(n)d. It goes back to dispatch.", n=ticket.number),
        "site": _("On site at #%(n)d recorded. Reply D %(n)d note when done.", n=ticket.number),
        "done": _("#%(n)d resolved. Thank you.", n=ticket.number),
    }
    reply = confirmations[kind]
    if checklist is not None:
        reply += " " + _("Checklist: %(done)d of %(total)d steps ticked.", done=checklist.done, total=checklist.total)
    return reply


def _tick_from_note(ticket: Ticket, sender: User, note: str) -> checklists.TickResult | None:
    """A planned job's checklist, ticked from the done reply's note (`D 1042 all checked`, `D 1042 1,2,3 ok`;
    see checklists.positions_in_note). None when the ticket has no checklist. Nothing is ticked when the
    job cannot be resolved now: the transition's own message says why."""
    items = checklists.items_for(ticket.id)
    if not items:
        return None
    positions = checklists.positions_in_note(note, len(items))
    if positions and ticket.status in ticket_service.TRANSITIONS["resolve"][0]:
        return checklists.tick(ticket.id, sender, positions, channel="sms")
    done = sum(1 for item in items if item.done_at is not None)
    return checklists.TickResult(0, done, len(items))


def _follows_a_lead():
    """SQL: the ticket is grouped under another ticket of an open incident. The team answers the
    lead (the number in their SMS); the grouped wards' tickets follow it and are not theirs to pick."""
    return exists(select(IncidentMember.id).join(Incident, Incident.id == IncidentMember.incident_id).where(
        IncidentMember.ticket_id == Ticket.id, IncidentMember.is_lead.is_(False),
        IncidentMember.ungrouped_at.is_(None), Incident.state == "open"))


def _target_ticket(sender: User, command: Command) -> tuple[Ticket | None, str | None]:
    if command.ticket_number is not None:
        ticket = db.session.get(Ticket, command.ticket_number)
        # Someone paged for a job nobody has accepted may accept it: the first to do so takes it.
        paged = ticket is not None and command.kind == "accept" and access.may_accept_page(sender, ticket)
        if ticket is None or (ticket.assignee_id != sender.id and not paged):
            return None, _("#%(n)d is not one of your jobs. Reply J for your jobs.", n=command.ticket_number)
        return ticket, None
    mine = Ticket.assignee_id == sender.id
    if command.kind == "accept":
        mine = mine | Ticket.id.in_(select(EscalationPage.ticket_id).where(
            EscalationPage.user_id == sender.id, EscalationPage.closed_at.is_(None)))
    open_jobs = db.session.scalars(
        select(Ticket).where(mine, Ticket.status.in_(NUMBERLESS_STATUSES[command.kind]), ~_follows_a_lead())
        .order_by(Ticket.priority, Ticket.created_at)
    ).all()
    if len(open_jobs) == 1:
        return open_jobs[0], None
    if not open_jobs:
        return None, _("You have no job waiting for that. Reply J for your jobs.")
    numbers = ", ".join(f"#{t.number}" for t in open_jobs[:6])
    return None, _("You have several jobs (%(numbers)s). Add the number, e.g. A %(n)d.", numbers=numbers, n=open_jobs[0].number)


def _jobs_text(sender: User) -> str:
    jobs = db.session.scalars(
        select(Ticket).where(Ticket.assignee_id == sender.id, Ticket.status.in_(OPEN_STATUSES), ~_follows_a_lead())
        .order_by(Ticket.priority, Ticket.created_at).limit(8)
    ).all()
    if not jobs:
        return _("You have no open jobs.")
    lines = [f"#{t.number} P{t.priority} {t.trade.display_name} {t.ward.display_name} ({ticket_service.status_label(t.status)})" for t in jobs]
    return "; ".join(lines)


def _set_opt_out(user_id: int, opted_out: bool) -> None:
    with write_transaction() as session:
        session.get(User, user_id).sms_opted_out = opted_out
