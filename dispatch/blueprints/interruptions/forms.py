"""Logging a utility interruption."""
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField, DateTimeLocalField, IntegerField, SelectField, SelectMultipleField, StringField, TextAreaField
from wtforms.validators import InputRequired, Length, NumberRange, Optional

from dispatch.blueprints.permits.forms import LOCAL_FORMATS


class InterruptionForm(FlaskForm):
    utility = SelectField(_l("Utility"))
    planned = BooleanField(_l("Planned (announced to the wards in advance)"))
    starts_at = DateTimeLocalField(_l("Started / starts (hospital time)"), format=LOCAL_FORMATS,
                                   validators=[InputRequired()])
    ends_at = DateTimeLocalField(_l("Ended / ends (hospital time)"), format=LOCAL_FORMATS, validators=[Optional()])
    ward_ids = SelectMultipleField(_l("Wards affected"), coerce=int)
    cause = TextAreaField(_l("Cause"), validators=[Length(max=8000)])
    plan_version_id = SelectField(_l("Emergency plan used"), coerce=int)  # 0: none
    clinical_actions = TextAreaField(_l("Clinical actions taken"), validators=[Length(max=8000)])
    ticket_ids = StringField(_l("Tickets (numbers, separated by commas)"), validators=[Length(max=500)])
    notice_hours = IntegerField(_l("Announce this many hours before"), default=48,
                                validators=[Optional(), NumberRange(min=0, max=720)])
    incident_id = IntegerField(validators=[Optional()])
