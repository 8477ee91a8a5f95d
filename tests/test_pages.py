"""Page flows as people use them: forms with their CSRF token, redirects, flashes and what ends up saved."""
from __future__ import annotations

import re
from datetime import timedelta
from urllib.parse import urljoin, urlsplit

import pytest
from sqlalchemy import func, select

from dispatch.services.assignment import assign_ticket
from dispatch.services.tickets import report_fault, transition
from models import Ticket, TicketEvent, db
from tests.conftest import PASSWORD, csrf_token, text_of


def file_fault(hospital, ward="icu", trade="power", **kw):
    ward = getattr(hospital, ward)
    nurse = hospital.user("nurse.icu" if ward is hospital.icu else "nurse.ward3")
    return report_fault(nurse, ward_id=ward.id, trade_id=hospital.trades[trade].id,
                        description=kw.pop("description", "No power to bed 1"), **kw)


def fresh(ticket_id: int) -> Ticket:
    db.session.expire_all()
    return db.session.get(Ticket, ticket_id)


def ticket_count() -> int:
    return db.session.scalar(select(func.count()).select_from(Ticket))



def flashes(page: str) -> list[str]:
    return [text_of(m).strip() for m in re.findall(r'<div class="flash[^"]*"[^>]*>(.*?)</div>', page, re.S)]


def report_form(hospital, **overrides) -> dict:
    form = {"ward_id": hospital.icu.id, "trade_id": hospital.trades["power"].id, "whole_area": "1",
            "location_id": "0", "place_detail": "Bed 1", "description": "No power to bed 1 sockets"}
    form.update(overrides)
    return {k: v for k, v in form.items() if v is not None}


# --- reporting a fault ------------------------------------------------------------------------

def test_a_nurse_files_a_fault_and_sees_the_three_promised_times(hospital, login_as):
    nurse = login_as("nurse.icu")
    form_page = nurse.get("/report").get_data(as_text=True)
    assert 'name="csrf_token"' in form_page and "ICU" in form_page
    response = nurse.post("/report", data=report_form(hospital))
    assert response.status_code == 302
    assert urlsplit(response.headers["Location"]).path == "/tickets/1001"

    page = text_of(nurse.get(response.headers["Location"]).get_data(as_text=True))
    assert "Ticket 1001 filed" in page
    assert "P1 emergency" in page
    # Filed at 10:00 hospital time; a P1 is acknowledged in 5 min, attended in 15, resolved in 4 h.
    assert "Acknowledged by 10 Mar 10:05" in page
    assert "Technician on site by 10 Mar 10:15" in page
    assert "Resolved or made safe by 10 Mar 14:00" in page
    ticket = fresh(1001)
    assert ticket.ward_id == hospital.icu.id and ticket.place_detail == "Bed 1" and ticket.status == "new"


@pytest.mark.parametrize("field,value,message", [
    ("description", "", "Say in a few words what is wrong."),
    ("description", "   ", "Say in a few words what is wrong."),
    ("trade_id", None, "Choose what has failed."),  # nothing chosen
])
def test_report_form_errors_come_back_on_the_form_and_nothing_is_saved(hospital, login_as, field, value, message):
    response = login_as("nurse.icu").post("/report", data=report_form(hospital, **{field: value}))
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    errors = [text_of(e).strip() for e in re.findall(r'<p class="field-error"[^>]*>(.*?)</p>', page, re.S)]
    assert errors == [message]
    assert "Report a fault" in page
    assert ticket_count() == 0


def test_the_report_form_keeps_what_the_nurse_typed_after_an_error(hospital, login_as):
    page = login_as("nurse.icu").post("/report", data=report_form(
        hospital, trade_id=None, description="Lights out in corridor")).get_data(as_text=True)
    assert "Lights out in corridor" in page


# --- control room, technician and ward, each on their own page ---------------------------------

def test_the_dispatcher_assigns_from_the_board(hospital, login_as):
    ticket = file_fault(hospital)
    dispatcher = login_as("dispatcher")
    board = dispatcher.get("/board/").get_data(as_text=True)
    assert f'action="/board/{ticket.id}/assign"' in board
    response = dispatcher.post(f"/board/{ticket.id}/assign",
                               data={"technician_id": hospital.users["sparky"].id, "version": "1"})
    assert response.status_code == 302 and urlsplit(response.headers["Location"]).path == "/board/"
    page = dispatcher.get("/board/").get_data(as_text=True)
    assert "Ticket 1001 assigned to Wang Sparky." in flashes(page)
    assigned = fresh(ticket.id)
    assert assigned.status == "assigned" and assigned.assignee_id == hospital.users["sparky"].id
    assert db.session.query(TicketEvent).filter_by(ticket_id=ticket.id, kind="assigned").one().actor_id == \
        hospital.users["dispatcher"].id


