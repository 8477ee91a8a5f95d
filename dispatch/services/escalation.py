"""Escalation: unacknowledged (or acknowledged but not attended) jobs climb the trade's chain,
step by step, until someone answers. The timer of each ticket is a database row, claimed by the
scheduler every second, so restarts of any process, or of Redis, neither lose nor repeat a step."""
from __future__ import annotations

import logging
from datetime import datetime, timedelta

from flask import current_app
from flask_babel import gettext as _
from flask_babel import ngettext
from sqlalchemy import and_, func, select

from dispatch.clock import now as clock_now
from dispatch.errors import DispatchError
from dispatch.services import access, engine, licences, notify, rota, sla
from dispatch.services.engine import Move
from dispatch.services.unit_of_work import write_transaction
from dispatch.sms import text as sms_text
from models import (
    EscalationPage, EscalationPolicy, Incident, IncidentMember, OnCallShift, Ticket, TicketEscalation, TicketEvent, Trade,
    User, Ward, db,
)

log = logging.getLogger(__name__)
WATCHDOG_GRACE = timedelta(seconds=30)
BUSY_STATUSES = ("assigned", "acknowledged", "attended")
# What the chain chases, read from the ticket's status now: nobody has taken the job on (acknowledge phase) or
# nobody is on site yet (attend phase). Not its first acknowledgement or on-site times: those stay set when a
# job is reassigned or reopened, and the new wait must still page someone.
UNANSWERED = engine.UNANSWERED
CHASED = (*UNANSWERED, "acknowledged")

# Used when the hospital has defined no policy for a trade and priority (the brief's chain).
DEFAULT_CHAINS: dict[int, tuple[int, list[tuple[str, int, bool]]]] = {
    1: (3, [("next_on_call", 5, True), ("supervisor", 5, True), ("duty_manager", 5, True)]),
    2: (2, [("next_on_call", 15, False), ("supervisor", 15, False), ("duty_manager", 30, False)]),
    3: (1, [("supervisor", 120, False), ("duty_manager", 120, False)]),
}


# ---- starting, switching and stopping (inside the caller's transaction) -----------------------

def default_attend_chain(priority: int) -> list[tuple[str, int, bool]]:
    """Used when the matching policy (or none) defines no attend steps: the supervisor as soon as the attend
    target passes, then the duty manager; called by phone for an emergency."""
    voice = priority == 1
    return [("supervisor", 0, voice), ("duty_manager", 15 if priority <= 2 else 60, voice)]


def _matching_policy(ticket: Ticket) -> EscalationPolicy | None:
    """The most specific policy for the ticket's trade and priority: trade and priority, trade, priority, any."""
    policies = db.session.scalars(select(EscalationPolicy)).all()

    def rank(p: EscalationPolicy) -> int | None:
        if p.trade_id not in (None, ticket.trade_id) or p.priority not in (None, ticket.priority):
            return None
        return (2 if p.trade_id is not None else 0) + (1 if p.priority is not None else 0)

    ranked = sorted((r, p.id, p) for p in policies if (r := rank(p)) is not None)
    return ranked[-1][2] if ranked else None


def _frozen(steps) -> list[dict]:
    return [{"target": s.target, "wait_minutes": s.wait_minutes, "voice": s.voice, "group_name": s.group_name,
             "group_user_ids": list(s.group_user_ids or [])} for s in steps]


def _policy_chain(ticket: Ticket) -> tuple[str, int, list[dict]] | None:
    """The acknowledge chain in force now for this ticket, as plain data to freeze on the ticket."""
    policy = _matching_policy(ticket)
    if policy is not None:
        steps = _frozen(s for s in policy.steps if s.phase != "attend")
        return (policy.name, max(1, policy.repeat), steps) if steps else None
    if ticket.priority not in DEFAULT_CHAINS:
        return None
    repeat, steps = DEFAULT_CHAINS[ticket.priority]
    return (_("Default P%(p)d chain", p=ticket.priority), repeat,
            [{"target": t, "wait_minutes": w, "voice": v, "group_name": None, "group_user_ids": []} for t, w, v in steps])


