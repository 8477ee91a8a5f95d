"""Permits to work and utility interruptions in the JSON API: the same services as the pages."""
from __future__ import annotations

from flask import g
from flask.views import MethodView
from marshmallow import Schema, fields, validate

from dispatch.blueprints.api.schemas import ID_RANGE, NOT_BLANK, STORABLE
from dispatch.blueprints.api.views import blp, errors
from dispatch.services import access, interruptions, permits
from models import UTILITIES

TEXT = [validate.Length(min=1, max=4000), NOT_BLANK]


class PermitSchema(Schema):
    id = fields.Integer()
    ticket = fields.Integer(attribute="ticket_id")
    trade = fields.String(attribute="trade.code")
    state = fields.String(metadata={"description": "draft, issued, accepted (work may start), cancelled"})
    work = fields.String()
    isolation_points = fields.List(fields.String(), attribute="isolation_list")
    precautions = fields.List(fields.String(), attribute="precaution_list")
    wards = fields.Method("ward_ids")
    valid_from = fields.DateTime()
    valid_until = fields.DateTime()
    issued_by = fields.String(attribute="issued_by.full_name", allow_none=True)
    issued_at = fields.DateTime(allow_none=True)
    accepted_by = fields.String(attribute="accepted_by.full_name", allow_none=True)
    accepted_at = fields.DateTime(allow_none=True)
    cancelled_at = fields.DateTime(allow_none=True)
    restored = fields.String(allow_none=True)

    def ward_ids(self, permit) -> list[int]:
        return [ward.id for ward in permit.wards]


class PermitDraftSchema(Schema):
    work = fields.String(required=True, validate=TEXT)
    isolation_points = fields.List(fields.String(validate=[validate.Length(max=400), STORABLE]), required=True,
                                   validate=validate.Length(min=1, max=60))
    precautions = fields.List(fields.String(validate=[validate.Length(max=400), STORABLE]), required=True,
                              validate=validate.Length(min=1, max=60))
    ward_ids = fields.List(fields.Integer(validate=ID_RANGE), required=True, validate=validate.Length(min=1, max=100))
    valid_from = fields.AwareDateTime(required=True)
    valid_until = fields.AwareDateTime(required=True)


class CancelSchema(Schema):
    restored = fields.String(required=True, validate=TEXT, metadata={"description": "what was restored, and checked"})


class InterruptionSchema(Schema):
    id = fields.Integer(dump_only=True)
    utility = fields.String(required=True, validate=validate.OneOf(UTILITIES))
    planned = fields.Boolean(required=True)
    starts_at = fields.AwareDateTime(required=True)
    ends_at = fields.AwareDateTime(load_default=None, allow_none=True)
    cause = fields.String(required=True, validate=TEXT)
    clinical_actions = fields.String(load_default=None, allow_none=True, validate=[validate.Length(max=4000), STORABLE])
    ward_ids = fields.List(fields.Integer(validate=ID_RANGE), required=True, validate=validate.Length(min=1, max=100))
    ticket_ids = fields.List(fields.Integer(validate=ID_RANGE), load_default=list, validate=validate.Length(max=100))
    incident_id = fields.Integer(load_default=None, allow_none=True, validate=ID_RANGE)
    plan_version_id = fields.Integer(load_default=None, allow_none=True, validate=ID_RANGE)
    notice_hours = fields.Integer(load_default=interruptions.DEFAULT_NOTICE_HOURS,
                                  validate=validate.Range(0, interruptions.MAX_NOTICE_HOURS))
    announced_at = fields.DateTime(dump_only=True, allow_none=True)


class InterruptionOutSchema(InterruptionSchema):
    ward_ids = fields.Method("wards")
    ticket_ids = fields.Method("ticket_numbers")

    def wards(self, entry) -> list[int]:
        return [ward.id for ward in entry.wards]

    def ticket_numbers(self, entry) -> list[int]:
        return [ticket.id for ticket in entry.tickets]


