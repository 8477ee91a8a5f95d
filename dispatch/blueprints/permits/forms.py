"""Drafting a permit to work, and cancelling one (what was restored)."""
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import DateTimeLocalField, SelectMultipleField, TextAreaField
from wtforms.validators import InputRequired, Length

LOCAL_FORMATS = ["%Y-%m-%dT%H:%M", "%Y-%m-%dT%H:%M:%S"]


class PermitForm(FlaskForm):
    # Length limits here are generous backstops; the service checks each field and names it.
    work = TextAreaField(_l("Work to be done"), validators=[Length(max=8000)])
    isolation_points = TextAreaField(_l("Isolation points, one a line"), validators=[Length(max=8000)])
    precautions = TextAreaField(_l("Precautions, one a line"), validators=[Length(max=8000)])
    ward_ids = SelectMultipleField(_l("Wards affected (told by SMS)"), coerce=int)
    valid_from = DateTimeLocalField(_l("Valid from (hospital time)"), format=LOCAL_FORMATS, validators=[InputRequired()])
    valid_until = DateTimeLocalField(_l("Valid until (hospital time)"), format=LOCAL_FORMATS,
                                     validators=[InputRequired()])


class CancelForm(FlaskForm):
    restored = TextAreaField(_l("What was restored, and checked"), validators=[Length(max=8000)])
