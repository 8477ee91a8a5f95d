"""The store's forms. Numbers arrive as text and the stock service checks them, so every bad value comes back
as a message on its own field (never a 500)."""
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField, SelectField, StringField, TextAreaField
from wtforms.validators import Length, Optional

from dispatch.blueprints.form_choices import offered_values, options


class PartForm(FlaskForm):
    code = StringField(_l("Code (as on the bin label)"), validators=[Length(max=30)])
    name = StringField(_l("Name"), validators=[Length(max=160)])
    name_zh = StringField(_l("Name in Chinese"), validators=[Length(max=160)])
    unit = StringField(_l("Unit (each, metre, box…)"), validators=[Length(max=20)])
    unit_cost = StringField(_l("Unit cost"), validators=[Length(max=20)])
    reorder_level = StringField(_l("Reorder when at or below"), validators=[Length(max=9)])
    trade_id = SelectField(_l("Trade"), coerce=int)  # 0: any trade
    active = BooleanField(_l("In the stock list (untick to retire the part)"))


class ReceiveForm(FlaskForm):
    store_id = SelectField(_l("Store"), coerce=int)
    quantity = StringField(_l("Quantity received"), validators=[Length(max=9)])
    unit_cost = StringField(_l("Unit cost on the delivery note (leave empty: unchanged)"),
                            validators=[Optional(), Length(max=20)])
    reason = StringField(_l("Delivery note or order number"), validators=[Optional(), Length(max=500)])


class AdjustForm(FlaskForm):
    store_id = SelectField(_l("Store"), coerce=int)
    counted = StringField(_l("Counted on the shelf"), validators=[Length(max=9)])
    reason = TextAreaField(_l("Why it differs"), validators=[Length(max=500)])


class StoreForm(FlaskForm):
    name = StringField(_l("Store name"), validators=[Length(max=120)])
    building_id = SelectField(_l("Building"), coerce=int)  # 0: none


def coerce_choice(form_field, choices) -> None:
    """Give a SelectField its choices; a value not offered becomes 0 (the service then names the field)."""
    form_field.choices = options(choices)
    if form_field.data not in offered_values(form_field.choices):
        form_field.data = 0
