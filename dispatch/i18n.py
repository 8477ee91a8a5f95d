"""Locale and time-zone choice for Flask-Babel: the user's language, else the hospital's; always hospital time."""
from __future__ import annotations

from flask import current_app
from flask_login import current_user

SUPPORTED_LOCALES = ("en", "zh_CN")


def select_locale() -> str:
    if current_user and current_user.is_authenticated and current_user.locale in SUPPORTED_LOCALES:
        return current_user.locale
    return current_app.config.get("BABEL_DEFAULT_LOCALE", "en")


def select_timezone() -> str:
    return current_app.config["HOSPITAL_TIMEZONE"]
