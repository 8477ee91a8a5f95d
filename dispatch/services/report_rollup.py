"""The monthly roll-up behind the compliance reports: kept current as tickets change, rebuilt on demand.

A million tickets make a year's compliance by month a scan of 200,000 rows and a sort for every
percentile. Most of those tickets are settled: closed, every target done, their figures fixed for
good. Each settled ticket adds, to its hospital-time month, trade and priority (models/report_rollup.py):
one ticket, met or missed per target, its attend band, and each target's time in whole seconds to an
exact histogram (with a coarse count per band of seconds). A report over whole months reads the
roll-up for the settled tickets and the tickets table, with the reports' own rules, for the few that
are not settled yet (open, or closed with a target never done, whose outcome still depends on the
time), and adds the two. Percentiles stay exact: the histogram holds every time, and the rank a
percentile needs is found by counting bands, then reading the one band's seconds.

Kept current from the session: before a flush the settled figures of the tickets about to change are
read from the database, after it their new ones, and the difference goes into the roll-up in the same
transaction. Tickets still open cost nothing (they are not settled before or after). Writes that
bypass the session (bulk history loads, restores) are followed by `rebuild()` (`flask reports rebuild`).
"""
from __future__ import annotations

import math
from collections import Counter, defaultdict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import date, datetime, timezone

from sqlalchemy import and_, case, delete, event, func, insert, inspect, not_, select
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from dispatch.services.report_sql import PERCENTILES, percentile_cont
from dispatch.services.report_filters import (
    ATTEND_BANDS, TARGETS, ReportFilter, attend_band, done_at, elapsed, met, missed,
)
from dispatch.services.timezone import hospital_date
from models import OPEN_STATUSES, ReportMonth, ReportMonthBand, ReportMonthDuration, ReportRollupState, Ticket, db

SETTLED_STATUSES_EXCLUDED = (*OPEN_STATUSES, "cancelled")
SETTLED_NOW = datetime(1970, 1, 1, tzinfo=timezone.utc)
# Filters the roll-up answers; any other (ward, technician, team, asset, place) is answered from the tickets.
SERVED_FILTERS = ("trade_id", "priority", "month")
SERVED_GROUPINGS = ("trade_priority", "trade", "priority", "month")


def settled():
    """SQL: closed (not open, not cancelled) with every target done: figures that no longer depend on the time."""
    return and_(Ticket.status.not_in(SETTLED_STATUSES_EXCLUDED), *[done_at(t).is_not(None) for t in TARGETS])


def unsettled():
    """SQL: counted by the reports but not in the roll-up (open, or a target never done)."""
    return and_(Ticket.status != "cancelled", not_(settled()))


def band_of(seconds: int) -> int:
    """The coarse band of a time in whole seconds: eight bands per doubling (each about 12 % wide).
    Negative times (none expected) share band -1."""
    if seconds < 0:
        return -1
    if seconds < 16:
        return seconds
    bits = seconds.bit_length()
    return bits * 8 + ((seconds >> (bits - 4)) & 7)


def month_of(moment: datetime) -> date:
    return hospital_date(moment).replace(day=1)


# --- what a settled ticket adds -----------------------------------------------------------------

@dataclass(frozen=True)
class Settled:
    month: date
    trade_id: int
    priority: int
    outcome: tuple[str, ...]   # per target, in TARGETS order: met, missed, or "" (no due time)
    seconds: tuple[int, ...]   # per target
    attend_band: int


def settled_figures(connection, where: Iterable, stream: bool = False) -> Iterator[Settled]:
    within = case((met("attend"), 1), else_=0)
    # The reports' own rules; `missed` is given a time, but with every target done it cannot depend on it.
    outcomes = [case((met(t), "met"), (missed(t, SETTLED_NOW), "missed"), else_="") for t in TARGETS]
    columns = [Ticket.created_at, Ticket.trade_id, Ticket.priority, *outcomes, *[elapsed(t) for t in TARGETS],
               attend_band(elapsed("attend"), Ticket.attend_target_minutes * 60, within)]
    count = len(TARGETS)
    query = select(*columns).where(settled(), *where)
    # The rebuild streams every ticket in batches; the session hooks read a handful in one go.
    for row in connection.execute(query.execution_options(yield_per=5000) if stream else query):
        yield Settled(month_of(row[0]), row[1], row[2], tuple(row[3:3 + count]),
                      tuple(int(v) for v in row[3 + count:3 + 2 * count]), int(row[-1]))


