"""Reporting a fault and moving a ticket through its life. One state machine for every path."""
from __future__ import annotations

from datetime import datetime, timedelta

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from dispatch.clock import now as clock_now
from dispatch.errors import ConflictError, IllegalTransitionError, NotFoundError, PermissionDeniedError, ValidationError
from dispatch.services import access, licences, permits, sla
from dispatch.services.unit_of_work import write_transaction
from models import OPEN_STATUSES, Asset, Location, Ticket, TicketEvent, Trade, User, Ward, db

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

# action -> (statuses it may start from, status it leads to)
TRANSITIONS: dict[str, tuple[frozenset[str], str]] = {
    "acknowledge": (frozenset({"assigned"}), "acknowledged"),
    "refuse": (frozenset({"assigned", "acknowledged"}), "refused"),
    # Arriving without acknowledging first counts as acknowledging too.
    "attend": (frozenset({"assigned", "acknowledged"}), "attended"),
    "hold": (frozenset({"attended", "made_safe"}), "on_hold"),
    "resume": (frozenset({"on_hold"}), "attended"),
    "make_safe": (frozenset({"attended", "on_hold"}), "made_safe"),
    "resolve": (frozenset({"attended", "made_safe", "on_hold"}), "resolved"),
    "confirm": (frozenset({"resolved"}), "closed"),
    "reopen": (frozenset({"resolved", "closed"}), "reopened"),
    "cancel": (frozenset(OPEN_STATUSES), "cancelled"),
}
# Actions that need a note saying why (refuse, hold, reopen, cancel) or what was done (make safe, resolve);
# the API's document requires it for exactly these.
ACTIONS_NEEDING_A_NOTE = frozenset({"refuse", "hold", "make_safe", "resolve", "reopen", "cancel"})
WORK_ACTIONS = frozenset({"acknowledge", "refuse", "attend", "hold", "resume", "make_safe", "resolve"})
WARD_ACTIONS = frozenset({"confirm", "reopen"})
# Nobody has taken the job on yet: what escalation chases.
UNACKNOWLEDGED = frozenset({"new", "assigned", "refused", "reopened"})

MAX_DESCRIPTION = 1000
MAX_NOTE = 1000


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
    event = TicketEvent(ticket=ticket, kind=kind, actor_id=actor_id, at=at, channel=channel, **fields)
    db.session.add(event)
    return event


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
    candidates = _dispatch_candidates(ward_id, trade_id, priority, patient_at_risk, whole_area, now)
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
                       candidates=candidates, photos=photos)
    return ticket


def _dispatch_candidates(ward_id: int, trade_id: int, priority: int | None, patient_at_risk: bool, whole_area: bool,
                         now: datetime) -> list[int] | None:
    """Who is on call to take the job, read before the write lock: on SQLite every other writer (an SMS
    worker claiming a message, say) waits while a report holds it, and the rota is a fifth of a report's
    work. None (unknown ward or trade, or not auto-dispatched) leaves it to auto_dispatch."""
    from dispatch.services import escalation

    ward, trade = db.session.get(Ward, ward_id), db.session.get(Trade, trade_id)
    if ward is None or trade is None:
        return None
    return escalation.dispatch_candidates(trade.id, priority or sla.propose_priority(trade, ward, bool(patient_at_risk),
                                                                                   bool(whole_area)), now)


def _file(session, now: datetime, channel: str, *, data: dict, planned: bool = False,
          candidates: list[int] | None = None, photos: list | None = None, **fields) -> Ticket:
    """The new ticket with its targets, its first history line, dispatch and escalation timer."""
    ticket = Ticket(**fields, status="new", created_at=now, updated_at=now, held_seconds=0)
    sla.fix_due_times(ticket, sla.targets_for(ticket.trade.id, ticket.priority))
    session.add(ticket)
    reported = record_event(ticket, "reported", fields.get("reporter_id"), now, channel, to_status="new",
                      note=ticket.description, data=data)
    for photo in photos or ():
        photo.ticket, photo.event = ticket, reported
        session.add(photo)
    session.flush()
    from dispatch.services import emergency_plans, escalation, incidents

    # Before dispatch, so the technician's first SMS carries the plan's link.
    emergency_plans.on_priority(session, ticket, now)
    # A report joining a major incident follows its lead ticket: no dispatch or escalation of its own.
    # Planned work is never grouped with faults: an inspection is not a sign that something has failed.
    if planned or incidents.on_reported(session, ticket, now) is None:
        escalation.auto_dispatch(session, ticket, now, candidates)
        escalation.start(session, ticket, now)
    return ticket


