"""How a page shows a service's refusal on the form it came from: under the field it names, else at the top
of the page. Every other refusal on a page is answered by the page handler in dispatch/errors.py."""
from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from flask import flash

from dispatch.errors import Attempt, DispatchError, attempt


def show_error(form, error: DispatchError, fields: dict[str, str] | None = None) -> None:
    """The service's message on the form field it names (the field keeps its own errors), or as a flash
    when the form has no such field. `fields` renames a service's field to the form's where they differ."""
    name = (fields or {}).get(error.field, error.field)
    field = getattr(form, name, None) if name else None
    if field is not None and hasattr(field, "errors"):
        field.errors = [*field.errors, error.message]
    else:
        flash(error.message, "error")


@contextmanager
def shown_on(form, fields: dict[str, str] | None = None) -> Iterator[Attempt]:
    """Run the change; if a service refuses, its message goes on `form` (see `show_error`) and the view,
    seeing `outcome.refused`, renders the form again.

        with shown_on(form) as outcome:
            saved = service.save(...)
        if outcome.succeeded:
            return redirect(...)
        return render_template(...), 422
    """
    with attempt() as outcome:
        yield outcome
    if outcome.refused:
        show_error(form, outcome.error, fields)
