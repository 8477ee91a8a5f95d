"""Major incidents: many wards reporting one outage are grouped under a lead ticket, so one team is
sent and one message goes out, not fifty. The other tickets follow the lead (assignment, arrival,
resolution), each keeping its own times, so every ward's service target is still measured."""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from flask import current_app
from flask_babel import gettext as _
from flask_babel import ngettext
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from dispatch.clock import now as clock_now
from dispatch.errors import DispatchError, IllegalTransitionError, NotFoundError, PermissionDeniedError, ValidationError
from dispatch.services import access, emergency_plans, engine, escalation, notify, rota
from dispatch.services.engine import GROUPABLE, TRANSITIONS, Move, clean_text, load_for_change
from dispatch.services.unit_of_work import write_transaction
from dispatch.sms import incident_text
from dispatch.sms import text as sms_text
from models import (
    Building, EscalationPage, Incident, IncidentMember, PlannedOccurrence, Ticket, Trade, User, Ward, db,
)

# What the others do when the lead does it (confirm and reopen belong to each ward).
FOLLOWED = ("acknowledge", "refuse", "attend", "hold", "resume", "make_safe")
PROGRESS = {"new": 0, "refused": 0, "reopened": 0, "assigned": 1, "acknowledged": 2}


def _setting(name: str) -> int:
    return int(current_app.config[name])


def _window() -> timedelta:
    return timedelta(minutes=_setting("MAJOR_INCIDENT_WINDOW_MINUTES"))


# ---- reading -------------------------------------------------------------------------------------

def _active_member(session, ticket_id: int) -> IncidentMember | None:
    """The ticket's place in an open incident, if it has one."""
    return session.scalar(
        select(IncidentMember).join(Incident, Incident.id == IncidentMember.incident_id)
        .where(IncidentMember.ticket_id == ticket_id, IncidentMember.ungrouped_at.is_(None), Incident.state == "open")
        .limit(1))


def led_by(session, ticket_id: int) -> Incident | None:
    """The open incident this ticket leads, if any."""
    return session.scalar(select(Incident).where(Incident.lead_ticket_id == ticket_id, Incident.state == "open").limit(1))


def open_incident_for(session, trade_id: int, building_id: int) -> Incident | None:
    return session.scalar(select(Incident).where(Incident.state == "open", Incident.trade_id == trade_id,
                                                 Incident.building_id == building_id).order_by(Incident.id).limit(1))


def members_of(incident: Incident) -> list[Ticket]:
    """Tickets grouped now, the lead first."""
    active = [m for m in incident.members if m.ungrouped_at is None]
    return [m.ticket for m in sorted(active, key=lambda m: (not m.is_lead, m.ticket_id))]


def ward_count(incident: Incident) -> int:
    return len({t.ward_id for t in members_of(incident)})


def team_text(session, incident: Incident, person: User) -> str:
    """The team's SMS for `person`, in their language: the values worked out here, the text only formats them."""
    session.flush()
    lead = session.get(Ticket, incident.lead_ticket_id)
    at_risk = any(t.patient_at_risk for t in members_of(incident))
    return sms_text.for_user(person, incident_text.team, incident, lead, ward_count(incident), at_risk,
                             emergency_plans.sms_link(lead))


def _planned_ticket_ids():
    """SQL: the tickets a maintenance schedule opened. Planned work is not a sign that something has failed:
    it never opens, joins or leads an incident (a P4 inspection leading a power cut stood the on-call
    electricians down and left the outage with no escalation)."""
    return select(PlannedOccurrence.ticket_id).where(PlannedOccurrence.ticket_id.is_not(None))


def is_planned(session, ticket_id: int) -> bool:
    return session.scalar(select(PlannedOccurrence.id).where(PlannedOccurrence.ticket_id == ticket_id).limit(1)) is not None


def _refuse_planned(session, ticket: Ticket) -> None:
    if is_planned(session, ticket.id):
        raise IllegalTransitionError(
            _("Ticket %(n)d is planned maintenance: it is never part of an incident.", n=ticket.number))


