"""The compliance forms: an asset's line in the register, a certificate with its report, a schedule marked
required, a task done, the cause of a late or missed activity."""
from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileField
from wtforms import BooleanField, DateField, SelectField, StringField, TextAreaField
from wtforms.validators import DataRequired, Length, Optional

from dispatch.blueprints.form_choices import options
from dispatch.numbers import WholeNumberField
from dispatch.services.certificates import kind_label
from models import EQUIPMENT_KINDS


def kind_choices():
    return options([(kind, kind_label(kind)) for kind in EQUIPMENT_KINDS])


class RegisterForm(FlaskForm):
    kind = SelectField(_l("Kind of equipment"))
    high_risk = BooleanField(_l("High-risk utility component (its failure can harm patients)"))
    registration_number = StringField(_l("Registration number (statutory equipment only)"), validators=[Length(max=60)])
    authority = StringField(_l("Registering and inspecting authority"), validators=[Length(max=120)])


class CertificateForm(FlaskForm):
    number = StringField(_l("Certificate number"), validators=[DataRequired(message=_l("Give the certificate's number.")),
                                                               Length(max=60)])
    inspected_on = DateField(_l("Inspected on"), validators=[DataRequired(message=_l("Give the date of the inspection."))])
    valid_until = DateField(_l("Valid until (last valid day)"),
                            validators=[DataRequired(message=_l("Give the last day the certificate is valid."))])
    report = FileField(_l("The authority's report (PDF or photo)"))


class RequiredForm(FlaskForm):
    standard = StringField(_l("Standard or rule that requires it"),
                           validators=[DataRequired(message=_l("Name the standard or rule that requires it.")),
                                       Length(max=60)])
    window_before_days = WholeNumberField(_l("Days before the due date (leave empty for the interval's rule)"),
                                          validators=[Optional()])
    window_after_days = WholeNumberField(_l("Days after the due date (leave empty for the interval's rule)"),
                                         validators=[Optional()])
    since = DateField(_l("Count due dates from"), validators=[Optional()])


class NoteForm(FlaskForm):
    note = StringField(_l("Note (the authority's reference, say)"), validators=[Length(max=200)])


class CauseForm(FlaskForm):
    cause_id = SelectField(_l("Cause"), coerce=int)
    note = TextAreaField(_l("Action taken"), validators=[Length(max=1000)])
