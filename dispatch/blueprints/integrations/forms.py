"""The alarm-point mapping form."""
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import SelectField, StringField
from wtforms.validators import DataRequired, Length

from dispatch.blueprints.form_choices import options


class AlarmPointForm(FlaskForm):
    source = StringField(_l("Source (panel or system)"), validators=[DataRequired(message=_l("Name the alarm source.")),
                                                                      Length(max=60)])
    point_id = StringField(_l("Point, as the panel names it"),
                           validators=[DataRequired(message=_l("Give the point's id as the panel sends it.")), Length(max=120)])
    description = StringField(_l("What it watches"), validators=[DataRequired(message=_l("Say what the point watches.")),
                                                                  Length(max=200)])
    ward_id = SelectField(_l("Ward"), coerce=int)
    asset_id = SelectField(_l("Asset (optional)"), coerce=int)
    trade_id = SelectField(_l("Trade"), coerce=int)
    priority = SelectField(_l("Priority"), coerce=int, choices=options([(0, _l("proposed, as for a ward's report")),
                                                                (1, "P1"), (2, "P2"), (3, "P3"), (4, "P4")]))
