"""Planned work on the pages and by SMS: who may read and keep schedules, the form's messages, the
calendar, skipping, the checklist ticked on the ticket page, the job page and by a `D` reply, and the
planned-work compliance report checked against figures worked out by hand."""
from __future__ import annotations

import csv
import io
import re
from datetime import date, datetime, timezone

import pytest
from sqlalchemy import select

from dispatch.services import planned
from dispatch.services.assignment import assign_ticket
from dispatch.services.planned import ScheduleValues, open_due, save_schedule
from dispatch.services.tickets import transition
from models import PlannedOccurrence, Ticket, TicketChecklistItem, TicketEvent, db
from tests.webhooks import text_in

SPARKY = "+8613900000001"


def make_schedule(hospital, **overrides):
    values = dict(title="Monthly distribution board inspection", ward_id=hospital.icu.id,
                  trade_id=hospital.trades["power"].id, start_date=date(2026, 3, 10), interval_unit="month",
                  interval_count=1, lead_days=0, estimated_minutes=45,
                  checklist=["Check breakers", "Thermal scan", "Test RCDs"])
    values.update(overrides)
    return save_schedule(hospital.user("supervisor"), ScheduleValues(**values))


def opened_ticket(hospital, clock, **overrides) -> Ticket:
    """A schedule due today, opened, assigned to Sparky and on site: ready for its checklist."""
    make_schedule(hospital, **overrides)
    assert open_due(clock.now()) == 1
    ticket = db.session.scalars(select(Ticket).where(Ticket.priority == 4)).one()
    assign_ticket(ticket.id, hospital.users["sparky"].id, hospital.user("dispatcher"))
    transition(ticket.id, "attend", hospital.user("sparky"))
    return ticket


def ticks(ticket_id: int) -> list[bool]:
    db.session.rollback()
    return [i.done_at is not None for i in db.session.scalars(
        select(TicketChecklistItem).where(TicketChecklistItem.ticket_id == ticket_id)
        .order_by(TicketChecklistItem.position))]


# ---- access -----------------------------------------------------------------------------------

def test_a_nurse_sees_the_checklist_of_her_wards_planned_ticket_but_cannot_tick_it(login_as, hospital, clock):
    ticket = opened_ticket(hospital, clock)
    nurse = login_as("nurse.icu")
    page = nurse.get(f"/tickets/{ticket.id}").get_data(as_text=True)
    assert "Thermal scan" in page and "Save checklist" not in page
    assert nurse.post(f"/planned/tickets/{ticket.id}/checklist", {"done": "1"}).status_code == 403
    assert ticks(ticket.id) == [False, False, False]
    assert login_as("nurse.ward3").post(f"/planned/tickets/{ticket.id}/checklist", {"done": "1"}).status_code == 404


# ---- the schedule form ---------------------------------------------------------------------------

def form_data(hospital, **changes) -> dict:
    data = {"title": "Weekly medical gas alarm test", "trade_id": str(hospital.trades["gas"].id),
            "ward_id": str(hospital.icu.id), "location_id": "0", "asset_id": "0", "recurrence": "interval",
            "interval_count": "1", "interval_unit": "week", "start_date": "2026-03-16", "fixed_dates": "",
            "lead_days": "2", "estimated_minutes": "30", "checklist": "Test alarm panel\nCheck line pressures\n",
            "active": "y"}
    data.update(changes)
    return data


def test_a_supervisor_creates_a_schedule_and_sees_its_dates(login_as, hospital):
    browser = login_as("supervisor")
    response = browser.post("/planned/new", form_data(hospital))
    assert response.status_code == 302, response.get_data(as_text=True)
    schedule = db.session.scalars(select(planned.MaintenanceSchedule)).one()
    assert (schedule.interval_unit, schedule.lead_days, schedule.checklist) == (
        "week", 2, ["Test alarm panel", "Check line pressures"])
    page = browser.get(response.headers["Location"]).get_data(as_text=True)
    assert "16 Mar 2026" in page and "23 Mar 2026" in page and "14 Mar 2026" in page  # due, next, opens 2 days ahead


@pytest.mark.parametrize("changes, message", [
    ({"title": ""}, "Say in a few words what the job is."),
    ({"start_date": "31/02/2026"}, "Not a valid date value."),
    ({"start_date": ""}, "Give the first due date."),
    ({"interval_count": "0"}, "Number must be between 1 and 120."),
    ({"lead_days": "abc"}, "Not a valid integer value."),
    ({"recurrence": "dates", "fixed_dates": "2026-13-01"}, "2026-13-01 is not a date (YYYY-MM-DD)."),
    ({"recurrence": "dates", "fixed_dates": ""}, "Give at least one date."),
    ({"checklist": "x" * 201}, "Each checklist step at most 200 characters."),
])
def test_bad_input_gets_a_message_on_the_form(login_as, hospital, changes, message):
    response = login_as("manager").post("/planned/new", form_data(hospital, **changes))
    assert response.status_code == 422
    assert message in response.get_data(as_text=True)
    assert db.session.scalar(select(planned.MaintenanceSchedule.id)) is None


