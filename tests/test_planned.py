"""Preventive maintenance: when schedules fall due (month ends, leap days, the hospital's calendar), and
the planned tickets they open, exactly once, also with two schedulers at once."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone

import pytest
from sqlalchemy import func, select

from dispatch.errors import IllegalTransitionError, PermissionDeniedError, ValidationError
from dispatch.services import planned
from dispatch.services.planned import ScheduleValues, open_due, open_occurrence, save_schedule, skip_occurrence
from dispatch.services.recurrence import add_months, due_dates, next_due_dates
from dispatch.services.scheduler import Rounds
from models import MaintenanceSchedule, PlannedOccurrence, Ticket, TicketChecklistItem, TicketEvent, db
from tests.test_concurrency import run_together


@dataclass
class Rule:
    """A schedule's recurrence alone, for the date arithmetic."""

    start_date: date
    interval_unit: str | None = "month"
    interval_count: int | None = 1
    recurrence: str = "interval"
    fixed_dates: list | None = None


def dates(rule: Rule, first: date, last: date) -> list[date]:
    return list(due_dates(rule, first, last))


# ---- the date arithmetic --------------------------------------------------------------------------

def test_monthly_from_the_31st_clamps_to_each_months_end_and_comes_back_to_the_31st():
    got = dates(Rule(date(2026, 1, 31)), date(2026, 1, 1), date(2026, 6, 30))
    assert got == [date(2026, 1, 31), date(2026, 2, 28), date(2026, 3, 31), date(2026, 4, 30), date(2026, 5, 31),
                   date(2026, 6, 30)]


def test_monthly_from_the_31st_in_a_leap_year_gives_29_february():
    assert dates(Rule(date(2028, 1, 31)), date(2028, 2, 1), date(2028, 3, 31)) == [date(2028, 2, 29), date(2028, 3, 31)]


def test_yearly_from_29_february_is_28_february_in_other_years_and_29th_again_in_leap_years():
    rule = Rule(date(2024, 2, 29), "month", 12)
    assert dates(rule, date(2024, 1, 1), date(2028, 12, 31)) == [
        date(2024, 2, 29), date(2025, 2, 28), date(2026, 2, 28), date(2027, 2, 28), date(2028, 2, 29)]


def test_quarterly_across_the_year_end():
    rule = Rule(date(2025, 11, 30), "month", 3)
    assert dates(rule, date(2025, 12, 1), date(2026, 12, 31)) == [
        date(2026, 2, 28), date(2026, 5, 30), date(2026, 8, 30), date(2026, 11, 30)]


@pytest.mark.parametrize("anchor, months, expected", [
    (date(2026, 1, 31), 1, date(2026, 2, 28)),
    (date(2026, 12, 15), 1, date(2027, 1, 15)),
    (date(2026, 3, 31), -1, date(2026, 2, 28)),
    (date(2026, 8, 31), 18, date(2028, 2, 29)),
])
def test_add_months(anchor, months, expected):
    assert add_months(anchor, months) == expected


def test_weekly_and_daily_count_days_across_the_year_end():
    assert dates(Rule(date(2026, 12, 21), "week", 1), date(2026, 12, 22), date(2027, 1, 12)) == [
        date(2026, 12, 28), date(2027, 1, 4), date(2027, 1, 11)]
    assert dates(Rule(date(2026, 12, 30), "day", 2), date(2026, 12, 30), date(2027, 1, 4)) == [
        date(2026, 12, 30), date(2027, 1, 1), date(2027, 1, 3)]


def test_fixed_dates_in_order_and_within_the_range():
    rule = Rule(date(2026, 4, 1), None, None, "dates", ["2026-10-01", "2026-04-01", "2027-04-01"])
    assert dates(rule, date(2026, 5, 1), date(2027, 12, 31)) == [date(2026, 10, 1), date(2027, 4, 1)]
    assert next_due_dates(rule, date(2026, 1, 1), 2) == [date(2026, 4, 1), date(2026, 10, 1)]


def test_nothing_before_the_start_date():
    assert dates(Rule(date(2026, 5, 10), "week", 2), date(2026, 1, 1), date(2026, 5, 31)) == [
        date(2026, 5, 10), date(2026, 5, 24)]
    assert next_due_dates(Rule(date(2026, 5, 10), "week", 2), date(2026, 5, 11), 2) == [date(2026, 5, 24),
                                                                                         date(2026, 6, 7)]


# ---- opening tickets ------------------------------------------------------------------------------

