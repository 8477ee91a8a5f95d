"""One form for every ticket action; which fields matter depends on the action."""
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import HiddenField, SelectField, StringField, TextAreaField
from wtforms.validators import NumberRange, Optional, Length

from dispatch.blueprints.form_choices import options
from dispatch.numbers import WholeNumberField


class ActionForm(FlaskForm):
    version = HiddenField()
    note = TextAreaField(_l("Note"), validators=[Optional(), Length(max=1000)])
    labour_minutes = WholeNumberField(_l("Labour (minutes)"), validators=[Optional(), NumberRange(min=0, max=10080)])
    parts_used = StringField(_l("Parts used"), validators=[Optional(), Length(max=500)])
    rating = SelectField(
        _l("How was the service?"),
        choices=options([("", "—"), ("5", "5"), ("4", "4"), ("3", "3"), ("2", "2"), ("1", "1")]),
        validators=[Optional()],
    )
    next = HiddenField()


class CommentForm(FlaskForm):
    note = TextAreaField(_l("Add a comment"), validators=[Length(min=1, max=1000)])


class PartsForm(FlaskForm):
    """Parts added to (or returned from) a ticket: the lines are read by the view, checked by the stock service."""