def _cluster(session, trade_id: int, building_id: int, since: datetime, *, planned: bool = False) -> list[Ticket]:
    """Recent groupable fault reports of one trade in one building that are in no open incident, oldest
    first (`planned`: the planned tickets there instead, to say why they were left out)."""
    grouped = (select(IncidentMember.ticket_id).join(Incident, Incident.id == IncidentMember.incident_id)
               .where(IncidentMember.ungrouped_at.is_(None), Incident.state == "open"))
    kind = Ticket.id.in_(_planned_ticket_ids()) if planned else Ticket.id.not_in(_planned_ticket_ids())
    return list(session.scalars(
        select(Ticket).join(Ward, Ward.id == Ticket.ward_id)
        .where(Ticket.trade_id == trade_id, Ward.building_id == building_id, Ticket.created_at >= since,
               Ticket.status.in_(GROUPABLE), Ticket.id.not_in(grouped), kind)
        .order_by(Ticket.created_at, Ticket.id)))


# ---- grouping (inside the caller's transaction) -------------------------------------------------

def on_reported(session, ticket: Ticket, now: datetime) -> Incident | None:
    """Called by report_fault before dispatch. Returns the incident the new ticket now follows (it then
    gets no dispatch or escalation of its own), or None when it stands alone or leads."""
    building_id = ticket.ward.building_id
    incident = open_incident_for(session, ticket.trade_id, building_id)
    if incident is not None:
        _tell_released(session, incident, _group(session, incident, ticket, now, None))
        return incident
    auto = _setting("MAJOR_INCIDENT_AUTO_THRESHOLD")
    if auto < 2:
        return None  # 0 or 1 turns automatic grouping off
    cluster = _cluster(session, ticket.trade_id, building_id, now - _window())
    if len(cluster) < auto:
        return None
    incident = _open(session, cluster, now, None)
    return None if incident.lead_ticket_id == ticket.id else incident


def _open(session, tickets: list[Ticket], now: datetime, actor_id: int | None) -> Incident:
    for ticket in tickets:
        _refuse_planned(session, ticket)
    # The lead is the ticket furthest on (someone already has it), else the first reported.
    lead = max(tickets, key=lambda t: (PROGRESS.get(t.status, 0), -t.created_at.timestamp(), -t.id))
    incident = Incident(trade_id=lead.trade_id, building_id=lead.ward.building_id, lead_ticket_id=lead.id,
                        state="open", opened_at=now, opened_by_id=actor_id)
    session.add(incident)
    session.flush()
    session.add(IncidentMember(incident=incident, ticket_id=lead.id, is_lead=True, grouped_at=now,
                               grouped_by_id=actor_id, own_status=lead.status, own_assignee_id=lead.assignee_id))
    released: dict[int, list[int]] = {}
    for ticket in tickets:
        if ticket.id != lead.id:
            for person, numbers in _group(session, incident, ticket, now, actor_id).items():
                released.setdefault(person, []).extend(numbers)
    wards = ward_count(incident)
    minutes = max(1, round((max(t.created_at for t in tickets) - min(t.created_at for t in tickets)).total_seconds() / 60))
    record_event(lead, "incident_opened", actor_id, now,
           _("Lead ticket of incident #%(n)d: %(count)d %(trade)s reports from %(building)s (%(wards)d wards).",
             n=incident.number, count=len(tickets), trade=incident.trade.display_name, building=incident.building.display_name,
             wards=wards), {"incident_id": incident.id, "tickets": [t.id for t in tickets]})
    # The duty manager on call hears of every major incident at once.
    for person in rota.on_call(None, ("duty_manager",), now):
        notify.owe_sms(session, recipient=person, kind="incident", ticket=lead,
                       body=sms_text.for_user(person, incident_text.opened, incident, lead, len(tickets), wards, minutes))
    _tell_released(session, incident, released)
    return incident


def record_event(ticket: Ticket, kind: str, actor_id: int | None, now: datetime, note: str, data: dict | None = None) -> None:
    engine.record_event(ticket, kind, actor_id, now, "web" if actor_id else "system", note=note, data=data)


def _by(session, actor_id: int | None) -> tuple[User | None, str]:
    """Who makes an incident's move, and on which channel: the dispatcher's click, or the system."""
    return (session.get(User, actor_id), "web") if actor_id else (None, "system")


