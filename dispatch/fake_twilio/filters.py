"""The date filters of Twilio's list endpoints, as its OpenAPI description defines them.

Messages: ``DateSent`` (that GMT day), ``DateSent<`` (on and before), ``DateSent>`` (on and after).
Calls: ``StartTime`` / ``EndTime`` (that day), ``StartTime<`` / ``EndTime<`` (before),
``StartTime>`` / ``EndTime>`` (on or after). Dates are GMT, ``YYYY-MM-DD``; the Twilio SDK sends a
datetime as ``YYYY-MM-DDTHH:MM:SSZ``, which ``<`` and ``>`` compare to the second (``DateSent``
and the like take its day). A resource with no such time
yet (a message not sent, a call not started) matches no date filter.
"""
from __future__ import annotations

import re
from datetime import datetime, timedelta, timezone
from email.utils import parsedate_to_datetime
from typing import Any, Callable

from .errors import TwilioApiError

DAY = timedelta(days=1)
DATE_ONLY = re.compile(r"^\d{4}-\d{2}-\d{2}$")


def _parse(name: str, value: str) -> tuple[datetime, bool]:
    """(moment, whether only a date was given); a value Twilio would not take answers 400."""
    try:
        if DATE_ONLY.match(value):
            return datetime.strptime(value, "%Y-%m-%d").replace(tzinfo=timezone.utc), True
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise TwilioApiError(400, 20001, f"Invalid {name}: {value}") from None
    return (moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)).astimezone(timezone.utc), False


def _moment(resource: dict[str, Any], field: str) -> datetime | None:
    value = resource.get(field)
    return parsedate_to_datetime(value) if value else None


def date_filter(args, name: str, field: str, before_inclusive: bool) -> tuple[dict[str, str], Callable[[dict], bool]]:
    """The query's `name`, `name<` and `name>` as (the filters to repeat in page URIs, a predicate on a
    resource's `field`). `before_inclusive`: Twilio's `<` means "on and before" (messages) rather
    than "before" (calls)."""
    given = {key: args[key] for key in (name, f"{name}<", f"{name}>") if args.get(key)}
    tests: list[Callable[[datetime], bool]] = []
    for key, value in given.items():
        moment, whole_day = _parse(key, value)
        if key == name:
            # "On this date": the GMT day, also when the SDK sent the date as a midnight datetime.
            day = moment.replace(hour=0, minute=0, second=0, microsecond=0)
            tests.append(lambda t, d=day: d <= t < d + DAY)
        elif key.endswith("<"):
            if whole_day:
                tests.append((lambda t, m=moment: t < m + DAY) if before_inclusive else (lambda t, m=moment: t < m))
            else:
                tests.append((lambda t, m=moment: t <= m) if before_inclusive else (lambda t, m=moment: t < m))
        else:
            tests.append(lambda t, m=moment: t >= m)

    def keep(resource: dict[str, Any]) -> bool:
        if not tests:
            return True
        moment = _moment(resource, field)
        return moment is not None and all(test(moment) for test in tests)

    return given, keep
