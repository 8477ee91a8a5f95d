"""When a maintenance schedule falls due: pure date arithmetic on the hospital's calendar.

Months are anchored on the start day and clamped to the month's end: "every month from 31 January"
is 28 (or 29) February, 31 March, 30 April, 31 May ... (never drifting to the 28th for good), and
"every 12 months from 29 February" is 28 February in the years that have no 29th. Weeks and days
are plain counts of days. Dates are calendar dates in the hospital's time zone; which date is
"today" is the caller's business (see planned.today).
"""
from __future__ import annotations

import calendar
from collections.abc import Iterator
from datetime import date, timedelta

# A schedule is read through these attributes (a MaintenanceSchedule, or anything shaped like one).
MAX_OCCURRENCES = 10_000  # a guard for loops over a very long range


def add_months(anchor: date, months: int) -> date:
    """`anchor` moved by `months`, on the anchor's day or the month's last day when it has fewer."""
    index = anchor.year * 12 + (anchor.month - 1) + months
    year, month = divmod(index, 12)
    month += 1
    return date(year, month, min(anchor.day, calendar.monthrange(year, month)[1]))


def nth_date(start: date, unit: str, count: int, n: int) -> date:
    """The n-th due date (n = 0 is the start date itself)."""
    if unit == "day":
        return start + timedelta(days=count * n)
    if unit == "week":
        return start + timedelta(weeks=count * n)
    if unit == "month":
        return add_months(start, count * n)
    raise ValueError(f"unknown recurrence unit {unit!r}")


def _first_index_on_or_after(start: date, unit: str, count: int, day: date) -> int:
    if day <= start:
        return 0
    if unit in ("day", "week"):
        step = count * (7 if unit == "week" else 1)
        return -(-(day - start).days // step)  # ceiling division
    # Months: estimate from the month difference, then step back while the previous one still qualifies.
    n = max(0, ((day.year - start.year) * 12 + day.month - start.month) // count)
    while n > 0 and nth_date(start, unit, count, n - 1) >= day:
        n -= 1
    while nth_date(start, unit, count, n) < day:
        n += 1
    return n


def due_dates(schedule, first: date, last: date) -> Iterator[date]:
    """The schedule's due dates from `first` to `last` inclusive, in order."""
    if last < first:
        return
    if schedule.recurrence == "dates":
        for text in sorted(set(schedule.fixed_dates or [])):
            day = date.fromisoformat(text) if isinstance(text, str) else text
            if first <= day <= last:
                yield day
        return
    start, unit, count = schedule.start_date, schedule.interval_unit, schedule.interval_count
    n = _first_index_on_or_after(start, unit, count, first)
    for _ in range(MAX_OCCURRENCES):
        day = nth_date(start, unit, count, n)
        if day > last:
            return
        yield day
        n += 1


def next_due_dates(schedule, after: date, limit: int) -> list[date]:
    """The next `limit` due dates on or after `after` (fixed dates: as many as are left)."""
    result: list[date] = []
    if schedule.recurrence == "dates":
        return [d for d in due_dates(schedule, after, date.max)][:limit]
    start, unit, count = schedule.start_date, schedule.interval_unit, schedule.interval_count
    n = _first_index_on_or_after(start, unit, count, after)
    while len(result) < limit:
        result.append(nth_date(start, unit, count, n))
        n += 1
    return result