class PeriodArgsSchema(Schema):
    start = fields.Date(load_default=None)
    end = fields.Date(load_default=None)


@blp.route("/permits")
class Permits(MethodView):
    @blp.response(200, PermitSchema(many=True))
    @errors(401, 403)
    def get(self):
        """Live permits first, then the latest others."""
        access.require_role(g.api_user, access.PERMIT_READERS)
        return permits.recent_permits()


@blp.route("/tickets/<int(max=2147483647):number>/permits")
class TicketPermits(MethodView):
    @blp.arguments(PermitDraftSchema)
    @blp.response(201, PermitSchema)
    @errors(400, 401, 403, 404, 422)
    def post(self, data, number: int):
        """Draft a permit for a ticket whose work needs one; an Authorised Person then issues it."""
        access.ticket_for(g.api_user, number)  # another ward's ticket: 404, as a missing one
        return permits.draft_permit(g.api_user, number, permits.PermitValues(
            work=data["work"], isolation_points="\n".join(data["isolation_points"]),
            precautions="\n".join(data["precautions"]), ward_ids=data["ward_ids"], valid_from=data["valid_from"],
            valid_until=data["valid_until"]))


@blp.route("/permits/<int(max=2147483647):permit_id>")
class PermitResource(MethodView):
    @blp.response(200, PermitSchema)
    @errors(401, 403, 404)
    def get(self, permit_id: int):
        access.require_role(g.api_user, access.PERMIT_READERS)
        return permits.permit_for(g.api_user, permit_id)


@blp.route("/permits/<int(max=2147483647):permit_id>/issue")
class PermitIssue(MethodView):
    @blp.response(200, PermitSchema)
    @errors(401, 403, 404, 409, 422)
    def post(self, permit_id: int):
        """Issue (an Authorised Person for the trade): the wards affected are told by SMS."""
        access.require_role(g.api_user, access.PERMIT_READERS)
        return permits.issue_permit(permits.permit_for(g.api_user, permit_id).id, g.api_user, channel="api")


@blp.route("/permits/<int(max=2147483647):permit_id>/accept")
class PermitAccept(MethodView):
    @blp.response(200, PermitSchema)
    @errors(401, 403, 404, 409, 422)
    def post(self, permit_id: int):
        """Accept (the ticket's technician, a Competent Person): then they may go on site."""
        access.require_role(g.api_user, access.PERMIT_READERS)
        return permits.accept_permit(permits.permit_for(g.api_user, permit_id).id, g.api_user, channel="api")


@blp.route("/permits/<int(max=2147483647):permit_id>/cancel")
class PermitCancel(MethodView):
    @blp.arguments(CancelSchema)
    @blp.response(200, PermitSchema)
    @errors(400, 401, 403, 404, 409, 422)
    def post(self, data, permit_id: int):
        """Cancel (an Authorised Person): supply restored, the wards told; the ticket may then be resolved."""
        access.require_role(g.api_user, access.PERMIT_READERS)
        return permits.cancel_permit(permits.permit_for(g.api_user, permit_id).id, g.api_user, data["restored"],
                                     channel="api")


@blp.route("/interruptions")
class Interruptions(MethodView):
    @blp.arguments(PeriodArgsSchema, location="query")
    @blp.response(200, InterruptionOutSchema(many=True))
    @errors(401, 403, 422)
    def get(self, args):
        """Interruptions that started in the period (hospital days; this month so far by default)."""
        access.require_role(g.api_user, access.PERMIT_READERS)
        start, end = interruptions.period(args["start"], args["end"])
        return interruptions.interruptions_between(start, end)

    @blp.arguments(InterruptionSchema)
    @blp.response(201, InterruptionOutSchema)
    @errors(400, 401, 403, 422)
    def post(self, data):
        """Log an interruption; a planned one is announced to its wards `notice_hours` before it starts."""
        return interruptions.save_interruption(g.api_user, None, interruptions.InterruptionValues(**data))
