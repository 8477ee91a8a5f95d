"""Reporting a fault and moving a ticket through its life: what pages, the API, SMS and voice call. Every
change is one move of the ticket engine (engine.py); the policies react to it through their hooks."""
from __future__ import annotations

from datetime import datetime

from flask_babel import gettext as _

from dispatch.clock import now as clock_now
from dispatch.errors import NotFoundError, PermissionDeniedError, ValidationError
from dispatch.services import access, engine, sla
# The engine's names other modules have always read from here.
from dispatch.services.engine import (  # noqa: F401
    ACTION_LABELS, ACTIONS_NEEDING_A_NOTE, MAX_NOTE, STATUS_LABELS, TRANSITIONS, check_version, clean_text,
    load_for_change, record_event, status_label,
)
from dispatch.services.unit_of_work import write_transaction
from models import Asset, Location, Ticket, TicketEvent, Trade, User, Ward

WORK_ACTIONS = frozenset({"acknowledge", "refuse", "attend", "hold", "resume", "make_safe", "resolve"})
WARD_ACTIONS = frozenset({"confirm", "reopen"})

MAX_DESCRIPTION = 1000


def report_fault(
    reporter: User,
    *,
    ward_id: int,
    trade_id: int,
    description: str,
    patient_at_risk: bool = False,
    whole_area: bool = True,
    location_id: int | None = None,
    asset_id: int | None = None,
    place_detail: str | None = None,
    priority: int | None = None,
    channel: str = "web",
    photos: list | None = None,
) -> Ticket:
    """File a fault. Priority is proposed from trade, ward and answers; the control room may set it.
    `photos`: TicketPhoto rows already made (dispatch.services.photos), filed with the report so that the
    technician's first SMS knows of them."""
    now = clock_now()
    ahead = engine.read_ahead("report", ward_id=ward_id, trade_id=trade_id, priority=priority,
                              patient_at_risk=bool(patient_at_risk), whole_area=bool(whole_area), at=now)
    with write_transaction() as session:
        reporter = session.get(User, reporter.id)
        ward = session.get(Ward, ward_id)
        if ward is None:
            raise ValidationError(_("Choose a ward."), field="ward_id")
        if not access.may_report_for(reporter, ward.id):
            raise PermissionDeniedError(_("You may report faults only for your own ward."))
        trade = session.get(Trade, trade_id)
        if trade is None:
            raise ValidationError(_("Choose what has failed."), field="trade_id")
        description = clean_text(description, "description", required=True, limit=MAX_DESCRIPTION)
        if len(description) < 3:
            raise ValidationError(_("Say in a few words what is wrong."), field="description")
        asset = session.get(Asset, asset_id) if asset_id else None
        if asset_id and (asset is None or asset.ward_id != ward.id):
            raise ValidationError(_("That asset is not in this ward."), field="asset_id")
        if asset is not None and location_id is None:
            location_id = asset.location_id
        location = session.get(Location, location_id) if location_id else None
        if location_id and (location is None or location.ward_id != ward.id):
            raise ValidationError(_("That room is not in this ward."), field="location_id")
        proposed = sla.propose_priority(trade, ward, patient_at_risk, whole_area)
        if priority is not None and priority != proposed:
            if not access.may_set_priority(reporter):
                raise PermissionDeniedError(_("Only the control room can set the priority."))
            if priority not in (1, 2, 3, 4):
                raise ValidationError(_("Priority must be 1 to 4."), field="priority")
        chosen = priority or proposed
        ticket = _file(session, now, channel, ward=ward, location=location, asset=asset, trade=trade, priority=chosen,
                       place_detail=clean_text(place_detail, "place_detail", required=False, limit=120),
                       patient_at_risk=bool(patient_at_risk), whole_area=bool(whole_area), description=description,
                       reporter_id=reporter.id, data={"priority": chosen, "proposed_priority": proposed},
                       ahead=ahead, photos=photos, reporter=reporter)
    return ticket


def _file(session, now: datetime, channel: str, *, data: dict, planned: bool = False, ahead: dict | None = None,
          photos: list | None = None, reporter: User | None = None, **fields) -> Ticket:
    """The new ticket: its targets and first history line by the engine; dispatch, an incident to join, its
    emergency plan and its escalation timer by the policies' hooks on "report"."""
    return engine.move(session, None, "report", actor=reporter, at=now, channel=channel, fields=fields, data=data,
                       planned=planned, ahead=ahead or {}, attach=photos).ticket


def file_planned(session, now: datetime, *, ward: Ward, location: Location | None, asset: Asset | None, trade: Trade,
                 description: str, schedule_id: int, due_date: str) -> Ticket:
    """A P4 planned ticket opened by a maintenance schedule, inside the caller's transaction: the same
    targets, history, dispatch and escalation as any ticket, with no reporter (the schedule opened it)."""
    return _file(session, now, "system", planned=True, ward=ward, location=location or (asset.location if asset else None),
                 asset=asset, trade=trade, priority=4, place_detail=None, patient_at_risk=False, whole_area=False,
                 description=description[:MAX_DESCRIPTION], reporter_id=None,
                 data={"priority": 4, "planned": True, "schedule_id": schedule_id, "due_date": due_date})


