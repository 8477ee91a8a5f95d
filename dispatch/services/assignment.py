"""Assigning a ticket to a licensed technician (the engine's "assign" move checks the licence on every path),
and what an assignment owes: the technician's SMS (the incident's team SMS for a lead), the call for an
emergency, and the technician it was taken from told."""
from __future__ import annotations

from dataclasses import dataclass

from flask_babel import gettext as _

from dispatch.clock import now as clock_now
from dispatch.errors import ConflictError, ValidationError
from dispatch.services import access, emergency_plans, engine, incidents, licences, notify
from dispatch.services.engine import Move, load_for_change
from dispatch.services.unit_of_work import write_transaction
from dispatch.sms import text as sms_text
from models import Ticket, User


@dataclass(frozen=True)
class Candidate:
    technician: User
    open_jobs: int


def candidates_for(ticket: Ticket) -> list[Candidate]:
    """Technicians eligible for this ticket now, least loaded first."""
    people = licences.eligible_technicians(ticket.trade, clock_now())
    load = licences.open_load([p.id for p in people])
    return sorted((Candidate(p, load.get(p.id, 0)) for p in people), key=lambda c: (c.open_jobs, c.technician.full_name))


def assign_ticket(
    ticket_id: int,
    technician_id: int,
    actor: User | None,
    *,
    expected_version: int | None = None,
    channel: str = "web",
    automatic: bool = False,
) -> Ticket:
    """Assign or reassign. Raises NotLicensedError, ConflictError (someone else got there first)
    or IllegalTransitionError. A caller reassigning must say which version it saw."""
    now = clock_now()
    with write_transaction() as session:
        actor_id = None
        if actor is not None:
            actor = session.get(User, actor.id)
            access.require_role(actor, access.CONTROL_ROOM)
            actor_id = actor.id
        ticket = load_for_change(session, ticket_id, expected_version)
        incidents.refuse_if_follower(session, ticket)
        reassigning = ticket.assignee_id is not None
        if ticket.status not in engine.MOVES["assign"].sources:
            raise engine.refusal("assign", ticket)
        if reassigning and expected_version is None:
            # Without the version the caller saw, we cannot tell a reassignment from a lost race.
            raise ConflictError(
                _("Ticket %(number)s is already assigned to %(name)s.", number=ticket.number,
                  name=ticket.assignee.full_name)
            )
        technician = session.get(User, technician_id)
        if technician is None:
            raise ValidationError(_("No such technician."), field="technician_id")
        if technician.id == ticket.assignee_id:
            raise ValidationError(_("%(name)s already has this job.", name=technician.full_name), field="technician_id")
        apply_assignment(session, ticket, technician, now, actor_id=actor_id, channel=channel, automatic=automatic)
    return ticket


def apply_assignment(session, ticket: Ticket, technician: User, now, *, actor_id: int | None, channel: str,
                     automatic: bool, voice: bool = False, note: str | None = None, notify_people: bool = True) -> None:
    """Give the ticket to a technician inside the caller's transaction: the engine's "assign" move (licence
    check, history), then its hooks: the SMS (and for emergencies the call) they are owed and the previous
    technician told (notify_assigned), the escalation's wait, an incident's other tickets following its lead.
    `notify_people=False` (an accepted page, an incident's other tickets) owes no SMS at all."""
    actor = session.get(User, actor_id) if actor_id else None
    engine.move(session, ticket, "assign", actor=actor, at=now, channel=channel, technician=technician,
                automatic=automatic, voice=voice, note=note, notify_people=notify_people)


def notify_assigned(session, made: Move) -> None:
    """The hook on "assign": the SMS an assignment owes. The lead ticket of a major incident's SMS names the
    incident (one SMS for the whole team's work)."""
    if not made.details.get("notify_people", True):
        return
    ticket, technician = made.ticket, made.details["technician"]
    reassigning = made.previous_assignee_id is not None
    if reassigning:
        previous = session.get(User, made.previous_assignee_id)
        notify.owe_sms(session, recipient=previous, body=sms_text.for_user(previous, sms_text.reassigned_away, ticket),
                       kind="reassigned_away", ticket=ticket)
    incident = incidents.led_by(session, ticket.id)
    body = (incidents.team_text(session, incident, technician) if incident is not None
            else sms_text.for_user(technician, sms_text.assignment, ticket, emergency_plans.sms_link(ticket)))
    notify.owe_sms(session, recipient=technician, body=body, kind="reassignment" if reassigning else "assignment",
                   ticket=ticket)
    if made.details.get("voice"):
        notify.owe_call(session, recipient=technician, body=sms_text.for_user(technician, sms_text.voice_job, ticket),
                        kind="call", ticket=ticket)
