"""Emergency plans (应急预案): choosing the plan for a P1 ticket, publishing new versions, ticking steps.

A published version never changes. A ticket is fixed to the version it was attached under, so
editing a plan later changes nothing on tickets already handled under it; new P1 tickets get the
current version.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime

from flask import current_app
from flask_babel import gettext as _
from sqlalchemy import select

from dispatch.clock import now as clock_now
from dispatch.errors import IllegalTransitionError, NotFoundError, PermissionDeniedError, ValidationError
from dispatch.services import access, notify
from dispatch.services.engine import clean_text, load_for_change, record_event
from dispatch.services.unit_of_work import write_transaction
from dispatch.sms import text as sms_text
from models import (
    WARD_CRITICALITIES, EmergencyPlan, EmergencyPlanVersion, Ticket, TicketPlanStep, Trade, User, db,
)
from models.names import both_names

PLAN_PRIORITY = 1  # plans are attached to emergencies only
MAX_STEPS = 40
MAX_LINES = 20
# A number someone can dial from a hospital phone: +country, digits, spaces, dashes, brackets, an extension.
PHONE = re.compile(r"^\+?[0-9][0-9 ()\-]{1,22}([ ]?(ext\.?|x|转)[ ]?[0-9]{1,6})?$", re.IGNORECASE)


# ---- reading ------------------------------------------------------------------------------------

def all_plans() -> list[EmergencyPlan]:
    return list(db.session.scalars(select(EmergencyPlan).join(Trade, Trade.id == EmergencyPlan.trade_id)
                                   .order_by(EmergencyPlan.active.desc(), Trade.sort_order, EmergencyPlan.id)))


def get_plan(plan_id: int) -> EmergencyPlan:
    plan = db.session.get(EmergencyPlan, plan_id)
    if plan is None or plan.current is None:
        raise NotFoundError(_("No such emergency plan."))
    return plan


def get_version(plan_id: int, number: int) -> EmergencyPlanVersion:
    version = db.session.scalar(select(EmergencyPlanVersion).where(EmergencyPlanVersion.plan_id == plan_id,
                                                                   EmergencyPlanVersion.number == number))
    if version is None:
        raise NotFoundError(_("No such emergency plan."))
    return version


@dataclass
class PlanStep:
    index: int
    text: str
    done: TicketPlanStep | None


@dataclass
class PlanPanel:
    """What a ticket shows of its plan: the version it is handled under and its steps ticked so far."""
    ticket: Ticket
    version: EmergencyPlanVersion
    steps: list[PlanStep]
    may_tick: bool

    @property
    def done_count(self) -> int:
        return sum(1 for s in self.steps if s.done)

    @property
    def newer_number(self) -> int | None:
        """The plan's current version, when the ticket is handled under an older one."""
        current = self.version.plan.current_number
        return current if current != self.version.number else None


def panel_for(ticket: Ticket, viewer: User) -> PlanPanel | None:
    if ticket.plan_version_id is None:
        return None
    version = ticket.plan_version
    ticks = {t.step_index: t for t in db.session.scalars(
        select(TicketPlanStep).where(TicketPlanStep.ticket_id == ticket.id,
                                     TicketPlanStep.plan_version_id == version.id))}
    steps = [PlanStep(i, text, ticks.get(i)) for i, text in enumerate(version.steps)]
    return PlanPanel(ticket=ticket, version=version, steps=steps,
                     may_tick=ticket.is_open and access.may_work(viewer, ticket))


def short_link(ticket: Ticket) -> str:
    """The plan's address in an SMS. It needs a login (see README: the link alone shows nothing)."""
    return f"{current_app.config['PUBLIC_URL'].rstrip('/')}/p/{ticket.id}"


def sms_link(ticket: Ticket) -> str | None:
    """The plan's address for a job's SMS, when the ticket is handled under a plan (the text only prints it)."""
    return short_link(ticket) if ticket.plan_version_id is not None else None


# ---- choosing a plan for a ticket ---------------------------------------------------------------

