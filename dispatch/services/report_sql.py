"""SQL building blocks the reports share, written once so SQLite and PostgreSQL compute the same figures.

Percentiles use linear interpolation between the two nearest ranks (PostgreSQL's percentile_cont,
Excel's PERCENTILE.INC, NumPy's default): with n values sorted ascending, the p-th percentile sits at
position h = p * (n - 1) (counting from 0) and is v[floor(h)] + (v[floor(h) + 1] - v[floor(h)]) * (h - floor(h)).
PostgreSQL computes it with percentile_cont. Databases without it (SQLite) read the period's times once,
in order, and interpolate in Python in the same double-precision steps, so the results are equal
(tests/test_reports_crossdb.py).
Durations are whole seconds (each timestamp truncated to the second), so both databases start from
the same integers.
"""
from __future__ import annotations

import math
from bisect import bisect_right
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import date, datetime, time, timedelta, timezone
from zoneinfo import ZoneInfo

from sqlalchemy import BigInteger, Column, Integer, MetaData, Table, and_, case, func, insert, literal
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.expression import ColumnElement
from sqlalchemy.sql.functions import FunctionElement

from models.base import UTCDateTime, db

PERCENTILES = (0.5, 0.9)


class epoch_seconds(FunctionElement):
    """Whole seconds since 1970 of a (naive UTC) timestamp column, fractions dropped."""

    type = Integer()
    inherit_cache = True


@compiles(epoch_seconds)
def _epoch_default(element, compiler, **kw):
    # SQLite keeps times to the millisecond internally and rounds the stored microseconds into it
    # (.9996 s would become the next second), so the fraction is cut off as text first, as FLOOR does.
    column = f"substr({compiler.process(element.clauses, **kw)}, 1, 19)"
    version = getattr(getattr(compiler.dialect, "dbapi", None), "sqlite_version_info", (0,))
    if version >= (3, 38):
        return f"unixepoch({column})"  # twice as fast as strftime('%s')
    return "CAST(strftime('%%s', %s) AS INTEGER)" % column


@compiles(epoch_seconds, "postgresql")
def _epoch_postgresql(element, compiler, **kw):
    return "CAST(FLOOR(EXTRACT(EPOCH FROM %s)) AS BIGINT)" % compiler.process(element.clauses, **kw)


class floor_int(FunctionElement):
    """Largest integer not above a non-negative number (CAST alone rounds on PostgreSQL, truncates on SQLite)."""

    type = Integer()
    inherit_cache = True


@compiles(floor_int)
def _floor_default(element, compiler, **kw):
    return "CAST(%s AS INTEGER)" % compiler.process(element.clauses, **kw)


@compiles(floor_int, "postgresql")
def _floor_postgresql(element, compiler, **kw):
    return "CAST(FLOOR(%s) AS INTEGER)" % compiler.process(element.clauses, **kw)


class days_before(FunctionElement):
    """The timestamp `days` whole days earlier, in the column's own storage form (so indexes still serve)."""

    inherit_cache = False

    def __init__(self, column, days: int):
        self.days = int(days)
        self.type = column.type
        super().__init__(column)


@compiles(days_before)
def _days_before_sqlite(element, compiler, **kw):
    column = compiler.process(element.clauses, **kw)
    # Stored as 'YYYY-MM-DD HH:MM:SS.ffffff': shift the first 19 characters, keep the fraction as it was.
    return f"(strftime('%Y-%m-%d %H:%M:%S', substr({column}, 1, 19), '-{element.days} days') || substr({column}, 20))"


@compiles(days_before, "postgresql")
def _days_before_postgresql(element, compiler, **kw):
    return f"({compiler.process(element.clauses, **kw)} - INTERVAL '{element.days} days')"


def seconds_between(later, earlier) -> ColumnElement:
    """Elapsed whole seconds; NULL when either end is NULL."""
    return epoch_seconds(later) - epoch_seconds(earlier)


def has_native_percentile(dialect_name: str) -> bool:
    return dialect_name == "postgresql"


def native_percentile(fraction: float, value) -> ColumnElement:
    """PostgreSQL's ordered-set aggregate (NULLs are ignored, as in the fallback)."""
    return func.percentile_cont(literal(fraction)).within_group(value)


def percentile_cont(ordered: Sequence[float], fraction: float) -> float | None:
    """PostgreSQL's percentile_cont over values already in ascending order, for databases that lack it:
    the same interpolation in the same double precision, so both databases give the same figures."""
    if not ordered:
        return None
    position = (len(ordered) - 1) * float(fraction)
    lower = math.floor(position)
    lo = float(ordered[lower])
    hi = float(ordered[lower + 1]) if lower + 1 < len(ordered) else lo
    # PostgreSQL's float8 lerp: lo + (hi - lo) * (position - floor(position)).
    return lo + (hi - lo) * (position - lower)


_TEMPORARY_TABLES: dict[tuple[str, tuple[str, ...]], Table] = {}


