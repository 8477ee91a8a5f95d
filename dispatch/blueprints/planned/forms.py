"""The maintenance schedule form, the skip form and the checklist form."""
from __future__ import annotations

import re
from datetime import date

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField, DateField, HiddenField, SelectField, StringField, TextAreaField
from wtforms.validators import DataRequired, Length, NumberRange, Optional, ValidationError

from dispatch.blueprints.form_choices import options
from dispatch.numbers import WholeNumberField


def _dates(text: str | None) -> list[date]:
    """Dates one per line or separated by commas, as YYYY-MM-DD."""
    days = []
    for part in re.split(r"[\s,，;]+", text or ""):
        if not part:
            continue
        try:
            days.append(date.fromisoformat(part))
        except ValueError:
            raise ValidationError(_l("%(text)s is not a date (YYYY-MM-DD).", text=part[:20])) from None
    return days


def checklist_lines(text: str | None) -> list[str]:
    return [line.strip() for line in (text or "").splitlines() if line.strip()]


class ScheduleForm(FlaskForm):
    # In English, Chinese or both: the service asks for one of them.
    title = StringField(_l("What is to be done"), validators=[Length(max=160)])
    title_zh = StringField(_l("What is to be done, in Chinese"), validators=[Length(max=160)])
    ward_id = SelectField(_l("Ward"), coerce=int)
    location_id = SelectField(_l("Room (optional)"), coerce=int)
    asset_id = SelectField(_l("Asset (optional)"), coerce=int)
    trade_id = SelectField(_l("Trade"), coerce=int)
    recurrence = SelectField(_l("Repeats"), choices=options([("interval", _l("every N days, weeks or months")),
                                                     ("dates", _l("on fixed dates"))]))
    interval_count = WholeNumberField(_l("Every"), validators=[Optional(), NumberRange(min=1, max=120)], default=1)
    interval_unit = SelectField(_l("Unit"), choices=options([("day", _l("days")), ("week", _l("weeks")), ("month", _l("months"))]),
                                default="month")
    start_date = DateField(_l("First due date"), validators=[Optional()])
    fixed_dates = TextAreaField(_l("Fixed dates (YYYY-MM-DD, one a line)"), validators=[Optional(), Length(max=2000)])
    lead_days = WholeNumberField(_l("Open the ticket this many days before"), default=7,
                             validators=[Optional(), NumberRange(min=0, max=90)])
    estimated_minutes = WholeNumberField(_l("Estimated minutes"), validators=[Optional(), NumberRange(min=1, max=10080)])
    checklist = TextAreaField(_l("Checklist (one step a line)"), validators=[Optional(), Length(max=6000)])
    checklist_zh = TextAreaField(_l("Checklist in Chinese (the same steps, line for line)"),
                                 validators=[Optional(), Length(max=6000)])
    active = BooleanField(_l("Active (opens tickets)"), default=True)

    def validate_fixed_dates(self, field) -> None:
        field.parsed = _dates(field.data)


class SkipForm(FlaskForm):
    due_date = HiddenField()
    reason = StringField(_l("Why skip this date?"), validators=[DataRequired(message=_l("Say why this date is skipped.")),
                                                               Length(min=3, max=200)])


class ChecklistForm(FlaskForm):
    next = HiddenField()
