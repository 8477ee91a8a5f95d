"""The ticket engine: the one writer of a ticket's status, assignee, priority, due times, hold clock and breach
flags. Every move is looked up in one table (MOVES); guards may veto it; the licence rule is applied where a
move gives someone the job; due times come from sla.py; each move writes one history line. The policies
(assignment, escalation, incidents, emergency plans, costs, notifications) react through hooks registered in
one place (dispatch.services.policies.register_policies); the engine imports none of them."""
from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from dispatch.errors import ConflictError, IllegalTransitionError, NotFoundError, ValidationError
from dispatch.services import access, licences, sla
from dispatch.services.engine_guard import engine_writing
from models import OPEN_STATUSES, STATUSES, UNASSIGNED_STATUSES, Ticket, TicketEvent, User, db

STATUS_LABELS = {
    "new": _l("New"),
    "assigned": _l("Assigned"),
    "acknowledged": _l("Acknowledged"),
    "attended": _l("On site"),
    "on_hold": _l("On hold"),
    "made_safe": _l("Made safe"),
    "resolved": _l("Resolved"),
    "closed": _l("Closed"),
    "refused": _l("Refused"),
    "reopened": _l("Reopened"),
    "cancelled": _l("Cancelled"),
}

ACTION_LABELS = {
    "acknowledge": _l("acknowledged"),
    "refuse": _l("refused"),
    "attend": _l("marked on site"),
    "hold": _l("put on hold"),
    "resume": _l("resumed"),
    "make_safe": _l("made safe"),
    "resolve": _l("resolved"),
    "confirm": _l("confirmed"),
    "reopen": _l("reopened"),
    "cancel": _l("cancelled"),
}


@dataclass(frozen=True)
class Rule:
    """One row of the table: the statuses a move may start from and the status it leads to (None: the
    status stays, or is given back as it was), and whether it gives someone the job (the licence rule)."""

    sources: frozenset[str]
    target: str | None
    gives_job: bool = False


# Nobody has taken the job on yet: what escalation chases first (read from the status, never from the first
# acknowledgement time, which stays set when a job is reassigned or reopened).
UNANSWERED = ("new", "assigned", "refused", "reopened")
# Reassigning is allowed until the work is finished.
REASSIGNABLE = frozenset({"assigned", "acknowledged", "attended", "on_hold", "made_safe"})
# Tickets that may be grouped into an incident: not yet on site. A technician already working a ward's fault keeps it.
GROUPABLE = ("new", "assigned", "acknowledged", "refused", "reopened")

# The one transition table: every move that changes a ticket's engine-owned columns.
MOVES: dict[str, Rule] = {
    "report": Rule(frozenset(), "new"),
    "assign": Rule(frozenset(UNASSIGNED_STATUSES) | REASSIGNABLE, "assigned", gives_job=True),
    # Arriving or acknowledging needs the licence valid now too: taking on or starting the job.
    "acknowledge": Rule(frozenset({"assigned"}), "acknowledged", gives_job=True),
    "refuse": Rule(frozenset({"assigned", "acknowledged"}), "refused"),
    # Arriving without acknowledging first counts as acknowledging too.
    "attend": Rule(frozenset({"assigned", "acknowledged"}), "attended", gives_job=True),
    "hold": Rule(frozenset({"attended", "made_safe"}), "on_hold"),
    "resume": Rule(frozenset({"on_hold"}), "attended"),
    "make_safe": Rule(frozenset({"attended", "on_hold"}), "made_safe"),
    "resolve": Rule(frozenset({"attended", "made_safe", "on_hold"}), "resolved"),
    "confirm": Rule(frozenset({"resolved"}), "closed"),
    "reopen": Rule(frozenset({"resolved", "closed"}), "reopened"),
    "cancel": Rule(frozenset(OPEN_STATUSES), "cancelled"),
    "reprioritise": Rule(frozenset(OPEN_STATUSES), None),
    # Following an incident's lead: the ticket keeps its status; the lead's assignment reaches it by "assign".
    "group": Rule(frozenset(GROUPABLE), None),
    # Leaving it: a ticket not yet on site gets back what it had of its own (licence checked when handed back).
    "ungroup": Rule(frozenset(STATUSES), None, gives_job=True),
}
# The actions people take on a ticket (pages, API, SMS, voice), as (from, to): the API and the model test read it.
ACTIONS = ("acknowledge", "refuse", "attend", "hold", "resume", "make_safe", "resolve", "confirm", "reopen", "cancel")
TRANSITIONS: dict[str, tuple[frozenset[str], str]] = {name: (MOVES[name].sources, MOVES[name].target) for name in ACTIONS}
# Actions that need a note saying why (refuse, hold, reopen, cancel) or what was done (make safe, resolve);
# the API's document requires it for exactly these.
ACTIONS_NEEDING_A_NOTE = frozenset({"refuse", "hold", "make_safe", "resolve", "reopen", "cancel"})
MAX_NOTE = 1000


