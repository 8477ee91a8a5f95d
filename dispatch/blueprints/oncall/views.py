"""On-call pages: who is on call now and next, the weekly rota (with CSV import and export),
overrides (cover, swap, leave) and coverage gaps. The rules live in services.rota."""
from __future__ import annotations

from datetime import datetime

import phonenumbers
from flask import Blueprint, Response, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import select

from dispatch.auth import roles_required
from dispatch.blueprints.form_choices import options
from dispatch.blueprints.form_errors import shown_on
from dispatch.blueprints.oncall.forms import (
    KIND_LABELS, ROLE_LABELS, TARGET_LABELS, WEEKDAY_LABELS, ImportForm, OverrideForm, ShiftForm,
)
from dispatch.clock import now
from dispatch.errors import DispatchError, refusals_return_to
from dispatch.i18n import local_datetime
from dispatch.services import access, oncall_board, oncall_reports, rota
from dispatch.services.timezone import hospital_zone, wall_to_utc
from models import Trade, db

bp = Blueprint("oncall", __name__, url_prefix="/oncall")
MAX_CSV_BYTES = 512 * 1024


@bp.context_processor
def labels() -> dict:
    return {"ROTA_ROLE_LABELS": ROLE_LABELS, "KIND_LABELS": KIND_LABELS, "WEEKDAY_LABELS": WEEKDAY_LABELS,
            "STEP_TARGET_LABELS": TARGET_LABELS, "when": lambda value: local_datetime(value, "weekday_time"),
            "phone_display": phone_display, "when_span": when_span}


def when_span(start: datetime, end: datetime) -> str:
    """'Mon 30 Nov 08:00–20:00' within a day, 'Fri 27 Nov 20:00 – Sat 28 Nov 08:00' across midnight
    ('11月30日 周一 08:00–20:00' in Chinese)."""
    zone = hospital_zone()
    if start.astimezone(zone).date() == end.astimezone(zone).date():
        return f"{local_datetime(start, 'weekday_time')}–{local_datetime(end, 'time')}"
    return f"{local_datetime(start, 'weekday_time')} – {local_datetime(end, 'weekday_time')}"


def phone_display(number: str) -> str:
    """+8613900001003 as +86 139 0000 1003: easier to read out and dial by hand."""
    try:
        return phonenumbers.format_number(phonenumbers.parse(number), phonenumbers.PhoneNumberFormat.INTERNATIONAL)
    except phonenumbers.NumberParseException:
        return number


def _trades() -> list[Trade]:
    return list(db.session.scalars(select(Trade).order_by(Trade.sort_order, Trade.display_name)))


@bp.route("/")
@roles_required(*access.ONCALL_VIEWERS)
def index():
    moment = now()
    posts, hospital = oncall_board.who_is_on_call(moment)
    return render_template("oncall/index.html", posts=posts, hospital=hospital, moment=moment)


# ---- the weekly pattern -----------------------------------------------------------------------

def _shift_form() -> ShiftForm:
    form = ShiftForm()
    form.trade_id.choices = options([(t.id, t.display_name) for t in _trades()] + [(0, _("Hospital-wide"))])
    form.user_id.choices = options([(0, "—")] + [(u.id, f"{u.full_name} ({u.username})") for u in oncall_board.rota_people()])
    return form


def _render_rota(shift_form: ShiftForm | None = None, import_form: ImportForm | None = None, status: int = 200):
    editor = current_user.role in access.ROTA_EDITORS
    return render_template(
        "oncall/rota.html", tables=oncall_board.weekly_pattern(), editor=editor,
        shift_form=shift_form or _shift_form(), import_form=import_form or ImportForm(),
    ), status


@bp.route("/rota")
@roles_required(*access.ONCALL_VIEWERS)
def rota_page():
    return _render_rota()


@bp.route("/rota/shifts", methods=["POST"])
@roles_required(*access.ROTA_EDITORS)
def add_shift():
    form = _shift_form()
    if not form.validate_on_submit():
        return _render_rota(shift_form=form, status=422)
    with shown_on(form) as outcome:
        rota.add_shift(trade_id=form.trade_id.data or None, role=form.role.data, user_id=form.user_id.data,
                       weekday=form.weekday.data, starts=form.starts.data.strftime("%H:%M"),
                       ends=form.ends.data.strftime("%H:%M"))
    if outcome.refused:
        return _render_rota(shift_form=form, status=422)
    flash(_("Shift added."), "success")
    return redirect(url_for("oncall.rota_page"))


