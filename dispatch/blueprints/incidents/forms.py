"""Major-incident forms: group the proposed reports, take one ticket out, resolve, and a ward's comment."""
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import StringField, TextAreaField
from wtforms.validators import DataRequired, Length

from dispatch.numbers import WholeNumberField, an_id


class GroupForm(FlaskForm):
    trade_id = WholeNumberField(validators=[DataRequired(), an_id()])
    building_id = WholeNumberField(validators=[DataRequired(), an_id()])


class UngroupForm(FlaskForm):
    note = StringField(_l("Why it does not belong"), validators=[DataRequired(message=_l("Give a reason.")), Length(max=200)])


class ResolveIncidentForm(FlaskForm):
    note = TextAreaField(_l("Outcome (recorded on every ticket)"),
                         validators=[DataRequired(message=_l("Say what was done.")), Length(max=1000)])


class IncidentCommentForm(FlaskForm):
    note = TextAreaField(_l("What you see on your ward"),
                         validators=[DataRequired(message=_l("Say in a few words what you see.")), Length(max=1000)])