def test_the_dispatcher_reassigning_with_a_stale_board_is_told_and_nothing_is_overwritten(hospital, login_as):
    ticket = file_fault(hospital)
    assign_ticket(ticket.id, hospital.users["sparky"].id, hospital.user("dispatcher2"))
    dispatcher = login_as("dispatcher")
    dispatcher.post(f"/board/{ticket.id}/assign", data={"technician_id": hospital.users["volt"].id, "version": "1"})
    page = dispatcher.get("/board/").get_data(as_text=True)
    assert any("was changed meanwhile" in f for f in flashes(page))
    assert fresh(ticket.id).assignee_id == hospital.users["sparky"].id


def test_the_technician_accepts_arrives_and_finishes_on_the_jobs_page(hospital, login_as, clock):
    ticket = file_fault(hospital)
    assign_ticket(ticket.id, hospital.users["sparky"].id, hospital.user("dispatcher"))
    sparky = login_as("sparky")
    jobs = sparky.get("/jobs").get_data(as_text=True)
    assert "No power to bed 1" in jobs and "Accept" in jobs

    clock.advance(minutes=2)
    step = sparky.post(f"/tickets/{ticket.id}/acknowledge", data={"version": "2", "next": "/jobs"})
    assert step.status_code == 302 and step.headers["Location"] == "/jobs"
    assert "On site" in sparky.get("/jobs").get_data(as_text=True)
    clock.advance(minutes=8)
    sparky.post(f"/tickets/{ticket.id}/attend", data={"version": "3", "next": "/jobs"})
    clock.advance(minutes=40)
    sparky.post(f"/tickets/{ticket.id}/resolve", data={
        "version": "4", "next": "/jobs", "note": "Reset breaker; replaced socket",
        "parts_used": "1 x 13A socket", "labour_minutes": "35"})

    done = fresh(ticket.id)
    assert done.status == "resolved"
    assert done.acknowledged_at == done.created_at + timedelta(minutes=2)
    assert done.attended_at == done.created_at + timedelta(minutes=10)
    assert done.resolution_note == "Reset breaker; replaced socket"
    assert done.parts_used == "1 x 13A socket" and done.labour_minutes == 35
    assert not (done.acknowledge_breached or done.attend_breached or done.resolve_breached)
    jobs = sparky.get("/jobs").get_data(as_text=True)
    assert "Ticket 1001 resolved." in flashes(jobs)
    assert "No open jobs" in jobs


def test_finishing_without_saying_what_was_done_is_refused_on_the_page(hospital, login_as):
    ticket = file_fault(hospital)
    assign_ticket(ticket.id, hospital.users["sparky"].id, hospital.user("dispatcher"))
    transition(ticket.id, "attend", hospital.user("sparky"))
    sparky = login_as("sparky")
    sparky.post(f"/tickets/{ticket.id}/resolve", data={"version": "3", "next": "/jobs", "note": ""})
    assert "This field is required." in flashes(sparky.get("/jobs").get_data(as_text=True))
    assert fresh(ticket.id).status == "attended"


def resolved_fault(hospital):
    ticket = file_fault(hospital)
    sparky = hospital.user("sparky")
    assign_ticket(ticket.id, sparky.id, hospital.user("dispatcher"))
    transition(ticket.id, "attend", sparky)
    return transition(ticket.id, "resolve", sparky, note="Breaker reset")


@pytest.mark.parametrize("rating", [1, 2, 3, 4, 5])
def test_the_nurse_confirms_the_fix_with_a_rating_on_the_ward_page(hospital, login_as, rating):
    ticket = resolved_fault(hospital)
    nurse = login_as("nurse.icu")
    ward = nurse.get("/ward").get_data(as_text=True)
    assert "Fixed: please confirm" in ward and "Breaker reset" in ward
    response = nurse.post(f"/tickets/{ticket.id}/confirm", data={
        "version": str(ticket.version), "next": "/ward", "rating": str(rating), "note": "Thanks"})
    assert response.status_code == 302 and response.headers["Location"] == "/ward"
    closed = fresh(ticket.id)
    assert closed.status == "closed" and closed.rating == rating and closed.feedback == "Thanks"
    assert "Fixed: please confirm" not in nurse.get("/ward").get_data(as_text=True)


def test_a_rating_outside_one_to_five_is_refused(hospital, login_as):
    ticket = resolved_fault(hospital)
    nurse = login_as("nurse.icu")
    nurse.post(f"/tickets/{ticket.id}/confirm", data={"version": str(ticket.version), "next": "/ward", "rating": "6"})
    assert flashes(nurse.get("/ward").get_data(as_text=True))
    assert fresh(ticket.id).status == "resolved"


