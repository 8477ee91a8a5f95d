"""The hospital's own time zone, for what people read and for day boundaries (licence expiry)."""
from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

from flask import current_app


def hospital_zone() -> ZoneInfo:
    return ZoneInfo(current_app.config["HOSPITAL_TIMEZONE"])


def local(when: datetime) -> datetime:
    return when.astimezone(hospital_zone())


def hospital_date(when: datetime) -> date:
    return local(when).date()