def _group(session, incident: Incident, ticket: Ticket, now: datetime, actor_id: int | None) -> dict[int, list[int]]:
    """Put one ticket under the incident's lead. Returns {technician id: [ticket numbers]} of people
    the ticket was taken from, to be told once each."""
    _refuse_planned(session, ticket)
    lead = session.get(Ticket, incident.lead_ticket_id)
    session.add(IncidentMember(
        incident=incident, ticket_id=ticket.id, is_lead=False, grouped_at=now, grouped_by_id=actor_id,
        own_status=ticket.status, own_assignee_id=ticket.assignee_id,
        own_times={"assigned_at": _iso(ticket.assigned_at), "acknowledged_at": _iso(ticket.acknowledged_at),
                   "auto_assigned": bool(ticket.auto_assigned)}))
    escalation.stop_while_grouped(session, ticket.id, now)
    actor, channel = _by(session, actor_id)
    engine.move(session, ticket, "group", actor=actor, at=now, channel=channel,
                note=_("Grouped into incident #%(n)d (%(trade)s, %(building)s); it follows ticket %(n)d.",
                       n=incident.number, trade=incident.trade.display_name, building=incident.building.display_name),
                data={"incident_id": incident.id})
    if ticket.priority < lead.priority:
        _raise_lead(session, lead, ticket, now, actor_id)
    previous = ticket.assignee_id
    _follow_lead(session, incident, lead, ticket, now, actor_id, "web" if actor_id else "system")
    if previous and previous != ticket.assignee_id:
        return {previous: [ticket.number]}
    return {}


def _raise_lead(session, lead: Ticket, ticket: Ticket, now: datetime, actor_id: int | None) -> None:
    """The incident is as urgent as its most urgent ward: the lead takes that priority (its due times
    are recomputed from its creation, as for any re-prioritisation) and that priority's escalation, and
    is dispatched at once if nobody has it (the grouped report was not dispatched on its own)."""
    actor, channel = _by(session, actor_id)
    engine.move(session, lead, "reprioritise", actor=actor, at=now, channel=channel, priority=ticket.priority,
                by_incident=True, note=_("The incident includes a P%(p)d report (ticket %(n)d).", p=ticket.priority,
                                         n=ticket.number))
    escalation.on_priority_raised(session, lead, now)


def _follow_lead(session, incident: Incident, lead: Ticket, ticket: Ticket, now: datetime, actor_id: int | None,
                 channel: str) -> None:
    """Bring a grouped ticket to where the lead stands: the lead's technician, acknowledged if the lead is."""
    if lead.assignee_id is None or ticket.assignee_id == lead.assignee_id or not ticket.is_open:
        return
    technician = session.get(User, lead.assignee_id)
    try:
        engine.move(session, ticket, "assign", actor=_by(session, actor_id)[0], at=now, channel=channel,
                    technician=technician, automatic=lead.auto_assigned, notify_people=False,
                    note=_("%(name)s (incident #%(n)d team)", name=technician.full_name, n=incident.number))
        if lead.acknowledged_at is not None:
            engine.move(session, ticket, "acknowledge", actor=None, at=now, channel=channel, follower=True,
                        note=_("With incident #%(n)d.", n=incident.number))
    except DispatchError:
        return  # e.g. a licence lapsed since the lead was assigned: the ticket waits for the dispatcher's choice


def _tell_released(session, incident: Incident, released: dict[int, list[int]]) -> None:
    for person_id, numbers in released.items():
        if person_id != session.get(Ticket, incident.lead_ticket_id).assignee_id:
            person = session.get(User, person_id)
            notify.owe_sms(session, recipient=person, kind="incident", ticket=None,
                           body=sms_text.for_user(person, incident_text.released, incident, sorted(numbers)))


def _iso(moment: datetime | None) -> str | None:
    return moment.isoformat() if moment else None


def refuse_if_follower(session, ticket: Ticket) -> None:
    """A grouped ticket is assigned with its lead, never on its own."""
    member = _active_member(session, ticket.id)
    if member is not None and not member.is_lead:
        raise IllegalTransitionError(
            _("Ticket %(number)s is part of incident #%(n)d: assign its lead ticket %(n)d, or ungroup it first.",
              number=ticket.number, n=member.incident.number))


def assign_followers(session, incident: Incident, technician: User, now: datetime, *, actor_id: int | None,
                     channel: str) -> None:
    """The lead was given to a technician: the incident's other tickets go to the same person, silently
    (the one SMS the lead's assignment sent names the incident and the number of wards)."""
    lead = session.get(Ticket, incident.lead_ticket_id)
    for ticket in members_of(incident):
        if ticket.id != lead.id:
            _follow_lead(session, incident, lead, ticket, now, actor_id, channel)