def test_the_nurse_reopens_a_fix_that_did_not_hold(hospital, login_as):
    ticket = resolved_fault(hospital)
    nurse = login_as("nurse.icu")
    nurse.post(f"/tickets/{ticket.id}/reopen", data={
        "version": str(ticket.version), "next": "/ward", "note": "Tripped again"})
    reopened = fresh(ticket.id)
    assert reopened.status == "reopened" and reopened.reopen_count == 1 and reopened.assignee_id is None
    assert "Ticket 1001 reopened." in flashes(nurse.get("/ward").get_data(as_text=True))
    # Back on the board for the control room.
    assert f'data-ticket="{ticket.id}"' in login_as("dispatcher").get("/board/rows").get_data(as_text=True)


def test_reopening_needs_a_reason(hospital, login_as):
    ticket = resolved_fault(hospital)
    nurse = login_as("nurse.icu")
    nurse.post(f"/tickets/{ticket.id}/reopen", data={"version": str(ticket.version), "next": "/ward", "note": " "})
    assert fresh(ticket.id).status == "resolved"
    assert "This field is required." in flashes(nurse.get("/ward").get_data(as_text=True))


# --- the board --------------------------------------------------------------------------------

def test_board_rows_are_ordered_by_time_left_not_by_age(hospital, login_as, clock):
    socket = file_fault(hospital, ward="ward3", whole_area=False, description="Single socket dead")  # P3: 2 h to ack
    clock.advance(minutes=30)
    blackout = file_fault(hospital, description="ICU blackout")  # P1, later: 5 min to ack
    assert (socket.priority, blackout.priority) == (3, 1)
    response = login_as("dispatcher").get("/board/rows")
    assert response.status_code == 200
    fragment = response.get_data(as_text=True)
    assert "<html" not in fragment and "<tbody>" in fragment
    order = [int(n) for n in re.findall(r'data-ticket="(\d+)"', fragment)]
    assert order == [blackout.id, socket.id]
    assert "2 open" in fragment


def test_an_overdue_job_rises_above_one_with_time_left(hospital, login_as, clock):
    first = file_fault(hospital, ward="ward3", description="Lights out in corridor")  # P2: 15 min to ack
    clock.advance(minutes=20)
    second = file_fault(hospital, description="ICU blackout")  # P1: 5 min, but the P2 is already 5 min late
    order = [int(n) for n in re.findall(r'data-ticket="(\d+)"', login_as("dispatcher").get("/board/rows").get_data(
        as_text=True))]
    assert order == [first.id, second.id]


# --- compliance -----------------------------------------------------------------------------------

def cells(page: str, first_cell: str) -> list[str]:
    """The cells of the report row whose first cell reads `first_cell`."""
    for row in re.findall(r"<tr>(.*?)</tr>", page, re.S):
        values = [text_of(c).strip() for c in re.findall(r"<t[dh][^>]*>(.*?)</t[dh]>", row, re.S)]
        if values and values[0] == first_cell and (len(values) < 2 or values[1] != "Priority"):
            yield values