def start(session, ticket: Ticket, now: datetime) -> TicketEscalation | None:
    """Freeze the chain on a newly filed ticket; its first step is due after its wait."""
    found = _policy_chain(ticket)
    if found is None:
        return None
    name, repeat, chain = found
    escalation = TicketEscalation(
        ticket=ticket, waiting_for="acknowledge", policy_name=name, priority=ticket.priority, chain=chain,
        repeat=repeat, round=0, step_index=0,
        next_due_at=ticket.created_at + timedelta(minutes=chain[0]["wait_minutes"]), state="active",
        tried_user_ids=[ticket.assignee_id] if ticket.assignee_id else [], started_at=now, updated_at=now)
    session.add(escalation)
    if ticket.assignee_id:
        _page(session, ticket, ticket.assignee_id, "assigned", now)
    return escalation


def _for_ticket(session, ticket_id: int) -> TicketEscalation | None:
    return session.scalar(select(TicketEscalation).where(TicketEscalation.ticket_id == ticket_id))


def on_transition(session, ticket: Ticket, action: str, now: datetime) -> None:
    """Keep the timer in step with the ticket, in the same transaction as the change."""
    if action == "acknowledge":
        # Whoever accepted has the job: everyone else paged for it hears who did, whatever the chain's state.
        _close_pages(session, ticket, now, accepted_by=ticket.assignee_id)
    escalation = _for_ticket(session, ticket.id)
    if escalation is not None and escalation.state == "exhausted" and action == "acknowledge":
        escalation.state = "active"  # accepted after every step was tried: nobody on site in time still escalates
    if escalation is None or escalation.state != "active" and action not in ("refuse", "reopen"):
        return
    if action == "acknowledge":
        _switch_to_attend(escalation, ticket, now)
    elif action in ("attend", "resolve", "make_safe", "cancel"):
        _stop(escalation, now)
    elif action in ("refuse", "reopen") and ticket.is_open:
        # The job is nobody's now: the chain (back in its acknowledge phase) moves on at once.
        if escalation.waiting_for != "acknowledge" or escalation.state != "active":
            name, repeat, chain = _policy_chain(ticket) or (None, 1, [])
            if not chain:
                return
            escalation.policy_name, escalation.chain, escalation.repeat = name, chain, repeat
            escalation.priority = ticket.priority
            escalation.waiting_for, escalation.round, escalation.step_index = "acknowledge", 0, 0
            escalation.state = "active"
        # A refusal moves on at once; a reopened job gets the first step's wait like a new one.
        escalation.next_due_at = now if action == "refuse" else now + timedelta(
            minutes=escalation.chain[0]["wait_minutes"])
        escalation.updated_at = now


def on_assigned(session, ticket: Ticket, technician_id: int, now: datetime, released_id: int | None = None) -> None:
    """A new technician gets the current step's wait before the chain moves on from them. They are paged
    for the job; a technician the control room took it from (and told so) no longer is."""
    if released_id is not None:
        for page in _open_pages(session, ticket.id):
            if page.user_id == released_id:
                page.closed_at, page.outcome = now, "released"
    escalation = _for_ticket(session, ticket.id)
    if escalation is not None and escalation.state == "stopped" and released_id is not None:
        # Given to someone new after the chain stopped (the last technician was on site): the new one has not
        # answered, so the chain runs again, from where the ticket's own clock stands.
        _restart(escalation, ticket, now)
    if escalation is None or escalation.state != "active" or escalation.waiting_for != "acknowledge":
        return  # (a grouped ticket's escalation is stopped: only its lead is paged for)
    _page(session, ticket, technician_id, "assigned", now)
    if technician_id not in escalation.tried_user_ids:
        escalation.tried_user_ids = [*escalation.tried_user_ids, technician_id]
    wait = timedelta(minutes=escalation.chain[escalation.step_index]["wait_minutes"])
    if escalation.next_due_at is None or escalation.next_due_at < now + wait:
        escalation.next_due_at = now + wait
    escalation.updated_at = now


