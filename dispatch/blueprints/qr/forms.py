"""The short report form behind a QR label, for someone with no account (or a ward PC signed in)."""
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import HiddenField, MultipleFileField, RadioField, StringField, TextAreaField
from wtforms.validators import DataRequired, Length


class PublicReportForm(FlaskForm):
    trade_id = RadioField(_l("What has failed?"), coerce=int,
                          validators=[DataRequired(message=_l("Choose what has failed."))])
    description = TextAreaField(_l("What is wrong?"), validators=[
        DataRequired(message=_l("Say in a few words what is wrong.")), Length(max=900)])
    callback_name = StringField(_l("Your name"), validators=[
        DataRequired(message=_l("Your name, so that we can call you back.")), Length(max=60)])
    callback_extension = StringField(_l("Phone extension"), validators=[
        DataRequired(message=_l("The phone extension to call you back on (digits).")), Length(max=15)])
    photos = MultipleFileField(_l("Photo (optional)"))
    duplicate_of = HiddenField()


class RevokeForm(FlaskForm):
    """Withdraw a place's printed labels (CSRF only)."""


class FalseReportForm(FlaskForm):
    note = TextAreaField(_l("Why it is a false report"), validators=[
        DataRequired(message=_l("Say why it is a false report.")), Length(max=200)])
    version = HiddenField()
