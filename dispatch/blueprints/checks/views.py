"""Check form pages: the forms (managers and admins define them), filling one in on the phone, each form's
records with their failed items and corrective tickets, and on-time compliance for a period."""
from __future__ import annotations

from datetime import date

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import select

from dispatch.auth import roles_required
from dispatch.blueprints.checks.forms import CheckFormEditor, answers_of, fill_form
from dispatch.blueprints.form_choices import options
from dispatch.blueprints.form_errors import shown_on
from dispatch.clock import now
from dispatch.errors import ValidationError, refusals_return_to
from dispatch.i18n import local_date
from dispatch.services import access, check_forms, rounds
from dispatch.services.report_filters import LINE_BY_LINE_DAYS, check_period
from dispatch.services.timezone import hospital_date
from models import CheckForm, MaintenanceSchedule, Trade, Ward, db

bp = Blueprint("checks", __name__, url_prefix="/checks")


@bp.route("/")
@roles_required(*access.CHECK_READERS)
def index():
    today = hospital_date(now())
    forms = check_forms.list_forms()
    next_due = {f.id: check_forms.due_for(f, today) for f in forms if f.schedule is not None}
    return render_template("checks/index.html", forms=forms, next_due=next_due,
                           may_edit=current_user.role in access.CHECK_FORM_EDITORS,
                           may_fill=current_user.role in access.CHECK_RECORDERS)


def _fill_choices(form: CheckFormEditor) -> None:
    form.ward_id.choices = options([(w.id, w.display_name) for w in db.session.scalars(
        select(Ward).order_by(Ward.display_name))])
    form.trade_id.choices = options([(t.id, t.display_name) for t in db.session.scalars(
        select(Trade).order_by(Trade.sort_order, Trade.display_name))])
    form.schedule_id.choices = options([(0, "—")] + [(s.id, s.title) for s in db.session.scalars(
        select(MaintenanceSchedule).order_by(MaintenanceSchedule.title))])


@bp.route("/new", methods=["GET", "POST"])
@bp.route("/<int:form_id>/edit", methods=["GET", "POST"])
@roles_required(*access.CHECK_FORM_EDITORS)
def edit(form_id: int | None = None):
    existing = check_forms.get_form(form_id) if form_id else None
    form = CheckFormEditor(obj=existing) if existing else CheckFormEditor()
    _fill_choices(form)
    if existing and request.method == "GET":
        form.items.data = check_forms.item_lines(existing)
        form.schedule_id.data = existing.schedule_id or 0
    if form.validate_on_submit():
        with shown_on(form) as outcome:
            values = check_forms.FormValues(
                kind=form.kind.data, title=form.title.data, ward_id=form.ward_id.data, trade_id=form.trade_id.data,
                standard=form.standard.data, schedule_id=form.schedule_id.data or None, active=form.active.data,
                items=check_forms.parse_item_lines(form.items.data))
            saved = check_forms.save_form(current_user, values, form_id)
        if outcome.succeeded:
            flash(_("Form saved."), "success")
            return redirect(url_for("checks.detail", form_id=saved.id))
    return render_template("checks/edit.html", form=form, existing=existing), 422 if form.errors else 200


@bp.route("/<int:form_id>")
@roles_required(*access.CHECK_READERS)
def detail(form_id: int):
    found = check_forms.get_form(form_id)
    return render_template("checks/detail.html", check_form=found, records=check_forms.records_of(found.id),
                           may_edit=current_user.role in access.CHECK_FORM_EDITORS,
                           may_fill=current_user.role in access.CHECK_RECORDERS and found.active)


@bp.route("/<int:form_id>/fill", methods=["GET", "POST"])
@roles_required(*access.CHECK_RECORDERS)
def fill(form_id: int):
    found = check_forms.get_form(form_id)
    if not found.active:
        abort(404)
    form = fill_form(found, request.form if request.method == "POST" else None)
    if form.validate_on_submit():
        with shown_on(form) as outcome:
            submission = check_forms.submit_record(current_user, found.id, answers_of(found, form))
        if outcome.succeeded:
            record = submission.record
            if not submission.created:
                flash(_("This was recorded already for %(date)s; nothing changed.", date=local_date(record.due_date)), "info")
            elif submission.tickets:
                flash(_("Recorded. Corrective tickets opened: %(numbers)s.",
                        numbers=", ".join(f"#{t.number}" for t in submission.tickets)), "success")
            else:
                flash(_("Recorded: every item passed."), "success")
            return redirect(url_for("checks.record", record_id=record.id))
    today = hospital_date(now())
    return render_template("checks/fill.html", check_form=found, form=form,
                           due=check_forms.due_for(found, today)), 422 if form.errors else 200


@bp.route("/records/<int:record_id>")
@roles_required(*access.CHECK_READERS)
def record(record_id: int):
    found = check_forms.get_record(record_id)
    return render_template("checks/record.html", record=found, check_form=found.form)


def _period(today: date) -> tuple[date, date]:
    """The period asked for (start and end, YYYY-MM-DD), this month to date by default."""
    start, end = today.replace(day=1), today
    try:
        if request.args.get("start"):
            start = date.fromisoformat(request.args["start"])
        if request.args.get("end"):
            end = date.fromisoformat(request.args["end"])
    except ValueError:
        raise ValidationError(_("Give the dates as YYYY-MM-DD."), field="start") from None
    check_period(start, end, LINE_BY_LINE_DAYS)
    return start, end


@bp.route("/compliance")
@roles_required(*access.CHECK_READERS)
def compliance():
    today = hospital_date(now())
    refusals_return_to(url_for("checks.compliance"))
    start, end = _period(today)
    sections = [(kind, rounds.compliance(start, end, kind)) for kind in ("round", "test")]
    return render_template("checks/compliance.html", sections=sections, start=start, end=end,
                           summary_text=rounds.summary_text)


@bp.context_processor
def check_helpers():
    return {"check_limits": lambda row: check_forms.limits_text(row.unit, row.min_value, row.max_value),
            "check_result": rounds.result_text}
