"""Permits to work: the list (live first, and the period's figures the inspector's binder shows), drafting one
for a ticket, its page with who may issue and accept it, the actions, and its one-page printout."""
from __future__ import annotations

from datetime import date, timedelta

from flask import Blueprint, Response, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from dispatch.auth import roles_required
from dispatch.blueprints.form_choices import options
from dispatch.blueprints.form_errors import shown_on
from dispatch.blueprints.permits.forms import CancelForm, PermitForm
from dispatch.clock import now as clock_now
from dispatch.errors import ValidationError, refusals_return_to
from dispatch.i18n import select_locale
from dispatch.services import access, interruptions, permit_pdf, permits
from dispatch.services.ward_notices import ward_choices
from dispatch.services.timezone import local, wall_to_utc

bp = Blueprint("permits", __name__)


def period_from(args) -> tuple[date, date]:
    """The page's period (?start=&end=, ISO days; this month so far unless given)."""
    days = {}
    for name in ("start", "end"):
        try:
            days[name] = date.fromisoformat(args[name]) if args.get(name) else None
        except ValueError:
            raise ValidationError(_("Give a day as YYYY-MM-DD."), field=name) from None
    return interruptions.period(days["start"], days["end"])


@bp.route("/permits/")
@roles_required(*access.PERMIT_READERS)
def index():
    refusals_return_to(url_for("permits.index", start="", end=""))
    start, end = period_from(request.args)
    issued = permits.permits_between(start, end)
    return render_template("permits/index.html", STATE_LABELS=permits.STATE_LABELS, permits=permits.recent_permits(), issued=issued, start=start, end=end,
                           counts=permits.summary_counts(issued, clock_now()), may_edit=current_user.role in access.PERMIT_EDITORS)


@bp.route("/tickets/<int:ticket_id>/permit", methods=["GET", "POST"])
@roles_required(*access.PERMIT_EDITORS)
def new(ticket_id: int):
    ticket = access.ticket_for(current_user, ticket_id)
    form = PermitForm()
    form.ward_ids.choices = options([(w.id, w.display_name) for w in ward_choices()])
    if not form.is_submitted():
        now = local(clock_now()).replace(second=0, microsecond=0, tzinfo=None)
        form.ward_ids.data, form.valid_from.data, form.valid_until.data = [ticket.ward_id], now, now + timedelta(hours=4)
    elif form.validate():
        with shown_on(form) as outcome:
            permit = permits.draft_permit(current_user, ticket.id, permits.PermitValues(
                work=form.work.data, isolation_points=form.isolation_points.data, precautions=form.precautions.data,
                ward_ids=form.ward_ids.data or [], valid_from=wall_to_utc(form.valid_from.data, "valid_from"),
                valid_until=wall_to_utc(form.valid_until.data, "valid_until")))
        if outcome.succeeded:
            flash(_("Permit %(number)d drafted: an Authorised Person issues it.", number=permit.id), "success")
            return redirect(url_for("permits.show", permit_id=permit.id))
    return render_template("permits/new.html", form=form, ticket=ticket,
                           rule=permits.requirement_for(ticket)), 422 if form.is_submitted() else 200


@bp.route("/permits/<int:permit_id>")
@roles_required(*access.PERMIT_READERS)
def show(permit_id: int):
    permit = permits.permit_for(current_user, permit_id)
    now = clock_now()
    return render_template("permits/show.html", STATE_LABELS=permits.STATE_LABELS, permit=permit, cancel_form=CancelForm(),
                           actions=permits.actions_for(current_user, permit, now),
                           issuers=permits.people_who_may("issue", permit.trade_id, now),
                           acceptors=permits.people_who_may("accept", permit.trade_id, now))


def _act(permit_id: int, change, done: str):
    permit = permits.permit_for(current_user, permit_id)
    refusals_return_to(url_for("permits.show", permit_id=permit.id))
    change(permit.id)
    flash(done % {"number": permit.id}, "success")
    return redirect(url_for("permits.show", permit_id=permit.id))


@bp.route("/permits/<int:permit_id>/issue", methods=["POST"])
@roles_required(*access.PERMIT_READERS)
def issue(permit_id: int):
    return _act(permit_id, lambda number: permits.issue_permit(number, current_user),
                _("Permit %(number)d issued; the wards are told."))


@bp.route("/permits/<int:permit_id>/accept", methods=["POST"])
@roles_required(*access.PERMIT_READERS)
def accept(permit_id: int):
    return _act(permit_id, lambda number: permits.accept_permit(number, current_user),
                _("Permit %(number)d accepted: you may go on site."))


@bp.route("/permits/<int:permit_id>/cancel", methods=["POST"])
@roles_required(*access.PERMIT_READERS)
def cancel(permit_id: int):
    restored = CancelForm().restored.data
    return _act(permit_id, lambda number: permits.cancel_permit(number, current_user, restored),
                _("Permit %(number)d cancelled; the wards are told supply is restored."))


@bp.route("/permits/<int:permit_id>/withdraw", methods=["POST"])
@roles_required(*access.PERMIT_READERS)
def withdraw(permit_id: int):
    return _act(permit_id, lambda number: permits.cancel_permit(number, current_user, None),
                _("Permit %(number)d withdrawn."))


@bp.route("/permits/<int:permit_id>.pdf")
@roles_required(*access.PERMIT_READERS)
def printout(permit_id: int):
    permit = permits.permit_for(current_user, permit_id)
    pdf = permit_pdf.render_permit(permit, select_locale())
    return Response(pdf, mimetype="application/pdf",
                    headers={"Content-Disposition": f'inline; filename="permit-{permit.id}.pdf"'})