@dataclass
class Changes:
    """Additions (+1) and removals (-1) to the three roll-up tables, by primary key."""

    months: defaultdict
    bands: Counter
    durations: Counter

    @classmethod
    def empty(cls) -> Changes:
        return cls(defaultdict(Counter), Counter(), Counter())

    def add(self, figures: Settled, sign: int) -> None:
        cell = (figures.month, figures.trade_id, figures.priority)
        counts = self.months[cell]
        counts["tickets"] += sign
        for target, outcome, seconds in zip(TARGETS, figures.outcome, figures.seconds):
            counts[f"{target}_done"] += sign
            if outcome:
                counts[f"{target}_{outcome}"] += sign
            band = band_of(seconds)
            self.bands[(figures.month, target, figures.trade_id, figures.priority, band)] += sign
            self.durations[(figures.month, target, band, figures.trade_id, figures.priority, seconds)] += sign
        if figures.attend_band >= 0:
            counts[f"attend_band_{figures.attend_band}"] += sign


def _upsert(connection, model, keys: tuple[str, ...], rows: list[dict]) -> None:
    if not rows:
        return
    table = model.__table__
    insert = postgresql_insert if connection.dialect.name == "postgresql" else sqlite_insert
    statement = insert(table)
    values = [c for c in rows[0] if c not in keys]
    statement = statement.on_conflict_do_update(
        index_elements=list(keys), set_={c: table.c[c] + statement.excluded[c] for c in values})
    connection.execute(statement, rows)


MONTH_VALUES = ("tickets", *[f"{t}_{o}" for t in TARGETS for o in ("met", "missed", "done")],
                *[f"attend_band_{i}" for i in range(len(ATTEND_BANDS))])


def apply(connection, changes: Changes) -> None:
    month_rows = []
    for (month, trade_id, priority), counts in changes.months.items():
        if any(counts.values()):
            month_rows.append({"month": month, "trade_id": trade_id, "priority": priority,
                               **{name: counts.get(name, 0) for name in MONTH_VALUES}})
    _upsert(connection, ReportMonth, ("month", "trade_id", "priority"), month_rows)
    _upsert(connection, ReportMonthBand, ("month", "target", "trade_id", "priority", "band"),
            [{"month": m, "target": t, "trade_id": tr, "priority": p, "band": b, "tickets": n}
             for (m, t, tr, p, b), n in changes.bands.items() if n])
    _upsert(connection, ReportMonthDuration, ("month", "target", "band", "trade_id", "priority", "seconds"),
            [{"month": m, "target": t, "band": b, "trade_id": tr, "priority": p, "seconds": s, "tickets": n}
             for (m, t, b, tr, p, s), n in changes.durations.items() if n])


def rebuild(now: datetime, batch: int = 50_000) -> int:
    """Empty the roll-up and add every settled ticket again (after bulk loads and restores), then mark it
    complete so the reports use it. Returns the number of tickets rolled up. In the caller's transaction."""
    connection = db.session.connection()
    for model in (ReportMonth, ReportMonthBand, ReportMonthDuration, ReportRollupState):
        connection.execute(delete(model))
    changes, total = Changes.empty(), 0
    for figures in settled_figures(connection, [], stream=True):
        changes.add(figures, +1)
        total += 1
    # The histogram is the big table: written in slices so one statement's parameters stay bounded.
    durations = list(changes.durations.items())
    changes.durations = Counter()
    apply(connection, changes)
    for start in range(0, len(durations), batch):
        apply(connection, Changes(defaultdict(Counter), Counter(), Counter(dict(durations[start:start + batch]))))
    connection.execute(insert(ReportRollupState).values(id=1, rebuilt_at=now, tickets=total))
    return total


