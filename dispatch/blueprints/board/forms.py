"""Control-room forms: assign or reassign, and change priority."""
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import HiddenField, SelectField, StringField
from wtforms.validators import DataRequired, Length

from dispatch.blueprints.form_choices import options
from dispatch.numbers import WholeNumberField, an_id


class AssignForm(FlaskForm):
    technician_id = WholeNumberField(_l("Technician"), validators=[
        DataRequired(message=_l("Choose a technician.")), an_id(message=_l("Choose a technician."))])
    version = HiddenField()
    # "1" once the dispatcher has seen who loses the job (the confirmation step before a reassignment).
    confirmed = HiddenField()


class PriorityForm(FlaskForm):
    priority = SelectField(_l("Priority"), coerce=int, choices=options([(1, "P1"), (2, "P2"), (3, "P3"), (4, "P4")]))
    note = StringField(_l("Reason"), validators=[DataRequired(message=_l("Give a reason.")), Length(max=200)])
    version = HiddenField()