def on_lead_transition(session, ticket: Ticket, action: str, actor: User, now: datetime, channel: str,
                       note: str | None) -> None:
    """After the lead moves on (inside the same transaction), the incident's other tickets follow."""
    incident = led_by(session, ticket.id)
    if incident is None:
        return
    if action == "cancel":
        raise IllegalTransitionError(
            _("Ticket %(n)d leads incident #%(n)d: resolve the incident, or ungroup the other tickets first.",
              n=ticket.number))
    if action == "resolve":
        _resolve_members(session, incident, actor, now, channel, note or "", skip=ticket.id)
        return
    if action not in FOLLOWED:
        return
    sources = TRANSITIONS[action][0]
    for other in members_of(incident):
        if other.id != ticket.id and other.status in sources:
            engine.move(session, other, action, actor=actor, at=now, channel=channel, note=note, follower=True)


def follow_the_lead(session, made: Move) -> None:
    """The hook after each action: an incident's other tickets follow its lead (not the moves the incident
    itself makes on its tickets)."""
    if not made.details.get("incident_move"):
        on_lead_transition(session, made.ticket, made.name, made.actor, made.at, made.channel, made.note)


def _resolve_members(session, incident: Incident, actor: User, now: datetime, channel: str, outcome: str,
                     skip: int | None = None) -> int:
    """Resolve every open ticket of the incident with the same outcome, each through the state machine
    with its own event. A ticket nobody recorded on site gets 'on site' at the same moment: the team
    fixed its fault where the outage was (that is what resolving the incident says)."""
    lead = session.get(Ticket, incident.lead_ticket_id)
    done = 0
    for ticket in members_of(incident):
        if ticket.id == skip or not ticket.is_open:
            continue
        follower = ticket.id != lead.id
        if ticket.status in ("new", "refused", "reopened"):
            if lead.assignee_id is None:
                raise IllegalTransitionError(
                    _("Nobody is assigned to incident #%(n)d: assign its lead ticket first.", n=incident.number))
            engine.move(session, ticket, "assign", actor=actor, at=now, channel=channel,
                        technician=session.get(User, lead.assignee_id), automatic=False, notify_people=False)
        if ticket.status in ("assigned", "acknowledged"):
            engine.move(session, ticket, "attend", actor=actor, at=now, channel=channel, follower=follower,
                        incident_move=True,
                        note=_("Recorded with the resolution of incident #%(n)d.", n=incident.number))
        engine.move(session, ticket, "resolve", actor=actor, at=now, channel=channel, follower=follower,
                    incident_move=True, note=outcome)
        done += 1
    incident.state, incident.resolved_at, incident.resolved_by_id = "resolved", now, actor.id
    incident.outcome = outcome
    record_event(lead, "incident_resolved", actor.id, now, outcome, {"incident_id": incident.id, "resolved": done})
    return done


# ---- what the control room does ------------------------------------------------------------------

def group_reports(trade_id: int, building_id: int, actor: User) -> Incident:
    """The dispatcher accepts the board's proposal: recent reports of this trade from this building
    become one incident (or join the one already open)."""
    now = clock_now()
    with write_transaction() as session:
        actor = session.get(User, actor.id)
        access.require_role(actor, access.CONTROL_ROOM)
        cluster = _cluster(session, trade_id, building_id, now - _window())
        planned = _cluster(session, trade_id, building_id, now - _window(), planned=True)
        if planned and len(cluster) < (1 if open_incident_for(session, trade_id, building_id) else 2):
            raise ValidationError(ngettext(
                "Ticket %(numbers)s is planned maintenance: planned work is never grouped into an incident.",
                "Tickets %(numbers)s are planned maintenance: planned work is never grouped into an incident.",
                len(planned), numbers=", ".join(str(t.number) for t in planned)))
        incident = open_incident_for(session, trade_id, building_id)
        if incident is not None:
            released: dict[int, list[int]] = {}
            for ticket in cluster:
                for person, numbers in _group(session, incident, ticket, now, actor.id).items():
                    released.setdefault(person, []).extend(numbers)
            _tell_released(session, incident, released)
            return incident
        if len(cluster) < 2:
            raise ValidationError(_("There are no longer several reports to group."))
        return _open(session, cluster, now, actor.id)