def is_complete() -> bool:
    return db.session.get(ReportRollupState, 1) is not None


# --- keeping it current from the session --------------------------------------------------------

def _may_be_settled(ticket: Ticket) -> bool:
    """False when the ticket was open and stays open (or is new and open): nothing to read then, which keeps
    filing, assigning and the other steps of an open job free of roll-up work."""
    history = inspect(ticket).attrs.status.history
    statuses = [*history.added, *history.deleted, *history.unchanged]
    return not statuses or any(status not in OPEN_STATUSES for status in statuses)


def _touched(session: Session) -> tuple[list[int], list[Ticket]]:
    ids, fresh = [], []
    for obj in session.dirty:
        if isinstance(obj, Ticket) and session.is_modified(obj, include_collections=False) and _may_be_settled(obj):
            ids.append(obj.id)
    for obj in session.deleted:
        if isinstance(obj, Ticket):
            ids.append(obj.id)
    for obj in session.new:
        if isinstance(obj, Ticket) and _may_be_settled(obj):
            fresh.append(obj)
    return ids, fresh


@event.listens_for(Session, "before_flush")
def _read_before(session: Session, flush_context, instances) -> None:
    ids, fresh = _touched(session)
    if not ids and not fresh:
        return
    changes = session.info.setdefault("report_rollup", Changes.empty())
    if ids:
        for figures in settled_figures(session.connection(), [Ticket.id.in_(ids)]):
            changes.add(figures, -1)
    session.info.setdefault("report_rollup_tickets", []).extend([*ids, *fresh])


@event.listens_for(Session, "after_flush")
def _write_after(session: Session, flush_context) -> None:
    touched = session.info.pop("report_rollup_tickets", None)
    changes = session.info.pop("report_rollup", None)
    if not touched:
        return
    ids = [t if isinstance(t, int) else t.id for t in touched]
    connection = session.connection()
    for figures in settled_figures(connection, [Ticket.id.in_(ids)]):
        changes.add(figures, +1)
    apply(connection, changes)


@event.listens_for(Session, "after_soft_rollback")
def _forget(session: Session, previous_transaction) -> None:
    # A flush that failed between the two hooks must not leave its half-read figures for the next one.
    session.info.pop("report_rollup", None)
    session.info.pop("report_rollup_tickets", None)


# --- reading it ---------------------------------------------------------------------------------