def file_corrective(session, now: datetime, *, reporter: User, ward: Ward, location: Location | None,
                    asset: Asset | None, trade: Trade, description: str, channel: str, data: dict) -> Ticket:
    """A fault found by a check (a failed round item or test reading), inside the caller's transaction so
    the ticket and the answer that opened it are written together: the priority proposed as for a ward's
    report, the same history, dispatch (licence rule) and escalation. `data` links it to the check."""
    priority = sla.propose_priority(trade, ward, False, False)
    return _file(session, now, channel, ward=ward, location=location or (asset.location if asset else None),
                 asset=asset, trade=trade, priority=priority, place_detail=None, patient_at_risk=False,
                 whole_area=False, description=description[:MAX_DESCRIPTION], reporter_id=reporter.id,
                 data={"priority": priority, "proposed_priority": priority, **data}, reporter=reporter)


def _check_actor(actor: User, ticket: Ticket, action: str) -> None:
    if not access.can_view(actor, ticket):
        raise NotFoundError(_("Ticket %(number)s not found.", number=ticket.id))
    paged = action == "acknowledge" and access.may_accept_page(actor, ticket)
    if action in WORK_ACTIONS and not access.may_work(actor, ticket) and not paged:
        raise PermissionDeniedError(_("Ticket %(number)s is not assigned to you.", number=ticket.number))
    if action in WARD_ACTIONS and not access.may_confirm(actor, ticket):
        raise PermissionDeniedError(_("Only the reporting ward can confirm or reopen."))
    if action == "cancel":
        reporter_withdrawing = actor.role == "nurse" and ticket.status == "new"
        if actor.role not in access.CONTROL_ROOM and not reporter_withdrawing:
            raise PermissionDeniedError(_("Only the control room can cancel a ticket once it is assigned."))


def transition(
    ticket_id: int,
    action: str,
    actor: User,
    *,
    channel: str = "web",
    expected_version: int | None = None,
    note: str | None = None,
    labour_minutes: int | None = None,
    parts_used: str | None = None,
    parts: list | None = None,
    rating: int | None = None,
) -> Ticket:
    """Apply one state-machine action, or raise with a message that says why not."""
    if action not in TRANSITIONS:
        raise ValidationError(_("Unknown action."), field="action")
    now = clock_now()
    with write_transaction() as session:
        actor = session.get(User, actor.id)
        ticket = load_for_change(session, ticket_id, None, viewer=actor)
        # Who may, before whether the page was stale: someone who may not is told only that.
        _check_actor(actor, ticket, action)
        check_version(ticket, expected_version)
        step(session, ticket, action, actor, now, channel=channel, note=note, labour_minutes=labour_minutes,
             parts_used=parts_used, parts=parts, rating=rating)
    return ticket


def step(session, ticket: Ticket, action: str, actor: User | None, now: datetime, *, channel: str,
         note: str | None = None, follower: bool = False, **details) -> None:
    """One action on a ticket the caller has loaded for change, inside the caller's transaction (engine.move).
    Incidents move each grouped ticket with it (`follower`: no SMS and no escalation of its own). Raises
    IllegalTransitionError, NotLicensedError or ValidationError."""
    engine.move(session, ticket, action, actor=actor, at=now, channel=channel, note=note, follower=follower, **details)


def reprioritise(ticket_id: int, priority: int, actor: User, *, reason: str, channel: str = "web",
                 expected_version: int | None = None) -> Ticket:
    """Change priority; due times are recomputed from creation with the targets in force now."""
    if priority not in (1, 2, 3, 4):
        raise ValidationError(_("Priority must be 1 to 4."), field="priority")
    now = clock_now()
    with write_transaction() as session:
        actor = session.get(User, actor.id)
        access.require_role(actor, access.CONTROL_ROOM)
        ticket = load_for_change(session, ticket_id, expected_version)
        if not ticket.is_open:
            raise engine.refusal("reprioritise", ticket)
        reason = clean_text(reason, "note", required=True)
        if ticket.priority == priority:
            return ticket
        engine.move(session, ticket, "reprioritise", actor=actor, at=now, channel=channel, note=reason,
                    priority=priority)
    return ticket


def add_comment(ticket_id: int, actor: User, note: str, channel: str = "web") -> TicketEvent:
    now = clock_now()
    with write_transaction() as session:
        actor = session.get(User, actor.id)
        ticket = session.get(Ticket, ticket_id)
        if ticket is None or not access.can_view(actor, ticket):
            raise NotFoundError(_("Ticket %(number)s not found.", number=ticket_id))
        note = clean_text(note, "note", required=True)
        event = record_event(ticket, "comment", actor.id, now, channel, note=note)
    return event
