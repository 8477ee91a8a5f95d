"""Major incidents: the dispatcher groups, ungroups and resolves from the board; a ward reporting a
fault already being handled is told at once and may add to it instead of filing again."""
from __future__ import annotations

from flask import Blueprint, flash, jsonify, redirect, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from dispatch.auth import roles_required
from dispatch.blueprints.incidents.forms import GroupForm, IncidentCommentForm, ResolveIncidentForm, UngroupForm
from dispatch.errors import refusals_return_to
from dispatch.services import access, incidents
from dispatch.services.tickets import status_label

bp = Blueprint("incidents", __name__, url_prefix="/incidents")


def _done(message: str | None = None, error: str | None = None):
    if error is not None:
        flash(error, "error")
    elif message:
        flash(message, "success")
    return redirect(url_for("board.index"))


def _refusals_to_the_board() -> None:
    # The board may be older than the incident's last change: a closed incident is a message, not a 404.
    refusals_return_to(url_for("board.index"), missing_is_a_message=True)


@bp.route("/group", methods=["POST"])
@roles_required(*access.CONTROL_ROOM)
def group():
    form = GroupForm()
    if not form.validate_on_submit():
        return _done(error=_("Nothing to group."))
    _refusals_to_the_board()
    incident = incidents.group_reports(form.trade_id.data, form.building_id.data, current_user)
    return _done(_("Grouped as incident #%(n)d: assigning ticket %(n)d assigns the team to every ward.",
                   n=incident.number))


@bp.route("/ungroup/<int:ticket_id>", methods=["POST"])
@roles_required(*access.CONTROL_ROOM)
def ungroup(ticket_id: int):
    form = UngroupForm()
    if not form.validate_on_submit():
        return _done(error=_("Give a reason."))
    _refusals_to_the_board()
    ticket = incidents.ungroup_ticket(ticket_id, current_user, form.note.data)
    return _done(_("Ticket %(n)d is back on the board on its own.", n=ticket.number))


@bp.route("/<int:incident_id>/resolve", methods=["POST"])
@roles_required(*access.CONTROL_ROOM)
def resolve(incident_id: int):
    form = ResolveIncidentForm()
    if not form.validate_on_submit():
        return _done(error=_("Say what was done."))
    _refusals_to_the_board()
    incident = incidents.resolve_incident(incident_id, current_user, form.note.data)
    return _done(_("Incident #%(n)d resolved; each ward is asked to confirm its own ticket.", n=incident.number))


@bp.route("/ongoing")
@roles_required(*access.REPORTERS)
def ongoing():
    """For the report form: is this trade already being handled in this ward's building?"""
    ward_id = request.args.get("ward_id", type=int) or current_user.ward_id
    trade_id = request.args.get("trade_id", type=int)
    if current_user.role == "nurse":
        ward_id = current_user.ward_id
    incident = incidents.ongoing_for(ward_id, trade_id) if ward_id and trade_id else None
    if incident is None:
        return jsonify({"incident": None})
    lead = incident.lead_ticket
    state = status_label(lead.status).lower()
    who = lead.assignee.full_name if lead.assignee else None
    message = (_("%(trade)s in %(building)s is being worked on: ticket %(n)d (%(state)s, %(who)s), %(wards)d wards "
                 "reporting.", trade=incident.trade.display_name, building=incident.building.display_name, n=lead.number, state=state,
                 who=who, wards=incidents.ward_count(incident)) if who else
               _("%(trade)s in %(building)s is already reported: ticket %(n)d (%(state)s), %(wards)d wards reporting.",
                 trade=incident.trade.display_name, building=incident.building.display_name, n=lead.number, state=state,
                 wards=incidents.ward_count(incident)))
    return jsonify({"incident": incident.id, "ticket": lead.number, "message": message,
                    "comment_url": url_for("incidents.comment", incident_id=incident.id),
                    "hint": _("Add what you see to ticket %(n)d below, or send your own report: it joins the incident.",
                              n=lead.number)})


@bp.route("/<int:incident_id>/comment", methods=["POST"])
@roles_required(*access.REPORTERS)
def comment(incident_id: int):
    form = IncidentCommentForm()
    back = url_for("report.new")
    if not form.validate_on_submit():
        flash(_("Say in a few words what you see."), "error")
        return redirect(back)
    # A ward in another building is refused as the role guard would (403); an incident closed meanwhile is
    # only a message.
    refusals_return_to(back, missing_is_a_message=True)
    incidents.comment_on_incident(incident_id, current_user, form.note.data)
    flash(_("Added to the ticket being worked on. No new report was filed."), "success")
    return redirect(url_for("report.tickets") if current_user.role == "nurse" else back)
