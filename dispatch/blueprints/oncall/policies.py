"""Escalation policy pages: the list (with the default chains used when none matches), and a form
with a fixed number of step rows for creating and editing one. Managers edit; supervisors read."""
from __future__ import annotations

from flask import abort, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import select

from dispatch.auth import roles_required
from dispatch.blueprints.form_choices import options
from dispatch.blueprints.oncall.forms import PolicyForm
from dispatch.blueprints.form_errors import shown_on
from dispatch.blueprints.oncall.views import bp
from dispatch.errors import refusals_return_to
from dispatch.services import access, escalation_policies
from dispatch.services.escalation_policies import StepInput
from models import EscalationPolicy, Trade, User, db


@bp.route("/escalation")
@roles_required(*access.POLICY_READERS)
def escalation():
    people = {u.id: u for u in db.session.scalars(select(User))}
    return render_template("oncall/escalation.html", policies=escalation_policies.policies(), people=people,
                           defaults=escalation_policies.default_chains(),
                           editor=current_user.role in access.POLICY_EDITORS)


def _policy_form(policy: EscalationPolicy | None = None) -> PolicyForm:
    form = PolicyForm()
    if policy is not None and not form.is_submitted():
        while len(form.steps) <= len(policy.steps):
            form.steps.append_entry()
        form.name.data, form.trade_id.data = policy.name, policy.trade_id or 0
        form.priority.data, form.repeat.data = policy.priority or 0, policy.repeat
        for row, step in zip(form.steps, policy.steps):
            row.target.data, row.wait_minutes.data, row.voice.data = step.target, step.wait_minutes, step.voice
            row.phase.data = step.phase
            row.group_name.data, row.group_user_ids.data = step.group_name, list(step.group_user_ids or [])
    trades = db.session.scalars(select(Trade).order_by(Trade.sort_order, Trade.display_name))
    form.trade_id.choices = options([(0, _("Any trade"))] + [(t.id, t.display_name) for t in trades])
    staff = db.session.scalars(select(User).where(User.active.is_(True), User.role != "nurse").order_by(User.full_name))
    people = [(u.id, u.full_name) for u in staff]
    for row in form.steps:
        row.group_user_ids.choices = options(people)
    return form


def _steps(form: PolicyForm) -> list[StepInput]:
    """The rows that name a target, numbered as on the page so errors point at the right row."""
    return [StepInput(position=i, target=row.target.data, wait_minutes=row.wait_minutes.data, voice=row.voice.data,
                      group_name=row.group_name.data, group_user_ids=list(row.group_user_ids.data or []),
                      phase=row.phase.data or "acknowledge")
            for i, row in enumerate(form.steps, start=1) if row.target.data]


def _edit(policy: EscalationPolicy | None):
    form = _policy_form(policy)
    status = 200
    if form.validate_on_submit():
        # A step's problem shows on that step's field ("steps-2-minutes"); the chain's as a whole above the form.
        with shown_on(form, form_level=("steps", "policy")) as outcome:
            saved = escalation_policies.save_policy(
                policy.id if policy else None, name=form.name.data, trade_id=form.trade_id.data or None,
                priority=form.priority.data or None, repeat=form.repeat.data, steps=_steps(form))
        if outcome.succeeded:
            flash(_("Escalation policy “%(name)s” saved.", name=saved.name), "success")
            return redirect(url_for("oncall.escalation"))
        status = 422
    elif form.is_submitted():
        status = 422
    return render_template("oncall/policy_form.html", form=form, policy=policy), status


@bp.route("/escalation/new", methods=["GET", "POST"])
@roles_required(*access.POLICY_EDITORS)
def new_policy():
    return _edit(None)


@bp.route("/escalation/<int:policy_id>", methods=["GET", "POST"])
@roles_required(*access.POLICY_EDITORS)
def edit_policy(policy_id: int):
    policy = db.session.get(EscalationPolicy, policy_id)
    if policy is None:
        abort(404)
    return _edit(policy)


@bp.route("/escalation/<int:policy_id>/delete", methods=["POST"])
@roles_required(*access.POLICY_EDITORS)
def delete_policy(policy_id: int):
    refusals_return_to(url_for("oncall.escalation"), missing_is_a_message=True)
    escalation_policies.delete_policy(policy_id)
    flash(_("Policy deleted. Jobs already escalating keep their chain."), "success")
    return redirect(url_for("oncall.escalation"))