def file_planned(session, now: datetime, *, ward: Ward, location: Location | None, asset: Asset | None, trade: Trade,
                 description: str, schedule_id: int, due_date: str) -> Ticket:
    """A P4 planned ticket opened by a maintenance schedule, inside the caller's transaction: the same
    targets, history, dispatch and escalation as any ticket, with no reporter (the schedule opened it)."""
    return _file(session, now, "system", planned=True, ward=ward, location=location or (asset.location if asset else None),
                 asset=asset, trade=trade, priority=4, place_detail=None, patient_at_risk=False, whole_area=False,
                 description=description[:MAX_DESCRIPTION], reporter_id=None,
                 data={"priority": 4, "planned": True, "schedule_id": schedule_id, "due_date": due_date})


def load_for_change(session, ticket_id: int, expected_version: int | None, viewer: User | None = None) -> Ticket:
    # FOR UPDATE serialises writers on PostgreSQL; SQLite is already serialised by BEGIN IMMEDIATE.
    ticket = session.scalars(select(Ticket).where(Ticket.id == ticket_id).with_for_update()).one_or_none()
    # Visibility before the version check: a stale version must not reveal another ward's ticket.
    if ticket is None or (viewer is not None and not access.can_view(viewer, ticket)):
        raise NotFoundError(_("Ticket %(number)s not found.", number=ticket_id))
    _check_version(ticket, expected_version)
    return ticket


def _check_version(ticket: Ticket, expected_version: int | None) -> None:
    if expected_version is not None and ticket.version != expected_version:
        raise ConflictError(
            _("Ticket %(number)s was changed meanwhile (now %(status)s). Nothing was overwritten; look again.",
              number=ticket.number, status=status_label(ticket.status))
        )


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
        _check_version(ticket, expected_version)
        step(session, ticket, action, actor, now, channel=channel, note=note, labour_minutes=labour_minutes,
             parts_used=parts_used, parts=parts, rating=rating)
        from dispatch.services import incidents

        incidents.on_lead_transition(session, ticket, action, actor, now, channel, note)
    return ticket


def step(session, ticket: Ticket, action: str, actor: User | None, now: datetime, *, channel: str,
         note: str | None = None, follower: bool = False, **details) -> None:
    """One action on a ticket the caller has loaded for change, inside the caller's transaction: the
    rule, the times, the breach flags, the event, the SMS owed and the escalation timer. Incidents move
    each grouped ticket with it (`follower`: no SMS and no escalation of its own). Raises
    IllegalTransitionError, NotLicensedError or ValidationError."""
    from dispatch.services import escalation

    if action == "acknowledge" and not follower and actor is not None and access.may_accept_page(actor, ticket):
        # Someone paged for the job accepts it first: it becomes theirs (licence checked), then is acknowledged.
        escalation.take_paged_job(session, ticket, actor, now, channel)
    sources, target = TRANSITIONS[action]
    if ticket.status not in sources:
        raise IllegalTransitionError(
            _("Ticket %(number)s is %(status)s; it cannot be %(action)s.", number=ticket.number,
              status=status_label(ticket.status), action=ACTION_LABELS[action])
        )
    if action in {"acknowledge", "attend"} and ticket.assignee_id:
        # Never beyond one's licence: taking on or starting the job needs it valid now (SMS too).
        licences.ensure_licensed(session.get(User, ticket.assignee_id), ticket.trade, now)
    if action == "attend" and not follower:
        permits.ensure_may_attend(ticket, now)  # work that needs a permit to work: accepted, in its window
    if action == "resolve":
        permits.ensure_may_resolve(ticket)  # no resolving while the isolation may still be in place
    note = clean_text(note, "note", required=action in ACTIONS_NEEDING_A_NOTE)
    data: dict = {}
    previous = ticket.status
    _apply(ticket, action, now, note, data, **details)
    if action == "resolve":
        from dispatch.services.checklists import unticked_count

        # No flush until the step is whole: one UPDATE of the ticket, so its version moves by one per action.
        with session.no_autoflush:
            # Allowed, but on record: the planned-work report counts jobs closed with steps unticked.
            unticked = unticked_count(session, ticket.id)
            if unticked:
                data["checklist_unticked"] = unticked
            _cost_on_finish(session, ticket, actor, now, data, details.get("parts") or [])
    ticket.status = target if not (action == "resume" and ticket.made_safe_at) else "made_safe"
    ticket.updated_at = now
    actor_id = actor.id if actor is not None else None
    sla.record_breaches(ticket, now, actor_id, channel)
    record_event(ticket, action, actor_id, now, channel, from_status=previous, to_status=ticket.status,
           note=note, data=data or None)
    if follower:
        return
    _notify(session, ticket, action, actor, note, data)
    escalation.on_transition(session, ticket, action, now)


def _cost_on_finish(session, ticket: Ticket, actor: User | None, now: datetime, data: dict, parts: list) -> None:
    """Labour priced at the trade's rate and parts taken off the shelf, in the finishing transaction: if a
    part is short, the job is not marked done either, and the technician is told what is left."""
    from dispatch.services import costs, stock

    costs.price_labour(session, ticket, data.get("labour_minutes") or 0, now)
    issued = [stock.issue_to_ticket(session, ticket, line.part, line.quantity, actor, now, line.store_id)
              for line in parts]
    if issued:
        data["parts"] = [[line.part.code, line.quantity, str(line.unit_cost)] for line in issued]