def choose_plan(session, ticket: Ticket) -> EmergencyPlan | None:
    """The active plan that fits this ticket best, or None.

    A plan fits when its trade is the ticket's, its criticality (if any) is the ward's, and one of
    its keywords (if any) is in the description. A keyword match beats a criticality match, which
    beats a plan for the whole trade; among equals the oldest plan wins.
    """
    description = (ticket.description or "").casefold()
    best, best_score = None, None
    for plan in session.scalars(select(EmergencyPlan).where(
            EmergencyPlan.trade_id == ticket.trade_id, EmergencyPlan.active.is_(True),
            EmergencyPlan.current_number > 0).order_by(EmergencyPlan.id)):
        if plan.criticality and plan.criticality != ticket.ward.criticality:
            continue
        words = plan.keyword_list
        hit = any(word.casefold() in description for word in words)
        if words and not hit:
            continue
        score = (hit, plan.criticality is not None)
        if best_score is None or score > best_score:
            best, best_score = plan, score
    return best


def _attach(session, ticket: Ticket, version: EmergencyPlanVersion | None, actor_id: int | None, now: datetime,
            channel: str, *, automatic: bool) -> None:
    """Fix the ticket to a plan version (or none) and tell the technician who already has the job."""
    previous = ticket.plan_version
    ticket.plan_version = version
    ticket.plan_version_id = version.id if version is not None else None
    ticket.updated_at = now
    if version is None:
        record_event(ticket, "plan_removed", actor_id, now, channel, note=previous.label if previous else None,
               data={"plan_version_id": previous.id if previous else None})
        return
    record_event(ticket, "plan_attached", actor_id, now, "system" if automatic else channel, note=version.label,
           data={"plan_id": version.plan_id, "plan_version_id": version.id, "number": version.number,
                 "previous_plan_version_id": previous.id if previous else None, "automatic": automatic})
    if ticket.assignee_id:
        technician = session.get(User, ticket.assignee_id)
        notify.owe_sms(session, recipient=technician, kind="plan", ticket=ticket,
                       body=sms_text.for_user(technician, sms_text.plan_attached, ticket, short_link(ticket)))


def on_priority(session, ticket: Ticket, now: datetime) -> None:
    """A ticket became (or was filed as) P1: attach the plan that fits, if there is one and none yet."""
    if ticket.priority != PLAN_PRIORITY or ticket.plan_version_id is not None:
        return
    plan = choose_plan(session, ticket)
    if plan is not None:
        _attach(session, ticket, plan.current, None, now, "system", automatic=True)


def set_ticket_plan(ticket_id: int, plan_id: int | None, actor: User, *, expected_version: int | None = None) -> Ticket:
    """The control room attaches a plan by hand, changes it, or takes it off (plan_id None). A
    ticket given the plan it already has keeps its version: re-attaching never upgrades silently."""
    now = clock_now()
    with write_transaction() as session:
        actor = session.get(User, actor.id)
        access.require_role(actor, access.CONTROL_ROOM)
        ticket = load_for_change(session, ticket_id, expected_version, viewer=actor)
        if not ticket.is_open:
            raise IllegalTransitionError(_("Ticket %(number)s is closed; its plan stays as it was.", number=ticket.number))
        if plan_id is None:
            if ticket.plan_version_id is not None:
                _attach(session, ticket, None, actor.id, now, "web", automatic=False)
            return ticket
        plan = session.get(EmergencyPlan, plan_id)
        if plan is None or plan.current is None:
            raise ValidationError(_("Choose an emergency plan."), field="plan_id")
        if ticket.plan_version is not None and ticket.plan_version.plan_id == plan.id:
            return ticket
        if not plan.active:
            raise ValidationError(_("That plan is retired."), field="plan_id")
        _attach(session, ticket, plan.current, actor.id, now, "web", automatic=False)
    return ticket


# ---- ticking steps ------------------------------------------------------------------------------