def ungroup_ticket(ticket_id: int, actor: User, reason: str) -> Ticket:
    """A ticket that did not belong goes back to the board as an ordinary ticket, with the assignment
    it had of its own before it was grouped, and escalates on its own again. Recorded on the ticket."""
    now = clock_now()
    with write_transaction() as session:
        actor = session.get(User, actor.id)
        access.require_role(actor, access.CONTROL_ROOM)
        ticket = load_for_change(session, ticket_id, None)
        member = _active_member(session, ticket.id)
        if member is None:
            raise IllegalTransitionError(_("Ticket %(n)s is not part of an open incident.", n=ticket.number))
        if member.is_lead:
            raise IllegalTransitionError(_("Ticket %(n)s leads the incident: resolve the incident instead.", n=ticket.number))
        reason = clean_text(reason, "note", required=True, limit=200)
        member.ungrouped_at, member.ungrouped_by_id, member.ungroup_reason = now, actor.id, reason
        team = ticket.assignee_id
        # Not yet on site: the incident's team was never going there, so the ticket gets back what it had.
        own = ((member.own_status, member.own_assignee_id, member.own_times or {}) if ticket.status in GROUPABLE
               else None)
        engine.move(session, ticket, "ungroup", actor=actor, at=now, channel="web", own=own,
                    note=_("Taken out of incident #%(n)d: %(reason)s", n=member.incident.number, reason=reason),
                    data={"incident_id": member.incident_id, "incident_technician_id": team})
        escalation.resume_after_ungroup(session, ticket, now)
        if ticket.assignee_id and ticket.assignee_id != team:
            # Given back to the technician it was taken from (who was told to leave it): tell them again.
            notify.owe_sms(session, recipient=ticket.assignee, kind="assignment", ticket=ticket,
                           body=sms_text.for_user(ticket.assignee, sms_text.assignment, ticket,
                                                  emergency_plans.sms_link(ticket)))
    return ticket


def resolve_incident(incident_id: int, actor: User, outcome: str, channel: str = "web") -> Incident:
    """Resolve the incident and every ticket in it, in one transaction, the outcome on each."""
    now = clock_now()
    with write_transaction() as session:
        actor = session.get(User, actor.id)
        access.require_role(actor, access.CONTROL_ROOM)
        incident = session.scalars(select(Incident).where(Incident.id == incident_id).with_for_update()).one_or_none()
        if incident is None:
            raise NotFoundError(_("Incident %(n)s not found.", n=incident_id))
        if incident.state != "open":
            raise IllegalTransitionError(_("Incident #%(n)d is already resolved.", n=incident.number))
        outcome = clean_text(outcome, "note", required=True)
        for ticket_id in [t.id for t in members_of(incident)]:  # lock them in id order, like any writer
            session.scalars(select(Ticket).where(Ticket.id == ticket_id).with_for_update()).one()
        _resolve_members(session, incident, actor, now, channel, outcome)
    return incident


def comment_on_incident(incident_id: int, actor: User, note: str) -> None:
    """A ward adds what it sees to the lead ticket instead of filing the same fault again."""
    now = clock_now()
    with write_transaction() as session:
        actor = session.get(User, actor.id)
        incident = session.get(Incident, incident_id)
        if incident is None or incident.state != "open":
            raise NotFoundError(_("Incident %(n)s not found.", n=incident_id))
        if actor.role not in access.REPORTERS:
            raise PermissionDeniedError(_("Your role may not do this."))
        if actor.role == "nurse" and (actor.ward is None or actor.ward.building_id != incident.building_id):
            raise PermissionDeniedError(_("Your ward is not in %(building)s.", building=incident.building.display_name))
        note = clean_text(note, "note", required=True)
        where = actor.ward.display_name if actor.ward else actor.full_name
        engine.record_event(session.get(Ticket, incident.lead_ticket_id), "comment", actor.id, now, "web",
                     note=f"{where}: {note}", data={"ward_id": actor.ward_id, "incident_id": incident.id})


# ---- what people see -----------------------------------------------------------------------------

@dataclass
class Proposal:
    trade: Trade
    building: Building
    tickets: list[Ticket]

    @property
    def minutes(self) -> int:
        span = max(t.created_at for t in self.tickets) - min(t.created_at for t in self.tickets)
        return max(1, round(span.total_seconds() / 60))


@dataclass
class Summary:
    """An open incident as a dispatcher at 3 a.m. must read it at a glance: how many reports from where, at
    risk or not, who has it, who has been paged and when, and what the escalation does next."""

    incident: Incident
    lead: Ticket
    reports: int
    wards: list[str]
    at_risk: int
    paged: list[tuple[EscalationPage, str]]  # each page, and why they were paged
    next_step: tuple[str, datetime, str] | None
    exhausted: bool


@dataclass
class Panel:
    incidents: list[Incident] = field(default_factory=list)
    proposals: list[Proposal] = field(default_factory=list)
    followers: set[int] = field(default_factory=set)
    leads: dict[int, Incident] = field(default_factory=dict)
    summaries: dict[int, Summary] = field(default_factory=dict)

    @property
    def grouped_reports(self) -> int:
        """Reports in open incidents besides their leads (the board shows each incident once)."""
        return len(self.followers)


