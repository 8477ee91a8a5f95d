"""Compliance with service targets by trade, priority, ward, technician, team or month, computed in the
database (counts, percentages and percentiles in SQL; never by loading every ticket)."""
from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field, replace
from datetime import date, datetime, timedelta
from itertools import groupby

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import case, func, literal, or_, select, tuple_, union_all

from dispatch import i18n
from dispatch.services import report_rollup, report_sql
from dispatch.services.report_filters import (
    ATTEND_BANDS, BACKLOG_AGES, TARGETS, ReportFilter, Teams, attend_band, backlog_age, conditions, elapsed, met,
    missed, technician_teams, utc_range,
)
from dispatch.services.timezone import hospital_zone
from models import Ticket, Trade, User, Ward, db

__all__ = ["ComplianceReport", "ComplianceRow", "DIMENSIONS", "ReportFilter", "TargetFigures", "compliance",
           "attend_distribution", "trend", "utc_range"]

DIMENSIONS = {
    "trade_priority": _l("Trade and priority"), "trade": _l("Trade"), "priority": _l("Priority"),
    "ward": _l("Ward"), "technician": _l("Technician"), "team": _l("Team"), "month": _l("Month"),
}
# The share within target the department aims for; below it a figure shows in red.
COMPLIANCE_GOAL = 90.0


@dataclass
class TargetFigures:
    met: int = 0
    missed: int = 0
    done: int = 0
    p50: float | None = None  # seconds
    p90: float | None = None

    @property
    def pct(self) -> float | None:
        counted = self.met + self.missed
        return None if counted == 0 else round(100.0 * self.met / counted, 1)


@dataclass
class ComplianceRow:
    labels: tuple[str, ...]
    params: dict[str, str]
    tickets: int = 0
    targets: dict[str, TargetFigures] = field(default_factory=lambda: {t: TargetFigures() for t in TARGETS})
    backlog: dict[str, int] = field(default_factory=lambda: {b[0]: 0 for b in BACKLOG_AGES})

    @property
    def missed_total(self) -> int:
        return sum(f.missed for f in self.targets.values())

    @property
    def open_total(self) -> int:
        return sum(self.backlog.values())


@dataclass
class ComplianceReport:
    by: str
    headers: tuple[str, ...]
    rows: list[ComplianceRow]
    totals: ComplianceRow


def _month_boundaries(start: date, end: date) -> tuple[list[date], list[datetime]]:
    zone = hospital_zone()
    months = report_sql.month_starts(start, end)
    following = (months[-1].replace(day=28) + timedelta(days=4)).replace(day=1)
    return months, [report_sql.local_midnight_utc(m, zone) for m in [*months, following]]


def month_label(month: date) -> str:
    return i18n.month_label(month, short=True)


def _group_keys(by: str, report: ReportFilter, teams: Teams):
    """[(name, SQL expression)] to group by, and a function from a key tuple to (labels, link params, sort key)."""
    trades = {t.id: t for t in db.session.scalars(select(Trade))}
    if by in ("trade_priority", "trade", "priority"):
        keys = []
        if by != "priority":
            keys.append(("trade", Ticket.trade_id))
        if by != "trade":
            keys.append(("priority", Ticket.priority))

        def describe(key):
            labels, params, order = [], {}, []
            values = dict(zip([k for k, _ in keys], key))
            if "trade" in values:
                trade = trades.get(values["trade"])
                labels.append(trade.display_name if trade else "?")
                params["trade"] = str(values["trade"])
                order += [trade.sort_order if trade else 0, labels[-1]]
            if "priority" in values:
                labels.append(f"P{values['priority']}")
                params["priority"] = str(values["priority"])
                order.append(values["priority"])
            return tuple(labels), params, tuple(order)

        return keys, describe
    if by == "ward":
        wards = dict(db.session.execute(select(Ward.id, Ward.display_name)).all())
        return [("ward", Ticket.ward_id)], lambda key: ((wards.get(key[0], "?"),), {"ward": str(key[0])},
                                                         (wards.get(key[0], ""),))
    if by == "technician":
        names = dict(db.session.execute(select(User.id, User.full_name)).all())

        def technician(key):
            if key[0] == 0:
                return (_("Not assigned"),), {"technician": "0"}, (1, "")
            name = names.get(key[0], "?")
            return (name,), {"technician": str(key[0])}, (0, name)

        return [("technician", func.coalesce(Ticket.assignee_id, 0))], technician
    if by == "team":
        def team(key):
            if key[0] == 0:
                return (_("No team (not assigned or unlicensed)"),), {"team": "0"}, (1, 0, "")
            trade = trades.get(key[0])
            return (trade.display_name if trade else "?",), {"team": str(key[0])}, (0, trade.sort_order if trade else 0, "")

        return [("team", teams.expression(Ticket.assignee_id))], team
    if by == "month":
        months, boundaries = _month_boundaries(*report.period())

        def month(key):
            first = months[key[0]]
            return (month_label(first),), {"month": first.strftime("%Y-%m")}, (first,)

        return [("month", report_sql.bucket_by_boundaries(Ticket.created_at, boundaries))], month
    raise ValueError(f"unknown grouping {by!r}")


