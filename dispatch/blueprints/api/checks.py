"""Check forms by API: the forms with their items, filling one in, its records, and on-time compliance."""
from __future__ import annotations

from datetime import date, timedelta

from flask import g
from flask.views import MethodView
from marshmallow import Schema, fields, validate

from dispatch.blueprints.api.schemas import STORABLE
from dispatch.blueprints.api.views import blp, errors
from dispatch.clock import now
from dispatch.services import access, check_forms, rounds
from dispatch.services.recurrence import add_months
from dispatch.services.timezone import hospital_date


class CheckItemSchema(Schema):
    position = fields.Integer()
    label = fields.String()
    kind = fields.String(metadata={"enum": ["check", "reading"]})
    unit = fields.String(allow_none=True)
    min_value = fields.Float(allow_none=True, metadata={"description": "inclusive: a reading equal to it passes"})
    max_value = fields.Float(allow_none=True, metadata={"description": "inclusive: a reading equal to it passes"})
    asset_id = fields.Integer(allow_none=True)
    location_id = fields.Integer(allow_none=True)


class CheckFormSchema(Schema):
    id = fields.Integer(metadata={"description": "also the number an SMS answer starts with: C <id>"})
    kind = fields.String(metadata={"enum": ["round", "test"]})
    title = fields.String()
    standard = fields.String(allow_none=True)
    trade_id = fields.Integer()
    ward_id = fields.Integer()
    schedule_id = fields.Integer(allow_none=True)
    active = fields.Boolean()
    items = fields.List(fields.Nested(CheckItemSchema))


class AnswerSchema(Schema):
    passed = fields.Boolean(load_default=None, allow_none=True, metadata={"description": "for a check"})
    reading = fields.Float(load_default=None, allow_none=True, allow_nan=False,
                           metadata={"description": "for a reading"})
    note = fields.String(load_default=None, allow_none=True, validate=[validate.Length(max=200), STORABLE])


class RecordCreateSchema(Schema):
    answers = fields.List(fields.Nested(AnswerSchema), required=True, validate=validate.Length(min=1, max=99),
                          metadata={"description": "one answer per item, in the form's order: the first answers "
                                                   "item 1"})


class CheckResultSchema(Schema):
    position = fields.Integer()
    label = fields.String()
    unit = fields.String(allow_none=True)
    min_value = fields.Float(allow_none=True)
    max_value = fields.Float(allow_none=True)
    reading = fields.Float(allow_none=True)
    passed = fields.Boolean()
    note = fields.String(allow_none=True)
    ticket_id = fields.Integer(allow_none=True, metadata={"description": "the corrective ticket a failed item opened"})


class CheckRecordSchema(Schema):
    id = fields.Integer()
    form_id = fields.Integer()
    due_date = fields.Date(metadata={"description": "the due date it answers (hospital calendar)"})
    done_at = fields.DateTime()
    done_by_id = fields.Integer()
    channel = fields.String()
    failed_count = fields.Integer()
    results = fields.List(fields.Nested(CheckResultSchema))


class CheckComplianceArgsSchema(Schema):
    month = fields.String(load_default=None, validate=validate.Regexp(r"^20[0-9]{2}-(0[1-9]|1[0-2])$"),
                          metadata={"description": "the first month, YYYY-MM (this month by default)"})
    months = fields.Integer(load_default=1, validate=validate.Range(1, 36), metadata={"description": "how many months"})
    kind = fields.String(load_default=None, validate=validate.OneOf(["round", "test"]))


class FormComplianceSchema(Schema):
    form_id = fields.Integer()
    title = fields.String()
    kind = fields.String()
    standard = fields.String(allow_none=True)
    due = fields.Integer()
    met = fields.Integer()
    missed = fields.Integer()
    skipped = fields.Integer()
    failed_items = fields.Integer()
    missed_dates = fields.List(fields.Date())


class CheckComplianceSchema(Schema):
    start = fields.Date()
    end = fields.Date()
    due = fields.Integer()
    met = fields.Integer()
    percent = fields.Integer(allow_none=True)
    forms = fields.List(fields.Nested(FormComplianceSchema))


@blp.route("/check-forms")
class CheckForms(MethodView):
    @blp.response(200, CheckFormSchema(many=True))
    @errors(401, 403)
    def get(self):
        """Check forms (inspection rounds and test records) with their items in route order."""
        access.require_role(g.api_user, access.CHECK_READERS)
        return check_forms.list_forms()


@blp.route("/check-forms/<int:form_id>/records")
class CheckRecords(MethodView):
    @blp.response(200, CheckRecordSchema(many=True))
    @errors(401, 403, 404)
    def get(self, form_id):
        """The form's latest 50 records, newest due date first, each answer with its corrective ticket."""
        access.require_role(g.api_user, access.CHECK_READERS)
        return check_forms.records_of(check_forms.get_form(form_id).id)

    @blp.arguments(RecordCreateSchema)
    @blp.response(200, CheckRecordSchema, description="This due date was recorded already: the first record, unchanged")
    @blp.alt_response(201, schema=CheckRecordSchema, description="Recorded; each failed item opened one ticket",
                      success=True)
    @errors(400, 401, 403, 404, 422)
    def post(self, data, form_id):
        """Fill the form in now (technicians; the control room on their word). Every item is answered: a
        check with `passed`, a reading with `reading` (outside its limits it fails), in the form's order. A failed item opens one
        corrective ticket; sending again for the same due date changes nothing and answers 200."""
        answers = {position: check_forms.Answer(a["passed"], a["reading"], a["note"])
                   for position, a in enumerate(data["answers"], start=1)}
        submission = check_forms.submit_record(g.api_user, form_id, answers, channel="api")
        return check_forms.get_record(submission.record.id), 201 if submission.created else 200


@blp.route("/check-compliance")
class CheckCompliance(MethodView):
    @blp.arguments(CheckComplianceArgsSchema, location="query")
    @blp.response(200, CheckComplianceSchema)
    @errors(401, 403, 422)
    def get(self, args):
        """On-time compliance of rounds and test records for whole months (this month by default; today and
        later dates are not counted yet): the same figures as the page and the inspector's binder."""
        access.require_role(g.api_user, access.CHECK_READERS)
        first = date.fromisoformat(f"{args['month']}-01") if args["month"] else hospital_date(now()).replace(day=1)
        start, end = first, add_months(first, args["months"]) - timedelta(days=1)
        figures = rounds.compliance(start, end, args["kind"])
        return {"start": start, "end": end, "due": figures.due, "met": figures.met, "percent": figures.percent,
                "forms": [{"form_id": f.form.id, "title": f.form.title, "kind": f.form.kind, "standard": f.form.standard,
                           "due": f.due, "met": f.met, "missed": f.missed, "skipped": f.skipped,
                           "failed_items": f.failed_items, "missed_dates": f.missed_dates} for f in figures.forms]}