def attend_chain(ticket: Ticket) -> list[dict]:
    """The attend phase in force now: the matching policy's attend steps, else the default."""
    policy = _matching_policy(ticket)
    steps = _frozen(s for s in policy.steps if s.phase == "attend") if policy is not None else []
    return steps or [{"target": t, "wait_minutes": w, "voice": v, "group_name": None, "group_user_ids": []}
                     for t, w, v in default_attend_chain(ticket.priority)]


def _switch_to_attend(escalation: TicketEscalation, ticket: Ticket, now: datetime) -> None:
    """Acknowledged is not enough: no one on site by the attend target escalates too, through the hospital's
    attend steps (the first waits from the attend target), run once."""
    escalation.waiting_for = "attend"
    escalation.chain = attend_chain(ticket)
    escalation.repeat, escalation.round, escalation.step_index = 1, 0, 0
    escalation.next_due_at = max(ticket.attend_due_at + timedelta(minutes=escalation.chain[0]["wait_minutes"]), now)
    escalation.updated_at = now


def _stop(escalation: TicketEscalation, now: datetime) -> None:
    escalation.state = "stopped"
    escalation.next_due_at = None
    escalation.updated_at = now


def stop_while_grouped(session, ticket_id: int, now: datetime) -> None:
    """A ticket grouped into a major incident follows its lead: only the lead escalates, and only the
    lead's pages can be accepted."""
    for page in _open_pages(session, ticket_id):
        page.closed_at, page.outcome = now, "grouped"
    escalation = _for_ticket(session, ticket_id)
    if escalation is not None and escalation.state == "active":
        _stop(escalation, now)


def resume_after_ungroup(session, ticket: Ticket, now: datetime) -> None:
    """A ticket taken out of an incident escalates on its own again, from where its own clock stands:
    a step whose wait has already run out since the ticket was filed is due at once."""
    if ticket.status not in CHASED:
        return  # someone is on site (the incident's team went there): nothing left to chase
    escalation = _for_ticket(session, ticket.id)
    if escalation is None:
        # Grouped when it was reported, it never had a chain of its own.
        escalation = start(session, ticket, now)
        if escalation is not None and ticket.status not in UNANSWERED:
            _switch_to_attend(escalation, ticket, now)
        return
    _restart(escalation, ticket, now)


def on_priority_raised(session, ticket: Ticket, now: datetime) -> None:
    """The ticket became more urgent than its chain (an incident's lead taking in an ICU report): it gets
    the chain of its new priority, from where its own clock stands, and if nobody has the job it is
    dispatched as a new report of that priority would be. A chain already frozen for this priority or a
    more urgent one is left alone (it is running, or it has run)."""
    if ticket.status not in CHASED:
        return
    escalation = _for_ticket(session, ticket.id)
    if escalation is None:
        escalation = start(session, ticket, now)
    elif escalation.priority is None or escalation.priority > ticket.priority:
        _restart(escalation, ticket, now)
    if ticket.assignee_id is None:
        auto_dispatch(session, ticket, now)


def _restart(escalation: TicketEscalation, ticket: Ticket, now: datetime) -> None:
    """Freeze the chain of the ticket's priority now in force, in the phase the ticket is in."""
    found = _policy_chain(ticket)
    if found is None:
        _stop(escalation, now)
        return
    escalation.policy_name, escalation.repeat, escalation.chain = found
    escalation.priority = ticket.priority
    escalation.round, escalation.step_index, escalation.state = 0, 0, "active"
    escalation.tried_user_ids = [ticket.assignee_id] if ticket.assignee_id else []
    if ticket.status not in UNANSWERED:
        _switch_to_attend(escalation, ticket, now)
    else:
        escalation.waiting_for = "acknowledge"
        escalation.next_due_at = max(now, ticket.created_at + timedelta(minutes=escalation.chain[0]["wait_minutes"]))
    escalation.updated_at = now


