"""Ward pages: report a fault (also from an asset's QR label) and follow the ward's tickets."""
from __future__ import annotations

from flask import Blueprint, Response, abort, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import inspect, select

from dispatch.auth import roles_required
from dispatch.blueprints.form_choices import options
from dispatch.blueprints.form_errors import shown_on
from dispatch.blueprints.photos.views import uploaded
from dispatch.blueprints.report.forms import ReportForm, WardActionForm
from dispatch.clock import now
from dispatch.services import access, photos
from dispatch.services.tickets import report_fault
from dispatch.services.ward_tickets import ward_tickets
from models import Asset, Location, Trade, Ward, db

bp = Blueprint("report", __name__)


def _fill_choices(form: ReportForm, ward: Ward | None) -> None:
    trades = db.session.scalars(select(Trade).order_by(Trade.sort_order, Trade.display_name)).all()
    form.trade_id.choices = options([(t.id, t.display_name) for t in trades])
    if current_user.role == "nurse":
        wards = [current_user.ward] if current_user.ward else []
    else:
        wards = db.session.scalars(select(Ward).order_by(Ward.display_name)).all()
    form.ward_id.choices = options([(w.id, w.display_name) for w in wards])
    locations = db.session.scalars(select(Location).where(Location.ward_id == ward.id).order_by(Location.name)).all() if ward else []
    form.location_id.choices = options([(0, "—")] + [(loc.id, loc.display_name) for loc in locations])


@bp.route("/report", methods=["GET", "POST"])
@roles_required(*access.REPORTERS)
def new():
    form = ReportForm()
    asset = None
    code = request.args.get("asset") or form.asset_code.data
    if code:
        asset = db.session.scalar(select(Asset).where(Asset.qr_code == code))
        if asset is None:
            flash(_("That label is not known; report the fault without it."), "warning")
    ward = asset.ward if asset else current_user.ward
    if current_user.role != "nurse" and form.ward_id.data and request.method == "POST":
        ward = db.session.get(Ward, form.ward_id.data) or ward
    _fill_choices(form, ward)
    if request.method == "GET":
        if ward is not None:
            form.ward_id.data = ward.id
        if asset is not None:
            form.asset_code.data = asset.qr_code
            form.location_id.data = asset.location_id or 0
            if asset.trade_id:
                form.trade_id.data = asset.trade_id
    if form.validate_on_submit():
        with shown_on(form) as outcome:
            # Decoded and drawn again before the write lock is taken: it is the slow part of a report with photos.
            taken = [photos.new_photo(p, stage="report", uploaded_by_id=current_user.id, at=now())
                     for p in photos.process_all(uploaded(form.photos.data or []))]
            ticket = report_fault(
                current_user,
                ward_id=form.ward_id.data,
                trade_id=form.trade_id.data,
                description=form.description.data,
                patient_at_risk=form.patient_at_risk.data,
                whole_area=form.whole_area.data != "0",
                location_id=form.location_id.data or None,
                asset_id=asset.id if asset else None,
                place_detail=form.place_detail.data,
                photos=taken,
            )
        if outcome.succeeded:
            # The number as flushed, not read again: were the database to go away right after the commit,
            # the nurse must still be told the ticket is filed, or she would file it twice.
            return redirect(url_for("tickets.detail", ticket_id=inspect(ticket).identity[0], filed=1))
    return render_template("report/new.html", form=form, asset=asset, ward=ward)


@bp.route("/a/<code>")
@roles_required(*access.REPORTERS)
def asset_label(code: str):
    """Where an asset's QR label points: the report form, filled in."""
    return redirect(url_for("report.new", asset=code))


@bp.route("/a/<code>/label.svg")
@roles_required(*access.CONTROL_ROOM)
def asset_label_image(code: str):
    """The printable QR label for an asset: it encodes the public link to the pre-filled report form."""
    import io

    import segno

    asset = db.session.scalar(select(Asset).where(Asset.qr_code == code))
    if asset is None:
        abort(404)
    link = current_app.config["PUBLIC_URL"].rstrip("/") + url_for("report.asset_label", code=code)
    buffer = io.BytesIO()
    segno.make(link, error="m").save(buffer, kind="svg", scale=6, border=2, title=f"{asset.tag} {asset.display_name}")
    return Response(buffer.getvalue(), mimetype="image/svg+xml")


@bp.route("/ward")
@roles_required(*access.REPORTERS)
def tickets():
    """The ward's open tickets and those resolved in the last 30 days (awaiting confirmation first)."""
    found = ward_tickets(current_user, now(), request.args.get("ward_id", type=int))
    return render_template("report/ward.html", awaiting=found.awaiting, others=found.others, action_form=WardActionForm())
