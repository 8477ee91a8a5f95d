"""Locale and time-zone choice for Flask-Babel: the user's language, else the hospital's; always hospital time."""
from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from flask import current_app
from flask_babel import force_locale
from flask_login import current_user

SUPPORTED_LOCALES = ("en", "zh_CN")


def select_locale() -> str:
    if current_user and current_user.is_authenticated and current_user.locale in SUPPORTED_LOCALES:
        return current_user.locale
    return current_app.config.get("BABEL_DEFAULT_LOCALE", "en")


def language_of(user) -> str:
    """The person's own language, else the hospital's default."""
    if user is not None and getattr(user, "locale", None) in SUPPORTED_LOCALES:
        return user.locale
    return current_app.config.get("BABEL_DEFAULT_LOCALE", "en")


@contextmanager
def in_language_of(user) -> Iterator[None]:
    """Texts made inside speak the person's language (an SMS to a technician, whoever's request sends it)."""
    with force_locale(language_of(user)):
        yield


def select_timezone() -> str:
    return current_app.config["HOSPITAL_TIMEZONE"]
