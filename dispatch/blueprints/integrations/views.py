"""The admin maps alarm points of building-management and medical-gas panels to a place, a trade and a priority."""
from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import select

from dispatch.auth import roles_required
from dispatch.blueprints.form_choices import options
from dispatch.blueprints.form_errors import shown_on
from dispatch.blueprints.integrations.forms import AlarmPointForm
from dispatch.errors import refusals_return_to
from dispatch.services import access, alarms
from models import AlarmPoint, Asset, Trade, Ward, db

bp = Blueprint("integrations", __name__, url_prefix="/integrations")


def _fill_choices(form: AlarmPointForm) -> None:
    form.ward_id.choices = options([(w.id, w.display_name) for w in db.session.scalars(select(Ward).order_by(Ward.display_name))])
    form.trade_id.choices = options([(t.id, t.display_name) for t in db.session.scalars(select(Trade).order_by(Trade.sort_order, Trade.display_name))])
    form.asset_id.choices = options([(0, "—")] + [(a.id, f"{a.tag} · {a.display_name} ({a.ward.display_name})")
                                          for a in db.session.scalars(select(Asset).order_by(Asset.tag))])


@bp.route("/alarm-points")
@roles_required(*access.ALARM_POINT_EDITORS)
def points():
    return render_template("integrations/points.html", points=alarms.list_points(), unmapped=alarms.unmapped_points())


@bp.route("/alarm-points/new", methods=["GET", "POST"])
@bp.route("/alarm-points/<int:point_id>", methods=["GET", "POST"])
@roles_required(*access.ALARM_POINT_EDITORS)
def edit(point_id: int | None = None):
    point = db.session.get(AlarmPoint, point_id) if point_id else None
    if point_id and point is None:
        abort(404)
    form = AlarmPointForm(obj=point) if point else AlarmPointForm(source=request.args.get("source"),
                                                                   point_id=request.args.get("point"))
    _fill_choices(form)
    if point and request.method == "GET":
        form.asset_id.data, form.priority.data = point.asset_id or 0, point.priority or 0
    if form.validate_on_submit():
        with shown_on(form) as outcome:
            alarms.save_point(current_user, point_id, source=form.source.data, point_id=form.point_id.data,
                              ward_id=form.ward_id.data, asset_id=form.asset_id.data or None,
                              trade_id=form.trade_id.data, priority=form.priority.data or None,
                              description=form.description.data)
        if outcome.succeeded:
            flash(_("Alarm point saved."), "success")
            return redirect(url_for("integrations.points"))
    return render_template("integrations/edit.html", form=form, point=point)


@bp.route("/alarm-points/<int:point_id>/delete", methods=["POST"])
@roles_required(*access.ALARM_POINT_EDITORS)
def delete(point_id: int):
    refusals_return_to(url_for("integrations.points"), missing_is_a_message=True)
    alarms.delete_point(current_user, point_id)
    flash(_("Alarm point removed; its alarms stay on record."), "success")
    return redirect(url_for("integrations.points"))