@dataclass
class Move:
    """A move being made: what hooks and guards are given."""

    name: str
    ticket: Ticket | None
    actor: User | None
    at: datetime
    channel: str
    note: str | None = None
    follower: bool = False
    details: dict = field(default_factory=dict)
    data: dict = field(default_factory=dict)
    previous_status: str | None = None
    previous_assignee_id: int | None = None
    event: TicketEvent | None = None

    @property
    def actor_id(self) -> int | None:
        return self.actor.id if self.actor is not None else None


Hook = Callable[..., None]
Guard = Callable[..., "str | None"]
_guards: dict[str, list[Guard]] = defaultdict(list)
_before: dict[str, list[Hook]] = defaultdict(list)
_during: dict[str, list[Hook]] = defaultdict(list)
_after: dict[str, list[Hook]] = defaultdict(list)
_read: dict[str, list[Callable[..., dict]]] = defaultdict(list)


def add_guard(name: str, guard: Guard) -> None:
    """`guard(session, move)` returns a reason to refuse the move (shown to the person), or None."""
    _check_name(name)
    _guards[name].append(guard)


def on(name: str, hook: Hook, *, phase: str = "after") -> None:
    """`hook(session, move)`: "before" runs ahead of the table's check (accepting a page makes the job
    yours first), "during" after the move's own changes and before its history line (it may add to
    move.data, or raise to undo the move), "after" once it is recorded (SMS owed, timers, followers).
    Moves an incident's followers make (follower=True) get no "after" hooks: they owe nothing of their own."""
    _check_name(name)
    {"read": _read, "before": _before, "during": _during, "after": _after}[phase][name].append(hook)


def read_ahead(name: str, **facts) -> dict:
    """What the policies read before the write lock is taken (on SQLite every other writer waits while a
    report holds it): each "read" hook returns values, given to the move's hooks as details["ahead"]."""
    ahead: dict = {}
    for reader in _read[name]:
        ahead.update(reader(**facts))
    return ahead


def clear_hooks() -> None:
    for table in (_guards, _before, _during, _after, _read):
        table.clear()


def _check_name(name: str) -> None:
    if name not in MOVES:
        raise KeyError(f"no move named {name!r}")


# ---- small shared pieces ----------------------------------------------------------------------

def status_label(status: str) -> str:
    return str(STATUS_LABELS.get(status, status))


def clean_text(value: str | None, field: str, required: bool, limit: int = MAX_NOTE) -> str | None:
    text = (value or "").strip()
    if required and not text:
        raise ValidationError(_("This field is required."), field=field)
    if len(text) > limit:
        raise ValidationError(_("At most %(n)d characters.", n=limit), field=field)
    return text or None


def record_event(ticket: Ticket, kind: str, actor_id: int | None, at: datetime, channel: str, **fields) -> TicketEvent:
    """A history line that moves nothing (comments, plan steps, incident notes); moves write theirs in move()."""
    event = TicketEvent(ticket=ticket, kind=kind, actor_id=actor_id, at=at, channel=channel, **fields)
    db.session.add(event)
    return event


def load_for_change(session, ticket_id: int, expected_version: int | None, viewer: User | None = None) -> Ticket:
    # FOR UPDATE serialises writers on PostgreSQL; SQLite is already serialised by BEGIN IMMEDIATE.
    ticket = session.scalars(select(Ticket).where(Ticket.id == ticket_id).with_for_update()).one_or_none()
    # Visibility before the version check: a stale version must not reveal another ward's ticket.
    if ticket is None or (viewer is not None and not access.can_view(viewer, ticket)):
        raise NotFoundError(_("Ticket %(number)s not found.", number=ticket_id))
    check_version(ticket, expected_version)
    return ticket