# ---- who has been paged ------------------------------------------------------------------------

def _open_pages(session, ticket_id: int) -> list[EscalationPage]:
    return list(session.scalars(select(EscalationPage).where(
        EscalationPage.ticket_id == ticket_id, EscalationPage.closed_at.is_(None)).order_by(EscalationPage.id)))


def _page(session, ticket: Ticket, user_id: int, target: str, now: datetime, *, step: int | None = None,
          round_: int | None = None, voice: bool = False) -> None:
    """Record that someone was paged for the job (once while their page is open)."""
    if any(page.user_id == user_id for page in _open_pages(session, ticket.id)):
        return
    session.add(EscalationPage(ticket_id=ticket.id, user_id=user_id, paged_at=now, target=target, step=step,
                               round=round_, voice=voice))
    session.flush()


def _close_pages(session, ticket: Ticket, now: datetime, *, accepted_by: int | None) -> None:
    """The job is accepted: every page of it closes, and each other person paged gets one SMS naming who took it."""
    acceptor = session.get(User, accepted_by) if accepted_by else None
    told: set[int] = set()
    for page in _open_pages(session, ticket.id):
        page.closed_at = now
        page.outcome = "accepted" if page.user_id == accepted_by else "taken"
        if page.user_id == accepted_by or page.user_id in told or acceptor is None:
            continue
        told.add(page.user_id)
        person = session.get(User, page.user_id)
        notify.owe_sms(session, recipient=person, kind="page_taken", ticket=ticket,
                       body=sms_text.for_user(person, sms_text.page_taken, ticket, acceptor.full_name))
    if told:
        # The history owes every SMS it causes: this line is the one the "who took it" messages trace to.
        session.add(TicketEvent(ticket_id=ticket.id, at=now, kind="page_taken", channel="system",
                                note=_("Told who took the job: %(names)s",
                                       names=", ".join(session.get(User, i).full_name for i in sorted(told))),
                                data={"people": sorted(told), "accepted_by": accepted_by}))


def accept_page(session, made: Move) -> None:
    """The hook before "acknowledge": someone paged for a job nobody has accepted accepts it first, so it
    becomes theirs through the ordinary assignment (licence checked, history, an incident's tickets following
    its lead), without the 'reassigned' SMS: the acknowledgement that follows tells everyone else paged who
    took it."""
    technician = made.actor
    if made.follower or technician is None or not access.may_accept_page(technician, made.ticket):
        return
    engine.move(session, made.ticket, "assign", actor=technician, at=made.at, channel=made.channel,
                technician=technician, automatic=False, notify_people=False,
                note=_("%(name)s accepted the page", name=technician.full_name))


def on_moved(session, made: Move) -> None:
    """The hook after each action: the timer follows the ticket."""
    on_transition(session, made.ticket, made.name, made.at)


def on_assignment(session, made: Move) -> None:
    """The hook after "assign": the new technician's wait; the one the control room took it from is released."""
    released = made.previous_assignee_id if made.details.get("notify_people", True) else None
    on_assigned(session, made.ticket, made.details["technician"].id, made.at, released_id=released)


def _give(session, ticket: Ticket, person: User, now: datetime, *, voice: bool, note: str | None) -> None:
    engine.move(session, ticket, "assign", actor=None, at=now, channel="system", technician=person, automatic=True,
                voice=voice, note=note)


def page_label(page: EscalationPage) -> str:
    """How the board names why someone was paged: given the job, or the step that reached them."""
    return _("given the job") if page.target == "assigned" else _target_label({"target": page.target})


