"""Workload, first-time fixes, refusals and reassignments, repeat faults and licences, worked out by hand."""
from __future__ import annotations

from datetime import date, datetime, timedelta, timezone

import pytest

from dispatch.services.assignment import assign_ticket
from dispatch.services.report_filters import ReportFilter
from dispatch.services.report_tickets import Selection, ticket_page
from dispatch.services.report_workload import licences_to_renew, refusals_by_trade, repeat_faults, workload
from dispatch.services.tickets import report_fault, transition
from models import Asset, db
from tests.report_data import NOW, T0, build_fixed_set, make_ticket

MARCH = ReportFilter(start=date(2026, 3, 1), end=date(2026, 3, 31))


@pytest.fixture
def fixed(hospital, clock):
    clock.set(NOW)
    return build_fixed_set(hospital)


def by_name(rows):
    return {r.name: r for r in rows}


def test_workload_per_technician_matches_the_hand_count(fixed, db):
    rows, total = workload(MARCH, NOW)
    people = by_name(rows)
    sparky, volt, plumb = people["Wang Sparky"], people["Li Volt"], people["Liu Plumb"]
    # Wang Sparky: p1, p2 and p5 (the cancelled one is not counted); on site at p1 and p2.
    assert (sparky.jobs, sparky.attended, sparky.finished) == (3, 2, 2)
    # Labour recorded on finishing: 60 min at p1, 45 at p2 (p5 is not finished).
    assert sparky.labour_minutes == 105
    # p1 fixed first time; p2 was made safe first, so it was not.
    assert (sparky.resolved, sparky.first_time_fixes, sparky.first_time_fix_pct) == (2, 1, 50.0)
    assert (volt.jobs, volt.labour_minutes, volt.first_time_fix_pct) == (2, 0, 100.0)
    # p9: on site at 00:30 on Sunday 1 March, hospital time: an out-of-hours call-out. The rest were weekday daytime.
    assert (plumb.out_of_hours, sparky.out_of_hours, volt.out_of_hours) == (1, 0, 0)
    assert (total.jobs, total.out_of_hours, total.resolved, total.first_time_fixes) == (6, 1, 5, 4)


def test_the_out_of_hours_figure_lists_the_call_out(fixed, db):
    plumb = fixed["p9"].assignee_id
    page = ticket_page(MARCH.narrowed(technician_id=plumb), Selection(out_of_hours=True), NOW)
    assert [line.ticket.id for line in page.lines] == [fixed["p9"].id]


def test_refusals_and_reassignments_count_per_technician_and_trade(hospital, clock, db):
    clock.set(T0)
    nurse, dispatcher = hospital.user("nurse.icu"), hospital.user("dispatcher")
    sparky, volt = hospital.user("sparky"), hospital.user("volt")
    refused = report_fault(nurse, ward_id=hospital.icu.id, trade_id=hospital.trades["power"].id, description="Sockets dead")
    assign_ticket(refused.id, sparky.id, dispatcher)
    transition(refused.id, "refuse", sparky, note="On another job")
    assign_ticket(refused.id, volt.id, dispatcher)
    moved = report_fault(nurse, ward_id=hospital.icu.id, trade_id=hospital.trades["power"].id, description="Lights out")
    first = assign_ticket(moved.id, volt.id, dispatcher)
    assign_ticket(moved.id, sparky.id, dispatcher, expected_version=first.version)
    rows, _total = workload(MARCH, T0)
    people = by_name(rows)
    assert (people["Wang Sparky"].refused, people["Wang Sparky"].reassigned_away) == (1, 0)
    assert (people["Li Volt"].refused, people["Li Volt"].reassigned_away) == (0, 1)
    power = next(r for r in refusals_by_trade(MARCH) if r.trade == "Power")
    assert (power.tickets, power.refused_tickets, power.refusals, power.reassigned_tickets) == (2, 1, 1, 1)
    listed = ticket_page(MARCH, Selection(refused_by=sparky.id), T0)
    assert [line.ticket.id for line in listed.lines] == [refused.id]


def test_a_fault_within_30_days_of_the_last_one_on_the_same_asset_is_a_repeat(hospital, clock, db):
    clock.set(NOW)
    panel = Asset(tag="DB-ICU-1", name="Distribution board, ICU", ward_id=hospital.icu.id,
                  trade_id=hospital.trades["power"].id)
    db.session.add(panel)
    db.session.flush()
    day = timedelta(days=1)
    start = datetime(2026, 1, 5, 2, 0, tzinfo=timezone.utc)
    times = {
        "first": start,
        "ten days later": start + 10 * day,          # repeat
        "withdrawn": start + 20 * day,               # cancelled: never counts, either way
        "forty days later": start + 40 * day,        # exactly 30 days after the last real fault: repeat
        "seventy-five days later": start + 75 * day,  # 35 days after: not a repeat
    }
    made = {}
    for name, created in times.items():
        kwargs = {"cancelled": 3} if name == "withdrawn" else {"ack": 3}
        made[name] = make_ticket(hospital, created, asset=panel.id, **kwargs)
    db.session.commit()
    report = ReportFilter(start=date(2026, 1, 1), end=date(2026, 3, 31))
    rows = repeat_faults(report, "asset")
    assert [(r.labels[0], r.faults, r.repeats) for r in rows] == [("DB-ICU-1", 4, 2)]
    listed = ticket_page(report.narrowed(asset_id=panel.id), Selection(repeat="asset"), NOW)
    assert sorted(line.ticket.id for line in listed.lines) == sorted([made["ten days later"].id, made["forty days later"].id])
    # A later period still sees the earlier fault: the 75-day one is counted, but it is not a repeat.
    assert repeat_faults(ReportFilter(start=date(2026, 3, 1), end=date(2026, 3, 31)), "asset") == []


def test_licences_expired_or_expiring_within_30_days_are_listed_soonest_first(hospital, clock, db):
    clock.set(datetime(2026, 3, 10, 2, 0, tzinfo=timezone.utc))
    rows = licences_to_renew(clock.now())
    # Zhao Lapsed expired yesterday; Li Volt's last valid day is today; the others run for months.
    assert [(r.licence.technician.full_name, r.days_left) for r in rows] == [("Zhao Lapsed", -1), ("Li Volt", 0)]
