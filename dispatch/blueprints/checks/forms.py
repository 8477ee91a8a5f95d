"""The check form editor, and the phone page's form built from a check form's items."""
from __future__ import annotations

import math

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField, RadioField, SelectField, StringField, TextAreaField
from wtforms.validators import DataRequired, Length, Optional, ValidationError

from dispatch.blueprints.form_choices import options
from dispatch.services.check_forms import MAX_NOTE, Answer, limits_text
from models import CheckForm


class CheckFormEditor(FlaskForm):
    kind = SelectField(_l("Kind"), choices=options([("round", _l("Inspection round")), ("test", _l("Test record"))]))
    title = StringField(_l("Title"), validators=[DataRequired(message=_l("Say in a few words what is checked.")),
                                                 Length(max=160)])
    ward_id = SelectField(_l("Ward (where corrective tickets go)"), coerce=int)
    trade_id = SelectField(_l("Trade (does the corrective work)"), coerce=int)
    standard = StringField(_l("Standard or rule (optional)"), validators=[Optional(), Length(max=60)])
    schedule_id = SelectField(_l("Due dates: planned-work schedule (optional)"), coerce=int)
    items = TextAreaField(_l("Items, in route order, one a line"), validators=[Length(max=12000)])
    active = BooleanField(_l("In use"), default=True)


class FillForm(FlaskForm):
    """Only the CSRF token; the items' fields are added per form by `fill_form`."""


def _reading(form, field) -> None:
    text = (field.data or "").strip().replace(",", ".")
    if not text:
        raise ValidationError(_l("Give the reading."))
    try:
        value = float(text)
    except ValueError:
        raise ValidationError(_l("The reading is a number, e.g. 4.2.")) from None
    if not math.isfinite(value):
        raise ValidationError(_l("The reading is a number, e.g. 4.2."))


def fill_form(check_form: CheckForm, formdata=None) -> FlaskForm:
    """A form with, per item, `item_<n>` (pass/fail radios, or the reading) and `note_<n>`."""

    class Filled(FillForm):
        pass

    for item in check_form.items:
        if item.kind == "reading":
            field = StringField(limits_text(item.unit, item.min_value, item.max_value), validators=[_reading])
        else:
            field = RadioField(item.label, choices=options([("pass", _l("Pass")), ("fail", _l("Fail"))]),
                               validate_choice=True,
                               validators=[DataRequired(message=_l("Choose pass or fail."))])
        setattr(Filled, f"item_{item.position}", field)
        setattr(Filled, f"note_{item.position}", StringField(_l("Note"), validators=[Optional(), Length(max=MAX_NOTE)]))
    return Filled(formdata=formdata) if formdata is not None else Filled()


def answers_of(check_form: CheckForm, form: FlaskForm) -> dict[int, Answer]:
    result = {}
    for item in check_form.items:
        value = form[f"item_{item.position}"].data
        note = form[f"note_{item.position}"].data
        if item.kind == "reading":
            result[item.position] = Answer(reading=float(value.strip().replace(",", ".")), note=note)
        else:
            result[item.position] = Answer(passed=value == "pass", note=note)
    return result