def next_step(row: TicketEscalation | None) -> tuple[str, datetime, str] | None:
    """(who the next step reaches, when, what it waits for) of a running chain; None when none runs."""
    if row is None or row.state != "active" or row.next_due_at is None:
        return None
    return _target_label(row.chain[row.step_index]), row.next_due_at, row.waiting_for


def pages_for_board(ticket_ids: list[int]) -> dict[int, list[EscalationPage]]:
    """Everyone paged for these tickets, oldest first (open and closed)."""
    if not ticket_ids:
        return {}
    found: dict[int, list[EscalationPage]] = {}
    for page in db.session.scalars(select(EscalationPage).where(EscalationPage.ticket_id.in_(ticket_ids))
                                   .order_by(EscalationPage.paged_at, EscalationPage.id)):
        found.setdefault(page.ticket_id, []).append(page)
    return found


# ---- the scheduler's side ----------------------------------------------------------------------

def due_clause(now: datetime, grace: timedelta = timedelta(0)):
    """SQL, the one definition of an escalation step being due at `now`: its chain is running and its time
    came at least `grace` ago. Overdue (what the watchdog fires and its monitoring counts) is due with
    WATCHDOG_GRACE; the scheduler fires what is due with none."""
    return and_(TicketEscalation.state == "active", TicketEscalation.next_due_at <= now - grace)


def run_due(now: datetime, *, by: str = "scheduler", grace: timedelta = timedelta(0), limit: int = 200) -> int:
    """Fire every step due at `now` (older than `grace`, for the watchdog). Each ticket in its own
    transaction, claimed with SKIP LOCKED on PostgreSQL (BEGIN IMMEDIATE on SQLite), so two
    schedulers never fire the same step twice and one bad ticket cannot hold up the rest."""
    due_ids = db.session.scalars(
        select(TicketEscalation.id).where(due_clause(now, grace))
        .order_by(TicketEscalation.next_due_at).limit(limit)
    ).all()
    db.session.commit()
    fired = 0
    for escalation_id in due_ids:
        try:
            # Each step is recorded at the moment it fires, not when the round began (a long round
            # would otherwise understate how late its last steps were).
            fired += _process(escalation_id, max(now, clock_now()), by, grace)
        except Exception:
            log.exception("escalation %s failed; it stays due and is retried next round", escalation_id)
            db.session.rollback()
    return fired


def _process(escalation_id: int, now: datetime, by: str, grace: timedelta) -> int:
    with write_transaction() as session:
        query = select(TicketEscalation).where(TicketEscalation.id == escalation_id, due_clause(now, grace))
        if session.get_bind().dialect.name == "postgresql":
            query = query.with_for_update(skip_locked=True)
        escalation = session.scalars(query).one_or_none()
        if escalation is None:
            return 0  # another scheduler has it, or it was stopped meanwhile
        ticket = session.get(Ticket, escalation.ticket_id)
        # Re-check against the ticket: nothing fires for a ticket answered meanwhile.
        if ticket.status not in CHASED:
            _stop(escalation, now)
            return 0
        # The current technician has answered (the first acknowledgement time may be an earlier one's).
        if escalation.waiting_for == "acknowledge" and ticket.status not in UNANSWERED:
            _switch_to_attend(escalation, ticket, now)
            if escalation.next_due_at > now:
                return 0
        return _fire(session, escalation, ticket, now, by)


