"""Locale and time-zone choice for Flask-Babel: the user's language, else the hospital's; always hospital time."""
from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from flask import current_app, g, has_request_context, request
from flask_babel import force_locale, format_datetime, get_locale
from flask_login import current_user

SUPPORTED_LOCALES = ("en", "zh_CN")
LANGUAGE_COOKIE = "lang"


def select_locale() -> str:
    if current_user and current_user.is_authenticated and current_user.locale in SUPPORTED_LOCALES:
        return current_user.locale
    if has_request_context():  # before logging in: ?lang= on the login page, or the choice kept in a cookie
        chosen = request.args.get("lang") or request.cookies.get(LANGUAGE_COOKIE)
        if chosen in SUPPORTED_LOCALES:
            return chosen
    return current_app.config.get("BABEL_DEFAULT_LOCALE", "en")


def language_of(user) -> str:
    """The person's own language, else the hospital's default."""
    if user is not None and getattr(user, "locale", None) in SUPPORTED_LOCALES:
        return user.locale
    return current_app.config.get("BABEL_DEFAULT_LOCALE", "en")


@contextmanager
def in_language_of(user) -> Iterator[None]:
    """Texts made inside speak the person's language (an SMS to a technician, whoever's request sends it)."""
    # Flask-Babel ignores force_locale while `g` is empty (a worker's job outside any request): mark it used.
    g.setdefault("dispatch_language", None)
    with force_locale(language_of(user)):
        yield


def select_timezone() -> str:
    return current_app.config["HOSPITAL_TIMEZONE"]


def _chinese() -> bool:
    return str(get_locale() or "").startswith("zh")


def short_datetime(value) -> str:
    """'24 Nov 14:05' in English, '11月24日 14:05' in Chinese (CLDR's "d MMM" would read "24 11月"), in hospital time."""
    return format_datetime(value, "M月d日 HH:mm" if _chinese() else "d MMM HH:mm")


def month_label(day, short: bool = False) -> str:
    """'November 2026' ('Nov 2026') in English, '2026年11月' in Chinese: CLDR's year-month form for the locale."""
    from babel.dates import format_skeleton

    return format_skeleton("yMMM" if short else "yMMMM", day, locale=get_locale() or "en")
