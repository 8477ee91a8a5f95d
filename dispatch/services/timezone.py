"""The hospital's own time zone, for what people read and for day boundaries (licence expiry)."""
from __future__ import annotations

from datetime import date, datetime, timezone
from zoneinfo import ZoneInfo

from flask import current_app
from flask_babel import gettext as _

from dispatch.errors import ValidationError


def hospital_zone() -> ZoneInfo:
    return ZoneInfo(current_app.config["HOSPITAL_TIMEZONE"])


def local(when: datetime) -> datetime:
    return when.astimezone(hospital_zone())


def hospital_date(when: datetime) -> date:
    return local(when).date()


def wall_to_utc(wall: datetime, field: str | None = None) -> datetime:
    """A wall-clock time typed in hospital time (a naive datetime-local value) as UTC.

    A time the clocks skip (the hour lost when summer time starts) raises ValidationError naming
    `field`; a time that happens twice (the hour repeated in autumn) means the first one.
    """
    zone = hospital_zone()
    if wall.tzinfo is not None:
        return wall.astimezone(timezone.utc)
    aware = wall.replace(tzinfo=zone, fold=0)
    utc = aware.astimezone(timezone.utc)
    if utc.astimezone(zone).replace(tzinfo=None) != wall:
        raise ValidationError(_("%(time)s does not exist in hospital time (the clocks go forward then). "
                                "Choose a time an hour later.", time=wall.strftime("%Y-%m-%d %H:%M")), field=field)
    return utc


def start_of_day(day: date) -> datetime:
    """The first moment of a hospital calendar day, in UTC (a day that is valid 'through' D ends at the start of
    D + 1). A midnight the clocks skip means the first moment that exists."""
    return datetime.combine(day, datetime.min.time(), tzinfo=hospital_zone()).astimezone(timezone.utc)
