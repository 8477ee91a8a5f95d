"""Staff forms: a person's details, a new account, and a licence."""
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField, DateField, PasswordField, SelectField, StringField
from wtforms.validators import DataRequired, InputRequired, Length, Optional

from models import ROLES

ROLE_CHOICES = [
    ("technician", _l("Technician")), ("supervisor", _l("Supervisor")), ("dispatcher", _l("Dispatcher")),
    ("manager", _l("Manager")), ("admin", _l("Administrator")), ("nurse", _l("Nurse")),
]


class StaffForm(FlaskForm):
    full_name = StringField(_l("Full name"), validators=[DataRequired(message=_l("Give a name.")), Length(max=120)])
    role = SelectField(_l("Role"), choices=ROLE_CHOICES)
    phone = StringField(_l("Mobile (for SMS)"), validators=[Optional(), Length(max=30)],
                        description=_l("Local numbers are read as mainland China numbers; others need +country code."))
    ward_id = SelectField(_l("Ward (nurses)"), coerce=int)  # 0: none
    active = BooleanField(_l("Active: may log in and be on call"))


class NewStaffForm(StaffForm):
    username = StringField(_l("Username"), validators=[DataRequired(message=_l("Give a username.")), Length(max=80)])
    password = PasswordField(_l("First password (at least 8 characters)"),
                             validators=[DataRequired(message=_l("Give a first password."))])


class LicenceForm(FlaskForm):
    licence_type_id = SelectField(_l("Licence"), coerce=int)
    number = StringField(_l("Number"), validators=[DataRequired(message=_l("Give the licence number.")),
                                                   Length(max=60)])
    issuer = StringField(_l("Issued by"), validators=[DataRequired(message=_l("Say who issued it.")),
                                                      Length(max=160)])
    issued_on = DateField(_l("Issued on"), validators=[InputRequired(message=_l("Give the issue date."))])
    expires_on = DateField(_l("Expires on"), validators=[InputRequired(message=_l("Give the expiry date."))])
