"""Request and response shapes of the API; validation and the OpenAPI document come from these."""
from flask import g
from marshmallow import Schema, fields, post_dump, validate

from dispatch.services import access

from dispatch.seed import TRADE_CODES

# Ids are database integers: a larger number can name nothing (and must not reach the database driver).
MAX_ID = 2_147_483_647
ID_RANGE = validate.Range(1, MAX_ID)
# What the services refuse in a text, stated in the document so that a request that fits it is never refused
# for it. No NUL (no database can store one; the API refuses it, and a lone UTF-16 surrogate, before reading
# the body, see dispatch.security; a surrogate is no Unicode character, so no JSON Schema string holds one and
# no pattern can name it). The services strip a text before using it, so a required one must hold something
# besides whitespace, and a description 3 characters from its first to its last. Whitespace is spelled out as
# Python's str.strip() takes it (\x1c-\x1f included), since \s means less in other regex engines.
WHITESPACE = r"\t\n\x0b\x0c\r\x1c-\x1f \x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000"
_STORABLE = r"[^\x00]"
_VISIBLE = rf"[^\x00{WHITESPACE}]"
STORABLE = validate.Regexp(rf"^{_STORABLE}*$", error="Holds a character that cannot be stored.")
NOT_BLANK = validate.Regexp(rf"^{_STORABLE}*{_VISIBLE}{_STORABLE}*$", error="Give more than spaces.")
THREE_CHARACTERS = validate.Regexp(rf"^{_STORABLE}*{_VISIBLE}{_STORABLE}+{_VISIBLE}{_STORABLE}*$",
                                   error="Say in a few words what is wrong.")


class TicketCreateSchema(Schema):
    ward_id = fields.Integer(required=True, validate=ID_RANGE)
    trade = fields.String(required=True, validate=validate.OneOf(TRADE_CODES), metadata={"description": "trade code"})
    description = fields.String(required=True, validate=[validate.Length(min=3, max=1000), THREE_CHARACTERS])
    patient_at_risk = fields.Boolean(load_default=False)
    whole_area = fields.Boolean(load_default=True)
    location_id = fields.Integer(load_default=None, allow_none=True, validate=ID_RANGE)
    asset_id = fields.Integer(load_default=None, allow_none=True, validate=ID_RANGE)
    place_detail = fields.String(load_default=None, allow_none=True, validate=[validate.Length(max=120), STORABLE])
    priority = fields.Integer(load_default=None, allow_none=True, validate=validate.Range(1, 4))


class PersonSchema(Schema):
    id = fields.Integer()
    name = fields.String(attribute="full_name")


class NamesSchema(Schema):
    """A name the hospital gives in English and Chinese (a ward's, a trade's): both, and the one for the caller."""

    name = fields.String(metadata={"description": "English (the Chinese one when only that was given)"})
    name_zh = fields.String(allow_none=True, metadata={"description": "Chinese, or null"})
    display_name = fields.String(metadata={"description": "in the token holder's language, falling back to the other"})


class TicketSchema(Schema):
    number = fields.Integer()
    version = fields.Integer()
    status = fields.String()
    priority = fields.Integer()
    trade = fields.Function(lambda t: t.trade.code)
    ward_id = fields.Integer()
    ward = fields.Function(lambda t: t.ward.display_name, metadata={"description": "ward_names.display_name"})
    ward_names = fields.Nested(NamesSchema, attribute="ward")
    trade_names = fields.Nested(NamesSchema, attribute="trade")
    place = fields.String()
    description = fields.String()
    patient_at_risk = fields.Boolean()
    assignee = fields.Nested(PersonSchema, allow_none=True)
    auto_assigned = fields.Boolean()
    created_at = fields.DateTime()
    assigned_at = fields.DateTime(allow_none=True)
    acknowledged_at = fields.DateTime(allow_none=True)
    attended_at = fields.DateTime(allow_none=True)
    made_safe_at = fields.DateTime(allow_none=True)
    resolved_at = fields.DateTime(allow_none=True)
    closed_at = fields.DateTime(allow_none=True)
    acknowledge_due_at = fields.DateTime()
    attend_due_at = fields.DateTime()
    resolve_due_at = fields.DateTime()
    acknowledge_breached = fields.Boolean()
    attend_breached = fields.Boolean()
    resolve_breached = fields.Boolean()
    resolution_note = fields.String(allow_none=True)
    labour_minutes = fields.Integer(allow_none=True, metadata={"description": "null for callers who may not see costs"})
    parts_used = fields.String(allow_none=True, metadata={"description": "null for callers who may not see parts"})

    @post_dump(pass_original=True)
    def leave_out_what_the_caller_may_not_see(self, data: dict, ticket, **_kwargs) -> dict:
        # The same rule as the ticket page (dispatch/services/access.py): a ward sees the work, not its cost.
        caller = g.get("api_user")
        if caller is None or not access.may_see_parts(caller, ticket):
            data["parts_used"] = None
        if caller is None or not access.may_see_costs(caller, ticket):
            data["labour_minutes"] = None
        return data