def test_switching_a_schedule_off_and_on_from_its_page(login_as, hospital, clock):
    schedule = make_schedule(hospital, interval_unit="day")
    browser = login_as("supervisor")
    assert browser.post(f"/planned/{schedule.id}/active", {"active": "0"}).status_code == 302
    assert open_due(clock.now()) == 0
    assert browser.post(f"/planned/{schedule.id}/active", {"active": "1"}).status_code == 302
    assert open_due(clock.now()) == 1


# ---- the calendar --------------------------------------------------------------------------------

def test_the_calendar_shows_opened_tickets_with_their_status_and_dates_still_to_open(login_as, hospital, clock):
    ticket = opened_ticket(hospital, clock)  # due 10 March (week 11)
    make_schedule(hospital, title="Quarterly AC filter change", trade_id=hospital.trades["hvac"].id,
                  start_date=date(2026, 3, 26), interval_count=3, lead_days=5)  # week 13, opens 21 March
    page = login_as("dispatcher").get("/planned/calendar").get_data(as_text=True)
    assert "2026-W11" in page and "2026-W13" in page
    assert f"#{ticket.number}" in page and "On site" in page and "0/3" in page
    assert "Quarterly AC filter change" in page and "opens Sat 21 Mar" in page
    later = login_as("dispatcher").get("/planned/calendar?week=2026-W24").get_data(as_text=True)
    assert "Quarterly AC filter change" in later and "due Fri 26 Jun" in later  # every 3 months
    bad = login_as("dispatcher").get("/planned/calendar?week=soon", follow_redirects=True)
    assert bad.status_code == 200 and "soon is not a week" in bad.get_data(as_text=True)


def test_a_skipped_date_shows_with_its_reason_and_a_late_one_as_late(login_as, hospital, clock):
    schedule = make_schedule(hospital, interval_unit="week")
    open_due(clock.now())
    browser = login_as("supervisor")
    browser.post(f"/planned/{schedule.id}/skip", {"due_date": "2026-03-17", "reason": "Theatre closed for works"})
    clock.advance(days=8)  # the 18th: the 10 March ticket is not resolved, so late
    page = browser.get(f"/planned/{schedule.id}").get_data(as_text=True)
    assert "Theatre closed for works" in page and "skipped" in page
    assert re.search(r"10 Mar 2026.*?late", page, re.S)
    calendar = browser.get("/planned/calendar").get_data(as_text=True)
    late = calendar.split("Late planned work")[1].split("</section>")[0]
    assert "10 Mar 2026" in late and "Monthly distribution board inspection" in late and "not assigned" in late
    assert "17 Mar" not in late  # skipped, not late


# ---- the checklist --------------------------------------------------------------------------------

def test_the_technician_ticks_steps_on_the_job_page_and_each_tick_is_in_the_history(login_as, hospital, clock):
    ticket = opened_ticket(hospital, clock)
    sparky = login_as("sparky")
    jobs = sparky.get("/jobs").get_data(as_text=True)
    assert "Check breakers" in jobs and "Save checklist" in jobs
    clock.advance(minutes=20)
    response = sparky.post(f"/planned/tickets/{ticket.id}/checklist", {"done": ["1", "3"], "next": "/jobs"})
    assert response.status_code == 302 and response.headers["Location"].endswith("/jobs")
    assert ticks(ticket.id) == [True, False, True]
    events = db.session.scalars(select(TicketEvent).where(TicketEvent.ticket_id == ticket.id,
                                                          TicketEvent.kind.like("checklist%"))).all()
    assert [(e.kind, e.actor_id, e.at, e.note) for e in events] == [
        ("checklist_ticked", hospital.users["sparky"].id, clock.now(), "1. Check breakers"),
        ("checklist_ticked", hospital.users["sparky"].id, clock.now(), "3. Test RCDs")]
    sparky.post(f"/planned/tickets/{ticket.id}/checklist", {"done": ["1"]})  # 3 was a mistake
    assert ticks(ticket.id) == [True, False, False]
    page = sparky.get(f"/tickets/{ticket.id}").get_data(as_text=True)
    assert "Checklist step unticked" in page and "1 of 3 ticked" in page


