"""Assigning a ticket to a licensed technician; the licence rule is checked here for every path."""
from __future__ import annotations

from dataclasses import dataclass

from flask_babel import gettext as _

from dispatch.clock import now as clock_now
from dispatch.errors import ConflictError, IllegalTransitionError, ValidationError
from dispatch.services import access, emergency_plans, licences, notify
from dispatch.sms import text as sms_text
from dispatch.services.tickets import record_event, load_for_change, status_label
from dispatch.services.unit_of_work import write_transaction
from models import UNASSIGNED_STATUSES, Ticket, User

# Reassigning is allowed until the work is finished.
REASSIGNABLE = frozenset({"assigned", "acknowledged", "attended", "on_hold", "made_safe"})


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
        from dispatch.services import incidents

        incidents.refuse_if_follower(session, ticket)
        reassigning = ticket.assignee_id is not None
        if ticket.status not in UNASSIGNED_STATUSES and ticket.status not in REASSIGNABLE:
            raise IllegalTransitionError(
                _("Ticket %(number)s is %(status)s; it cannot be assigned.", number=ticket.number,
                  status=status_label(ticket.status))
            )
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
    """Give the ticket to a technician inside the caller's transaction: licence check, history,
    the SMS (and for emergencies the call) they are owed, and the previous technician told.
    The lead ticket of a major incident takes the incident's other tickets with it, and its SMS
    names the incident; `notify_people=False` (those other tickets) owes no SMS at all."""
    from dispatch.services import incidents

    licences.ensure_licensed(technician, ticket.trade, now)
    incident = incidents.led_by(session, ticket.id)
    previous_status, previous_assignee = ticket.status, ticket.assignee_id
    reassigning = previous_assignee is not None
    ticket.assignee_id = technician.id
    ticket.assignee = technician
    ticket.assigned_at = now
    ticket.auto_assigned = automatic
    ticket.status = "assigned"
    ticket.updated_at = now
    if reassigning:
        ticket.reassign_count += 1
    if reassigning and notify_people:
        previous = session.get(User, previous_assignee)
        notify.owe_sms(session, recipient=previous, body=sms_text.for_user(previous, sms_text.reassigned_away, ticket), kind="reassigned_away",
                       ticket=ticket)
    record_event(ticket, "reassigned" if reassigning else "assigned", actor_id, now, "system" if automatic else channel,
           from_status=previous_status, to_status="assigned", note=note or technician.full_name,
           data={"technician_id": technician.id, "previous_technician_id": previous_assignee, "automatic": automatic,
                 # Whether this line owed its SMS: not for an accepted page or an incident's follower.
                 "notified": notify_people})
    if notify_people:
        body = (incidents.team_text(session, incident, technician) if incident is not None
                else sms_text.for_user(technician, sms_text.assignment, ticket, emergency_plans.sms_link(ticket)))
        notify.owe_sms(session, recipient=technician, body=body,
                       kind="reassignment" if reassigning else "assignment", ticket=ticket)
    if voice and notify_people:
        notify.owe_call(session, recipient=technician, body=sms_text.for_user(technician, sms_text.voice_job, ticket), kind="call", ticket=ticket)
    from dispatch.services import escalation

    escalation.on_assigned(session, ticket, technician.id, now,
                           released_id=previous_assignee if reassigning and notify_people else None)
    if incident is not None:
        incidents.assign_followers(session, incident, technician, now, actor_id=actor_id, channel=channel)