def test_the_compliance_page_shows_percentages_computed_by_hand(hospital, login_as, clock):
    sparky, dispatcher, nurse = hospital.user("sparky"), hospital.user("dispatcher"), hospital.user("nurse.icu")
    # Four P1 power faults in ICU, all at 10:00: acknowledge 5 min, attend 15 min, resolve 4 h.
    t1, t2, t3, t4 = (file_fault(hospital, description=f"Fault {i}") for i in range(1, 5))
    withdrawn = file_fault(hospital, trade="water", description="Reported in error")
    transition(withdrawn.id, "cancel", nurse, note="Wrong ward")  # cancelled: not counted at all
    routine = file_fault(hospital, ward="ward3", trade="water", whole_area=False,
                         description="Dripping tap")  # P3: 2 h, 24 h, 5 d
    for t in (t1, t2, t3):
        assign_ticket(t.id, sparky.id, dispatcher)
    assign_ticket(routine.id, hospital.users["plumb"].id, dispatcher)

    def at(minutes, ticket, action, **kw):
        clock.set(t1.created_at + timedelta(minutes=minutes))
        transition(ticket.id, action, hospital.user("plumb") if ticket is routine else sparky, **kw)

    at(3, t1, "acknowledge")        # met
    at(4, t3, "acknowledge")        # met
    at(6, t2, "acknowledge")        # missed
    at(10, t1, "attend")            # met
    at(16, t3, "attend")            # missed
    at(20, t2, "attend")            # missed
    at(60, t1, "resolve", note="x")     # met
    at(60, routine, "acknowledge")      # met (P3)
    at(180, t2, "resolve", note="x")    # met
    at(300, t3, "make_safe", note="x")  # missed
    clock.set(t1.created_at + timedelta(hours=6))  # 16:00 the same day; t4 was never touched: missed all three
    # P1 acknowledge: met t1, t3; missed t2, t4 -> 2/4 = 50.0 %
    # P1 attend:      met t1; missed t2, t3, t4 -> 1/4 = 25.0 %
    # P1 resolve:     met t1, t2; missed t3, t4 -> 2/4 = 50.0 %; breaches 2 + 3 + 2 = 7
    # P1 medians of the times taken: acknowledge 3, 4, 6 -> 4 min; attend 10, 16, 20 -> 16 min;
    #                                 resolve 60, 180, 300 -> 3 h
    # Water P3: acknowledged in time, attend and resolve not yet due -> 100.0 %, —, —
    # All: acknowledge 3/5 = 60.0 %, attend 1/4 = 25.0 %, resolve 2/4 = 50.0 %

    page = login_as("manager").get("/reports/compliance?start=2026-03-10&end=2026-03-10").get_data(as_text=True)

    def summary(values):  # trade, priority, tickets, % within each target (without "n missed"), targets missed
        return values[:3] + [values[i].split(" ")[0] for i in (3, 6, 9)] + [values[12]]

    power = list(cells(page, "Power"))
    assert [summary(v) for v in power] == [["Power", "P1", "4", "50.0%", "25.0%", "50.0%", "7"]]
    assert [power[0][i] for i in (4, 7, 10)] == ["4 min", "16 min", "3 h 00 min"]
    assert [summary(v) for v in cells(page, "Water")] == [["Water", "P3", "1", "100.0%", "—", "—", "0"]]
    assert [summary(v) for v in cells(page, "All")] == [["All", "", "5", "60.0%", "25.0%", "50.0%", "7"]]


def test_the_compliance_page_for_a_day_without_tickets_says_so(hospital, login_as):
    file_fault(hospital)
    page = login_as("manager").get("/reports/compliance?start=2026-03-09&end=2026-03-09").get_data(as_text=True)
    assert "No tickets in this period." in page


@pytest.mark.parametrize("query,message", [
    ("start=2026-13-45", "start is not a date (YYYY-MM-DD)."),
    ("end=yesterday", "end is not a date (YYYY-MM-DD)."),
    ("start=2026-03-10&end=2026-03-01", "The start date is after the end date."),
    ("start=1900-01-01&end=2026-03-10", "Choose at most ten years."),
])
def test_a_bad_date_on_the_compliance_page_gives_a_message_not_an_error(hospital, login_as, query, message):
    response = login_as("manager").get(f"/reports/compliance?{query}")
    assert response.status_code == 200
    assert message in flashes(response.get_data(as_text=True))


# --- logging in -----------------------------------------------------------------------------------

def login_form(client, path="/login"):
    return csrf_token(client.get(path).get_data(as_text=True))


def test_a_wrong_password_shows_a_message_and_does_not_log_in(client, hospital):
    response = client.post("/login", data={"username": "nurse.icu", "password": "wrong", "csrf_token": login_form(client)})
    assert response.status_code == 200
    assert "Wrong username or password." in flashes(response.get_data(as_text=True))
    assert client.get("/report").status_code == 302


def test_an_unknown_user_gets_the_same_message(client, hospital):
    response = client.post("/login", data={"username": "nobody", "password": PASSWORD, "csrf_token": login_form(client)})
    assert "Wrong username or password." in flashes(response.get_data(as_text=True))


@pytest.mark.parametrize("target", [
    "//evil.example",
    "//evil.example/login",
    "https://evil.example/",
    "/\\evil.example",
    "\\\\evil.example",
    "javascript:alert(1)",
])
def test_login_does_not_follow_a_next_link_off_the_site(client, hospital, target):
    response = client.post("/login", query_string={"next": target},
                           data={"username": "dispatcher", "password": PASSWORD, "csrf_token": login_form(client)})
    assert response.status_code == 302
    location = response.headers["Location"]
    # Wherever it points, a browser must stay on this site (browsers read a backslash as a slash).
    assert "\\" not in location
    assert urlsplit(urljoin("http://dispatch.test/login", location)).netloc == "dispatch.test"
    if target.startswith(("//", "https:", "javascript:")):
        assert location == "/"


def test_login_follows_a_next_link_on_the_site(client, hospital):
    response = client.post("/login", query_string={"next": "/tickets/1001"},
                           data={"username": "dispatcher", "password": PASSWORD, "csrf_token": login_form(client)})
    assert response.status_code == 302 and response.headers["Location"] == "/tickets/1001"
