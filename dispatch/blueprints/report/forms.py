"""The nurse's fault report: few fields, big targets, done in under 30 seconds."""
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField, HiddenField, MultipleFileField, RadioField, SelectField, StringField, TextAreaField
from wtforms.validators import DataRequired, Length, Optional

from dispatch.blueprints.form_choices import options


class ReportForm(FlaskForm):
    ward_id = SelectField(_l("Ward"), coerce=int, validators=[DataRequired(message=_l("Choose a ward."))])
    trade_id = RadioField(_l("What has failed?"), coerce=int, validators=[DataRequired(message=_l("Choose what has failed."))])
    whole_area = RadioField(
        _l("How much is affected?"),
        choices=options([("1", _l("The whole room or area")), ("0", _l("One item (a socket, a tap, one unit)"))]),
        default="1",
    )
    location_id = SelectField(_l("Room or bay (optional)"), coerce=int, validators=[Optional()])
    place_detail = StringField(_l("Bed or exact spot (optional)"), validators=[Optional(), Length(max=120)])
    description = TextAreaField(
        _l("What is wrong?"),
        validators=[DataRequired(message=_l("Say in a few words what is wrong.")), Length(min=3, max=1000)],
    )
    patient_at_risk = BooleanField(_l("A patient (or a person trapped) is at risk"))
    photos = MultipleFileField(_l("Photos (optional)"))
    asset_code = HiddenField()


class WardActionForm(FlaskForm):
    """Confirm (with rating) or reopen, from the ward's list."""

    rating = SelectField(
        _l("How was the service?"),
        choices=options([("", "—"), ("5", "5 ★★★★★"), ("4", "4 ★★★★"), ("3", "3 ★★★"), ("2", "2 ★★"), ("1", "1 ★")]),
        validators=[Optional()],
    )
    note = TextAreaField(_l("Comment"), validators=[Optional(), Length(max=1000)])
