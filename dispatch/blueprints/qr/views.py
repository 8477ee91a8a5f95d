"""QR labels: the report form a label opens (no login), following the one ticket filed from it, and the
control room's pages to print a ward's labels and withdraw a place's printed ones."""
from __future__ import annotations

from flask import Blueprint, Response, abort, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import inspect, select

from dispatch.auth import roles_required
from dispatch.blueprints.form_errors import shown_on
from dispatch.blueprints.photos.views import uploaded
from dispatch.blueprints.qr.forms import FalseReportForm, PublicReportForm, RevokeForm
from dispatch.clock import now
from dispatch.errors import NotFoundError, refusals_return_to
from dispatch.extensions import limiter
from dispatch.numbers import whole_number
from dispatch.services import false_reports, photos, qr_labels, sla
from dispatch.services.qr_sheet import ward_sheet
from dispatch.blueprints.form_choices import options
from models import Trade, Ward, db

bp = Blueprint("qr", __name__)


def _place_limit() -> str:
    return current_app.config["QR_PLACE_RATE_LIMIT"]


def _address_limit() -> str:
    return current_app.config["QR_ADDRESS_RATE_LIMIT"]


def _place_key() -> str:
    return "qr-place:" + qr_labels.place_key((request.view_args or {}).get("label", ""))


def _address_key() -> str:
    return "qr-addr:" + (request.remote_addr or "?")


def _filed(response) -> bool:
    """A place's count is of reports filed (or added to a ticket), not of forms sent back with a message."""
    return response.status_code == 302


def _too_many(_limit):
    return current_app.make_response((render_template("qr/message.html", title=_("Too many reports"), message=_(
        "Too many reports have come from this label or this phone just now. If it is urgent, phone the "
        "control room.")), 429))


@bp.route("/q/<label>", methods=["GET", "POST"])
@limiter.limit(_place_limit, key_func=_place_key, methods=["POST"], deduct_when=_filed, on_breach=_too_many,
               scope="qr-place")
@limiter.limit(_address_limit, key_func=_address_key, methods=["POST"], on_breach=_too_many, scope="qr-address")
def report(label: str):
    try:
        place = qr_labels.place_for(label)
    except NotFoundError as error:
        return render_template("qr/message.html", title=_("Label not valid"), message=error.message), 404
    form = PublicReportForm()
    form.trade_id.choices = options((t.id, t.display_name) for t in db.session.scalars(select(Trade).order_by(Trade.sort_order, Trade.display_name)))
    if request.method == "GET" and place.asset is not None and place.asset.trade_id:
        form.trade_id.data = place.asset.trade_id
    duplicate = None
    if form.validate_on_submit():
        choice = request.form.get("choice")
        fields = dict(trade_id=form.trade_id.data, description=form.description.data,
                      callback_name=form.callback_name.data, callback_extension=form.callback_extension.data)
        with shown_on(form) as outcome:
            qr_labels.check(form.description.data, form.callback_name.data, form.callback_extension.data)
            images = photos.process_all(uploaded(form.photos.data or []))
            if choice != "new":
                duplicate = qr_labels.suspected_duplicate(place, form.trade_id.data)
            reporter = qr_labels.reporter_for(place, current_user)
            if choice == "add":
                ticket = qr_labels.add_to(place, reporter, whole_number(form.duplicate_of.data) or 0, images=images,
                                          **fields)
                flash(_("Added to ticket %(number)s.", number=ticket.number), "success")
                return redirect(url_for("qr.follow", follow_token=qr_labels.follow_token(ticket.id)))
            if duplicate is None:
                ticket = qr_labels.file_report(place, reporter, images=images, at=now(), **fields)
                # The number as flushed, not read again (as on the nurse's form): the filer must learn it.
                number = inspect(ticket).identity[0]
                return redirect(url_for("qr.follow", follow_token=qr_labels.follow_token(number), filed=1))
        if outcome.refused:
            duplicate = None
    return render_template("qr/report.html", form=form, place=place, duplicate=duplicate)


@bp.route("/kiosk")
@roles_required("nurse")
def kiosk():
    """A ward PC left signed in to the ward's shared account: the same short form as the ward's own label,
    filed as that account. Bookmark it on the PC."""
    if current_user.ward is None:
        abort(404)
    return redirect(url_for("qr.report", label=qr_labels.token_for("ward", current_user.ward)))


@bp.route("/q/t/<follow_token>")
def follow(follow_token: str):
    """One ticket, for the person who filed it from a label: its number, status and times, nothing else."""
    try:
        ticket = qr_labels.followed(follow_token)
    except NotFoundError as error:
        return render_template("qr/message.html", title=_("Link not valid"), message=error.message), 404
    return render_template("qr/follow.html", ticket=ticket, due=sla.next_due(ticket),
                           just_filed=request.args.get("filed") == "1")


# ---- printing and withdrawing labels ------------------------------------------------------------

@bp.route("/labels")
@roles_required(*qr_labels.LABEL_PRINTERS)
def wards():
    return render_template("qr/wards.html", wards=db.session.scalars(select(Ward).order_by(Ward.display_name)).all())


@bp.route("/labels/ward/<int:ward_id>")
@roles_required(*qr_labels.LABEL_PRINTERS)
def ward_labels(ward_id: int):
    ward = db.session.get(Ward, ward_id) or abort(404)
    return render_template("qr/ward.html", ward=ward, places=qr_labels.places_of(ward), form=RevokeForm(),
                           may_revoke=current_user.role in qr_labels.LABEL_REVOKERS)


@bp.route("/labels/ward/<int:ward_id>/labels.pdf")
@roles_required(*qr_labels.LABEL_PRINTERS)
def ward_pdf(ward_id: int):
    ward = db.session.get(Ward, ward_id) or abort(404)
    return Response(ward_sheet(ward, current_app.config["HOSPITAL_NAME"]), mimetype="application/pdf",
                    headers={"Content-Disposition": f'inline; filename="labels-ward-{ward.id}.pdf"'})


@bp.route("/labels/<kind>/<int:object_id>/revoke", methods=["POST"])
@roles_required(*qr_labels.LABEL_REVOKERS)
def revoke(kind: str, object_id: int):
    if kind not in qr_labels.PLACE_KINDS:
        abort(404)
    if not RevokeForm().validate_on_submit():
        flash(_("The form had expired; try again."), "error")
        return redirect(request.referrer or url_for("qr.wards"))
    ward_id = request.form.get("ward_id", type=int)
    try:
        version = qr_labels.revoke(kind, object_id, current_user)
    except NotFoundError:
        abort(404)
    flash(_("Labels printed before are withdrawn; print the new label (version %(n)d).", n=version), "success")
    return redirect(url_for("qr.ward_labels", ward_id=ward_id) if ward_id else url_for("qr.wards"))


@bp.route("/tickets/<int:ticket_id>/false-report", methods=["POST"])
@roles_required(*qr_labels.LABEL_PRINTERS)
def false_report(ticket_id: int):
    """The control room marks a report as false: cancelled with the reason and a "False report" history line."""
    form = FalseReportForm()
    if not form.validate_on_submit():
        flash(_("Say why it is a false report."), "error")
    else:
        refusals_return_to(url_for("tickets.detail", ticket_id=ticket_id))
        false_reports.mark_false(ticket_id, current_user, form.note.data,
                                 expected_version=whole_number(form.version.data))
        flash(_("Ticket %(number)s marked as a false report and cancelled.", number=ticket_id), "success")
    return redirect(url_for("tickets.detail", ticket_id=ticket_id))