def make_schedule(hospital, **overrides) -> MaintenanceSchedule:
    values = dict(title="Monthly distribution board inspection", ward_id=hospital.icu.id,
                  trade_id=hospital.trades["power"].id, start_date=date(2026, 3, 20), interval_unit="month",
                  interval_count=1, lead_days=7, estimated_minutes=45,
                  checklist=["Check breakers", "Thermal scan", "Test RCDs"])
    values.update(overrides)
    return save_schedule(hospital.user("supervisor"), ScheduleValues(**values))


def planned_tickets() -> list[Ticket]:
    db.session.rollback()
    return list(db.session.scalars(select(Ticket).where(Ticket.priority == 4).order_by(Ticket.id)))


def test_a_schedule_opens_a_p4_ticket_lead_days_ahead_with_its_checklist(db, hospital, clock):
    schedule = make_schedule(hospital)  # due 20 March, opens 13 March (hospital calendar)
    assert open_due(clock.now()) == 0
    clock.set(datetime(2026, 3, 12, 15, 59, tzinfo=timezone.utc))  # 23:59 on the 12th in Shanghai
    assert open_due(clock.now()) == 0
    clock.set(datetime(2026, 3, 12, 16, 0, tzinfo=timezone.utc))  # midnight: the 13th in Shanghai
    assert open_due(clock.now()) == 1
    [ticket] = planned_tickets()
    assert (ticket.priority, ticket.status, ticket.ward_id, ticket.trade_id) == (4, "new", hospital.icu.id,
                                                                                  hospital.trades["power"].id)
    assert ticket.reporter_id is None
    assert "Monthly distribution board inspection" in ticket.description and "2026-03-20" in ticket.description
    # P4 targets from the brief: acknowledge 1 day, attend 7 days, resolve 28 days.
    assert (ticket.acknowledge_target_minutes, ticket.attend_target_minutes, ticket.resolve_target_minutes) == (
        24 * 60, 7 * 24 * 60, 28 * 24 * 60)
    items = db.session.scalars(select(TicketChecklistItem).where(TicketChecklistItem.ticket_id == ticket.id)
                               .order_by(TicketChecklistItem.position)).all()
    assert [(i.position, i.text) for i in items] == [(1, "Check breakers"), (2, "Thermal scan"), (3, "Test RCDs")]
    reported = db.session.scalars(select(TicketEvent).where(TicketEvent.ticket_id == ticket.id)).first()
    assert reported.kind == "reported" and reported.channel == "system" and reported.data["planned"] is True
    occurrence = planned.occurrence_of_ticket(ticket.id)
    assert (occurrence.schedule_id, occurrence.due_date, occurrence.state) == (schedule.id, date(2026, 3, 20), "opened")


def test_running_the_opener_again_or_after_a_restart_opens_nothing_more(db, hospital, clock):
    make_schedule(hospital, interval_unit="week", start_date=date(2026, 3, 12), lead_days=3)
    clock.set(datetime(2026, 3, 20, 2, 0, tzinfo=timezone.utc))  # the 20th: due 12th and 19th open, 26th not yet
    assert open_due(clock.now()) == 2
    assert open_due(clock.now()) == 0
    assert Rounds().tick(clock.now()) is None  # a freshly started scheduler process
    assert [t.description.split("due ")[1][:10] for t in planned_tickets()] == ["2026-03-12", "2026-03-19"]
    clock.advance(days=3)  # the 23rd: the 26th opens
    Rounds().tick(clock.now())
    assert len(planned_tickets()) == 3


def test_the_hospital_calendar_decides_the_day_in_a_zone_with_summer_time(app, db, hospital, clock):
    app.config["HOSPITAL_TIMEZONE"] = "Europe/London"
    # British Summer Time starts at 01:00 UTC on Sunday 29 March 2026.
    make_schedule(hospital, start_date=date(2026, 3, 30), interval_unit="day", interval_count=7, lead_days=0)
    clock.set(datetime(2026, 3, 29, 22, 59, tzinfo=timezone.utc))  # 23:59 BST on the 29th
    assert open_due(clock.now()) == 0
    clock.set(datetime(2026, 3, 29, 23, 0, tzinfo=timezone.utc))  # midnight BST: the 30th in London (still 29th UTC)
    assert open_due(clock.now()) == 1
    # Clocks go back at 01:00 UTC on 25 October: in GMT the day starts at midnight UTC again.
    clock.set(datetime(2026, 10, 25, 23, 30, tzinfo=timezone.utc))  # 23:30 GMT on the 25th
    before = len(planned_tickets())
    open_due(clock.now())
    opened = planned_tickets()[before:]
    assert [t.description.split("due ")[1][:10] for t in opened][-1] == "2026-10-19"  # the 26th is not open yet
    clock.set(datetime(2026, 10, 26, 0, 0, tzinfo=timezone.utc))
    assert open_due(clock.now()) == 1