def _fire(session, escalation: TicketEscalation, ticket: Ticket, now: datetime, by: str) -> int:
    """Fire the current step; a step with nobody to call is recorded and skipped at once."""
    due_at = escalation.next_due_at
    for _guard in range(len(escalation.chain) * escalation.repeat + 1):
        step = escalation.chain[escalation.step_index]
        # Who had the job before the step: a technician step pages beside them (a "page" SMS) or, when nobody
        # had it, gives it to the person paged (an "assigned" line owes that SMS).
        holder_id = ticket.assignee_id
        people = _act(session, escalation, ticket, step, now)
        data = {"holder_id": holder_id, "step": escalation.step_index + 1, "round": escalation.round + 1, "target": step["target"],
                "waiting_for": escalation.waiting_for, "due_at": due_at.isoformat() if due_at else None,
                "lag_seconds": round((now - due_at).total_seconds(), 3) if due_at else None, "by": by,
                "people": [p.id for p in people]}
        if people:
            note = _("%(target)s: %(names)s", target=_target_label(step), names=", ".join(p.full_name for p in people))
            session.add(TicketEvent(ticket_id=ticket.id, at=now, kind="escalated", channel="system", note=note, data=data))
            if by == "watchdog":
                session.add(TicketEvent(ticket_id=ticket.id, at=now, kind="watchdog", channel="system",
                                        note=_("Step was overdue; the watchdog fired it."), data=data))
            escalation.last_fired_at = now
            _advance(session, escalation, ticket, now)
            return 1
        session.add(TicketEvent(ticket_id=ticket.id, at=now, kind="escalation_skipped", channel="system",
                                note=_("%(target)s: nobody on call or licensed", target=_target_label(step)), data=data))
        _advance(session, escalation, ticket, now)
        if escalation.state != "active":
            return 0
    return 0


def _advance(session, escalation: TicketEscalation, ticket: Ticket, now: datetime) -> None:
    escalation.step_index += 1
    if escalation.step_index >= len(escalation.chain):
        escalation.step_index = 0
        escalation.round += 1
        # A new round calls everyone again ("keep calling until someone answers").
        escalation.tried_user_ids = [ticket.assignee_id] if ticket.assignee_id else []
        if escalation.round >= escalation.repeat:
            escalation.state = "exhausted"
            escalation.next_due_at = None
            escalation.updated_at = now
            session.add(TicketEvent(ticket_id=ticket.id, at=now, kind="escalation_exhausted", channel="system",
                                    note=_("Every step was tried; the control room must act.")))
            return
    escalation.next_due_at = now + timedelta(minutes=escalation.chain[escalation.step_index]["wait_minutes"])
    escalation.updated_at = now


def _target_label(step: dict) -> str:
    labels = {"next_on_call": _("next on call"), "primary": _("primary on call"), "secondary": _("secondary on call"),
              "supervisor": _("supervisor"), "duty_manager": _("duty manager"), "group": step.get("group_name") or _("group")}
    return labels.get(step["target"], step["target"])


def busy_on_emergency(user_id: int, except_ticket: int | None = None) -> bool:
    query = select(Ticket.id).where(Ticket.assignee_id == user_id, Ticket.priority == 1,
                                    Ticket.status.in_(BUSY_STATUSES))
    if except_ticket is not None:
        query = query.where(Ticket.id != except_ticket)
    return db.session.scalar(query.limit(1)) is not None