def tick_step(ticket_id: int, step_index: int, actor: User, *, channel: str = "web") -> TicketPlanStep:
    """Record a step as done, once: ticking it again returns the first record and writes nothing."""
    now = clock_now()
    with write_transaction() as session:
        actor = session.get(User, actor.id)
        ticket = load_for_change(session, ticket_id, None, viewer=actor)
        if not access.may_work(actor, ticket):
            raise PermissionDeniedError(_("Ticket %(number)s is not assigned to you.", number=ticket.number))
        version = ticket.plan_version
        if version is None:
            raise ValidationError(_("Ticket %(number)s has no emergency plan.", number=ticket.number), field="step")
        if not 0 <= step_index < len(version.steps):
            raise ValidationError(_("The plan has no step %(n)d.", n=step_index + 1), field="step")
        done = session.scalar(select(TicketPlanStep).where(
            TicketPlanStep.ticket_id == ticket.id, TicketPlanStep.plan_version_id == version.id,
            TicketPlanStep.step_index == step_index))
        if done is not None:
            return done
        if not ticket.is_open:
            raise IllegalTransitionError(_("Ticket %(number)s is closed; its plan can no longer be ticked.",
                                           number=ticket.number))
        done = TicketPlanStep(ticket_id=ticket.id, plan_version_id=version.id, step_index=step_index,
                              done_at=now, done_by_id=actor.id)
        session.add(done)
        record_event(ticket, "plan_step", actor.id, now, channel,
               note=version.steps[step_index],  # the page puts "Step n" before it, in the reader's language
               data={"plan_version_id": version.id, "number": version.number, "step": step_index + 1})
        # Two taps at once cannot both get here: the ticket row is locked (FOR UPDATE; BEGIN IMMEDIATE on
        # SQLite), and the unique (ticket, version, step) constraint stands behind it.
    return done


# ---- writing plans ------------------------------------------------------------------------------

@dataclass
class PlanContent:
    title: str
    summary: str | None
    steps: list[str]
    contacts: list[dict]
    isolation_points: list[dict]
    title_zh: str | None = None  # the title in Chinese (models.names: a reader sees their language)

    def as_tuple(self) -> tuple:
        return (self.title, self.title_zh, self.summary, self.steps, self.contacts, self.isolation_points)


def _lines(text: str | None) -> list[str]:
    return [line.strip() for line in (text or "").splitlines() if line.strip()]


def _pairs(text: str | None, field: str, limit: tuple[int, int], line_name) -> list[tuple[str, str]]:
    pairs = []
    lines = _lines(text)
    if len(lines) > MAX_LINES:
        raise ValidationError(_("At most %(n)d lines.", n=MAX_LINES), field=field)
    for number, line in enumerate(lines, start=1):
        left, bar, right = line.partition("|")
        left, right = left.strip(), right.strip()
        if not bar or not left or not right:
            raise ValidationError(line_name(number), field=field)
        if len(left) > limit[0] or len(right) > limit[1]:
            raise ValidationError(_("Line %(n)d is too long.", n=number), field=field)
        pairs.append((left, right))
    return pairs


def parse_content(*, title: str | None, summary: str | None, steps: str | None, contacts: str | None,
                  isolation_points: str | None, title_zh: str | None = None) -> PlanContent:
    """The editor's text areas (one step, contact or isolation point a line; 'a | b' pairs) made into
    a plan's content, or a ValidationError naming the field. The title in English, Chinese or both."""
    title_zh = clean_text(title_zh, "title_zh", required=False, limit=160)
    title, title_zh = both_names(clean_text(title, "title", required=not title_zh, limit=160), title_zh)
    summary = clean_text(summary, "summary", required=False, limit=2000)
    step_lines = _lines(steps)
    if not step_lines:
        raise ValidationError(_("Write at least one step."), field="steps")
    if len(step_lines) > MAX_STEPS:
        raise ValidationError(_("At most %(n)d steps.", n=MAX_STEPS), field="steps")
    for number, line in enumerate(step_lines, start=1):
        if len(line) > 300:
            raise ValidationError(_("Step %(n)d is longer than 300 characters.", n=number), field="steps")
    people = []
    for name, phone in _pairs(contacts, "contacts", (120, 40),
                              lambda n: _("Line %(n)d: write 'name or role | phone number'.", n=n)):
        if not PHONE.match(phone):
            raise ValidationError(_("Line %(n)d: '%(phone)s' is not a phone number.", n=len(people) + 1, phone=phone),
                                  field="contacts")
        people.append({"name": name, "phone": phone})
    points = [{"what": what, "where": where} for what, where in _pairs(
        isolation_points, "isolation_points", (160, 200),
        lambda n: _("Line %(n)d: write 'what is isolated | where the valve or switch is'.", n=n))]
    return PlanContent(title=title, summary=summary, steps=step_lines, contacts=people, isolation_points=points,
                       title_zh=title_zh)