def check_version(ticket: Ticket, expected_version: int | None) -> None:
    if expected_version is not None and ticket.version != expected_version:
        raise ConflictError(
            _("Ticket %(number)s was changed meanwhile (now %(status)s). Nothing was overwritten; look again.",
              number=ticket.number, status=status_label(ticket.status))
        )


def refusal(name: str, ticket: Ticket) -> IllegalTransitionError:
    if name == "assign":
        return IllegalTransitionError(_("Ticket %(number)s is %(status)s; it cannot be assigned.",
                                        number=ticket.number, status=status_label(ticket.status)))
    if name == "reprioritise":
        return IllegalTransitionError(_("Only open tickets can be re-prioritised."))
    if name in ("group", "ungroup"):
        return IllegalTransitionError(_("Ticket %(number)s is %(status)s; it cannot be grouped or ungrouped.",
                                        number=ticket.number, status=status_label(ticket.status)))
    return IllegalTransitionError(_("Ticket %(number)s is %(status)s; it cannot be %(action)s.", number=ticket.number,
                                    status=status_label(ticket.status), action=ACTION_LABELS[name]))


# ---- the one writer ---------------------------------------------------------------------------

def move(session, ticket: Ticket | None, name: str, *, actor: User | None, at: datetime, channel: str = "web",
         note: str | None = None, follower: bool = False, **details) -> Move:
    """Make one move on a ticket the caller has loaded for change, inside the caller's transaction: the
    table's check, the guards, the licence rule, the columns, due times and breach flags, one history line,
    then the policies' hooks. "report" makes the ticket (`fields=` its columns). Raises
    IllegalTransitionError, NotLicensedError or ValidationError; the caller's transaction then rolls back."""
    rule = MOVES[name]
    made = Move(name, ticket, actor, at, channel, note, follower, details)
    if ticket is not None:
        for hook in _before[name]:
            hook(session, made)
        if ticket.status not in rule.sources:
            raise refusal(name, ticket)
        made.previous_status, made.previous_assignee_id = ticket.status, ticket.assignee_id
    for guard in _guards[name]:
        reason = guard(session, made)
        if reason:
            raise IllegalTransitionError(reason)
    with engine_writing():
        _APPLY.get(name, _action)(session, made, rule)
    if not follower:
        for hook in _after[name]:
            hook(session, made)
    return made


def _line(session, made: Move, kind: str, **fields) -> None:
    made.event = TicketEvent(ticket=made.ticket, kind=kind, actor_id=made.actor_id, at=made.at, channel=made.channel,
                             **fields)
    session.add(made.event)


def _report(session, made: Move, rule: Rule) -> None:
    fields = made.details["fields"]
    ticket = Ticket(**fields, status=rule.target, created_at=made.at, updated_at=made.at, held_seconds=0)
    sla.fix_due_times(ticket, sla.targets_for(ticket.trade.id, ticket.priority))
    session.add(ticket)
    made.ticket = ticket
    _line(session, made, "reported", to_status=ticket.status, note=ticket.description, data=made.details["data"])
    # Rows filed with the report (photos) belong to it and to its first history line.
    for row in made.details.get("attach") or ():
        row.ticket, row.event = ticket, made.event
        session.add(row)
    session.flush()


def _assign(session, made: Move, rule: Rule) -> None:
    ticket, technician = made.ticket, made.details["technician"]
    licences.ensure_licensed(technician, ticket.trade, made.at)
    reassigning = made.previous_assignee_id is not None
    automatic = bool(made.details.get("automatic"))
    ticket.assignee_id = technician.id
    ticket.assignee = technician
    ticket.assigned_at = made.at
    ticket.auto_assigned = automatic
    ticket.status = rule.target
    ticket.updated_at = made.at
    if reassigning:
        ticket.reassign_count += 1
    made.channel = "system" if automatic else made.channel
    _line(session, made, "reassigned" if reassigning else "assigned", from_status=made.previous_status,
          to_status=ticket.status, note=made.note or technician.full_name,
          data={"technician_id": technician.id, "previous_technician_id": made.previous_assignee_id,
                "automatic": automatic,
                # Whether this line owed its SMS: not for an accepted page or an incident's follower.
                "notified": bool(made.details.get("notify_people", True))})