def _notify(session, ticket: Ticket, action: str, actor: User, note: str | None, data: dict) -> None:
    """The SMS a transition owes, written in the same transaction."""
    from dispatch.services import notify
    from dispatch.sms import text as sms_text

    if action == "refuse":
        refuser = session.get(User, data["technician_id"])
        for supervisor in session.scalars(select(User).where(User.role == "supervisor", User.active.is_(True),
                                                             User.phone.is_not(None))):
            notify.owe_sms(session, recipient=supervisor, kind="refusal", ticket=ticket,
                           body=sms_text.for_user(supervisor, sms_text.refused, ticket,
                                                  refuser.full_name if refuser else "?", note))
    elif action == "cancel" and ticket.assignee_id and ticket.assignee_id != actor.id:
        assignee = session.get(User, ticket.assignee_id)
        notify.owe_sms(session, recipient=assignee, kind="cancellation", ticket=ticket,
                       body=sms_text.for_user(assignee, sms_text.cancelled, ticket, note))


def _apply(ticket: Ticket, action: str, now: datetime, note: str | None, data: dict, **details) -> None:
    """The side effects of each action on the ticket's times and fields."""
    if action == "acknowledge":
        ticket.acknowledged_at = ticket.acknowledged_at or now
    elif action == "refuse":
        data["technician_id"] = ticket.assignee_id
        ticket.assignee_id = None
        ticket.refusal_count += 1
    elif action == "attend":
        ticket.acknowledged_at = ticket.acknowledged_at or now
        ticket.attended_at = ticket.attended_at or now
    elif action == "hold":
        ticket.on_hold_since = now
        ticket.hold_reason = _headline(note, Ticket.hold_reason)
    elif action == "resume":
        _end_hold(ticket, now, data)
    elif action == "make_safe":
        _end_hold(ticket, now, data)
        ticket.made_safe_at = now
        ticket.resolution_note = note
    elif action == "resolve":
        _end_hold(ticket, now, data)
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
    elif action == "confirm":
        rating = details.get("rating")
        if rating is not None and rating not in (1, 2, 3, 4, 5):
            raise ValidationError(_("Rating must be 1 to 5."), field="rating")
        ticket.closed_at = now
        ticket.rating = rating
        ticket.feedback = note
        data["rating"] = rating
    elif action == "reopen":
        ticket.reopen_count += 1
        ticket.resolved_at = None
        ticket.made_safe_at = None
        ticket.closed_at = None
        data["technician_id"] = ticket.assignee_id
        ticket.assignee_id = None
    elif action == "cancel":
        _end_hold(ticket, now, data)
        ticket.cancelled_at = now
        ticket.cancel_reason = _headline(note, Ticket.cancel_reason)


def _headline(note: str | None, column) -> str | None:
    """The start of a note that fits the ticket's short reason field (the board shows it); the whole note
    is kept in the ticket's history."""
    limit = column.type.length
    if note is None or len(note) <= limit:
        return note
    return note[:limit - 1].rstrip() + "…"


def _end_hold(ticket: Ticket, now: datetime, data: dict) -> None:
    """Close a hold: the paused time is added to the resolve due time (the clock stood still)."""
    if ticket.on_hold_since is None:
        return
    paused = int((now - ticket.on_hold_since).total_seconds())
    ticket.held_seconds += paused
    ticket.resolve_due_at += timedelta(seconds=paused)
    data["paused_seconds"] = paused
    ticket.on_hold_since = None
    ticket.hold_reason = None


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
            raise IllegalTransitionError(_("Only open tickets can be re-prioritised."))
        reason = clean_text(reason, "note", required=True)
        old = ticket.priority
        if old == priority:
            return ticket
        ticket.priority = priority
        sla.fix_due_times(ticket, sla.targets_for(ticket.trade_id, priority))
        # Breach flags follow the new due times.
        for name, is_late in sla.live_breaches(ticket, now).items():
            setattr(ticket, f"{name}_breached", is_late)
        ticket.updated_at = now
        record_event(ticket, "reprioritised", actor.id, now, channel, note=reason, data={"from": old, "to": priority})
        from dispatch.services import emergency_plans, escalation, incidents

        emergency_plans.on_priority(session, ticket, now)
        # A job filed without a chain (P4) and raised to a priority that has one starts paging now: a step whose
        # wait has already run out since the ticket was filed is due at once. An incident's follower does not.
        incident = incidents.incident_of_ticket(ticket.id)
        if ticket.status in UNACKNOWLEDGED and escalation.status(ticket.id) is None and (
                incident is None or incident.lead_ticket_id == ticket.id):
            escalation.start(session, ticket, now)
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
