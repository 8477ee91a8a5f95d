"""The technician's phone page: my jobs, each with the next thing to do."""
from __future__ import annotations

from flask import Blueprint, render_template
from flask_login import current_user
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from dispatch.auth import roles_required
from dispatch.blueprints.photos.forms import PhotoForm
from dispatch.blueprints.tickets.forms import ActionForm
from dispatch.blueprints.tickets.views import available_actions
from dispatch.services import emergency_plans
from models import OPEN_STATUSES, Ticket, db

bp = Blueprint("technician", __name__)


@bp.route("/jobs")
@roles_required("technician")
def jobs():
    tickets = db.session.scalars(
        select(Ticket)
        .where(Ticket.assignee_id == current_user.id, Ticket.status.in_(OPEN_STATUSES))
        .options(selectinload(Ticket.ward), selectinload(Ticket.trade), selectinload(Ticket.location),
                 selectinload(Ticket.plan_version), selectinload(Ticket.photos))
        .order_by(Ticket.priority, Ticket.created_at)
    ).all()
    actions = {t.id: available_actions(current_user, t) for t in tickets}
    # An emergency's plan is on the job's card, steps to tick as they are done.
    panels = {t.id: emergency_plans.panel_for(t, current_user) for t in tickets if t.plan_version_id}
    return render_template("technician/jobs.html", tickets=tickets, actions=actions, action_form=ActionForm(),
                           panels=panels, photos_form=PhotoForm())
