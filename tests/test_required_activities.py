"""Required activities: each interval's tolerance window at its boundaries (month ends, leap years, year ends),
and on time / late / missed decided at the window's hospital midnight by the one SQL rule, which the page's
state and the reports share."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timezone

import pytest

from dispatch.errors import IllegalTransitionError, PermissionDeniedError, ValidationError
from dispatch.services import required_activities as ra
from dispatch.services.report_breaches import causes, ensure_default_causes
from dispatch.services.required_activities import WindowRule, rule_for, window
from models import RequiredOccurrence, db
from tests.compliance_data import open_and_resolve, required_schedule


@dataclass
class Rule:
    interval_unit: str | None = "month"
    interval_count: int | None = 1
    recurrence: str = "interval"


@dataclass
class Own:
    window_before_days: int | None = None
    window_after_days: int | None = None


def test_each_interval_has_its_rule():
    assert rule_for(Rule("month", 12), None) == WindowRule("annual", 30, 30)
    assert rule_for(Rule("month", 6), None) == WindowRule("six_monthly", 20, 20)
    assert rule_for(Rule("month", 3), None) == WindowRule("quarterly", 10, 10)
    assert rule_for(Rule("month", 1), None).calendar_month
    assert rule_for(Rule("day", 15), None) == WindowRule("half_monthly", 14, 0)
    assert rule_for(Rule("week", 2), None) == WindowRule("half_monthly", 13, 0)
    assert rule_for(Rule("week", 1), None) == WindowRule("days", 6, 0)
    assert rule_for(Rule("month", 2), None) == WindowRule("due_day")
    assert rule_for(Rule(None, None, "dates"), None) == WindowRule("due_day")
    assert rule_for(Rule("month", 12), Own(5, None)) == WindowRule("custom", 5, 0)


@pytest.mark.parametrize("unit, count, due, first, last", [
    # annual ±30, across a year end and around a leap day
    ("month", 12, date(2026, 1, 10), date(2025, 12, 11), date(2026, 2, 9)),
    ("month", 12, date(2028, 2, 29), date(2028, 1, 30), date(2028, 3, 30)),
    ("month", 12, date(2027, 2, 28), date(2027, 1, 29), date(2027, 3, 30)),
    # six-monthly ±20
    ("month", 6, date(2026, 12, 31), date(2026, 12, 11), date(2027, 1, 20)),
    # quarterly ±10, across the year end and a leap February
    ("month", 3, date(2026, 12, 28), date(2026, 12, 18), date(2027, 1, 7)),
    ("month", 3, date(2028, 3, 5), date(2028, 2, 24), date(2028, 3, 15)),
    # monthly: the due date's calendar month, whatever day it is due
    ("month", 1, date(2026, 1, 31), date(2026, 1, 1), date(2026, 1, 31)),
    ("month", 1, date(2028, 2, 29), date(2028, 2, 1), date(2028, 2, 29)),
    ("month", 1, date(2027, 2, 28), date(2027, 2, 1), date(2027, 2, 28)),
    ("month", 1, date(2026, 12, 1), date(2026, 12, 1), date(2026, 12, 31)),
    # half-monthly (TSG T5001): the 15 days ending on the due date, across a month end and a year end
    ("day", 15, date(2026, 3, 1), date(2026, 2, 15), date(2026, 3, 1)),
    ("day", 15, date(2027, 1, 5), date(2026, 12, 22), date(2027, 1, 5)),
])
def test_windows_at_their_boundaries(unit, count, due, first, last):
    assert window(due, rule_for(Rule(unit, count), None)) == (first, last)


def test_a_yearly_schedule_from_29_february_keeps_its_window_in_other_years():
    rule = rule_for(Rule("month", 12), None)
    # the due date falls on 28 February in 2029 (recurrence clamps it); the window is ±30 from that day
    assert window(date(2029, 2, 28), rule) == (date(2029, 1, 29), date(2029, 3, 30))


# ---- on time, late, missed ----------------------------------------------------------------------

def _state(schedule_id: int, due: date, now) -> str:
    occurrence = db.session.query(RequiredOccurrence).filter_by(schedule_id=schedule_id, due_date=due).one()
    return ra.state_of(occurrence.id, now)


def test_resolved_at_the_last_moment_of_the_window_is_on_time(hospital, clock):
    schedule = required_schedule(hospital, start_date=date(2026, 3, 20))  # monthly: window 1-31 March
    ticket = open_and_resolve(hospital, clock, schedule.id, date(2026, 3, 20),
                              datetime(2026, 3, 31, 15, 59, 59, tzinfo=timezone.utc))  # 23:59:59 on the 31st
    assert ticket.status == "resolved"
    assert _state(schedule.id, date(2026, 3, 20), clock.now()) == "on_time"


def test_resolved_at_the_hospital_midnight_after_the_window_is_late(hospital, clock):
    schedule = required_schedule(hospital, start_date=date(2026, 3, 20))
    open_and_resolve(hospital, clock, schedule.id, date(2026, 3, 20), datetime(2026, 3, 31, 16, 0, tzinfo=timezone.utc))
    assert _state(schedule.id, date(2026, 3, 20), clock.now()) == "late"


def test_nothing_resolved_is_pending_until_the_window_closes_then_missed(hospital, clock):
    schedule = required_schedule(hospital, start_date=date(2026, 3, 20))
    open_and_resolve(hospital, clock, schedule.id, date(2026, 3, 20), None)
    clock.set(datetime(2026, 3, 31, 15, 59, 59, tzinfo=timezone.utc))
    assert _state(schedule.id, date(2026, 3, 20), clock.now()) == "pending"
    clock.set(datetime(2026, 3, 31, 16, 0, tzinfo=timezone.utc))
    assert _state(schedule.id, date(2026, 3, 20), clock.now()) == "missed"


def test_a_date_never_opened_is_missed_and_its_window_recorded_only_once_it_opens(hospital, clock):
    schedule = required_schedule(hospital, start_date=date(2026, 3, 20))
    assert [o.due_date for o in db.session.query(RequiredOccurrence).all()] == [date(2026, 3, 20)]
    clock.set(datetime(2026, 4, 1, 16, 0, tzinfo=timezone.utc))  # 2 April: April's window is open
    assert ra.record_occurrences(clock.now()) == 1
    assert ra.record_occurrences(clock.now()) == 0
    assert _state(schedule.id, date(2026, 3, 20), clock.now()) == "missed"
    assert _state(schedule.id, date(2026, 4, 20), clock.now()) == "pending"


def test_the_reports_count_with_the_same_rule_as_the_page(hospital, clock):
    on_time = required_schedule(hospital, title="Generator monthly test", standard="NFPA 110",
                                start_date=date(2026, 3, 20))
    late = required_schedule(hospital, title="Medical gas alarm test", standard="HTM 02-01",
                             start_date=date(2026, 3, 25))
    missed = required_schedule(hospital, title="Lift half-monthly maintenance", standard="TSG T5001",
                               start_date=date(2026, 3, 15), interval_unit="day", interval_count=15)
    open_and_resolve(hospital, clock, on_time.id, date(2026, 3, 20), datetime(2026, 3, 21, 2, tzinfo=timezone.utc))
    clock.set(datetime(2026, 3, 10, 2, tzinfo=timezone.utc))
    open_and_resolve(hospital, clock, late.id, date(2026, 3, 25), datetime(2026, 4, 2, 2, tzinfo=timezone.utc))
    now = clock.now()
    ra.record_occurrences(now)
    found = ra.lines(date(2026, 3, 1), date(2026, 3, 31), now)
    by_title = {(line.schedule.title, line.occurrence.due_date): line.state for line in found}
    assert by_title == {("Generator monthly test", date(2026, 3, 20)): "on_time",
                        ("Medical gas alarm test", date(2026, 3, 25)): "late",
                        ("Lift half-monthly maintenance", date(2026, 3, 15)): "missed",
                        ("Lift half-monthly maintenance", date(2026, 3, 30)): "missed"}
    assert all(ra.state_of(line.occurrence.id, now) == line.state for line in found)
    report = ra.compliance(date(2026, 3, 1), date(2026, 3, 31), now)
    assert (report.total.on_time, report.total.late, report.total.missed, report.total.pct) == (1, 1, 2, 25.0)
    assert {t.label: (t.on_time, t.late, t.missed) for t in report.by_standard} == {
        "HTM 02-01": (0, 1, 0), "NFPA 110": (1, 0, 0), "TSG T5001": (0, 0, 2)}
    assert [t.label for t in report.by_month] == ["Mar 2026"]  # the one month formatter (dispatch/i18n.py)
    assert ra.compliance(date(2026, 3, 1), date(2026, 3, 31), now, "TSG T5001").total.missed == 2


def test_a_late_or_missed_activity_takes_a_cause_and_one_on_time_does_not(hospital, clock):
    ensure_default_causes()
    schedule = required_schedule(hospital, start_date=date(2026, 3, 20))
    open_and_resolve(hospital, clock, schedule.id, date(2026, 3, 20), datetime(2026, 3, 21, 2, tzinfo=timezone.utc))
    occurrence = db.session.query(RequiredOccurrence).one()
    cause = causes()[0]
    with pytest.raises(IllegalTransitionError):
        ra.record_cause(hospital.user("manager"), occurrence.id, cause.id, "")
    clock.set(datetime(2026, 5, 2, 2, tzinfo=timezone.utc))
    ra.record_occurrences(clock.now())
    april = db.session.query(RequiredOccurrence).filter_by(due_date=date(2026, 4, 20)).one()
    with pytest.raises(ValidationError) as refused:
        ra.record_cause(hospital.user("manager"), april.id, None, "")
    assert refused.value.field == "cause_id"
    with pytest.raises(PermissionDeniedError):
        ra.record_cause(hospital.user("dispatcher"), april.id, cause.id, "")
    ra.record_cause(hospital.user("manager"), april.id, cause.id, "Contractor late")
    db.session.rollback()
    assert db.session.get(RequiredOccurrence, april.id).cause_note == "Contractor late"


def test_marking_required_checks_its_fields(hospital):
    schedule = required_schedule(hospital)
    with pytest.raises(ValidationError) as refused:
        ra.mark_required(hospital.user("manager"), schedule.id, standard=" ")
    assert refused.value.field == "standard"
    with pytest.raises(ValidationError) as refused:
        ra.mark_required(hospital.user("manager"), schedule.id, standard="NFPA 110", before=91)
    assert refused.value.field == "window_before_days"
    ra.mark_required(hospital.user("manager"), schedule.id, standard="NFPA 110", before=3, after=3)
    assert ra.activity_of(schedule.id).window_after_days == 3
