"""Statutory equipment's certificates and required activities' compliance, for the estates team's own tools."""
from __future__ import annotations

from datetime import date, timedelta

from flask import g
from flask.views import MethodView
from marshmallow import Schema, fields, validate

from dispatch.blueprints.api.schemas import STORABLE
from dispatch.blueprints.api.views import blp, errors
from dispatch.clock import now
from dispatch.services import access, certificates, required_activities
from dispatch.services.report_filters import LINE_BY_LINE_DAYS, check_period
from dispatch.services.timezone import hospital_date



class PeriodArgsSchema(Schema):
    start = fields.Date(load_default=None, metadata={"description": "first due date (hospital calendar); "
                                                                    "default: a year before `end`"})
    end = fields.Date(load_default=None, metadata={"description": "last due date; default: today"})
    standard = fields.String(load_default=None, validate=[validate.Length(max=60), STORABLE])


class CertificateSchema(Schema):
    asset_id = fields.Integer()
    tag = fields.String()
    asset = fields.String()
    kind = fields.String()
    high_risk = fields.Boolean()
    registration_number = fields.String()
    authority = fields.String()
    certificate = fields.String(allow_none=True)
    inspected_on = fields.Date(allow_none=True)
    valid_until = fields.Date(allow_none=True)
    state = fields.String(validate=validate.OneOf(certificates.CERTIFICATE_STATES))
    must_not_use = fields.Boolean()
    days_left = fields.Integer(allow_none=True)


class TallySchema(Schema):
    key = fields.String(allow_none=True)
    label = fields.String()
    on_time = fields.Integer()
    late = fields.Integer()
    missed = fields.Integer()
    pending = fields.Integer()
    counted = fields.Integer()
    pct = fields.Float(allow_none=True)


class RequiredComplianceSchema(Schema):
    start = fields.Date()
    end = fields.Date()
    standard = fields.String(allow_none=True)
    total = fields.Nested(TallySchema)
    by_month = fields.List(fields.Nested(TallySchema))
    by_standard = fields.List(fields.Nested(TallySchema))
    by_asset_class = fields.List(fields.Nested(TallySchema))


class OccurrenceSchema(Schema):
    id = fields.Integer()
    schedule_id = fields.Integer()
    activity = fields.String()
    standard = fields.String()
    asset_class = fields.String(allow_none=True)
    due_date = fields.Date()
    window_first = fields.Date()
    window_last = fields.Date()
    ticket = fields.Integer(allow_none=True)
    resolved_on = fields.Date(allow_none=True)
    state = fields.String(validate=validate.OneOf(required_activities.STATES))
    cause = fields.String(allow_none=True)


def _period(args) -> tuple[date, date, str | None]:
    access.require_role(g.api_user, access.COMPLIANCE_READERS)
    end = args["end"] or hospital_date(now())
    start = args["start"] or end - timedelta(days=365)
    check_period(start, end, LINE_BY_LINE_DAYS)
    return start, end, (args["standard"] or "").strip() or None


@blp.route("/certificates")
class Certificates(MethodView):
    @blp.response(200, CertificateSchema(many=True))
    @errors(401, 403)
    def get(self):
        """Every statutory asset with its certificate's state now (supervisors, estates managers, admins).
        `must_not_use`: no certificate valid at this moment (valid through its last day, hospital time)."""
        access.require_role(g.api_user, access.COMPLIANCE_READERS)
        return [{"asset_id": r.asset.id, "tag": r.asset.tag, "asset": r.asset.name, "kind": r.register.kind,
                 "high_risk": r.register.high_risk, "registration_number": r.register.registration_number,
                 "authority": r.register.authority, "certificate": r.latest.number if r.latest else None,
                 "inspected_on": r.latest.inspected_on if r.latest else None,
                 "valid_until": r.latest.valid_until if r.latest else None, "state": r.state,
                 "must_not_use": r.out_of_use, "days_left": r.days_left} for r in certificates.standings(now())]


@blp.route("/required-activities/compliance")
class RequiredCompliance(MethodView):
    @blp.arguments(PeriodArgsSchema, location="query")
    @blp.response(200, RequiredComplianceSchema)
    @errors(401, 403, 422)
    def get(self, args):
        """Required activities on time, late, missed and with their window still open, per month of the due date,
        per standard and per asset class; `pct` is on time of those whose window has closed."""
        start, end, standard = _period(args)
        report = required_activities.compliance(start, end, now(), standard)
        return {"start": start, "end": end, "standard": standard, "total": report.total.as_dict(),
                "by_month": [t.as_dict() for t in report.by_month],
                "by_standard": [t.as_dict() for t in report.by_standard],
                "by_asset_class": [t.as_dict() for t in report.by_kind]}


@blp.route("/required-activities/occurrences")
class RequiredOccurrences(MethodView):
    @blp.arguments(PeriodArgsSchema, location="query")
    @blp.response(200, OccurrenceSchema(many=True))
    @errors(401, 403, 422)
    def get(self, args):
        """Each required due date in the period with its window, its ticket and its state."""
        start, end, standard = _period(args)
        return [{"id": line.occurrence.id, "schedule_id": line.schedule.id, "activity": line.schedule.title,
                 "standard": line.occurrence.standard, "asset_class": line.occurrence.equipment_kind,
                 "due_date": line.occurrence.due_date, "window_first": line.occurrence.window_first,
                 "window_last": line.occurrence.window_last, "ticket": line.ticket.number if line.ticket else None,
                 "resolved_on": line.resolved_on, "state": line.state,
                 "cause": line.occurrence.cause.name if line.occurrence.cause else None}
                for line in required_activities.lines(start, end, now(), standard)]