def _action(session, made: Move, rule: Rule) -> None:
    ticket, name = made.ticket, made.name
    if rule.gives_job and ticket.assignee_id:
        # Never beyond one's licence: taking on or starting the job needs it valid now (SMS too).
        licences.ensure_licensed(session.get(User, ticket.assignee_id), ticket.trade, made.at)
    made.note = clean_text(made.note, "note", required=name in ACTIONS_NEEDING_A_NOTE)
    _apply(ticket, made)
    if _during[name]:
        # No flush until the move is whole: one UPDATE of the ticket, so its version moves by one per action.
        with session.no_autoflush, engine_writing(False):
            for hook in _during[name]:
                hook(session, made)
    ticket.status = rule.target if not (name == "resume" and ticket.made_safe_at) else "made_safe"
    ticket.updated_at = made.at
    sla.record_breaches(ticket, made.at, made.actor_id, made.channel)
    _line(session, made, name, from_status=made.previous_status, to_status=ticket.status, note=made.note,
          data=made.data or None)


def _apply(ticket: Ticket, made: Move) -> None:
    """The side effects of each action on the ticket's times and fields."""
    name, now, note, data, details = made.name, made.at, made.note, made.data, made.details
    if name == "acknowledge":
        ticket.acknowledged_at = ticket.acknowledged_at or now
    elif name == "refuse":
        data["technician_id"] = ticket.assignee_id
        ticket.assignee_id = None
        ticket.refusal_count += 1
    elif name == "attend":
        ticket.acknowledged_at = ticket.acknowledged_at or now
        ticket.attended_at = ticket.attended_at or now
    elif name == "hold":
        ticket.on_hold_since = now
        ticket.hold_reason = _headline(note, Ticket.hold_reason)
    elif name == "resume":
        sla.end_hold(ticket, now, data)
    elif name == "make_safe":
        sla.end_hold(ticket, now, data)
        ticket.made_safe_at = now
        ticket.resolution_note = note
    elif name == "resolve":
        sla.end_hold(ticket, now, data)
        ticket.resolved_at = now
        ticket.resolution_note = note
        labour = details.get("labour_minutes")
        if labour is not None:
            if not isinstance(labour, int) or labour < 0 or labour > 7 * 24 * 60:
                raise ValidationError(_("Labour minutes must be between 0 and 10080."), field="labour_minutes")
            ticket.labour_minutes = (ticket.labour_minutes or 0) + labour
            data["labour_minutes"] = labour
        parts = clean_text(details.get("parts_used"), "parts_used", required=False, limit=500)
        if parts:
            ticket.parts_used = parts if not ticket.parts_used else f"{ticket.parts_used}; {parts}"
            data["parts_used"] = parts
    elif name == "confirm":
        rating = details.get("rating")
        if rating is not None and rating not in (1, 2, 3, 4, 5):
            raise ValidationError(_("Rating must be 1 to 5."), field="rating")
        ticket.closed_at = now
        ticket.rating = rating
        ticket.feedback = note
        data["rating"] = rating
    elif name == "reopen":
        ticket.reopen_count += 1
        ticket.resolved_at = None
        ticket.made_safe_at = None
        ticket.closed_at = None
        data["technician_id"] = ticket.assignee_id
        ticket.assignee_id = None
    elif name == "cancel":
        sla.end_hold(ticket, now, data)
        ticket.cancelled_at = now
        ticket.cancel_reason = _headline(note, Ticket.cancel_reason)


def _headline(note: str | None, column) -> str | None:
    """The start of a note that fits the ticket's short reason field (the board shows it); the whole note
    is kept in the ticket's history."""
    limit = column.type.length
    if note is None or len(note) <= limit:
        return note
    return note[:limit - 1].rstrip() + "…"


def _reprioritise(session, made: Move, rule: Rule) -> None:
    """Due times are recomputed from creation with the targets in force now; breach flags follow them."""
    ticket, old = made.ticket, made.ticket.priority
    ticket.priority = made.details["priority"]
    sla.fix_due_times(ticket, sla.targets_for(ticket.trade_id, ticket.priority))
    sla.recompute_breaches(ticket, made.at)
    ticket.updated_at = made.at
    _line(session, made, "reprioritised", note=made.note, data={"from": old, "to": ticket.priority})


def _group(session, made: Move, rule: Rule) -> None:
    _line(session, made, "grouped", note=made.note, data=made.details.get("data"))


