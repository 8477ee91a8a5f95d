"""JSON endpoints: the same services as the pages, authenticated by bearer token."""
from __future__ import annotations

from http import HTTPStatus

from flask import g, request
from flask.views import MethodView
from flask_smorest import Blueprint, abort
from sqlalchemy import inspect, select
from sqlalchemy.orm import joinedload, selectinload

from dispatch.blueprints.api.schemas import (
    AssignSchema,
    CandidateSchema,
    TicketCreateSchema,
    TicketListArgsSchema,
    TicketSchema,
    TransitionSchema,
    TransitionWithNoteSchema,
)
from dispatch.errors import ValidationError
from dispatch.security import unstorable_field, unstorable_form_field
from dispatch.services import access
from dispatch.services.assignment import assign_ticket, candidates_for
from dispatch.services.tickets import ACTIONS_NEEDING_A_NOTE, TRANSITIONS, report_fault, transition
from dispatch.services.tokens import user_for_token
from models import OPEN_STATUSES, Ticket, Trade, db

blp = Blueprint("api", __name__, url_prefix="/api/v1", description="Tickets, assignment, transitions and alarms")


def errors(*codes: int):
    """Declare the error answers of a route in the document (each body is ApiErrorSchema). Every route
    may also answer 503 when the database does not answer (errors.database_unavailable_response)."""
    def decorate(func):
        for code in (*codes, 503):
            func = blp.alt_response(code, response=HTTPStatus(code).name)(func)
        return func
    return decorate


@blp.before_request
def authenticate():
    header = request.headers.get("Authorization", "")
    scheme, _, raw = header.partition(" ")
    user = user_for_token(raw.strip()) if scheme.lower() == "bearer" else None
    if user is None:
        abort(401, message="A valid bearer token is required.", headers={"WWW-Authenticate": "Bearer"})
    g.api_user = user
    # Text no database can store (a NUL, a lone UTF-16 surrogate such as JSON's "\ud800"), wherever it is
    # sent: one check, shared with the pages, before any field reaches a service (SQLite's driver would fail).
    field = unstorable_form_field(request.args) or unstorable_field(request.get_json(silent=True))
    if field:
        message = UNSTORABLE_TEXT
        abort(422, message=message, errors={field: [message]})


UNSTORABLE_TEXT = "Holds a character that cannot be stored: a NUL, or half of a UTF-16 surrogate pair sent alone."


@blp.route("/tickets")
class Tickets(MethodView):
    @blp.arguments(TicketListArgsSchema, location="query")
    @blp.response(200, TicketSchema(many=True))
    @errors(401, 422)
    def get(self, args):
        """Tickets visible to the caller; open ones by default."""
        statuses = OPEN_STATUSES if args["status"] == "open" else (args["status"],)
        query = access.visible_tickets(g.api_user).where(Ticket.status.in_(statuses))
        query = query.options(selectinload(Ticket.ward), selectinload(Ticket.trade), selectinload(Ticket.assignee))
        return db.session.scalars(query.order_by(Ticket.created_at.desc()).limit(args["limit"])).all()

    @blp.arguments(TicketCreateSchema)
    @blp.response(201, TicketSchema)
    @errors(400, 401, 403, 422)
    def post(self, data):
        """Report a fault. Priority is proposed unless the control room sets it."""
        trade = db.session.scalar(select(Trade).where(Trade.code == data.pop("trade")))
        if trade is None:
            raise ValidationError("Unknown trade code.", field="trade")
        filed = report_fault(g.api_user, trade_id=trade.id, channel="api", **data)
        # The commit expired every row the report loaded: read the answer back in one query, not the
        # ticket, its trade, ward and technician one after another.
        return db.session.scalars(select(Ticket).where(Ticket.id == inspect(filed).identity[0]).options(
            joinedload(Ticket.trade), joinedload(Ticket.ward), joinedload(Ticket.location),
            joinedload(Ticket.assignee))).one()


@blp.route("/tickets/<int(max=2147483647):number>")
class TicketResource(MethodView):
    @blp.response(200, TicketSchema)
    @errors(401, 404)
    def get(self, number: int):
        return access.ticket_for(g.api_user, number)


@blp.route("/tickets/<int(max=2147483647):number>/candidates")
class Candidates(MethodView):
    @blp.response(200, CandidateSchema(many=True))
    @errors(401, 403, 404)
    def get(self, number: int):
        """Technicians who may take this ticket now (valid licence), least loaded first."""
        access.require_role(g.api_user, access.CONTROL_ROOM)
        ticket = access.ticket_for(g.api_user, number)
        return [{"id": c.technician.id, "name": c.technician.full_name, "open_jobs": c.open_jobs}
                for c in candidates_for(ticket)]


@blp.route("/tickets/<int(max=2147483647):number>/assign")
class Assign(MethodView):
    @blp.arguments(AssignSchema)
    @blp.response(200, TicketSchema)
    @errors(400, 401, 403, 404, 409, 422)
    def post(self, data, number: int):
        """Assign (or, with the version you saw, reassign) to a licensed technician."""
        access.ticket_for(g.api_user, number)
        return assign_ticket(number, data["technician_id"], g.api_user, expected_version=data["version"], channel="api")


# One route per action, so the document gives each the body it takes: the note is required exactly where the
# service requires it (ACTIONS_NEEDING_A_NOTE), and a request that fits the document is not refused for lack
# of one. The URLs are the same as ever: /tickets/<number>/<action>, the action spelled with a hyphen.
class Transition(MethodView):
    @blp.arguments(TransitionSchema)
    @blp.response(200, TicketSchema)
    @errors(400, 401, 403, 404, 409, 422)
    def post(self, data, number: int, action: str):
        """Move the ticket on: acknowledge, attend, resume or confirm (a note is optional)."""
        return _move_on(number, action, data)


class TransitionWithNote(MethodView):
    @blp.arguments(TransitionWithNoteSchema)
    @blp.response(200, TicketSchema)
    @errors(400, 401, 403, 404, 409, 422)
    def post(self, data, number: int, action: str):
        """Move the ticket on with a note saying why or what was done: refuse, hold, make-safe, resolve, reopen
        or cancel."""
        return _move_on(number, action, data)


for _action in TRANSITIONS:
    blp.add_url_rule(f"/tickets/<int(max=2147483647):number>/{_action.replace('_', '-')}",
                     endpoint=f"Transition_{_action}", defaults={"action": _action},
                     view_func=TransitionWithNote if _action in ACTIONS_NEEDING_A_NOTE else Transition)


def _move_on(number: int, action: str, data: dict):
    return transition(number, action, g.api_user, channel="api",
                      expected_version=data.pop("version"), **data)
