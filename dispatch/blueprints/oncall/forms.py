"""On-call forms: rota lines, CSV import, overrides, swap requests and escalation policies."""
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileField, FileRequired
from wtforms import (
    BooleanField, DateTimeLocalField, FieldList, Form, FormField, HiddenField, SelectField,
    SelectMultipleField, StringField, TimeField,
)
from wtforms.validators import DataRequired, InputRequired, Length, NumberRange, Optional

from dispatch.blueprints.form_choices import options
from dispatch.numbers import WholeNumberField, an_id
from models import ROTA_ROLES, STEP_TARGETS

ROLE_LABELS = {"primary": _l("Primary"), "secondary": _l("Secondary"), "supervisor": _l("Supervisor"),
               "duty_manager": _l("Duty manager")}
KIND_LABELS = {"cover": _l("Cover"), "swap": _l("Swap"), "leave": _l("Leave")}
TARGET_LABELS = {"next_on_call": _l("Next technician on call"), "primary": _l("Primary on call"),
                 "secondary": _l("Secondary on call"), "supervisor": _l("Supervisor"),
                 "duty_manager": _l("Duty manager"), "group": _l("A group of people")}
WEEKDAY_LABELS = (_l("Monday"), _l("Tuesday"), _l("Wednesday"), _l("Thursday"), _l("Friday"), _l("Saturday"),
                  _l("Sunday"))
LOCAL_FORMATS = ["%Y-%m-%dT%H:%M", "%Y-%m-%dT%H:%M:%S"]
STEP_ROWS = 5


class ShiftForm(FlaskForm):
    trade_id = SelectField(_l("Trade"), coerce=int)  # 0: hospital-wide (supervisor, duty manager)
    role = SelectField(_l("Role"), choices=options([(r, ROLE_LABELS[r]) for r in ROTA_ROLES]))
    user_id = SelectField(_l("Person"), coerce=int, validators=[DataRequired(message=_l("Choose a person."))])
    weekday = SelectField(_l("Day"), coerce=int, choices=options(list(enumerate(WEEKDAY_LABELS))))
    starts = TimeField(_l("Starts"), validators=[InputRequired(message=_l("Use a time like 08:00."))])
    ends = TimeField(_l("Ends (at or before the start: next day)"),
                     validators=[InputRequired(message=_l("Use a time like 08:00."))])


class ImportForm(FlaskForm):
    file = FileField(_l("Rota CSV"), validators=[FileRequired(message=_l("Choose a CSV file."))])
    replace_existing = BooleanField(_l("Replace the whole weekly pattern"))


class OverrideForm(FlaskForm):
    kind = SelectField(_l("Change"), choices=options([
        ("cover", _l("Cover: someone takes another person's shifts")),
        ("swap", _l("Swap: agreed between two people")),
        ("leave", _l("Leave: someone is away, off every shift")),
    ]))
    user_id = SelectField(_l("Who (covers, or is away)"), coerce=int,
                          validators=[DataRequired(message=_l("Choose a person."))])
    replaces_user_id = SelectField(_l("Instead of (cover and swap)"), coerce=int)  # 0: joins the rota
    trade_id = SelectField(_l("Only for trade"), coerce=int)  # 0: any
    role = SelectField(_l("Only for role"), choices=options([("", _l("Any role"))] + [(r, ROLE_LABELS[r]) for r in ROTA_ROLES]))
    starts_at = DateTimeLocalField(_l("From (hospital time)"), format=LOCAL_FORMATS,
                                   validators=[InputRequired(message=_l("Give a start date and time."))])
    ends_at = DateTimeLocalField(_l("Until (hospital time)"), format=LOCAL_FORMATS,
                                 validators=[InputRequired(message=_l("Give an end date and time."))])
    reason = StringField(_l("Reason"), validators=[Optional(), Length(max=200)])


class SwapAskForm(FlaskForm):
    """One of my shifts, identified by its post and exact window, offered to a colleague."""

    colleague_id = SelectField(_l("Colleague"), coerce=int, validate_choice=False,
                               validators=[DataRequired(message=_l("Choose a colleague.")), an_id()])
    trade_id = WholeNumberField(validators=[InputRequired(), an_id()])
    role = HiddenField(validators=[DataRequired()])
    starts_at = HiddenField(validators=[DataRequired()])
    ends_at = HiddenField(validators=[DataRequired()])
    note = StringField(_l("Note (optional)"), validators=[Optional(), Length(max=200)])


class StepForm(Form):
    """One step row; a row with no target is left out."""

    phase = SelectField(_l("When"), choices=options([("acknowledge", _l("not acknowledged")),
                                                     ("attend", _l("nobody on site"))]), default="acknowledge")
    target = SelectField(_l("Tell"), choices=options([("", "—")] + [(t, TARGET_LABELS[t]) for t in STEP_TARGETS]), default="")
    wait_minutes = WholeNumberField(_l("after (minutes)"), validators=[Optional()])
    voice = BooleanField(_l("Voice call"))
    group_name = StringField(_l("Group name"), validators=[Optional(), Length(max=80)])
    group_user_ids = SelectMultipleField(_l("Group people"), coerce=int, validate_choice=False)


class PolicyForm(FlaskForm):
    name = StringField(_l("Name"), validators=[DataRequired(message=_l("Give the policy a name.")), Length(max=120)])
    trade_id = SelectField(_l("Trade"), coerce=int)  # 0: any trade
    priority = SelectField(_l("Priority"), coerce=int,
                           choices=options([(0, _l("Any priority")), (1, "P1"), (2, "P2"), (3, "P3"), (4, "P4")]))
    repeat = WholeNumberField(_l("Run the chain this many times"), default=1,
                          validators=[InputRequired(message=_l("Say how many times.")), NumberRange(min=1, max=10)])
    steps = FieldList(FormField(StepForm), min_entries=STEP_ROWS)