def test_ticking_needs_the_csrf_token_and_a_real_step(login_as, hospital, clock, app):
    ticket = opened_ticket(hospital, clock)
    sparky = login_as("sparky")
    forged = sparky.client.post(f"/planned/tickets/{ticket.id}/checklist", data={"done": "1"})
    assert forged.status_code in (302, 400)
    assert ticks(ticket.id) == [False, False, False]
    page = sparky.post(f"/planned/tickets/{ticket.id}/checklist", {"done": "7"}, follow_redirects=True)
    assert "The checklist has steps 1 to 3." in page.get_data(as_text=True)
    sparky.post(f"/planned/tickets/{ticket.id}/checklist", {"done": "one"}, follow_redirects=True)
    assert ticks(ticket.id) == [False, False, False]
    assert login_as("volt").post(f"/planned/tickets/{ticket.id}/checklist", {"done": "1"}).status_code == 404


@pytest.mark.parametrize("body, expected, reply_part", [
    ("D {n} all checked", [True, True, True], "Checklist: 3 of 3 steps ticked."),
    ("D {n} 1,3 ok, RCD trip times fine", [True, False, True], "Checklist: 2 of 3 steps ticked."),
    ("d {n} 2 scan clear", [False, True, False], "Checklist: 1 of 3 steps ticked."),
    ("D {n} inspected, no defects", [False, False, False], "Checklist: 0 of 3 steps ticked."),
    ("D {n} 1,3 ok; 45min", [True, False, True], "Checklist: 2 of 3 steps ticked."),
    ("D {n} 3min job, all fine", [False, False, False], "Checklist: 0 of 3 steps ticked."),
    ("完 {n} 全部完成", [True, True, True], "Checklist: 3 of 3 steps ticked."),
])
def test_a_done_reply_ticks_the_steps_it_names_and_says_how_many(app, hospital, clock, redis_conn, login_as, body,
                                                                 expected, reply_part):
    ticket = opened_ticket(hospital, clock)
    response = text_in(app, SPARKY, body.format(n=ticket.number))
    text = response.get_data(as_text=True)
    assert f"#{ticket.number} resolved." in text and reply_part in text
    assert ticks(ticket.id) == expected
    resolved = db.session.scalars(select(TicketEvent).where(TicketEvent.ticket_id == ticket.id,
                                                            TicketEvent.kind == "resolve")).one()
    unticked = expected.count(False)
    assert (resolved.data or {}).get("checklist_unticked") == (unticked or None)
    page = login_as("dispatcher").get(f"/tickets/{ticket.id}").get_data(as_text=True)
    assert (f"{unticked} checklist step" in page) == bool(unticked)
    sms_ticks = db.session.scalars(select(TicketEvent).where(TicketEvent.ticket_id == ticket.id,
                                                             TicketEvent.kind == "checklist_ticked")).all()
    assert all(e.channel == "sms" for e in sms_ticks) and len(sms_ticks) == expected.count(True)


def test_a_done_reply_before_arriving_ticks_nothing(app, hospital, clock, redis_conn):
    make_schedule(hospital)
    open_due(clock.now())
    ticket = db.session.scalars(select(Ticket).where(Ticket.priority == 4)).one()
    assign_ticket(ticket.id, hospital.users["sparky"].id, hospital.user("dispatcher"))
    text = text_in(app, SPARKY, f"D {ticket.number} all checked").get_data(as_text=True)
    assert "cannot be resolved" in text
    assert ticks(ticket.id) == [False, False, False]


# ---- planned-work compliance -----------------------------------------------------------------------

