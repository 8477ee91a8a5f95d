"""Editing escalation policies: who is told, in what order and after how long, when a trade's job
is not answered. Tickets already escalating keep the chain frozen on them when they started."""
from __future__ import annotations

from dataclasses import dataclass, field

from flask_babel import gettext as _
from sqlalchemy import select

from dispatch.errors import ValidationError
from dispatch.services.escalation import DEFAULT_CHAINS, default_attend_chain
from dispatch.services.unit_of_work import write_transaction
from models import PRIORITIES, STEP_PHASES, STEP_TARGETS, EscalationPolicy, EscalationStep, Trade, User, db

MAX_WAIT_MINUTES = 1440
MAX_REPEAT = 10
MAX_STEPS = 20


@dataclass
class StepInput:
    """One row of the form, as typed; position is its row number (1-based) for messages."""

    position: int
    target: str
    wait_minutes: int | None
    voice: bool = False
    group_name: str | None = None
    group_user_ids: list[int] = field(default_factory=list)
    phase: str = "acknowledge"  # or "attend": acknowledged, and nobody on site by the attend target


def policies() -> list[EscalationPolicy]:
    """Most specific first, as the matcher ranks them: trade and priority, trade, priority, any."""
    found = db.session.scalars(select(EscalationPolicy)).all()
    return sorted(found, key=lambda p: (p.trade_id is None, p.priority is None,
                                        p.trade.sort_order if p.trade else 0, p.priority or 0, p.name))


def default_chains() -> list[tuple[int, int, list[tuple[str, int, bool]], list[tuple[str, int, bool]]]]:
    """(priority, repeat, steps, attend steps) used when no policy matches (the attend steps also when the
    matching policy has none)."""
    return [(priority, repeat, steps, default_attend_chain(priority))
            for priority, (repeat, steps) in sorted(DEFAULT_CHAINS.items())]


def _check_steps(steps: list[StepInput]) -> list[EscalationStep]:
    if not steps:
        raise ValidationError(_("A policy needs at least one step."), field="steps")
    if len(steps) > MAX_STEPS:
        raise ValidationError(_("A policy has at most %(n)d steps.", n=MAX_STEPS), field="steps")
    if not any(step.phase == "acknowledge" for step in steps):
        raise ValidationError(_("A policy needs at least one step for a job nobody has acknowledged."), field="steps")
    rows = []
    for step in steps:
        where = _("Step %(n)d: ", n=step.position)
        if step.phase not in STEP_PHASES:
            raise ValidationError(where + _("choose when it applies."), field=f"steps-{step.position}-phase")
        if step.target not in STEP_TARGETS:
            raise ValidationError(where + _("choose whom to tell."), field=f"steps-{step.position}-target")
        if step.wait_minutes is None or not 0 <= step.wait_minutes <= MAX_WAIT_MINUTES:
            raise ValidationError(where + _("wait between 0 and %(max)d minutes.", max=MAX_WAIT_MINUTES),
                                  field=f"steps-{step.position}-wait_minutes")
        people: list[int] = []
        if step.target == "group":
            people = sorted(set(step.group_user_ids))
            if not people:
                raise ValidationError(where + _("a group needs at least one person."),
                                      field=f"steps-{step.position}-group_user_ids")
            known = set(db.session.scalars(select(User.id).where(User.id.in_(people), User.active.is_(True))))
            if known != set(people):
                raise ValidationError(where + _("someone in the group is not an active member of staff."),
                                      field=f"steps-{step.position}-group_user_ids")
        rows.append(EscalationStep(position=len(rows) + 1, target=step.target, wait_minutes=step.wait_minutes,
                                   voice=bool(step.voice), phase=step.phase,
                                   group_name=((step.group_name or "").strip()[:80] or _("Group")) if people else None,
                                   group_user_ids=people or None))
    return rows


def save_policy(policy_id: int | None, *, name: str, trade_id: int | None, priority: int | None, repeat: int | None,
                steps: list[StepInput]) -> EscalationPolicy:
    """Create (policy_id None) or replace a policy and its steps. Raises ValidationError naming the field."""
    name = (name or "").strip()
    if not name or len(name) > 120:
        raise ValidationError(_("Give the policy a name (up to 120 characters)."), field="name")
    if priority is not None and priority not in PRIORITIES:
        raise ValidationError(_("Unknown priority."), field="priority")
    if repeat is None or not 1 <= repeat <= MAX_REPEAT:
        raise ValidationError(_("Run the chain 1 to %(max)d times.", max=MAX_REPEAT), field="repeat")
    rows = _check_steps(steps)
    with write_transaction() as session:
        if trade_id is not None and session.get(Trade, trade_id) is None:
            raise ValidationError(_("Unknown trade."), field="trade_id")
        # Two policies for the same trade and priority would leave the choice to the older id: refuse.
        clash = session.scalar(select(EscalationPolicy).where(
            EscalationPolicy.trade_id.is_(None) if trade_id is None else EscalationPolicy.trade_id == trade_id,
            EscalationPolicy.priority.is_(None) if priority is None else EscalationPolicy.priority == priority,
            EscalationPolicy.id != (policy_id or 0)))
        if clash is not None:
            raise ValidationError(_("“%(name)s” already covers this trade and priority; edit it instead.",
                                    name=clash.name), field="trade_id")
        if policy_id is None:
            policy = EscalationPolicy()
            session.add(policy)
        else:
            policy = session.get(EscalationPolicy, policy_id)
            if policy is None:
                raise ValidationError(_("No such policy."), field="policy")
            policy.steps.clear()
            session.flush()  # old steps go before new ones take their positions
        policy.name, policy.trade_id, policy.priority, policy.repeat = name, trade_id, priority, repeat
        policy.steps.extend(rows)
    return policy


def delete_policy(policy_id: int) -> None:
    with write_transaction() as session:
        policy = session.get(EscalationPolicy, policy_id)
        if policy is None:
            raise ValidationError(_("No such policy."), field="policy")
        session.delete(policy)
