"""The utility interruption log: upcoming planned interruptions, the period's log with the figures the inspector's
binder shows, and the form (prefilled from a major incident when opened from one)."""
from __future__ import annotations

from datetime import timedelta

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import select

from dispatch.auth import roles_required
from dispatch.blueprints.form_choices import options
from dispatch.blueprints.form_errors import shown_on
from dispatch.blueprints.interruptions.forms import InterruptionForm
from dispatch.blueprints.permits.views import period_from
from dispatch.clock import now as clock_now
from dispatch.errors import NotFoundError, ValidationError, refusals_return_to
from dispatch.numbers import whole_number
from dispatch.services import access, interruptions
from dispatch.services.timezone import local, wall_to_utc
from dispatch.services.ward_notices import ward_choices
from models import EmergencyPlanVersion, UTILITIES, UtilityInterruption, db

bp = Blueprint("interruptions", __name__)


@bp.route("/interruptions/")
@roles_required(*access.PERMIT_READERS)
def index():
    refusals_return_to(url_for("interruptions.index", start="", end=""))
    start, end = period_from(request.args)
    logged = interruptions.interruptions_between(start, end)
    return render_template("interruptions/index.html", upcoming=interruptions.upcoming(clock_now()), logged=logged,
                           counts=interruptions.summary_counts(logged), start=start, end=end,
                           labels=interruptions.UTILITY_LABELS, may_edit=current_user.role in access.PERMIT_EDITORS)


def _choices(form: InterruptionForm) -> None:
    form.utility.choices = options([(u, interruptions.UTILITY_LABELS[u]) for u in UTILITIES])
    form.ward_ids.choices = options([(w.id, w.display_name) for w in ward_choices()])
    versions = db.session.scalars(select(EmergencyPlanVersion).order_by(EmergencyPlanVersion.title,
                                                                        EmergencyPlanVersion.number))
    form.plan_version_id.choices = options([(0, _("None"))] + [(v.id, f"{v.title} v{v.number}") for v in versions])


def _wall(moment):
    return local(moment).replace(second=0, microsecond=0, tzinfo=None) if moment else None


def _fill(form: InterruptionForm, values: interruptions.InterruptionValues) -> None:
    form.utility.data, form.planned.data, form.cause.data = values.utility, values.planned, values.cause
    form.starts_at.data, form.ends_at.data = _wall(values.starts_at), _wall(values.ends_at)
    form.ward_ids.data, form.clinical_actions.data = values.ward_ids, values.clinical_actions
    form.ticket_ids.data = ", ".join(str(n) for n in values.ticket_ids)
    form.plan_version_id.data, form.notice_hours.data = values.plan_version_id or 0, values.notice_hours
    form.incident_id.data = values.incident_id


def _ticket_numbers(text: str | None) -> list[int]:
    numbers = []
    for piece in (text or "").replace("#", "").replace("，", ",").split(","):
        if not piece.strip():
            continue
        number = whole_number(piece, max_digits=9)
        if number is None:
            raise ValidationError(_("Ticket numbers separated by commas, e.g. 1042, 1043."), field="ticket_ids")
        numbers.append(number)
    return numbers


def _save(form: InterruptionForm, interruption_id: int | None):
    with shown_on(form) as outcome:
        saved = interruptions.save_interruption(current_user, interruption_id, interruptions.InterruptionValues(
            utility=form.utility.data, planned=bool(form.planned.data),
            starts_at=wall_to_utc(form.starts_at.data, "starts_at"),
            ends_at=wall_to_utc(form.ends_at.data, "ends_at") if form.ends_at.data else None,
            cause=form.cause.data or "", clinical_actions=form.clinical_actions.data,
            ward_ids=form.ward_ids.data or [], ticket_ids=_ticket_numbers(form.ticket_ids.data),
            incident_id=form.incident_id.data or None, plan_version_id=form.plan_version_id.data or None,
            notice_hours=form.notice_hours.data if form.notice_hours.data is not None else interruptions.DEFAULT_NOTICE_HOURS))
    return saved if outcome.succeeded else None


@bp.route("/interruptions/new", methods=["GET", "POST"])
@roles_required(*access.PERMIT_EDITORS)
def new():
    form = InterruptionForm()
    _choices(form)
    if not form.is_submitted():
        incident = whole_number(request.args.get("incident"), max_digits=9)
        if incident is not None:
            _fill(form, interruptions.prefill_from_incident(incident))
        else:
            form.starts_at.data = _wall(clock_now())
    elif form.validate() and (saved := _save(form, None)) is not None:
        flash(_("Interruption logged."), "success")
        return redirect(url_for("interruptions.index"))
    return render_template("interruptions/edit.html", form=form, entry=None), 422 if form.is_submitted() else 200


@bp.route("/interruptions/<int:interruption_id>/edit", methods=["GET", "POST"])
@roles_required(*access.PERMIT_EDITORS)
def edit(interruption_id: int):
    entry = db.session.get(UtilityInterruption, interruption_id)
    if entry is None:
        raise NotFoundError(_("Interruption %(number)s not found.", number=interruption_id))
    form = InterruptionForm()
    _choices(form)
    if not form.is_submitted():
        _fill(form, interruptions.values_of(entry))
    elif form.validate() and _save(form, entry.id) is not None:
        flash(_("Interruption saved."), "success")
        return redirect(url_for("interruptions.index"))
    return render_template("interruptions/edit.html", form=form, entry=entry), 422 if form.is_submitted() else 200
