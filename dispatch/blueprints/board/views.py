"""The dispatcher's live board: open jobs by time left, assign and reassign, refreshing itself."""
from __future__ import annotations

from flask import Blueprint, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from dispatch.auth import roles_required
from dispatch.board_news import stream_token
from dispatch.blueprints.auth.views import safe_next
from dispatch.blueprints.board.forms import AssignForm, PriorityForm
from dispatch.blueprints.tickets.forms import ActionForm
from dispatch.clock import now
from dispatch.errors import ValidationError, refusals_return_to
from dispatch.numbers import whole_number
from dispatch.services import access, incidents
from dispatch.services.assignment import assign_ticket
from dispatch.services.board import open_board, reassignment_to_confirm
from dispatch.services.tickets import reprioritise

bp = Blueprint("board", __name__, url_prefix="/board")


def _unfolded() -> tuple[int, int] | None:
    """The folded group (trade and ward) the dispatcher asked to see in full, if any."""
    if "trade" not in request.args and "ward" not in request.args:
        return None
    trade, ward = whole_number(request.args.get("trade")), whole_number(request.args.get("ward"))
    if trade is None:
        raise ValidationError(_("Choose a trade."), field="trade")
    if ward is None:
        raise ValidationError(_("Choose a ward."), field="ward")
    return trade, ward


def _board_context() -> dict:
    moment = now()
    panel = incidents.board_panel(moment)
    unfold = _unfolded()
    return {
        "board": open_board(moment, hidden=panel.followers, unfold=unfold,
                            shown_soonest=current_app.config["BOARD_SHOWN_SOONEST"]),
        "unfold": unfold,
        "incident_panel": panel,
        "moment": moment,
        "assign_form": AssignForm(),
        "action_form": ActionForm(),
        "refresh_seconds": current_app.config["BOARD_REFRESH_SECONDS"],
        # Each fragment carries a fresh stream token: a board whose token ran out reconnects with the next one.
        "stream_token": stream_token(current_user.id, current_app.config["SECRET_KEY"]),
    }


@bp.route("/")
@roles_required(*access.CONTROL_ROOM)
def index():
    return render_template("board/index.html", **_board_context())


@bp.route("/rows")
@roles_required(*access.CONTROL_ROOM)
def rows():
    """The board's body alone, fetched by board.js so the screen refreshes without a reload."""
    return render_template("board/_rows.html", **_board_context())


@bp.route("/<int:ticket_id>/assign", methods=["POST"])
@roles_required(*access.CONTROL_ROOM)
def assign(ticket_id: int):
    form = AssignForm()
    back = safe_next(request.form.get("next")) or url_for("board.index")
    if not form.validate_on_submit():
        flash(_("Choose a technician."), "error")
        return redirect(back)
    version = whole_number(form.version.data)
    refusals_return_to(back, missing_is_a_message=True)
    if form.confirmed.data != "1":
        # Taking a job off someone is asked about first, naming them, on a page of its own (no script needed).
        change = reassignment_to_confirm(ticket_id, form.technician_id.data, version)
        if change is not None:
            return render_template("board/confirm_reassign.html", change=change, form=form, back=back)
    ticket = assign_ticket(ticket_id, form.technician_id.data, current_user, expected_version=version)
    flash(_("Ticket %(number)s assigned to %(name)s.", number=ticket.number, name=ticket.assignee.full_name), "success")
    return redirect(back)


@bp.route("/<int:ticket_id>/priority", methods=["POST"])
@roles_required(*access.CONTROL_ROOM)
def priority(ticket_id: int):
    form = PriorityForm()
    refusals_return_to(url_for("tickets.detail", ticket_id=ticket_id), missing_is_a_message=True)
    if form.validate_on_submit():
        version = whole_number(form.version.data)
        reprioritise(ticket_id, form.priority.data, current_user, reason=form.note.data, expected_version=version)
        flash(_("Priority changed; due times recomputed."), "success")
    else:
        flash(_("Give a priority and a reason."), "error")
    return redirect(url_for("tickets.detail", ticket_id=ticket_id))
