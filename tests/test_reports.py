"""Compliance figures against values worked out by hand, on whichever database the suite runs on."""
from __future__ import annotations

from datetime import date

import pytest

from dispatch.services.report_filters import ReportFilter
from dispatch.services.reports import attend_distribution, compliance, trend
from tests.report_data import NOW

MARCH = ReportFilter(start=date(2026, 3, 1), end=date(2026, 3, 31))
MIN = 60



def row(report, *labels):
    found = [r for r in report.rows if r.labels == labels]
    assert found, f"no row {labels} in {[r.labels for r in report.rows]}"
    return found[0]


def figures(r, target):
    f = r.targets[target]
    return f.met, f.missed, f.pct, f.p50, f.p90


@pytest.mark.parametrize("native", [None, False], ids=["database-percentiles", "order-statistics-fallback"])
def test_power_p2_figures_match_the_hand_computation(fixed, db, native):
    report = compliance(MARCH, NOW, by="trade_priority", native_percentiles=native)
    power = row(report, "Power", "P2")
    # Six tickets: p1, p2, p3, p4, p5 and p9 (00:10 on 1 March, hospital time); cancelled and February ones left out.
    assert power.tickets == 6
    # Acknowledged after 3, 5, 10, 15 (exactly due: met), 20, 30 min. Median of six: (10 + 15) / 2 = 12.5 min.
    # 90th: position 0.9 * 5 = 4.5 -> 20 + 0.5 * (30 - 20) = 25 min.
    assert figures(power, "acknowledge") == (4, 2, 66.7, 12.5 * MIN, 25 * MIN)
    # On site after 20, 30, 45, 60 (met), 90 min; p5 not on site and past due: missed.
    # Median of five: 45 min; 90th: position 3.6 -> 60 + 0.6 * 30 = 78 min.
    assert figures(power, "attend") == (4, 2, 66.7, 45 * MIN, 78 * MIN)
    # Resolved or made safe after 100, 120, 600 (made safe; resolved later), 1440 (met), 2000 min; p5 not yet due.
    # Median 600 min; 90th: position 3.6 -> 1440 + 0.6 * 560 = 1776 min.
    assert figures(power, "resolve") == (4, 1, 80.0, 600 * MIN, 1776 * MIN)
    assert power.missed_total == 5
    assert power.backlog == {"day": 1, "week": 0, "month": 0, "older": 0}


def test_an_untouched_ticket_misses_every_target_and_has_no_times(fixed, db):
    water = row(compliance(MARCH, NOW), "Water", "P3")
    assert water.tickets == 1
    for target in ("acknowledge", "attend", "resolve"):
        assert figures(water, target) == (0, 1, 0.0, None, None)
    assert water.backlog == {"day": 0, "week": 0, "month": 1, "older": 0}


def test_totals_count_every_ticket_once(fixed, db):
    totals = compliance(MARCH, NOW).totals
    assert totals.tickets == 7
    assert [totals.targets[t].pct for t in ("acknowledge", "attend", "resolve")] == [57.1, 57.1, 66.7]
    assert totals.targets["acknowledge"].p50 == 12.5 * MIN  # the water ticket was never acknowledged


def test_the_trend_gives_percent_within_target_by_month_and_trade(fixed, db):
    data = trend(MARCH, NOW, "attend")
    assert len(data.months) == 12 and data.months[-1] == date(2026, 3, 1) and data.months[0] == date(2025, 4, 1)
    series = {name: (points, counted) for name, _params, points, counted in data.series}
    # February holds the one ticket reported at 23:30 on 28 February (hospital time), on site in 2 minutes.
    assert series["Power"] == ([None] * 10 + [100.0, 66.7], [0] * 10 + [1, 6])
    assert series["Water"] == ([None] * 11 + [0.0], [0] * 11 + [1])
    assert set(series) == {"Power", "Water"}  # trades without counted tickets draw no line


def test_attend_times_are_banded_against_each_tickets_own_target(fixed, db):
    data = attend_distribution(MARCH, NOW)
    # On site after 20 (33 % of 60), 30 (50 %: the band's top), 45 (75 %), 60 (100 %: within), 90 min (150 %).
    assert [count for _label, count, _within in data.bands] == [0, 2, 1, 1, 1, 0, 0, 0]
    assert [within for *_rest, within in data.bands] == [True] * 4 + [False] * 4
    # p5 and the water ticket: nobody on site yet, and already late.
    assert data.waiting_late == 2