@contextmanager
def temporary_table(name: str, query) -> Iterator[Table]:
    """The rows of `query` in a temporary table of whole numbers for the length of the block, so several
    aggregates read them without scanning the tickets again. Connection-private; dropped afterwards."""
    columns = tuple(c.name for c in query.selected_columns)
    table = _TEMPORARY_TABLES.get((name, columns))
    if table is None:
        # One Table object per shape, reused: statements over it then have the same cache key every time,
        # and SQLAlchemy compiles them once instead of on every request.
        table = Table(name, MetaData(), *[Column(c, BigInteger) for c in columns], prefixes=["TEMPORARY"])
        _TEMPORARY_TABLES[(name, columns)] = table
    connection = db.session.connection()
    table.create(connection)
    try:
        connection.execute(insert(table).from_select([c.name for c in table.columns], query))
        yield table
    finally:
        table.drop(connection)


# --- hospital-time calendars --------------------------------------------------------------------

def month_starts(start: date, end: date) -> list[date]:
    """First days of the months from start's month through end's month."""
    months, day = [], start.replace(day=1)
    while day <= end:
        months.append(day)
        day = (day.replace(day=28) + timedelta(days=4)).replace(day=1)
    return months


def local_midnight_utc(day: date, zone: ZoneInfo) -> datetime:
    return datetime.combine(day, time.min, zone).astimezone(timezone.utc)


def bucket_by_boundaries(column, boundaries: Sequence[datetime]) -> ColumnElement:
    """Index i such that boundaries[i] <= column < boundaries[i + 1], as a balanced CASE tree.

    Months in hospital time are uneven in UTC (and shift with daylight saving where there is any), so the
    boundaries are worked out in Python with zoneinfo; the database only compares. A balanced tree keeps
    ten years of months to seven comparisons per row.
    """

    def tree(lo: int, hi: int):  # buckets lo..hi inclusive
        if lo == hi:
            return literal(lo, Integer)
        mid = (lo + hi + 1) // 2
        return case((column < boundaries[mid], tree(lo, mid - 1)), else_=tree(mid, hi))

    return tree(0, len(boundaries) - 2)


def offset_segments(lower: datetime, upper: datetime, zone: ZoneInfo) -> list[tuple[datetime, int]]:
    """[(from_utc, utc_offset_seconds)] covering [lower, upper): where the zone's offset changes."""
    def offset(moment: datetime) -> int:
        return int(moment.astimezone(zone).utcoffset().total_seconds())

    segments = [(lower, offset(lower))]
    day = lower
    while day < upper:
        following = min(day + timedelta(days=1), upper)
        if offset(following) != segments[-1][1]:
            low, high = day, following  # the change is in (low, high]: narrow it to the second
            while high - low > timedelta(seconds=1):
                middle = low + (high - low) / 2
                low, high = (middle, high) if offset(middle) == segments[-1][1] else (low, middle)
            segments.append((high, offset(high)))
        day = following
    return segments


class local_part(FunctionElement):
    """Hour (0-23) or weekday (0 = Sunday) of a UTC timestamp in hospital time."""

    type = Integer()
    inherit_cache = False

    def __init__(self, column, part: str, segments: list[tuple[datetime, int]]):
        self.part = part
        self.segments = segments
        super().__init__(column)


def _offset_case(compiler, column_sql: str, segments, render, **kw) -> str:
    if len(segments) == 1:
        return render(segments[0][1])
    whens = []
    for (_, off), (nxt, _) in zip(segments, segments[1:]):
        bound = compiler.process(literal(nxt, UTCDateTime()), **kw)
        whens.append(f"WHEN {column_sql} < {bound} THEN {render(off)}")
    return f"CASE {' '.join(whens)} ELSE {render(segments[-1][1])} END"


@compiles(local_part)
def _local_part_sqlite(element, compiler, **kw):
    column = compiler.process(element.clauses, **kw)
    modifier = _offset_case(compiler, column, element.segments, lambda off: f"'{off:+d} seconds'", **kw)
    code = {"hour": "%H", "weekday": "%w"}[element.part]
    # Whole seconds only: SQLite would round the microseconds into milliseconds (see epoch_seconds).
    return f"CAST(strftime('{code}', substr({column}, 1, 19), {modifier}) AS INTEGER)"


@compiles(local_part, "postgresql")
def _local_part_postgresql(element, compiler, **kw):
    column = compiler.process(element.clauses, **kw)
    shift = _offset_case(compiler, column, element.segments, lambda off: f"INTERVAL '{off} seconds'", **kw)
    field = {"hour": "HOUR", "weekday": "DOW"}[element.part]
    return f"CAST(EXTRACT({field} FROM {column} + {shift}) AS INTEGER)"


def out_of_hours(column, segments, day_starts: int, day_ends: int) -> ColumnElement:
    """True outside day_starts:00-day_ends:00, Monday to Friday, hospital time."""
    hour = local_part(column, "hour", segments)
    weekday = local_part(column, "weekday", segments)
    return and_(column.is_not(None), (weekday.in_((0, 6))) | (hour < day_starts) | (hour >= day_ends))


def position_of(moment: datetime, boundaries: Sequence[datetime]) -> int:
    """Python twin of bucket_by_boundaries, for labelling and tests."""
    return bisect_right(list(boundaries), moment) - 1

