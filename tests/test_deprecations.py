"""The project's own code raises no deprecation warning: every form class, built as a page builds it, and
the warning filter in pytest.ini that turns any later one into a failure."""
from __future__ import annotations

import importlib
import pkgutil
import warnings

import pytest
from flask_wtf import FlaskForm

import dispatch.blueprints


def _form_classes() -> list[type[FlaskForm]]:
    for module in pkgutil.walk_packages(dispatch.blueprints.__path__, "dispatch.blueprints."):
        importlib.import_module(module.name)
    found, stack = [], [FlaskForm]
    while stack:
        for sub in stack.pop().__subclasses__():
            stack.append(sub)
            if sub.__module__.startswith("dispatch."):
                found.append(sub)
    return found


def test_every_form_is_built_without_a_deprecation_warning(app):
    forms = _form_classes()
    assert len(forms) > 20
    with app.test_request_context("/"), warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        for form in forms:
            form(meta={"csrf": False})
    deprecations = [f"{w.filename}:{w.lineno}: {w.message}" for w in caught
                    if issubclass(w.category, (DeprecationWarning, PendingDeprecationWarning))]
    assert deprecations == []


def test_a_deprecation_in_the_projects_code_fails_the_suite(pytestconfig):
    """The filter is in force here: a DeprecationWarning attributed to one of our modules is an error."""
    with pytest.raises(DeprecationWarning):
        warnings.warn_explicit("old way", DeprecationWarning, "dispatch/x.py", 1, module="dispatch.services.x")
    with pytest.raises(DeprecationWarning):
        warnings.warn_explicit("Passing SelectField choices as tuples is deprecated", DeprecationWarning,
                               "wtforms/fields/core.py", 1, module="wtforms.fields.core")
    with warnings.catch_warnings(record=True) as caught:  # a library's own deprecation stays a warning
        warnings.warn_explicit("old way", DeprecationWarning, "lib.py", 1, module="somelibrary.x")
    assert len(caught) == 1