class TicketListArgsSchema(Schema):
    status = fields.String(load_default="open", validate=validate.OneOf(
        ["open", "new", "assigned", "acknowledged", "attended", "on_hold", "made_safe", "resolved", "closed",
         "refused", "reopened", "cancelled"]))
    limit = fields.Integer(load_default=100, validate=validate.Range(1, 500))


class AssignSchema(Schema):
    technician_id = fields.Integer(required=True, validate=ID_RANGE)
    version = fields.Integer(load_default=None, allow_none=True, metadata={"description": "the version you saw; required to reassign"})


class TransitionSchema(Schema):
    """acknowledge, attend, resume, confirm: a note is optional."""

    version = fields.Integer(load_default=None, allow_none=True)
    note = fields.String(load_default=None, allow_none=True, validate=[validate.Length(max=1000), STORABLE])
    labour_minutes = fields.Integer(load_default=None, allow_none=True, validate=validate.Range(0, 10080),
                                    metadata={"description": "resolve: minutes worked, added to the ticket's"})
    parts_used = fields.String(load_default=None, allow_none=True, validate=[validate.Length(max=500), STORABLE],
                               metadata={"description": "resolve: parts fitted, in words"})
    rating = fields.Integer(load_default=None, allow_none=True, validate=validate.Range(1, 5),
                            metadata={"description": "confirm: the ward's rating of the repair"})


class TransitionWithNoteSchema(TransitionSchema):
    """refuse, hold, make-safe, resolve, reopen, cancel: the note says why, or what was done, and is required."""

    note = fields.String(required=True, validate=[validate.Length(min=1, max=1000), NOT_BLANK],
                         metadata={"description": "why (refuse, hold, reopen, cancel) or what was done (make-safe, resolve)"})


class CandidateSchema(Schema):
    id = fields.Integer()
    name = fields.String()
    open_jobs = fields.Integer()


from dispatch.errors import ApiErrorSchema as ErrorSchema  # noqa: E402  (one error shape for the API and its document)


class AlarmSchema(Schema):
    source = fields.String(required=True, validate=[validate.Length(min=1, max=60), NOT_BLANK],
                           metadata={"description": "the panel or system, e.g. bms-tower or mgps-panel-2"})
    point_id = fields.String(load_default=None, allow_none=True, validate=[validate.Length(min=1, max=120), STORABLE],
                             metadata={"description": "the alarm point as the panel names it; or give asset_id"})
    asset_id = fields.Integer(load_default=None, allow_none=True, validate=ID_RANGE,
                              metadata={"description": "Dispatch's asset id"})
    condition = fields.String(required=True, validate=[validate.Length(min=1, max=200), STORABLE],
                              metadata={"description": "what the panel says, e.g. 'O2 line pressure low'"})
    severity = fields.String(required=True, validate=validate.OneOf(["critical", "major", "minor", "warning"]))
    time = fields.AwareDateTime(required=True, default_timezone=None,
                                metadata={"description": "when the panel raised or cleared it (with its offset)"})
    state = fields.String(required=True, validate=validate.OneOf(["active", "cleared"]))


# An alarm names its point (not blank) or gives the asset id (receive_alarm refuses it otherwise, naming
# point_id); marshmallow cannot say "one of two" in the document, so register_api adds this to the Alarm schema.
ALARM_NAMES_ITS_POINT = [
    {"required": ["point_id"], "properties": {"point_id": {"type": "string", "pattern": NOT_BLANK.regex.pattern}}},
    {"required": ["asset_id"], "properties": {"asset_id": {"type": "integer"}}},
]


class AlarmResultSchema(Schema):
    outcome = fields.String(metadata={"description": "opened, repeat, cleared or cleared_no_ticket"})
    alarm_id = fields.Integer()
    occurrences = fields.Integer(metadata={"description": "alarms counted on the ticket so far"})
    ticket = fields.Nested(TicketSchema, allow_none=True)