@bp.route("/rota/shifts/<int:shift_id>/remove", methods=["POST"])
@roles_required(*access.ROTA_EDITORS)
def remove_shift(shift_id: int):
    refusals_return_to(url_for("oncall.rota_page"), missing_is_a_message=True)
    rota.remove_shift(shift_id)
    flash(_("Shift removed."), "success")
    return redirect(url_for("oncall.rota_page"))


@bp.route("/rota/import", methods=["POST"])
@roles_required(*access.ROTA_EDITORS)
def import_rota():
    form = ImportForm()
    if not form.validate_on_submit():
        return _render_rota(import_form=form, status=422)
    raw = form.file.data.read(MAX_CSV_BYTES + 1)
    with shown_on(form) as outcome:
        if len(raw) > MAX_CSV_BYTES:
            raise DispatchError(_("The file is larger than %(kb)d KB.", kb=MAX_CSV_BYTES // 1024), field="file")
        try:
            text = raw.decode("utf-8-sig")  # a spreadsheet's "CSV UTF-8" starts with a byte-order mark
        except UnicodeDecodeError:
            raise DispatchError(_("Save the CSV as UTF-8."), field="file") from None
        count = rota.import_csv(text, replace_existing=form.replace_existing.data)
    if outcome.refused:
        return _render_rota(import_form=form, status=422)
    flash(_("%(n)d shifts imported.", n=count), "success")
    return redirect(url_for("oncall.rota_page"))


@bp.route("/rota.csv")
@roles_required(*access.ROTA_EDITORS)
def export_rota():
    return Response(rota.export_csv(), mimetype="text/csv",
                    headers={"Content-Disposition": "attachment; filename=rota.csv"})


# ---- overrides --------------------------------------------------------------------------------

def _override_form() -> OverrideForm:
    form = OverrideForm()
    people = [(u.id, f"{u.full_name} ({u.username})") for u in oncall_board.rota_people()]
    form.user_id.choices = options([(0, "—")] + people)
    form.replaces_user_id.choices = options([(0, _("Nobody: joins whoever is on"))] + people)
    form.trade_id.choices = options([(0, _("Any trade"))] + [(t.id, t.display_name) for t in _trades()])
    return form


@bp.route("/overrides", methods=["GET", "POST"])
@roles_required(*access.ROTA_EDITORS)
def overrides():
    form = _override_form()
    status = 200
    if form.validate_on_submit():
        with shown_on(form) as outcome:
            leave = form.kind.data == "leave"
            rota.add_override(
                kind=form.kind.data, user_id=form.user_id.data, actor_id=current_user.id,
                starts_at=wall_to_utc(form.starts_at.data, "starts_at"), ends_at=wall_to_utc(form.ends_at.data, "ends_at"),
                trade_id=None if leave else form.trade_id.data or None, role=None if leave else form.role.data or None,
                replaces_user_id=None if leave else form.replaces_user_id.data or None, reason=form.reason.data)
        if outcome.succeeded:
            flash(_("Change to the rota saved."), "success")
            return redirect(url_for("oncall.overrides"))
        status = 422
    elif form.is_submitted():
        status = 422
    moment = now()
    return render_template("oncall/overrides.html", form=form, overrides=oncall_board.upcoming_overrides(moment),
                           moment=moment), status


@bp.route("/overrides/<int:override_id>/remove", methods=["POST"])
@roles_required(*access.ROTA_EDITORS)
def remove_override(override_id: int):
    refusals_return_to(url_for("oncall.overrides"), missing_is_a_message=True)
    rota.remove_override(override_id)
    flash(_("Change removed; the weekly rota applies again."), "success")
    return redirect(url_for("oncall.overrides"))


# ---- coverage gaps ----------------------------------------------------------------------------

@bp.route("/gaps")
@roles_required(*access.GAP_READERS)
def gaps():
    moment = now()
    return render_template("oncall/gaps.html", gaps=oncall_board.gaps_by_trade(moment), moment=moment,
                           last_sent=oncall_reports.last_sent())


from dispatch.blueprints.oncall import mine, policies  # noqa: E402,F401  (their routes join this blueprint)