def whole_months(report: ReportFilter) -> list[date] | None:
    """The months of the report's period when it covers whole hospital-time months, else None."""
    start, end = report.period()
    following = date(end.year + end.month // 12, end.month % 12 + 1, 1)
    if start.day != 1 or (following - end).days != 1:
        return None
    months, day = [], start
    while day <= end:
        months.append(day)
        day = date(day.year + day.month // 12, day.month % 12 + 1, 1)
    return months


def serves(report: ReportFilter, by: str = "trade_priority") -> bool:
    """Whether the roll-up can answer exactly: whole months, narrowed by trade and priority at most."""
    narrowed = [name for name in ReportFilter.PARAMS if getattr(report, name) is not None]
    return (by in SERVED_GROUPINGS and whole_months(report) is not None
            and all(name in SERVED_FILTERS for name in narrowed) and is_complete())


def cell_filter(model, report: ReportFilter, months: list[date]) -> list:
    clauses = [model.month.between(months[0], months[-1])]
    if report.trade_id is not None:
        clauses.append(model.trade_id == report.trade_id)
    if report.priority is not None:
        clauses.append(model.priority == report.priority)
    return clauses


def month_counts(report: ReportFilter, months: list[date]) -> list[ReportMonth]:
    return list(db.session.scalars(select(ReportMonth).where(*cell_filter(ReportMonth, report, months))))


class RankedTimes:
    """The times of one group in ascending order, without reading them all: len() and [rank] count bands
    (the settled tickets' band counts plus the unsettled tickets' own times), then read the one band
    holding the rank. Indexable as report_sql.percentile_cont expects, so the formula stays written once."""

    def __init__(self, where: list, target: str, bands: Counter, extra: list[int]):
        self.where, self.target = where, target
        self.extra = sorted(extra)
        self.bands = bands.copy()
        for seconds in self.extra:
            self.bands[band_of(seconds)] += 1
        self.order = sorted(b for b, n in self.bands.items() if n)
        self.total = sum(self.bands.values())
        self._read: dict[int, list[tuple[int, int]]] = {}
        self.prefetched: dict[int, Counter] = defaultdict(Counter)  # band -> settled seconds -> tickets

    def needed_bands(self) -> set[int]:
        """The bands holding the ranks the percentiles interpolate between (read ahead in one statement)."""
        ranks = set()
        for fraction in PERCENTILES:
            position = (self.total - 1) * float(fraction)
            ranks.update(r for r in (math.floor(position), math.floor(position) + 1) if 0 <= r < self.total)
        found, before = set(), 0
        for band in self.order:
            if any(before <= r < before + self.bands[band] for r in ranks):
                found.add(band)
            before += self.bands[band]
        return found

    def __len__(self) -> int:
        return self.total

    def __getitem__(self, rank: int) -> int:
        before = 0
        for band in self.order:
            if rank < before + self.bands[band]:
                return self._nth(band, rank - before)
            before += self.bands[band]
        raise IndexError(rank)

    def _nth(self, band: int, rank: int) -> int:
        if band not in self._read:
            self._read[band] = self._band_times(band)
        for seconds, n in self._read[band]:
            if rank < n:
                return seconds
            rank -= n
        raise IndexError(rank)

    def _band_times(self, band: int) -> list[tuple[int, int]]:
        if band in self.prefetched:
            counts = self.prefetched[band].copy()
            counts.update(s for s in self.extra if band_of(s) == band)
            return sorted((s, n) for s, n in counts.items() if n)
        duration = ReportMonthDuration
        query = (select(duration.seconds, func.sum(duration.tickets))
                 .where(*self.where, duration.target == self.target, duration.band == band)
                 .group_by(duration.seconds))
        counts = Counter({int(s): int(n) for s, n in db.session.execute(query)})
        counts.update(s for s in self.extra if band_of(s) == band)
        return sorted((s, n) for s, n in counts.items() if n)


def _band_counts(report: ReportFilter, months: list[date]) -> Iterator[tuple]:
    """(month, trade, priority, target, band, tickets) for the period's settled tickets."""
    band = ReportMonthBand
    query = select(band.month, band.trade_id, band.priority, band.target, band.band, band.tickets).where(
        *cell_filter(band, report, months), band.tickets != 0)
    yield from db.session.execute(query)


def compliance_figures(report: ReportFilter, now: datetime, names: list[str], live_where: list,
                       live_columns: dict) -> tuple[list[dict], dict | None]:
    """The records reports.compliance builds its rows from (counts, percentiles, backlog per group and in
    total), from the roll-up plus the unsettled tickets. names: the grouping (trade, priority, month);
    live_where: the report's conditions; live_columns: {name: SQL} of the per-ticket outcome flags, as
    the exact query computes them (so the rules stay in reports.py and report_filters.py)."""
    months = whole_months(report)
    position = {month: i for i, month in enumerate(months)}

    def key_of(month: date, trade_id: int, priority: int) -> tuple:
        values = {"trade": trade_id, "priority": priority, "month": position[month]}
        return tuple(values[n] for n in names)

    records: dict[tuple, Counter] = defaultdict(Counter)
    for cell in month_counts(report, months):
        record = records[key_of(cell.month, cell.trade_id, cell.priority)]
        record["tickets"] += cell.tickets
        for target in TARGETS:
            for outcome in ("met", "missed", "done"):
                record[f"{target}_{outcome}"] += getattr(cell, f"{target}_{outcome}")
    times: dict[tuple, list[int]] = defaultdict(list)
    live = select(Ticket.created_at, Ticket.trade_id, Ticket.priority,
                  *[column.label(name) for name, column in live_columns.items()],
                  *[elapsed(t).label(f"{t}_seconds") for t in TARGETS]).where(*live_where, unsettled())
    for row in db.session.execute(live).mappings():
        key = key_of(month_of(row["created_at"]), row["trade_id"], row["priority"])
        record = records[key]
        record["tickets"] += 1
        for name in live_columns:
            record[name] += int(row[name] or 0)
        for target in TARGETS:
            if row[f"{target}_seconds"] is not None:
                record[f"{target}_done"] += 1
                times[(key, target)].append(int(row[f"{target}_seconds"]))
    bands: dict[tuple, Counter] = defaultdict(Counter)
    for month, trade_id, priority, target, band, tickets in _band_counts(report, months):
        bands[(key_of(month, trade_id, priority), target)][band] += tickets
    empty = dict.fromkeys(("tickets", *live_columns, *[f"{t}_done" for t in TARGETS]), 0)
    groups = []
    columns = {"trade": ReportMonthDuration.trade_id, "priority": ReportMonthDuration.priority,
               "month": ReportMonthDuration.month}
    base_where = cell_filter(ReportMonthDuration, report, months)
    keys = [key for key, record in records.items() if record["tickets"]]
    if not keys:
        return [], None
    ranked = {}
    for target in TARGETS:
        for key in keys:
            where = base_where + [columns[n] == (months[v] if n == "month" else v) for n, v in zip(names, key)]
            ranked[(key, target)] = RankedTimes(where, target, bands[(key, target)], times[(key, target)])
        ranked[(None, target)] = RankedTimes(
            base_where, target, sum((c for (k, t), c in bands.items() if t == target), Counter()),
            [s for (k, t), values in times.items() if t == target for s in values])
        _read_ahead(ranked, target, names, months, base_where, columns)
    groups = []
    for key in keys:
        figures = {**empty, **dict(zip(names, key)), **records[key]}
        figures.update(_percentiles({t: ranked[(key, t)] for t in TARGETS}))
        groups.append(figures)
    total = Counter()
    for record in records.values():
        total.update(record)
    return groups, {**empty, **total, **_percentiles({t: ranked[(None, t)] for t in TARGETS})}


def _read_ahead(ranked: dict, target: str, names: list[str], months: list[date], base_where: list, columns: dict) -> None:
    """One statement per target for the bands every group's percentiles fall in, instead of one per band
    and group (a few hundred small statements for a month by trade and priority)."""
    wanted = set().union(*[r.needed_bands() for (key, t), r in ranked.items() if t == target])
    if not wanted:
        return
    position = {month: i for i, month in enumerate(months)}
    group = [columns[n] for n in names]
    duration = ReportMonthDuration
    query = (select(*group, duration.band, duration.seconds, func.sum(duration.tickets))
             .where(*base_where, duration.target == target, duration.band.in_(sorted(wanted)))
             .group_by(*group, duration.band, duration.seconds))
    for *values, band, seconds, tickets in db.session.execute(query):
        key = tuple(position[v] if n == "month" else v for n, v in zip(names, values))
        for owner in (ranked.get((key, target)), ranked[(None, target)]):
            if owner is not None:
                owner.prefetched[band][int(seconds)] += int(tickets)
    for (key, t), r in ranked.items():
        if t == target:
            for band in wanted:  # read: a band with no settled times in a group is known to be empty
                r.prefetched.setdefault(band, Counter())


def _percentiles(ranked: dict[str, RankedTimes]) -> dict:
    out = {}
    for target in TARGETS:
        for fraction in PERCENTILES:
            out[f"{target}_p{round(fraction * 100)}"] = percentile_cont(ranked[target], fraction)
    return out
