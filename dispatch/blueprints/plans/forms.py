"""The plan editor, and attaching a plan to a ticket."""
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField, HiddenField, SelectField, StringField, TextAreaField
from wtforms.validators import Length, Optional


class PlanForm(FlaskForm):
    # Length limits here are generous backstops; the service checks each field and names it.
    title = StringField(_l("Title"), validators=[Length(max=500)],
                        description=_l("The kind of fault, as people say it: 'ICU power loss'."))
    title_zh = StringField(_l("Title in Chinese"), validators=[Length(max=500)],
                           description=_l("Shown to readers of Chinese; give either title or both."))
    trade_id = SelectField(_l("Trade"), coerce=int)
    criticality = SelectField(_l("Only in wards of kind"), validators=[Optional()])
    keywords = StringField(_l("Only when the fault mentions"), validators=[Length(max=1000)],
                           description=_l("Words or phrases separated by commas, any language; leave empty for every "
                                          "P1 fault of this trade (and kind of ward)."))
    active = BooleanField(_l("In use: chosen for new P1 tickets"), default=True)
    summary = TextAreaField(_l("Summary"), validators=[Length(max=5000)])
    steps = TextAreaField(_l("Steps, one a line, in order"), validators=[Length(max=20000)])
    contacts = TextAreaField(_l("People to call, one a line: name or role | phone"), validators=[Length(max=5000)])
    isolation_points = TextAreaField(_l("Isolation points, one a line: what | where"), validators=[Length(max=5000)])
    change_note = StringField(_l("What changed"), validators=[Length(max=1000)])


class AttachForm(FlaskForm):
    plan_id = SelectField(_l("Emergency plan"), coerce=int)  # 0: no plan
    version = HiddenField()
