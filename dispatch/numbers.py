"""Whole numbers typed into forms and files. Only ASCII digits count: str.isdigit() also says yes to "²" and
"١", which int() refuses or reads as another number, and a page's hidden version or id never needs more than
a database key's nine or ten digits (int() of thousands of digits is refused, or slow)."""
from __future__ import annotations

from wtforms import IntegerField
from wtforms.validators import NumberRange

# The database's keys are 32-bit integers (PostgreSQL `integer`): a larger number names nothing, and must not
# reach the driver (PostgreSQL answers "integer out of range"; SQLite cannot bind past 2**63).
LARGEST_ID = 2**31 - 1


def whole_number(text: str | None, max_digits: int = 10) -> int | None:
    """The number written in `text` (surrounding spaces allowed), or None when it is not one."""
    text = (text or "").strip()
    if text.isascii() and text.isdigit() and len(text) <= max_digits:
        return int(text)
    return None


def an_id(message=None) -> NumberRange:
    """A form field's validator for an id: 1 to the largest key."""
    return NumberRange(min=1, max=LARGEST_ID, message=message)


# WTForms' own message, translated by WTForms' catalogue (so not one of ours to extract).
NOT_AN_INTEGER = "Not a valid integer value."


class WholeNumberField(IntegerField):
    """An IntegerField that takes at most 15 digits. WTForms' NumberRange calls math.isnan() on the number, which
    overflows past a float's range (about 309 digits) and answers 500 instead of 'not a valid number'."""

    def process_formdata(self, valuelist):
        if valuelist and len((valuelist[0] or "").strip().lstrip("+-")) > 15:
            self.data = None
            raise ValueError(self.gettext(NOT_AN_INTEGER))
        super().process_formdata(valuelist)