def _act(session, escalation: TicketEscalation, ticket: Ticket, step: dict, now: datetime) -> list[User]:
    """Do what the step says; return who was reached (empty: nobody to reach)."""
    target = step["target"]
    voice = bool(step.get("voice"))
    where = {"step": escalation.step_index + 1, "round_": escalation.round + 1, "voice": voice}
    if target in ("next_on_call", "primary", "secondary"):
        # Escalation widens the circle: whoever has the job keeps it and can still accept; the step pages one
        # more licensed technician on call (a free one first), who can accept too. Only a job nobody holds
        # (refused, or never dispatched) is given to the person paged.
        roles = ("primary", "secondary") if target == "next_on_call" else (target,)
        people = [p for p in rota.on_call(ticket.trade_id, roles, now)
                  if p.id not in escalation.tried_user_ids and p.id != ticket.assignee_id]
        for person in sorted(people, key=lambda p: busy_on_emergency(p.id, ticket.id)):
            try:
                licences.ensure_licensed(person, ticket.trade, now)
                _page(session, ticket, person.id, target, now, **where)
                if ticket.assignee_id is None:
                    _give(session, ticket, person, now, voice=voice, note=_("%(name)s (escalation)", name=person.full_name))
                else:
                    holder = session.get(User, ticket.assignee_id)
                    notify.owe_sms(session, recipient=person, kind="page", ticket=ticket,
                                   body=sms_text.for_user(person, sms_text.page, ticket, holder.full_name))
                    if voice:
                        notify.owe_call(session, recipient=person, kind="page_call", ticket=ticket,
                                        body=sms_text.for_user(person, sms_text.voice_job, ticket))
            except DispatchError:
                continue
            escalation.tried_user_ids = [*escalation.tried_user_ids, person.id]
            return [person]
        return []
    if target == "group":
        people = [u for u in (session.get(User, i) for i in step.get("group_user_ids") or []) if u and u.active]
    else:
        people = rota.on_call(ticket.trade_id, (target,), now)
    for person in people:
        _page(session, ticket, person.id, target, now, **where)
        notify.owe_sms(session, recipient=person, kind="escalation", ticket=ticket,
                       body=sms_text.for_user(person, sms_text.escalation, ticket, escalation.waiting_for))
        if step.get("voice"):
            notify.owe_call(session, recipient=person, kind="escalation_call", ticket=ticket,
                            body=sms_text.for_user(person, sms_text.voice_escalation, ticket,
                                                    escalation.waiting_for))
    return people


# ---- auto-dispatch -----------------------------------------------------------------------------

def dispatch_candidates(trade_id: int, priority: int, now: datetime) -> list[int] | None:
    """Whom auto-dispatch would try for a new job of this trade and priority (the on-call primary, then
    secondary, licensed), or None when such a job is not auto-dispatched. Only reads: a report asks it
    before taking the write lock, where the rota would otherwise be most of its reading."""
    if priority not in current_app.config.get("AUTO_DISPATCH_PRIORITIES", (1, 2)):
        return None
    return [person.id for person in rota.on_call(trade_id, ("primary", "secondary"), now)]


def candidates_for_report(*, ward_id: int, trade_id: int, priority: int | None, patient_at_risk: bool,
                          whole_area: bool, at: datetime) -> dict:
    """The "read" hook of "report": who is on call to take the job, read before the write lock (the rota is a
    fifth of a report's work). None (unknown ward or trade, or not auto-dispatched) leaves it to auto_dispatch."""
    ward, trade = db.session.get(Ward, ward_id), db.session.get(Trade, trade_id)
    if ward is None or trade is None:
        return {"candidates": None}
    return {"candidates": dispatch_candidates(
        trade.id, priority or sla.propose_priority(trade, ward, patient_at_risk, whole_area), at)}


def auto_dispatch(session, ticket: Ticket, now: datetime, candidates: list[int] | None = None) -> User | None:
    """Urgent and emergency jobs go at once to the trade's on-call technician who holds a valid licence
    and is not on leave, a free one first. When every one of them is already on an emergency the job
    still goes to the one holding the fewest (they triage it; its escalation runs as usual, so it reaches
    the secondary and the supervisor if it is not acknowledged): an urgent job is never parked while
    licensed people are on call. Only when nobody licensed is on call does it wait for the dispatcher,
    and the supervisor is told (once per burst of such reports, not per ticket). Routine jobs wait for
    the dispatcher unless the department turns it on for them (AUTO_DISPATCH_PRIORITIES).
    `candidates`: dispatch_candidates() read just before this transaction (a rota changed in between
    counts as changed just after the report; the licence is checked again on assignment)."""
    if ticket.priority not in current_app.config.get("AUTO_DISPATCH_PRIORITIES", (1, 2)):
        return None
    people = (rota.on_call(ticket.trade_id, ("primary", "secondary"), now) if candidates is None
              else [u for u in (session.get(User, i) for i in candidates) if u is not None and u.active])
    held = {person.id: emergencies_held(person.id, ticket.id) for person in people}
    # Free people in rota order (primary first); then, all busy, the least loaded.
    order = sorted(range(len(people)), key=lambda i: (held[people[i].id], i))
    for index in order:
        person = people[index]
        note = None
        if held[person.id]:
            note = ngettext("the only licensed on-call %(trade)s technician is busy on an emergency; given to "
                            "%(name)s with %(p1)d open P1",
                            "all %(num)d licensed on-call %(trade)s technicians are busy on emergencies; given to "
                            "%(name)s with %(p1)d open P1", len(people),
                            trade=ticket.trade.display_name, name=person.full_name, p1=held[person.id])
        try:
            _give(session, ticket, person, now, voice=ticket.priority == 1, note=note)
        except DispatchError:
            continue
        return person
    # Said only where the trade has a rota at all; without one, dispatching by hand is the norm.
    if session.scalar(select(OnCallShift.id).where(OnCallShift.trade_id == ticket.trade_id).limit(1)) is not None:
        _wait_for_dispatcher(session, ticket, now)
    return None