@pytest.fixture
def planned_history(hospital, clock):
    """Power, weekly from Monday 2 March, lead 0, five dates to 30 March; water monthly from 5 March.

    2 Mar resolved 2 Mar 23:30 Shanghai (on time); 9 Mar resolved 10 Mar 00:30 Shanghai (late by the
    hospital calendar, though 9 Mar in UTC); 16 Mar skipped; 23 Mar not resolved by the 30th (late);
    30 Mar in progress on the day itself (open). Water 5 Mar resolved on time with a step unticked; 5 Apr is outside March.
    """
    clock.set(datetime(2026, 3, 1, 16, 0, tzinfo=timezone.utc))  # 2 March, 00:00 in Shanghai
    power = make_schedule(hospital, title="Weekly UPS check", start_date=date(2026, 3, 2), interval_unit="week",
                          checklist=["Check battery", "Log load"])
    water = make_schedule(hospital, title="Calorifier inspection", trade_id=hospital.trades["water"].id,
                          start_date=date(2026, 3, 5), checklist=["Check temperatures", "Flush outlets"])
    admin = hospital.user("admin")

    def finish(due: date, resolved_utc: datetime, tick_all: bool = True):
        ticket = db.session.scalars(select(Ticket).join(PlannedOccurrence, PlannedOccurrence.ticket_id == Ticket.id)
                                    .where(PlannedOccurrence.due_date == due)).one()
        technician = "plumb" if ticket.trade_id == hospital.trades["water"].id else "sparky"
        assign_ticket(ticket.id, hospital.users[technician].id, hospital.user("dispatcher"))
        transition(ticket.id, "attend", admin)
        from dispatch.services import checklists

        checklists.tick(ticket.id, admin, [1, 2] if tick_all else [1])
        clock.set(resolved_utc)
        transition(ticket.id, "resolve", admin, note="Done")

    open_due(clock.now())
    finish(date(2026, 3, 2), datetime(2026, 3, 2, 15, 30, tzinfo=timezone.utc))
    clock.set(datetime(2026, 3, 4, 16, 0, tzinfo=timezone.utc))  # 5 March
    open_due(clock.now())
    finish(date(2026, 3, 5), datetime(2026, 3, 5, 4, 0, tzinfo=timezone.utc), tick_all=False)
    clock.set(datetime(2026, 3, 8, 16, 0, tzinfo=timezone.utc))  # 9 March
    open_due(clock.now())
    finish(date(2026, 3, 9), datetime(2026, 3, 9, 16, 30, tzinfo=timezone.utc))
    planned.skip_occurrence(hospital.user("supervisor"), power.id, date(2026, 3, 16), "Shutdown for rewiring")
    for day in (23, 30):
        clock.set(datetime(2026, 3, day - 1, 16, 0, tzinfo=timezone.utc))
        open_due(clock.now())
    clock.set(datetime(2026, 3, 30, 4, 0, tzinfo=timezone.utc))  # noon on 30 March in Shanghai
    return power, water


def test_planned_compliance_figures_match_the_hand_count(planned_history, login_as, hospital):
    from dispatch.services.report_filters import ReportFilter
    from dispatch.services.report_planned import planned_compliance

    rows, total = planned_compliance(ReportFilter(start=date(2026, 3, 1), end=date(2026, 3, 31)),
                                     datetime(2026, 3, 30, 4, 0, tzinfo=timezone.utc))
    got = {(r.month, r.trade): (r.due, r.on_time, r.late, r.skipped, r.open, r.unticked, r.pct) for r in rows}
    assert got == {
        (date(2026, 3, 1), "Power"): (5, 1, 2, 1, 1, 0, pytest.approx(100 / 3)),
        (date(2026, 3, 1), "Water"): (1, 1, 0, 0, 0, 1, 100.0),
    }
    assert (total.due, total.on_time, total.late, total.skipped, total.open, total.unticked) == (6, 2, 2, 1, 1, 1)
    assert total.pct == 50.0


def test_planned_compliance_page_and_csv(planned_history, login_as):
    browser = login_as("manager")
    page = browser.get("/reports/planned?start=2026-03-01&end=2026-03-31").get_data(as_text=True)
    assert "Planned-work compliance" in page and "33.3%" in page and "50.0%" in page
    response = browser.get("/reports/planned.csv?start=2026-03-01&end=2026-03-31")
    assert response.status_code == 200 and response.mimetype == "text/csv"
    rows = list(csv.reader(io.StringIO(response.get_data(as_text=True).lstrip("\ufeff"))))
    assert rows[0][:3] == ["Month", "Trade", "Planned dates due"]
    assert rows[1] == ["2026-03", "Power", "5", "1", "2", "1", "1", "33.3", "0"]
    assert rows[2] == ["2026-03", "Water", "1", "1", "0", "0", "0", "100.0", "1"]
    assert rows[3] == ["All", "All", "6", "2", "2", "1", "1", "50.0", "1"]
    bad = browser.get("/reports/planned.csv?start=yesterday")
    assert bad.status_code == 400
    xlsx = browser.get("/reports/planned.xlsx?start=2026-03-01&end=2026-03-31")
    assert xlsx.status_code == 200 and xlsx.data[:2] == b"PK"


@pytest.mark.parametrize("note, total, expected", [
    ("all checked", 4, [1, 2, 3, 4]), ("ALL OK", 2, [1, 2]), ("全部完成", 3, [1, 2, 3]),
    ("1,2,3 ok", 5, [1, 2, 3]), ("1 2 ok", 5, [1, 2]), ("2、4 完成", 5, [2, 4]), ("3", 3, [3]),
    ("7, 1 ok", 5, [1]), ("9 ok", 5, None), ("5min", 5, None), ("1.5h", 5, None), ("10:30 done", 12, None),
    ("replaced filter", 5, None), ("", 5, None), ("all", 0, None),
])
def test_which_steps_a_done_note_ticks(note, total, expected):
    from dispatch.services.checklists import positions_in_note

    assert positions_in_note(note, total) == expected