def _aggregates(now: datetime, native: bool) -> list:
    aggregates = [func.count().label("tickets")]
    for target in TARGETS:
        aggregates += [
            func.sum(case((met(target), 1), else_=0)).label(f"{target}_met"),
            func.sum(case((missed(target, now), 1), else_=0)).label(f"{target}_missed"),
            func.count(elapsed(target)).label(f"{target}_done"),
        ]
        if native:
            aggregates += [report_sql.native_percentile(p, elapsed(target)).label(f"{target}_p{round(p * 100)}")
                           for p in report_sql.PERCENTILES]
    aggregates += [func.sum(case((backlog_age(key, now), 1), else_=0)).label(f"backlog_{key}")
                   for key, *_ in BACKLOG_AGES]
    return aggregates


def _native_figures(keys, where, now: datetime) -> tuple[list[dict], dict | None]:
    """PostgreSQL: groups and the total in one scan (GROUPING SETS), percentiles by percentile_cont."""
    exprs = [expr for _, expr in keys]
    query = select(*[expr.label(name) for name, expr in keys], func.grouping(exprs[0]).label("is_total"),
                   *_aggregates(now, native=True)).where(*where)
    query = query.group_by(func.grouping_sets(tuple_(*exprs), tuple_()))
    groups, total = [], None
    for record in db.session.execute(query).mappings():
        if record["is_total"]:
            total = dict(record)
        else:
            groups.append(dict(record))
    return groups, total


def _fallback_figures(keys, where, now: datetime) -> tuple[list[dict], dict | None]:
    """Databases without percentile_cont: the period's tickets are read once into a temporary table of
    keys, per-target outcomes and times; the counts come from it, and each target's times are read back
    from it once, in order, for every percentile of the groups and the total."""
    names = [name for name, _ in keys]
    flags = _outcome_flags(now)
    rows = select(*[expr.label(name) for name, expr in keys], *[e.label(n) for n, e in flags.items()],
                  *[elapsed(t).label(t) for t in TARGETS]).where(*where)
    with report_sql.temporary_table("report_base", rows) as base:
        group = [base.c[n] for n in names]
        counts = select(*group, func.count().label("tickets"), *[func.sum(base.c[n]).label(n) for n in flags],
                        *[func.count(base.c[t]).label(f"{t}_done") for t in TARGETS]).group_by(*group)
        groups = [dict(r) for r in db.session.execute(counts).mappings()]
        by_key = {tuple(g[n] for n in names): g for g in groups}
        total = {k: sum(g[k] or 0 for g in groups) for k in groups[0] if k not in names} if groups else None
        for target in TARGETS:
            if total is None or not total[f"{target}_done"]:
                continue
            value = base.c[target]
            times = db.session.execute(select(*group, value).where(value.is_not(None)).order_by(*group, value)).all()
            everyone = []
            for key, rows in groupby(times, key=lambda row: tuple(row[:-1])):
                ordered = [row[-1] for row in rows]
                everyone += ordered
                by_key[key].update(_percentiles(target, ordered))
            total.update(_percentiles(target, sorted(everyone)))
    return groups, total