def _ungroup(session, made: Move, rule: Rule) -> None:
    """`own`: (status, assignee id, {assigned_at, acknowledged_at, auto_assigned}) the ticket had of its own
    before it was grouped, or None when it stays as it is (someone is already on site)."""
    ticket, own = made.ticket, made.details.get("own")
    if own is not None:
        status, assignee_id, times = own
        if assignee_id and status in ("assigned", "acknowledged"):
            # Handing the job back is giving it: refused, with the reason, if their licence has lapsed since.
            assignee = session.get(User, assignee_id)
            licences.ensure_licensed(assignee, ticket.trade, made.at)
            ticket.assignee_id, ticket.assignee, ticket.status = assignee_id, assignee, status
            ticket.assigned_at = _parse(times.get("assigned_at"))
            ticket.acknowledged_at = _parse(times.get("acknowledged_at"))
            ticket.auto_assigned = bool(times.get("auto_assigned"))
        else:
            ticket.assignee_id, ticket.assigned_at, ticket.acknowledged_at, ticket.auto_assigned = None, None, None, False
            ticket.assignee = None
            ticket.status = status if status in UNASSIGNED_STATUSES else "new"
        sla.recompute_breaches(ticket, made.at)
    ticket.updated_at = made.at
    data = dict(made.details.get("data") or {}, technician_id=ticket.assignee_id)
    _line(session, made, "ungrouped", note=made.note, data=data)


def _parse(value: str | None) -> datetime | None:
    return datetime.fromisoformat(value) if value else None


_APPLY = {"report": _report, "assign": _assign, "reprioritise": _reprioritise, "group": _group, "ungroup": _ungroup}


# ---- the scheduler's sweep and the seed's past ------------------------------------------------

def sweep_breaches(now: datetime) -> int:
    """Flag open tickets whose running target has passed (sla.sweep_breaches, one bulk UPDATE)."""
    return sla.sweep_breaches(now)


@dataclass(frozen=True)
class Past:
    """One move of a ticket's past for replay(): when, which move, by whom, and what it said."""

    at: datetime
    name: str
    actor_id: int | None = None
    channel: str = "web"
    note: str | None = None
    technician_id: int | None = None
    data: dict | None = None


PAST_TIMES = {"assign": "assigned_at", "acknowledge": "acknowledged_at", "attend": "attended_at",
              "make_safe": "made_safe_at", "resolve": "resolved_at", "confirm": "closed_at", "cancel": "cancelled_at"}


def replay(session, fields: dict, history: list[Past], now: datetime, *, reported: Past) -> Ticket:
    """The demo seed's and the report fixtures' way to make a ticket with a past: filed at `reported.at` and
    moved through `history` by the same table (a step the table does not allow raises), each step writing
    its time and its history line, then the breach flags as they stand at `now`. No hooks run: the past owes
    no SMS and starts no timer. Nothing else may build a ticket's state by hand."""
    with engine_writing():
        fields = dict(fields)
        held = fields.pop("held_seconds", 0)
        ticket = Ticket(**fields, status="new", created_at=reported.at, updated_at=reported.at, held_seconds=held)
        sla.fix_due_times(ticket, sla.targets_for(ticket.trade_id or ticket.trade.id, ticket.priority))
        session.add(ticket)
        session.add(TicketEvent(ticket=ticket, at=reported.at, actor_id=reported.actor_id, kind="reported",
                                to_status="new", note=reported.note, channel=reported.channel, data=reported.data))
        for step in sorted(history, key=lambda s: s.at):
            rule = MOVES[step.name]
            if ticket.status not in rule.sources:
                raise refusal(step.name, ticket)
            before = ticket.status
            if step.name == "assign":
                ticket.assignee_id = step.technician_id
            if step.name in PAST_TIMES:
                setattr(ticket, PAST_TIMES[step.name], step.at)
            if step.name == "attend":
                ticket.acknowledged_at = ticket.acknowledged_at or step.at
            ticket.status = rule.target
            ticket.updated_at = step.at
            session.add(TicketEvent(ticket=ticket, at=step.at, actor_id=step.actor_id,
                                    kind="assigned" if step.name == "assign" else step.name, from_status=before,
                                    to_status=ticket.status, channel=step.channel, note=step.note, data=step.data))
        sla.recompute_breaches(ticket, now)
    return ticket