def _rule(trade_id: int | None, criticality: str | None, keywords: str | None) -> tuple[int, str | None, str | None]:
    if not trade_id or db.session.get(Trade, trade_id) is None:
        raise ValidationError(_("Choose what has failed."), field="trade_id")
    criticality = criticality or None
    if criticality is not None and criticality not in WARD_CRITICALITIES:
        raise ValidationError(_("Choose a kind of ward."), field="criticality")
    keywords = clean_text(keywords, "keywords", required=False, limit=300)
    if keywords:
        keywords = ", ".join(k.strip() for k in keywords.replace("，", ",").split(",") if k.strip()) or None
    return trade_id, criticality, keywords


def create_plan(actor: User, *, trade_id: int | None, criticality: str | None, keywords: str | None,
                content: PlanContent) -> EmergencyPlan:
    now = clock_now()
    with write_transaction() as session:
        actor = session.get(User, actor.id)
        access.require_role(actor, access.PLAN_EDITORS)
        trade_id, criticality, keywords = _rule(trade_id, criticality, keywords)
        plan = EmergencyPlan(trade_id=trade_id, criticality=criticality, keywords=keywords, active=True,
                             created_at=now, current_number=0)
        session.add(plan)
        session.flush()
        _publish(session, plan, content, actor, now, None)
    return plan


def update_plan(plan_id: int, actor: User, *, trade_id: int | None, criticality: str | None, keywords: str | None,
                active: bool, content: PlanContent, change_note: str | None) -> EmergencyPlanVersion | None:
    """Save the editor: the rule changes in place; changed content becomes a new version (returned).
    Unchanged content publishes nothing, so saving twice does not make empty versions."""
    now = clock_now()
    with write_transaction() as session:
        actor = session.get(User, actor.id)
        access.require_role(actor, access.PLAN_EDITORS)
        plan = session.scalars(select(EmergencyPlan).where(EmergencyPlan.id == plan_id).with_for_update()).one_or_none()
        if plan is None:
            raise NotFoundError(_("No such emergency plan."))
        plan.trade_id, plan.criticality, plan.keywords = _rule(trade_id, criticality, keywords)
        plan.active = bool(active)
        current = plan.current
        if current is not None and (current.title, current.title_zh, current.summary, current.steps,
                                    current.contacts, current.isolation_points) == content.as_tuple():
            return None
        return _publish(session, plan, content, actor, now,
                        clean_text(change_note, "change_note", required=False, limit=300))


def _publish(session, plan: EmergencyPlan, content: PlanContent, actor: User | None, now: datetime,
             change_note: str | None) -> EmergencyPlanVersion:
    number = plan.current_number + 1
    version = EmergencyPlanVersion(plan=plan, number=number, title=content.title, title_zh=content.title_zh,
                                   summary=content.summary,
                                   steps=list(content.steps), contacts=list(content.contacts),
                                   isolation_points=list(content.isolation_points), change_note=change_note,
                                   published_at=now, published_by_id=actor.id if actor else None)
    session.add(version)
    plan.current_number = number
    session.flush()
    return version


def tel_href(phone: str) -> str:
    """tel: wants digits and a leading +; an extension is dialled after a pause (',')."""
    parts = re.split(r"\s*(?:ext\.?|x|转)\s*", phone, maxsplit=1, flags=re.IGNORECASE)
    main = re.sub(r"[^0-9+]", "", parts[0])
    if len(parts) > 1:
        main += "," + re.sub(r"[^0-9]", "", parts[1])
    return "tel:" + main