def board_panel(now: datetime) -> Panel:
    """Open incidents (their grouped tickets leave the board's ordinary rows) and proposals: at least
    MAJOR_INCIDENT_THRESHOLD recent reports of one trade from one building, not yet grouped."""
    incidents = list(db.session.scalars(
        select(Incident).where(Incident.state == "open").order_by(Incident.opened_at)
        .options(selectinload(Incident.members).selectinload(IncidentMember.ticket).selectinload(Ticket.ward))))
    panel = Panel(incidents=incidents)
    leads = [incident.lead_ticket_id for incident in incidents]
    pages = escalation.pages_for_board(leads)
    timers = escalation.active_for_board(leads)
    for incident in incidents:
        panel.leads[incident.lead_ticket_id] = incident
        tickets = members_of(incident)
        panel.followers.update(t.id for t in tickets if t.id != incident.lead_ticket_id)
        timer = timers.get(incident.lead_ticket_id)
        panel.summaries[incident.id] = Summary(
            incident=incident, lead=incident.lead_ticket, reports=len(tickets),
            wards=sorted({t.ward.display_name for t in tickets}), at_risk=sum(1 for t in tickets if t.patient_at_risk),
            paged=[(page, escalation.page_label(page)) for page in pages.get(incident.lead_ticket_id, [])],
            next_step=escalation.next_step(timer),
            exhausted=timer is not None and timer.state == "exhausted")
    threshold = _setting("MAJOR_INCIDENT_THRESHOLD")
    if threshold < 2:
        return panel
    recent = db.session.scalars(
        select(Ticket).where(Ticket.created_at >= now - _window(), Ticket.status.in_(GROUPABLE),
                             Ticket.id.not_in(_planned_ticket_ids()))
        .options(selectinload(Ticket.ward).selectinload(Ward.building), selectinload(Ticket.trade))).all()
    clusters: dict[tuple[int, int], list[Ticket]] = {}
    for ticket in recent:
        if ticket.id not in panel.followers and ticket.id not in panel.leads:
            clusters.setdefault((ticket.trade_id, ticket.ward.building_id), []).append(ticket)
    for tickets in clusters.values():
        if len(tickets) >= threshold:
            tickets.sort(key=lambda t: (t.created_at, t.id))
            panel.proposals.append(Proposal(trade=tickets[0].trade, building=tickets[0].ward.building, tickets=tickets))
    return panel


def ongoing_for(ward_id: int, trade_id: int) -> Incident | None:
    """The open incident a ward's report of this trade would join (the report form says so at once)."""
    ward = db.session.get(Ward, ward_id)
    if ward is None:
        return None
    return open_incident_for(db.session, trade_id, ward.building_id)


def incident_of_ticket(ticket_id: int) -> Incident | None:
    member = _active_member(db.session, ticket_id)
    return member.incident if member else None


# ---- the incident's hooks on the engine's moves (registered in policies.py) ----------------------

def team_follows(session, made: Move) -> None:
    """After "assign": the lead was given to a technician, so the incident's other tickets go to them too."""
    incident = led_by(session, made.ticket.id)
    if incident is not None:
        assign_followers(session, incident, made.details["technician"], made.at, actor_id=made.actor_id,
                         channel=made.channel)


def lead_stays_most_urgent(session, made: Move) -> str | None:
    """Guard on "reprioritise": an incident is as urgent as its most urgent ward, so its lead may not be
    lowered below any ticket it leads."""
    incident = led_by(session, made.ticket.id)
    if incident is None:
        return None
    others = [t.priority for t in members_of(incident) if t.id != made.ticket.id]
    if others and made.details["priority"] > min(others):
        return _("Ticket %(number)d leads incident #%(n)d, which includes a P%(p)d report: it cannot be less urgent.",
                 number=made.ticket.number, n=incident.number, p=min(others))
    return None


def member_raises_lead(session, made: Move) -> None:
    """After "reprioritise": a grouped ticket made more urgent than its lead raises the lead with it (as when
    it was grouped), so the incident's escalation is that of its most urgent ward."""
    member = _active_member(session, made.ticket.id)
    if member is None or member.is_lead:
        return
    lead = session.get(Ticket, member.incident.lead_ticket_id)
    if made.ticket.priority < lead.priority and lead.is_open:
        _raise_lead(session, lead, made.ticket, made.at, made.actor_id)
