"""How a page shows a service's refusal on the form it came from: under the field it names, else at the top
of the page. Every other refusal on a page is answered by the page handler in dispatch/errors.py."""
from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from flask import flash

from dispatch.errors import Attempt, DispatchError, attempt


def show_error(form, error: DispatchError, fields: dict[str, str] | None = None,
               form_level: tuple[str, ...] = ()) -> None:
    """The service's message on the form field it names (the field keeps its own errors), or as a flash
    when the form has no such field. `fields` renames a service's field to the form's where they differ;
    a name like "steps-2-minutes" is the second row's field of a repeated sub-form; a name in `form_level`
    shows above the form (`form.form_errors`)."""
    name = (fields or {}).get(error.field, error.field)
    if name and name in form_level:
        form.form_errors.append(error.message)
        return
    field = _field(form, name) if name else None
    if field is not None and hasattr(field, "errors"):
        field.errors = [*field.errors, error.message]
    else:
        flash(error.message, "error")


def _field(form, name: str):
    rows, _, rest = name.partition("-")
    number, _, sub = rest.partition("-")
    entries = getattr(form, rows, None)
    if number.isdigit() and sub and hasattr(entries, "entries") and 1 <= int(number) <= len(entries.entries):
        try:
            return entries[int(number) - 1][sub]
        except KeyError:
            return None
    return getattr(form, name, None)


@contextmanager
def shown_on(form, fields: dict[str, str] | None = None, form_level: tuple[str, ...] = ()) -> Iterator[Attempt]:
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
        show_error(form, outcome.error, fields, form_level)