def _wait_for_dispatcher(session, ticket: Ticket, now: datetime) -> None:
    """Nobody licensed for the trade is on call: the job waits for the dispatcher, and the supervisor on call
    hears of it from the first such report of a burst (none of this trade left waiting in the last
    MAJOR_INCIDENT_WINDOW_MINUTES), not from each of them."""
    window = timedelta(minutes=int(current_app.config.get("MAJOR_INCIDENT_WINDOW_MINUTES", 15)))
    already = session.scalar(
        select(TicketEvent.id).join(Ticket, Ticket.id == TicketEvent.ticket_id)
        .where(TicketEvent.kind == "auto_dispatch_none", TicketEvent.at >= now - window,
               Ticket.trade_id == ticket.trade_id, Ticket.id != ticket.id).limit(1)) is not None
    told = [] if already else rota.on_call(ticket.trade_id, ("supervisor",), now)
    # The line names who is told, so every "nobody on call" SMS traces to it.
    session.add(TicketEvent(ticket_id=ticket.id, at=now, kind="auto_dispatch_none", channel="system",
                            note=_("Nobody licensed for %(trade)s is on call: waiting for the dispatcher.",
                                   trade=ticket.trade.display_name),
                            data={"supervisor_told": not already, "people": [p.id for p in told]}))
    for person in told:
        notify.owe_sms(session, recipient=person, kind="nobody_on_call", ticket=ticket,
                       body=sms_text.for_user(person, sms_text.nobody_on_call, ticket))


def emergencies_held(user_id: int, except_ticket: int | None = None) -> int:
    """Open emergencies (P1) a technician has, an incident counted once (its grouped tickets follow its lead)."""
    followers = (select(IncidentMember.ticket_id).join(Incident, Incident.id == IncidentMember.incident_id)
                 .where(IncidentMember.is_lead.is_(False), IncidentMember.ungrouped_at.is_(None),
                        Incident.state == "open"))
    query = select(func.count(Ticket.id)).where(Ticket.assignee_id == user_id, Ticket.priority == 1,
                                                Ticket.status.in_(BUSY_STATUSES), Ticket.id.not_in(followers))
    if except_ticket is not None:
        query = query.where(Ticket.id != except_ticket)
    return db.session.scalar(query) or 0


def status(ticket_id: int) -> TicketEscalation | None:
    return db.session.scalar(select(TicketEscalation).where(TicketEscalation.ticket_id == ticket_id))


def overdue_count(now: datetime) -> int:
    return db.session.scalar(select(func.count(TicketEscalation.id)).where(due_clause(now, WATCHDOG_GRACE))) or 0


def active_for_board(ticket_ids: list[int]) -> dict[int, TicketEscalation]:
    if not ticket_ids:
        return {}
    rows = db.session.scalars(select(TicketEscalation).where(TicketEscalation.ticket_id.in_(ticket_ids)))
    return {row.ticket_id: row for row in rows}

