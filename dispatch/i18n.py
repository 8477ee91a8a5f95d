"""Locale and time-zone choice for Flask-Babel: the user's language, else the hospital's; always hospital time."""
from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from flask import current_app, g, has_request_context, request
from flask_babel import force_locale, format_date, format_datetime, get_locale
from flask_login import current_user

SUPPORTED_LOCALES = ("en", "zh_CN")
LANGUAGE_COOKIE = "lang"


def select_locale() -> str:
    if current_user and current_user.is_authenticated and current_user.locale in SUPPORTED_LOCALES:
        return current_user.locale
    api_user = g.get("api_user") if has_request_context() else None  # the API's caller, by bearer token
    if api_user is not None and api_user.locale in SUPPORTED_LOCALES:
        return api_user.locale
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


# The one place dates and times are given their shape on a page, per language: CLDR's English patterns read
# well, but its Chinese "d MMM" gives "24 11月" and "EEE d MMM" "周二 8 12月"; Chinese puts month, then day,
# then weekday: "12月8日 周二".
SHAPES = {
    "short": ("d MMM HH:mm", "M月d日 HH:mm"),  # 24 Nov 14:05 / 11月24日 14:05
    "time": ("HH:mm", "HH:mm"),
    "day": ("d MMM", "M月d日"),  # 24 Nov / 11月24日
    "weekday_day": ("EEE d MMM", "M月d日 EEE"),  # Tue 8 Dec / 12月8日 周二
    "weekday_time": ("EEE d MMM HH:mm", "M月d日 EEE HH:mm"),  # Tue 8 Dec 20:00 / 12月8日 周二 20:00
    "date": ("d MMM yyyy", "yyyy年M月d日"),  # 8 Dec 2026 / 2026年12月8日
    "datetime": ("d MMM yyyy HH:mm", "yyyy年M月d日 HH:mm"),
    "weekday": ("EEEE", "EEEE"),  # Tuesday / 星期二
    "month": ("MMM", "M月"),  # Dec / 12月, a column heading under the year
    "month_year": ("MMM yy", "yy年M月"),  # Dec 26 / 26年12月, a chart's month axis
}


def _pattern(shape: str) -> str:
    english, chinese = SHAPES[shape]
    return chinese if _chinese() else english


def local_datetime(value, shape: str = "short") -> str:
    """A moment (stored in UTC) in hospital time, in one of SHAPES for the reader's language."""
    return format_datetime(value, _pattern(shape))


def local_date(value, shape: str = "date") -> str:
    """A calendar day (a date, no time zone) in one of SHAPES without a time: 'date', 'day' or 'weekday_day'."""
    return format_date(value, _pattern(shape))


def short_datetime(value) -> str:
    """'24 Nov 14:05' in English, '11月24日 14:05' in Chinese, in hospital time."""
    return local_datetime(value, "short")


def month_label(day, short: bool = False) -> str:
    """'November 2026' ('Nov 2026') in English, '2026年11月' in Chinese: CLDR's year-month form for the locale."""
    from babel.dates import format_skeleton

    return format_skeleton("yMMM" if short else "yMMMM", day, locale=get_locale() or "en")
