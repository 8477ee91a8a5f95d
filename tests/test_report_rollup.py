"""The monthly roll-up always gives the figures the tickets themselves give, however the tickets change."""
from __future__ import annotations

from datetime import date, datetime, timedelta, timezone

from hypothesis import HealthCheck, given, settings, strategies as st
from sqlalchemy import select

from dispatch.services import report_rollup
from dispatch.services.engine_guard import engine_writing
from dispatch.services.report_filters import ReportFilter
from dispatch.services.reports import attend_distribution, compliance, trend
from models import ReportMonth, ReportMonthBand, ReportMonthDuration, Ticket, db as database
from tests.report_data import NOW, T0, make_ticket
from tests.test_reports_crossdb import plain

MARCH = ReportFilter(start=date(2026, 3, 1), end=date(2026, 3, 31))
QUARTER = ReportFilter(start=date(2026, 1, 1), end=date(2026, 3, 31))
YEAR = ReportFilter(start=date(2025, 4, 1), end=date(2026, 3, 31))
# Every report the roll-up answers: the periods of whole months, each grouping it serves, each filter it serves.
SERVED = [(report, by) for report in (MARCH, QUARTER, YEAR) for by in report_rollup.SERVED_GROUPINGS] + [
    (QUARTER.narrowed(priority=2), "trade"), (QUARTER.narrowed(month=date(2026, 2, 1)), "trade_priority"),
    (YEAR.narrowed(priority=3), "month"),
]
TIMES = ("acknowledged_at", "attended_at", "made_safe_at", "resolved_at")
STATUSES = ("closed", "resolved", "attended", "on_hold", "reopened", "cancelled", "new")


def figures(hospital) -> dict:
    out = {}
    for report, by in SERVED:
        assert report_rollup.serves(report, by)
        for rollup in (True, False):
            out[(rollup, str(report), by)] = plain(compliance(report, NOW, by, rollup=rollup))
    trades = [None, hospital.trades["power"].id]
    for rollup in (True, False):
        for trade_id in trades:
            narrowed = MARCH.narrowed(trade_id=trade_id)
            for target in ("acknowledge", "attend", "resolve"):
                out[(rollup, "trend", trade_id, target)] = plain(trend(narrowed, NOW, target, rollup=rollup))
            for report in (narrowed, QUARTER.narrowed(trade_id=trade_id)):
                out[(rollup, "bands", str(report))] = plain(attend_distribution(report, NOW, rollup=rollup))
    return out


def assert_rollup_agrees(hospital) -> None:
    found = figures(hospital)
    for key, value in found.items():
        if key[0]:
            assert value == found[(False, *key[1:])], key[1:]


def rollup_rows() -> dict:
    return {model.__tablename__: sorted(tuple(getattr(r, c.key) for c in model.__table__.columns)
                                        for r in database.session.scalars(select(model)) if r.tickets)
            for model in (ReportMonth, ReportMonthBand, ReportMonthDuration)}


def rows_from_the_tickets() -> dict:
    """What the roll-up should hold, worked out from the tickets now (without writing anything)."""
    changes = report_rollup.Changes.empty()
    for figures in report_rollup.settled_figures(database.session.connection(), []):
        changes.add(figures, +1)
    months = [(m, t, p, *[counts.get(name, 0) for name in report_rollup.MONTH_VALUES])
              for (m, t, p), counts in changes.months.items() if counts["tickets"]]
    order = [c.key for c in ReportMonth.__table__.columns]
    named = ["month", "trade_id", "priority", *report_rollup.MONTH_VALUES]
    return {"report_month": sorted(tuple(row[named.index(c)] for c in order) for row in months),
            "report_month_band": sorted((*key, n) for key, n in changes.bands.items() if n),
            "report_month_duration": sorted((*key, n) for key, n in changes.durations.items() if n)}


def test_an_empty_database_has_a_complete_roll_up_and_an_upgraded_one_waits_for_the_rebuild(fixed, db, clock):
    assert report_rollup.is_complete()  # migrated with no tickets
    kept = rollup_rows()
    assert kept["report_month"]  # the fixed set's closed tickets went in as they were written
    db.session.execute(report_rollup.ReportRollupState.__table__.delete())
    assert not report_rollup.serves(MARCH)  # not known to be complete: the tickets answer
    # Closed or resolved with every target done: p1, p2, p3, p4, p9 and the February one.
    assert report_rollup.rebuild(clock.now()) == 6
    assert report_rollup.serves(MARCH) and rollup_rows() == kept


def test_the_reports_give_the_same_figures_from_the_roll_up_as_from_the_tickets(fixed, hospital, db):
    assert_rollup_agrees(hospital)
    march = compliance(MARCH, NOW)
    assert march.totals.tickets == 7  # the hand-computed set (tests/test_reports.py), served from the roll-up


def _moment(minutes: int) -> datetime:
    return T0 + timedelta(minutes=minutes)


changes = st.lists(st.tuples(
    st.integers(0, 7),  # which ticket
    st.sampled_from(["time", "clear", "status", "trade", "priority", "created", "hold", "new", "commit"]),
    st.integers(0, 5000),  # minutes, or a choice
), min_size=1, max_size=8)


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(steps=changes)
def test_after_any_changes_the_roll_up_equals_the_figures_from_the_tickets(fixed, hospital, db, clock, steps):
    for index, kind, value in steps:
        tickets = list(database.session.scalars(select(Ticket).order_by(Ticket.id)))
        ticket = tickets[index % len(tickets)]
        # Any change whatever its path: the engine's columns too, so the lock on them is opened here on purpose.
        with engine_writing():
            if kind == "time":
                setattr(ticket, TIMES[value % 4], ticket.created_at + timedelta(minutes=value, seconds=value % 59))
            elif kind == "clear":
                setattr(ticket, TIMES[value % 4], None)
            elif kind == "status":
                ticket.status = STATUSES[value % len(STATUSES)]
            elif kind == "trade":
                ticket.trade_id = hospital.trades[("power", "water")[value % 2]].id
            elif kind == "priority":
                ticket.priority = 2 + value % 2
            elif kind == "created":  # into another month, or across the hospital-time month boundary
                ticket.created_at = datetime(2026, 2, 28, 16, 0, tzinfo=timezone.utc) + timedelta(minutes=value * 7 - 9000)
            elif kind == "hold":
                ticket.held_seconds = value
            elif kind == "new":
                make_ticket(hospital, _moment(value * 5 - 20000), assignee="sparky", ack=value % 40,
                            attend=value % 40 + value % 300,
                            resolve=value % 3000 + 300, closed=value % 3000 + 400, priority=2 + value % 2)
            else:
                database.session.commit()
            database.session.flush()
        assert rollup_rows() == rows_from_the_tickets()  # after every flush, whatever changed
    assert_rollup_agrees(hospital)  # and every report it serves says what the tickets say
    database.session.commit()
    kept = rollup_rows()
    report_rollup.rebuild(clock.now())
    assert rollup_rows() == kept  # kept current flush by flush, it is what a rebuild makes
    database.session.commit()
