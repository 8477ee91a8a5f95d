"""The estates store: the stock list, one part's ledger with receipts and counts, the reorder list, stores."""
from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import select

from dispatch.auth import roles_required
from dispatch.blueprints.form_errors import shown_on
from dispatch.blueprints.reports.export import Column, Sheet, csv_response, xlsx_response
from dispatch.blueprints.stock.forms import AdjustForm, PartForm, ReceiveForm, StoreForm, coerce_choice
from dispatch.clock import now
from dispatch.services import stock
from dispatch.services.stock import STOCK_READERS, STOREKEEPERS
from dispatch.services.timezone import hospital_date
from models import Building, Part, Trade, db

bp = Blueprint("stock", __name__, url_prefix="/stock")


def _store_choices(blank: bool = False) -> list[tuple[int, str]]:
    choices = [(s.id, s.name) for s in stock.stores()]
    return [(0, "—"), *choices] if blank else choices


@bp.route("/")
@roles_required(*STOCK_READERS)
def index():
    search = (request.args.get("q") or "")[:60]
    low_only = request.args.get("low") == "1"
    rows = stock.stock_list(search, reorder_only=low_only, include_inactive=request.args.get("retired") == "1")
    return render_template("stock/list.html", rows=rows, search=search, low_only=low_only,
                           may_keep=current_user.role in STOREKEEPERS)


def _reorder_sheet(rows) -> Sheet:
    columns = [Column(_("Code")), Column(_("Part")), Column(_("Unit")), Column(_("On hand"), "int"),
               Column(_("Reorder level"), "int"), Column(_("Suggested order"), "int"), Column(_("Unit cost"), "money"),
               Column(_("Order value"), "money"), Column(_("Trade"))]
    # A list: a streamed CSV is written after the request's session has closed (see reports.tables.licences_sheet).
    return Sheet(_("Reorder list"), columns, [
        [r.part.code, r.part.display_name, r.part.unit, r.on_hand, r.part.reorder_level, r.suggested, r.part.unit_cost,
         r.part.unit_cost * r.suggested, r.part.trade.display_name if r.part.trade else ""] for r in rows])


@bp.route("/reorder", endpoint="reorder")
@bp.route("/reorder.<any(csv, xlsx):fmt>", endpoint="reorder_export")
@roles_required(*STOCK_READERS)
def reorder(fmt: str | None = None):
    rows = stock.reorder_list()
    if fmt:
        name = f"reorder_{hospital_date(now()).isoformat()}"
        sheet = _reorder_sheet(rows)
        return csv_response(sheet, name) if fmt == "csv" else xlsx_response([sheet], name)
    return render_template("stock/reorder.html", rows=rows)


def _part_or_404(part_id: int) -> Part:
    part = db.session.get(Part, part_id)
    if part is None:
        abort(404)
    return part


def _movement_forms(receive: ReceiveForm | None = None, adjust: AdjustForm | None = None):
    receive = receive or ReceiveForm(prefix="receive")
    adjust = adjust or AdjustForm(prefix="adjust")
    coerce_choice(receive.store_id, _store_choices())
    coerce_choice(adjust.store_id, _store_choices())
    return receive, adjust


@bp.route("/parts/<int:part_id>")
@roles_required(*STOCK_READERS)
def part(part_id: int):
    receive, adjust = _movement_forms()
    return _part_page(_part_or_404(part_id), receive, adjust)


def _part_page(part: Part, receive: ReceiveForm, adjust: AdjustForm, status: int = 200):
    row = stock.stock_row(part)
    return render_template("stock/part.html", part=part, row=row, movements=stock.movements(part.id),
                           receive=receive, adjust=adjust, may_keep=current_user.role in STOREKEEPERS), status


@bp.route("/parts/<int:part_id>/receive", methods=["POST"])
@roles_required(*STOREKEEPERS)
def receive(part_id: int):
    part = _part_or_404(part_id)
    form, adjust = _movement_forms(receive=ReceiveForm(prefix="receive"))
    if form.validate_on_submit():
        with shown_on(form) as outcome:
            movement = stock.receive(part.id, form.store_id.data, form.quantity.data, current_user,
                                     unit_cost=form.unit_cost.data, reason=form.reason.data)
        if outcome.succeeded:
            flash(_("%(n)d received into %(store)s; %(balance)d there now.", n=movement.quantity,
                    store=movement.store.name, balance=movement.balance_after), "success")
            return redirect(url_for("stock.part", part_id=part.id))
    return _part_page(part, form, adjust, 422)


@bp.route("/parts/<int:part_id>/adjust", methods=["POST"])
@roles_required(*STOREKEEPERS)
def adjust(part_id: int):
    part = _part_or_404(part_id)
    receive_form, form = _movement_forms(adjust=AdjustForm(prefix="adjust"))
    if form.validate_on_submit():
        with shown_on(form) as outcome:
            movement = stock.adjust(part.id, form.store_id.data, form.counted.data, current_user, form.reason.data)
        if outcome.succeeded:
            flash(_("The count agrees; nothing to record.") if movement is None else
                  _("Stock set to %(balance)d (%(change)+d), with the reason on record.",
                    balance=movement.balance_after, change=movement.quantity), "success")
            return redirect(url_for("stock.part", part_id=part.id))
    return _part_page(part, receive_form, form, 422)


def _trade_choices() -> list[tuple[int, str]]:
    return [(0, _("Any trade")), *((t.id, t.display_name) for t in db.session.scalars(select(Trade).order_by(Trade.sort_order)))]


@bp.route("/parts/new", methods=["GET", "POST"], endpoint="new_part")
@bp.route("/parts/<int:part_id>/edit", methods=["GET", "POST"], endpoint="edit_part")
@roles_required(*STOREKEEPERS)
def edit_part(part_id: int | None = None):
    part = _part_or_404(part_id) if part_id else None
    form = PartForm(obj=part) if request.method == "GET" else PartForm()
    if request.method == "GET":
        form.active.data = part.active if part else True
        form.trade_id.data = (part.trade_id if part else 0) or 0
        form.name.data = part.english_name if part else ""
        if part is None:
            form.unit.data, form.reorder_level.data = "each", "0"
    coerce_choice(form.trade_id, _trade_choices())
    if request.method == "POST" and form.validate_on_submit():
        with shown_on(form) as outcome:
            saved = stock.save_part(current_user, part_id=part_id, code=form.code.data, name=form.name.data,
                                    name_zh=form.name_zh.data,
                                    unit=form.unit.data, unit_cost=form.unit_cost.data,
                                    reorder_level=form.reorder_level.data, trade_id=form.trade_id.data or None,
                                    active=form.active.data)
        if outcome.succeeded:
            flash(_("%(code)s saved.", code=saved.code), "success")
            return redirect(url_for("stock.part", part_id=saved.id))
    status = 422 if request.method == "POST" else 200
    return render_template("stock/part_form.html", form=form, part=part), status


@bp.route("/stores", methods=["GET", "POST"])
@roles_required(*STOREKEEPERS)
def stores():
    form = StoreForm()
    buildings = [(0, "—"), *((b.id, b.display_name) for b in db.session.scalars(select(Building).order_by(Building.display_name)))]
    coerce_choice(form.building_id, buildings)
    status = 200
    if request.method == "POST":
        if form.validate_on_submit():
            with shown_on(form) as outcome:
                store = stock.add_store(current_user, form.name.data, form.building_id.data or None)
            if outcome.succeeded:
                flash(_("%(name)s added.", name=store.name), "success")
                return redirect(url_for("stock.stores"))
        status = 422
    return render_template("stock/stores.html", form=form, stores=stock.stores()), status
