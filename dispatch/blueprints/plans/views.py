"""Emergency plans: the list and editor for supervisors and managers, each version readable for
good, and a ticket's plan at /p/<ticket number> (the short link in the technician's SMS)."""
from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required

from dispatch.auth import roles_required
from dispatch.blueprints.auth.views import safe_next
from dispatch.blueprints.form_choices import options
from dispatch.blueprints.form_errors import shown_on
from dispatch.blueprints.plans.forms import AttachForm, PlanForm
from dispatch.errors import refusals_return_to
from dispatch.numbers import whole_number
from dispatch.services import access
from dispatch.services import emergency_plans as plans
from dispatch.services.board import all_trades
from models import WARD_CRITICALITIES

bp = Blueprint("plans", __name__)


def _choices(form: PlanForm) -> None:
    from dispatch.templating import CRITICALITY_LABELS

    form.trade_id.choices = options([(t.id, t.display_name) for t in all_trades()])
    form.criticality.choices = options([("", _("Any ward"))] + [(c, str(CRITICALITY_LABELS[c])) for c in WARD_CRITICALITIES])


def _content(form: PlanForm) -> plans.PlanContent:
    return plans.parse_content(title=form.title.data, title_zh=form.title_zh.data, summary=form.summary.data,
                               steps=form.steps.data,
                               contacts=form.contacts.data, isolation_points=form.isolation_points.data)


@bp.route("/plans/")
@roles_required(*access.PLAN_READERS)
def index():
    return render_template("plans/index.html", plans=plans.all_plans())


@bp.route("/plans/new", methods=["GET", "POST"])
@roles_required(*access.PLAN_EDITORS)
def new():
    form = PlanForm()
    _choices(form)
    if form.validate_on_submit():
        with shown_on(form) as outcome:
            plan = plans.create_plan(current_user, trade_id=form.trade_id.data, criticality=form.criticality.data,
                                     keywords=form.keywords.data, content=_content(form))
        if outcome.succeeded:
            flash(_("Emergency plan published as version 1."), "success")
            return redirect(url_for("plans.show", plan_id=plan.id))
    return render_template("plans/edit.html", form=form, plan=None), 422 if form.is_submitted() else 200


@bp.route("/plans/<int:plan_id>/edit", methods=["GET", "POST"])
@roles_required(*access.PLAN_EDITORS)
def edit(plan_id: int):
    plan = plans.get_plan(plan_id)
    form = PlanForm()
    _choices(form)
    if not form.is_submitted():
        current = plan.current
        form.title.data, form.title_zh.data, form.summary.data = current.english_name, current.title_zh, current.summary
        form.trade_id.data, form.criticality.data = plan.trade_id, plan.criticality or ""
        form.keywords.data, form.active.data = plan.keywords, plan.active
        form.steps.data = "\n".join(current.steps)
        form.contacts.data = "\n".join(f"{c['name']} | {c['phone']}" for c in current.contacts)
        form.isolation_points.data = "\n".join(f"{p['what']} | {p['where']}" for p in current.isolation_points)
    elif form.validate():
        with shown_on(form) as outcome:
            version = plans.update_plan(plan.id, current_user, trade_id=form.trade_id.data,
                                        criticality=form.criticality.data, keywords=form.keywords.data,
                                        active=form.active.data, content=_content(form),
                                        change_note=form.change_note.data)
        if outcome.succeeded:
            if version is None:
                flash(_("The steps are unchanged: no new version. Who the plan applies to is saved."), "success")
            else:
                flash(_("Version %(n)d published. Tickets handled under earlier versions keep theirs.",
                        n=version.number), "success")
            return redirect(url_for("plans.show", plan_id=plan.id))
    return render_template("plans/edit.html", form=form, plan=plan), 422 if form.is_submitted() else 200


@bp.route("/plans/<int:plan_id>")
@bp.route("/plans/<int:plan_id>/v/<int:number>")
@roles_required(*access.PLAN_READERS)
def show(plan_id: int, number: int | None = None):
    plan = plans.get_plan(plan_id)
    version = plans.get_version(plan.id, number) if number is not None else plan.current
    return render_template("plans/show.html", plan=plan, version=version)


@bp.route("/p/<int:ticket_id>")
@login_required
def ticket_plan(ticket_id: int):
    """The short link in the SMS. Login first (the login page comes back here), then only people
    who may see the ticket: its technician, the control room, the reporting ward."""
    ticket = access.ticket_for(current_user, ticket_id)
    panel = plans.panel_for(ticket, current_user)
    if panel is None:
        flash(_("Ticket %(number)s has no emergency plan.", number=ticket.number), "info")
        return redirect(url_for("tickets.detail", ticket_id=ticket.id))
    return render_template("plans/ticket.html", ticket=ticket, panel=panel)


@bp.route("/p/<int:ticket_id>/steps/<int:step>", methods=["POST"])
@login_required
def tick(ticket_id: int, step: int):
    back = safe_next(request.form.get("next")) or url_for("plans.ticket_plan", ticket_id=ticket_id)
    # The CSRF token is checked for every POST by CSRFProtect; there is nothing else to parse.
    refusals_return_to(back)
    plans.tick_step(ticket_id, step - 1, current_user)
    return redirect(back)


@bp.route("/p/<int:ticket_id>/plan", methods=["POST"])
@roles_required(*access.CONTROL_ROOM)
def attach(ticket_id: int):
    form = AttachForm()
    form.plan_id.choices = options([(0, "")] + [(p.id, "") for p in plans.all_plans()])
    if not form.validate_on_submit():
        flash(_("Choose an emergency plan."), "error")
        return redirect(url_for("tickets.detail", ticket_id=ticket_id))
    version = whole_number(form.version.data)
    refusals_return_to(url_for("tickets.detail", ticket_id=ticket_id))
    plans.set_ticket_plan(ticket_id, form.plan_id.data or None, current_user, expected_version=version)
    flash(_("Emergency plan saved on ticket %(number)s.", number=ticket_id), "success")
    return redirect(url_for("tickets.detail", ticket_id=ticket_id))
