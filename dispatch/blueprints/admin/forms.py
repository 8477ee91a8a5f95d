"""Staff forms: a person's details, a new account, and a licence."""
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField, DateField, PasswordField, SelectField, StringField
from wtforms.validators import DataRequired, InputRequired, Length, NumberRange, Optional, ValidationError

from dispatch.blueprints.form_choices import options
from dispatch.numbers import WholeNumberField
from models import ROLES

ROLE_CHOICES = [
    ("technician", _l("Technician")), ("supervisor", _l("Supervisor")), ("dispatcher", _l("Dispatcher")),
    ("manager", _l("Manager")), ("admin", _l("Administrator")), ("nurse", _l("Nurse")),
]


class StaffForm(FlaskForm):
    full_name = StringField(_l("Full name"), validators=[DataRequired(message=_l("Give a name.")), Length(max=120)])
    role = SelectField(_l("Role"), choices=options(ROLE_CHOICES))
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


class RevokeLicenceForm(FlaskForm):
    reason = StringField(_l("Why it is revoked"), validators=[DataRequired(message=_l("Say why the licence is revoked.")),
                                                             Length(max=200)])


AUDIT_KIND_LABELS = {
    "login_succeeded": _l("Logged in"), "login_failed": _l("Login failed"), "logout": _l("Logged out"),
    "user_created": _l("Account created"), "role_changed": _l("Role changed"),
    "user_deactivated": _l("Account switched off"), "user_reactivated": _l("Account switched on again"),
    "token_created": _l("API token created"), "token_revoked": _l("API token revoked"),
    "token_used": _l("API token used"),
    "job_requeued": _l("Failed job requeued"), "job_deleted": _l("Failed job deleted"),
    "break_glass_changed": _l("Break-glass sign-in changed"),
    "directory_linked": _l("Linked to a directory account"),
    "directory_sign_in_refused": _l("Directory sign-in refused"),
}


def _plausible_day(form, field) -> None:
    # Days far outside the hospital's records would overflow when turned into UTC moments.
    if field.data is not None and not 2000 <= field.data.year <= 2100:
        raise ValidationError(_l("Choose a day between 2000 and 2100."))


class AuditFilterForm(FlaskForm):
    """The audit page's filters, read from the query string (a GET form: nothing changes, so no CSRF token)."""

    class Meta:
        csrf = False

    kind = SelectField(_l("What"), choices=options([("", _l("Everything"))] + list(AUDIT_KIND_LABELS.items())), default="")
    person = SelectField(_l("Person"), coerce=int, default=0)  # 0: anyone
    start = DateField(_l("From"), validators=[Optional(), _plausible_day])
    end = DateField(_l("To"), validators=[Optional(), _plausible_day])
    page = WholeNumberField(_l("Page"), validators=[Optional(), NumberRange(min=1, max=1_000_000)], default=1)


class DirectoryGroupForm(FlaskForm):
    """A directory group and the role (and for nurses the ward) its members get."""

    name = StringField(_l("Directory group"), validators=[DataRequired(message=_l("Give the group's name.")),
                                                          Length(max=255)],
                       description=_l("Its name (CN) or whole DN in Active Directory / LDAP, or a value of the "
                                      "OpenID groups claim."))
    role = SelectField(_l("Role"), choices=options(ROLE_CHOICES))
    ward_id = SelectField(_l("Ward (nurses)"), coerce=int)  # 0: none


class DirectoryLinkForm(FlaskForm):
    directory = SelectField(_l("Directory"), choices=options([("oidc", _l("OpenID Connect (the subject, sub)")),
                                                              ("ldap", _l("LDAP / Active Directory (username)"))]))
    directory_key = StringField(_l("Identifier in the directory"), validators=[DataRequired(), Length(max=255)])


class BreakGlassForm(FlaskForm):
    break_glass = BooleanField(_l("Break-glass: may sign in with a local password when the directory is down"))
    password = PasswordField(_l("Local password (at least 8 characters)"), validators=[Optional(), Length(max=200)])
