"""How a page shows a service's refusal: under the field it names, else at the top of the page."""
from __future__ import annotations

from flask import flash

from dispatch.errors import DispatchError


def show_error(form, error: DispatchError, fields: dict[str, str] | None = None) -> None:
    """The service's message on the form field it names (the field keeps its own errors), or as a flash
    when the form has no such field. `fields` renames a service's field to the form's where they differ."""
    name = (fields or {}).get(error.field, error.field)
    field = getattr(form, name, None) if name else None
    if field is not None and hasattr(field, "errors"):
        field.errors = [*field.errors, error.message]
    else:
        flash(error.message, "error")