def test_a_schedule_created_today_does_not_open_its_past(db, hospital, clock):
    make_schedule(hospital, start_date=date(2025, 1, 10), lead_days=0)  # monthly since last year
    assert open_due(clock.now()) == 1  # only 10 March (today), not the fourteen months before
    assert planned_tickets()[0].description.split("due ")[1][:10] == "2026-03-10"


def test_deactivating_stops_future_occurrences_and_reactivating_does_not_catch_up(db, hospital, clock):
    schedule = make_schedule(hospital, interval_unit="week", start_date=date(2026, 3, 10), lead_days=0)
    assert open_due(clock.now()) == 1
    planned.set_active(hospital.user("manager"), schedule.id, False)
    clock.advance(days=14)
    assert open_due(clock.now()) == 0
    planned.set_active(hospital.user("manager"), schedule.id, True)
    assert open_due(clock.now()) == 1  # 24 March only; 17 March was while it was off
    assert [t.description.split("due ")[1][:10] for t in planned_tickets()] == ["2026-03-10", "2026-03-24"]


def test_a_skipped_date_never_opens_and_an_opened_one_is_cancelled_when_skipped(db, hospital, clock):
    schedule = make_schedule(hospital, interval_unit="week", start_date=date(2026, 3, 10), lead_days=0)
    skip_occurrence(hospital.user("supervisor"), schedule.id, date(2026, 3, 17), "Ward closed for refurbishment")
    assert open_due(clock.now()) == 1
    clock.advance(days=7)
    assert open_due(clock.now()) == 0
    [ticket] = planned_tickets()
    skip_occurrence(hospital.user("manager"), schedule.id, date(2026, 3, 10), "Board replaced this month")
    db.session.rollback()
    assert db.session.get(Ticket, ticket.id).status == "cancelled"
    states = dict(db.session.execute(select(PlannedOccurrence.due_date, PlannedOccurrence.state)).all())
    assert states == {date(2026, 3, 10): "skipped", date(2026, 3, 17): "skipped"}


def test_skipping_needs_a_reason_a_real_date_and_an_editor(db, hospital, clock):
    schedule = make_schedule(hospital, interval_unit="week", start_date=date(2026, 3, 10), lead_days=0)
    with pytest.raises(ValidationError) as error:
        skip_occurrence(hospital.user("supervisor"), schedule.id, date(2026, 3, 17), " ")
    assert error.value.field == "reason"
    with pytest.raises(ValidationError) as error:
        skip_occurrence(hospital.user("supervisor"), schedule.id, date(2026, 3, 18), "Not a Tuesday")
    assert error.value.field == "due_date"
    with pytest.raises(PermissionDeniedError):
        skip_occurrence(hospital.user("dispatcher"), schedule.id, date(2026, 3, 17), "Dispatcher cannot")
    skip_occurrence(hospital.user("supervisor"), schedule.id, date(2026, 3, 17), "Ward closed")
    with pytest.raises(IllegalTransitionError):
        skip_occurrence(hospital.user("supervisor"), schedule.id, date(2026, 3, 17), "Again")


@pytest.mark.parametrize("change, field", [
    ({"title": "x"}, "title"),
    ({"ward_id": None}, "ward_id"),
    ({"trade_id": 999}, "trade_id"),
    ({"interval_unit": "fortnight"}, "interval_unit"),
    ({"interval_count": 0}, "interval_count"),
    ({"start_date": None}, "start_date"),
    ({"lead_days": 91}, "lead_days"),
    ({"estimated_minutes": 0}, "estimated_minutes"),
    ({"recurrence": "dates", "fixed_dates": []}, "fixed_dates"),
    ({"recurrence": "sometimes"}, "recurrence"),
    ({"checklist": ["x" * 201]}, "checklist"),
])
def test_bad_schedules_are_refused_naming_the_field(db, hospital, change, field):
    with pytest.raises(ValidationError) as error:
        make_schedule(hospital, **change)
    assert error.value.field == field
    assert db.session.scalar(select(func.count(MaintenanceSchedule.id))) == 0