def _outcome_flags(now: datetime) -> dict:
    """Per ticket, 1 or 0: met and missed per target, and open in each age band."""
    flags = {}
    for target in TARGETS:
        flags[f"{target}_met"] = case((met(target), 1), else_=0)
        flags[f"{target}_missed"] = case((missed(target, now), 1), else_=0)
    flags.update({f"backlog_{key}": case((backlog_age(key, now), 1), else_=0) for key, *_ in BACKLOG_AGES})
    return flags


def _percentiles(target: str, ordered: list) -> dict:
    return {f"{target}_p{round(p * 100)}": report_sql.percentile_cont(ordered, p) for p in report_sql.PERCENTILES}


def _row(labels, params, record: dict) -> ComplianceRow:
    row = ComplianceRow(labels=labels, params=params, tickets=int(record["tickets"] or 0))
    for target in TARGETS:
        p50, p90 = record.get(f"{target}_p50"), record.get(f"{target}_p90")
        row.targets[target] = TargetFigures(
            met=int(record[f"{target}_met"] or 0), missed=int(record[f"{target}_missed"] or 0),
            done=int(record[f"{target}_done"] or 0),
            p50=None if p50 is None else float(p50), p90=None if p90 is None else float(p90))
    row.backlog = {name: int(record[f"backlog_{name}"] or 0) for name, *_ in BACKLOG_AGES}
    return row


def compliance(report: ReportFilter, now: datetime, by: str = "trade_priority",
               native_percentiles: bool | None = None, rollup: bool = True) -> ComplianceReport:
    """Per group and in total: tickets, met and missed per target, median and 90th percentile times, and
    the tickets still open by age.

    Whole months grouped and narrowed by trade, priority or month come from the monthly roll-up (plus the
    tickets not settled yet); anything else (a part of a month, wards, technicians, teams, assets, places)
    from the tickets themselves, which the roll-up cannot split that finely.
    native_percentiles=False makes PostgreSQL use the fallback too, rollup=False skips the roll-up
    (tests compare all three).
    """
    if native_percentiles is None:
        native_percentiles = report_sql.has_native_percentile(db.engine.dialect.name)
    teams = technician_teams()
    headers = {
        "trade_priority": (_("Trade"), _("Priority")), "trade": (_("Trade"),), "priority": (_("Priority"),),
        "ward": (_("Ward"),), "technician": (_("Technician"),), "team": (_("Team"),), "month": (_("Month"),),
    }[by]
    keys, describe = _group_keys(by, report, teams)
    where = conditions(report, teams)
    if rollup and report_rollup.serves(report, by):
        groups, total = report_rollup.compliance_figures(report, now, [name for name, _ in keys], where,
                                                         _outcome_flags(now))
    else:
        groups, total = (_native_figures if native_percentiles else _fallback_figures)(keys, where, now)
    rows = []
    for record in groups:
        labels, params, order = describe(tuple(record[name] for name, _ in keys))
        rows.append((order, _row(labels, params, record)))
    rows.sort(key=lambda pair: pair[0])
    totals_labels = (_("All"),) + ("",) * (len(headers) - 1)
    totals = _row(totals_labels, {}, total) if total and total["tickets"] else ComplianceRow(totals_labels, {})
    return ComplianceReport(by=by, headers=headers, rows=[row for _, row in rows], totals=totals)


# --- charts' data -------------------------------------------------------------------------------

@dataclass
class Trend:
    target: str
    months: list[date]
    series: list[tuple[str, dict[str, str], list[float | None], list[int]]]  # name, link params, % by month, counted


