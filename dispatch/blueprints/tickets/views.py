"""The ticket page (its file and timeline) and the one endpoint every role uses to move a ticket on."""
from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required

from dispatch.auth import roles_required
from dispatch.blueprints.auth.views import safe_next
from dispatch.blueprints.tickets.forms import ActionForm, CommentForm, PartsForm
from dispatch.errors import refusals_return_to
from dispatch.numbers import whole_number
from dispatch.blueprints.photos.forms import PhotoForm
from dispatch.services import access, costs, emergency_plans, notify, permits, photos, stock
from dispatch.services.stock import PartLine
from dispatch.services.assignment import candidates_for
from dispatch.services.tickets import ACTION_LABELS, TRANSITIONS, add_comment, transition
from models import ROLES

bp = Blueprint("tickets", __name__, url_prefix="/tickets")


def available_actions(user, ticket) -> list[str]:
    """Actions this user could take on this ticket now (the service still checks each one)."""
    actions = []
    for action, (sources, _target) in TRANSITIONS.items():
        if ticket.status not in sources:
            continue
        if action in {"confirm", "reopen"} and not access.may_confirm(user, ticket):
            continue
        if action == "cancel" and user.role not in access.CONTROL_ROOM and not (user.role == "nurse" and ticket.status == "new"):
            continue
        if action not in {"confirm", "reopen", "cancel"} and not access.may_work(user, ticket) and not (
                action == "acknowledge" and access.may_accept_page(user, ticket)):
            continue
        actions.append(action)
    return actions


@bp.route("/<int:ticket_id>")
@login_required
def detail(ticket_id: int):
    ticket = access.ticket_for(current_user, ticket_id)  # another ward's ticket: 404, as a missing one
    control_room = current_user.role in access.CONTROL_ROOM and ticket.is_open
    candidates = candidates_for(ticket) if control_room else []
    plan_choices = [p for p in emergency_plans.all_plans()
                    if p.active or (ticket.plan_version and p.id == ticket.plan_version.plan_id)] if control_room else []
    return render_template(
        "tickets/detail.html", ticket=ticket, actions=available_actions(current_user, ticket),
        action_form=ActionForm(), comment_form=CommentForm(), candidates=candidates,
        # Who sees the messages, the parts and the cost is access's rule (nurses see the work done, not those).
        messages=notify.messages_for_ticket(ticket.id) if access.may_see_messages(current_user, ticket) else [],
        just_filed=request.args.get("filed") == "1",
        plan_panel=emergency_plans.panel_for(ticket, current_user), plan_choices=plan_choices,
        permit_panel=permits.panel_for(ticket, current_user),
        parts=stock.ticket_parts(ticket.id) if access.may_see_parts(current_user, ticket) else [],
        may_see_parts=access.may_see_parts(current_user, ticket),
        cost=costs.ticket_cost(ticket) if access.may_see_costs(current_user, ticket) else None,
        events=access.visible_events(current_user, ticket),
        may_add_parts=stock.may_record_parts(current_user, ticket),
        photos_by_event=photos.by_event(ticket), photos_form=PhotoForm(), may_work=access.may_work(current_user, ticket),
    )


PART_ROWS = 3  # part lines on the finish form; more can be added from the ticket page afterwards


def part_lines(form) -> list[PartLine]:
    """The part lines filled in on a form (`part-0`, `quantity-0`, `store-0`...); an empty quantity means 1."""
    lines = []
    for index in range(PART_ROWS):
        code = (form.get(f"part-{index}") or "").strip()
        if not code:
            continue
        store = (form.get(f"store-{index}") or "").strip()
        lines.append(PartLine(code[:30], (form.get(f"quantity-{index}") or "").strip()[:12] or "1",
                              whole_number(store, max_digits=9)))
    return lines


@bp.route("/<int:ticket_id>/<action>", methods=["POST"])
@roles_required(*ROLES)
def act(ticket_id: int, action: str):
    if action not in TRANSITIONS:
        abort(404)
    form = ActionForm()
    back = safe_next(form.next.data) or url_for("tickets.detail", ticket_id=ticket_id)
    if not form.validate():
        for field, errors in form.errors.items():
            flash(f"{getattr(form, field).label.text}: {' '.join(errors)}", "error")
        return redirect(back)
    refusals_return_to(back)
    transition(
        ticket_id, action, current_user,
        expected_version=whole_number(form.version.data),
        note=form.note.data, labour_minutes=form.labour_minutes.data, parts_used=form.parts_used.data,
        parts=part_lines(request.form) if action == "resolve" else None,
        rating=int(form.rating.data) if form.rating.data else None,
    )
    flash(_("Ticket %(number)s %(action)s.", number=ticket_id, action=ACTION_LABELS[action]), "success")
    return redirect(back)


@bp.route("/<int:ticket_id>/parts", methods=["POST"])
@roles_required(*ROLES)
def add_parts(ticket_id: int):
    def take() -> str:
        issued = stock.issue_parts(ticket_id, part_lines(request.form), current_user)
        return _("%(n)d part line(s) recorded and taken from stock.", n=len(issued))

    return _change_parts(ticket_id, take)


@bp.route("/<int:ticket_id>/parts/<int:line_id>/return", methods=["POST"])
@roles_required(*ROLES)
def return_part(ticket_id: int, line_id: int):
    def give_back() -> str:
        stock.return_part(line_id, request.form.get("quantity") or "1", current_user, request.form.get("reason"),
                          ticket_id=ticket_id)
        return _("Returned to stock.")

    return _change_parts(ticket_id, give_back)


def _change_parts(ticket_id: int, change):
    """Run one parts change from the ticket page (`change` returns what to tell the person) and go back."""
    back = url_for("tickets.detail", ticket_id=ticket_id)
    if not PartsForm().validate_on_submit():
        flash(_("The form had expired; try again."), "error")
        return redirect(back)
    refusals_return_to(back)
    flash(change(), "success")
    return redirect(back)


@bp.route("/<int:ticket_id>/comment", methods=["POST"])
@login_required
def comment(ticket_id: int):
    access.ticket_for(current_user, ticket_id)  # whose ticket before what the form says
    refusals_return_to(url_for("tickets.detail", ticket_id=ticket_id))
    form = CommentForm()
    if form.validate_on_submit():
        add_comment(ticket_id, current_user, form.note.data)
    else:
        flash(_("Write a comment first."), "error")
    return redirect(url_for("tickets.detail", ticket_id=ticket_id))
