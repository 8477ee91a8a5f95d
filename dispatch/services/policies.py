"""Where the policies meet the ticket engine: every hook and guard on its moves, registered in one function.
The engine (engine.py) imports none of the policies; this module, at the top of the services, imports them
all and tells the engine who reacts to what, in this order. create_app calls register_policies()."""
from __future__ import annotations

from dispatch.services import (
    assignment, checklists, costs, emergency_plans, engine, escalation, incidents, notify, permits,
)
from dispatch.services.engine import ACTIONS, UNANSWERED, Move


def register_policies() -> None:
    """(Re)build the engine's hooks and guards. Idempotent: the app factory runs it for every app it makes."""
    engine.clear_hooks()
    # A report: who is on call is read before the write lock; then its plan, an incident to join, dispatch
    # and the escalation timer.
    engine.on("report", escalation.candidates_for_report, phase="read")
    engine.on("report", dispatch_report)
    # Giving the job: its SMS, the escalation's wait, an incident's team following its lead.
    engine.on("assign", assignment.notify_assigned)
    engine.on("assign", escalation.on_assignment)
    engine.on("assign", incidents.team_follows)
    # Someone paged accepts: the job becomes theirs before it is acknowledged.
    engine.on("acknowledge", escalation.accept_page, phase="before")
    # Finishing a job: unticked checklist steps on record, labour and parts costed.
    engine.on("resolve", checklists.note_unticked, phase="during")
    engine.on("resolve", costs.on_finish, phase="during")
    for action in ACTIONS:
        engine.on(action, notify.owe_for_action)
        engine.on(action, escalation.on_moved)
        engine.on(action, incidents.follow_the_lead)
    engine.add_guard("reprioritise", incidents.lead_stays_most_urgent)
    # Work under a permit to work: nobody on site without one accepted and in its window, and no resolving
    # while its isolation may still be in place.
    engine.add_guard("attend", permits.attend_refusal)
    engine.add_guard("resolve", permits.resolve_refusal)
    engine.on("reprioritise", reprioritised)
    engine.on("reprioritise", incidents.member_raises_lead)


def dispatch_report(session, made: Move) -> None:
    """Before dispatch the plan, so the technician's first SMS carries its link. A report joining a major
    incident follows its lead ticket: no dispatch or escalation of its own. Planned work is never grouped
    with faults: an inspection is not a sign that something has failed."""
    ticket, now = made.ticket, made.at
    emergency_plans.on_priority(session, ticket, now)
    if made.details.get("planned") or incidents.on_reported(session, ticket, now) is None:
        escalation.auto_dispatch(session, ticket, now, made.details["ahead"].get("candidates"))
        escalation.start(session, ticket, now)


def reprioritised(session, made: Move) -> None:
    """A new priority by hand: the plan for an emergency, and a job filed without a chain (P4) raised to a
    priority that has one starts paging now (a step whose wait has already run out since the ticket was
    filed is due at once). An incident's follower does not; an incident raising its lead handles its own."""
    if made.details.get("by_incident"):
        return
    ticket, now = made.ticket, made.at
    emergency_plans.on_priority(session, ticket, now)
    incident = incidents.incident_of_ticket(ticket.id)
    if ticket.status in UNANSWERED and escalation.status(ticket.id) is None and (
            incident is None or incident.lead_ticket_id == ticket.id):
        escalation.start(session, ticket, now)