def trend(report: ReportFilter, now: datetime, target: str = "attend", months: int = 12, rollup: bool = True) -> Trend:
    """% within target by month and trade, for the `months` months ending with the report's last month."""
    end = report.period()[1]
    first = end.replace(day=1)
    for _step in range(months - 1):
        first = (first - timedelta(days=1)).replace(day=1)
    month_list, boundaries = _month_boundaries(first, end)
    teams = technician_teams()
    where = conditions(report, teams, dated=False)
    upper = report.utc_range()[1]
    window = replace(report, start=first, end=end, month=None)
    # Whole months narrowed by trade or priority at most: the settled tickets from the roll-up.
    served = rollup and report_rollup.serves(window)
    if served:
        where.append(report_rollup.unsettled())
    trades = list(db.session.scalars(select(Trade).order_by(Trade.sort_order, Trade.display_name)))
    met_sum = func.sum(case((met(target), 1), else_=0))
    missed_sum = func.sum(case((missed(target, now), 1), else_=0))
    # One small aggregate per month (each month one index range, its GROUP BY sorting only that month's
    # tickets), glued by UNION ALL: a short statement, quick to build, and no sort of the whole year.
    parts = [select(literal(index).label("month"), Ticket.trade_id, met_sum, missed_sum).where(
        *where, Ticket.created_at >= boundaries[index], Ticket.created_at < min(boundaries[index + 1], upper))
        .group_by(Ticket.trade_id) for index in range(len(month_list))]
    counts = {(int(month), trade_id): (int(good or 0), int(bad or 0))
              for month, trade_id, good, bad in db.session.execute(union_all(*parts))}
    if served:
        position = {month: i for i, month in enumerate(month_list)}
        for cell in report_rollup.month_counts(window, month_list):
            good, bad = counts.get((position[cell.month], cell.trade_id), (0, 0))
            counts[(position[cell.month], cell.trade_id)] = (good + getattr(cell, f"{target}_met"),
                                                           bad + getattr(cell, f"{target}_missed"))
    series = []
    for trade in trades:
        points, counted = [], []
        for index in range(len(month_list)):
            good, bad = counts.get((index, trade.id), (0, 0))
            points.append(None if good + bad == 0 else round(100.0 * good / (good + bad), 1))
            counted.append(good + bad)
        if any(counted):
            series.append((trade.display_name, {"trade": str(trade.id)}, points, counted))
    return Trend(target=target, months=month_list, series=series)


@dataclass
class Distribution:
    bands: list[tuple[str, int, bool]]  # label, tickets, within target
    waiting_late: int  # not on site yet and past due


def attend_distribution(report: ReportFilter, now: datetime, rollup: bool = True) -> Distribution:
    """How long technicians took to get on site, against each ticket's own target.

    The band edges compare whole seconds; whether a ticket is within target is decided on the exact
    times, as everywhere else (on site exactly at the due time is within).
    """
    teams = technician_teams()
    where = conditions(report, teams)
    # Whole months narrowed by trade or priority at most: the settled tickets from the roll-up.
    served = rollup and report_rollup.serves(report)
    if served:
        where.append(report_rollup.unsettled())
    # Each ticket's time and target once (a materialised CTE), then banded: the band test reads them
    # up to nine times, and working the time out again each time doubled the cost on SQLite.
    per_ticket = (
        select(elapsed("attend").label("seconds"), (Ticket.attend_target_minutes * 60).label("target"),
               case((met("attend"), 1), else_=0).label("within"))
        .where(*where, or_(Ticket.attended_at.is_not(None), missed("attend", now)))
        .cte("attend_times").prefix_with("MATERIALIZED")
    )
    index = attend_band(per_ticket.c.seconds, per_ticket.c.target, per_ticket.c.within).label("band")
    # Band -1: not on site yet and already late.
    rows = Counter(dict(db.session.execute(select(index, func.count()).select_from(per_ticket).group_by(index)).all()))
    if served:
        for cell in report_rollup.month_counts(report, report_rollup.whole_months(report)):
            rows.update({i: getattr(cell, f"attend_band_{i}") for i in range(len(ATTEND_BANDS))})
    return Distribution(
        bands=[(label, int(rows.get(i, 0)), i <= 3) for i, (_, label) in enumerate(ATTEND_BANDS)],
        waiting_late=int(rows.get(-1, 0)),
    )