def test_an_asset_or_room_must_be_in_the_schedules_ward(db, hospital):
    from models import Location

    bay = db.session.scalar(select(Location).where(Location.ward_id == hospital.ward3.id))
    with pytest.raises(ValidationError) as error:
        make_schedule(hospital, location_id=bay.id)
    assert error.value.field == "location_id"


def test_only_supervisors_managers_and_admins_keep_schedules(db, hospital):
    for username in ("dispatcher", "sparky", "nurse.icu"):
        with pytest.raises(PermissionDeniedError):
            save_schedule(hospital.user(username), ScheduleValues(
                title="Gas alarm test", ward_id=hospital.icu.id, trade_id=hospital.trades["gas"].id,
                start_date=date(2026, 3, 20)))


# ---- two schedulers at once ----------------------------------------------------------------------

def test_two_schedulers_racing_open_each_occurrence_once(app, db, hospital, clock):
    """Threads released together; on PostgreSQL the loser waits on the unique (schedule, due date)
    index and then opens nothing; on SQLite BEGIN IMMEDIATE queues it behind the winner."""
    schedule = make_schedule(hospital, interval_unit="day", start_date=date(2026, 3, 10), lead_days=0)
    schedule_id = schedule.id
    for day in range(5):
        due = date(2026, 3, 10) + timedelta(days=day)
        clock.set(datetime(2026, 3, 10, 2, 0, tzinfo=timezone.utc) + timedelta(days=day))
        moment = clock.now()
        results = run_together(app, [(lambda: None, lambda _seen: open_occurrence(schedule_id, due, moment))] * 3)
        assert [r[0] for r in results] == ["ok"] * 3, results
        assert sorted(r[1] for r in results) == [0, 0, 1]
    db.session.rollback()
    assert len(planned_tickets()) == 5
    assert db.session.scalar(select(func.count(PlannedOccurrence.id))) == 5
    assert db.session.scalar(select(func.count(TicketChecklistItem.id))) == 5 * 3


def test_two_whole_scheduler_rounds_racing_open_each_occurrence_once(app, db, hospital, clock):
    for n in range(4):
        make_schedule(hospital, title=f"Weekly medical gas alarm test {n}", trade_id=hospital.trades["gas"].id,
                      interval_unit="week", start_date=date(2026, 3, 10) + timedelta(days=n), lead_days=7)
    moment = clock.now()
    results = run_together(app, [(lambda: None, lambda _seen: open_due(moment))] * 2)
    assert [r[0] for r in results] == ["ok", "ok"], results
    # Due within the 7 days ahead of 10 March: 10 and 17 March for the first, 11, 12 and 13 March for the others.
    assert sum(r[1] for r in results) == 5
    db.session.rollback()
    assert len(planned_tickets()) == 5
    per_date = db.session.execute(select(PlannedOccurrence.schedule_id, PlannedOccurrence.due_date,
                                         func.count(PlannedOccurrence.id))
                                  .group_by(PlannedOccurrence.schedule_id, PlannedOccurrence.due_date)).all()
    assert len(per_date) == 5 and all(count == 1 for *_k, count in per_date)


def test_fixed_dates_open_each_date_once_its_lead_days_ahead(db, hospital, clock):
    make_schedule(hospital, title="Annual electrical inspection", recurrence="dates", lead_days=21,
                  fixed_dates=[date(2026, 4, 1), date(2027, 4, 1)])
    assert open_due(clock.now()) == 0  # 1 April opens on 11 March
    clock.set(datetime(2026, 3, 10, 16, 0, tzinfo=timezone.utc))  # midnight, 11 March in Shanghai
    assert open_due(clock.now()) == 1
    clock.advance(days=300)
    assert open_due(clock.now()) == 0  # 2027's opens on 11 March 2027
    clock.set(datetime(2027, 3, 10, 16, 0, tzinfo=timezone.utc))
    assert open_due(clock.now()) == 1
    assert [t.description.split("due ")[1][:10] for t in planned_tickets()] == ["2026-04-01", "2027-04-01"]


def test_the_scheduler_looks_for_planned_work_once_a_minute(db, hospital, clock):
    rounds = Rounds()
    rounds.tick(clock.now())
    make_schedule(hospital, interval_unit="day", start_date=date(2026, 3, 10), lead_days=0)
    clock.advance(seconds=30)
    rounds.tick(clock.now())
    assert planned_tickets() == []
    clock.advance(seconds=30)
    rounds.tick(clock.now())
    assert len(planned_tickets()) == 1
