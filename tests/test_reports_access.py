"""Bad report input gets a message, never a 500; recording breach causes; CSV cells never formulas. (Who may
open the reports: tests/test_access_matrix.py.)"""
from __future__ import annotations

import csv
import html
import io
import re

import pytest

from tests.report_data import NOW, read_xlsx

MARCH = "start=2026-03-01&end=2026-03-31"


def flashes(page: str) -> list[str]:
    return [re.sub(r"\s+", " ", html.unescape(re.sub(r"<[^>]+>", " ", m))).strip()
            for m in re.findall(r'<div class="flash[^"]*"[^>]*>(.*?)</div>', page, re.S)]


@pytest.mark.parametrize("username", ["dispatcher", "supervisor", "manager", "admin"])
def test_the_control_room_and_managers_record_a_cause(fixed, login_as, username):
    # Who else is refused: tests/test_access_matrix.py.
    from dispatch.services.report_breaches import cause_of, causes, ensure_default_causes

    ensure_default_causes()
    response = login_as(username).post(f"/reports/breaches/{fixed['p4'].id}/cause", data={"cause_id": causes()[0].id})
    assert response.status_code == 302
    assert cause_of(fixed["p4"].id).cause_id == causes()[0].id


@pytest.mark.parametrize("query,message", [
    ("start=2026-13-45", "start is not a date (YYYY-MM-DD)."),
    ("start=2026-03-10&end=2026-03-01", "The start date is after the end date."),
    ("start=1900-01-01&end=2026-03-10", "Choose at most ten years."),
    ("trade=abc", "trade must be a whole number."),
    ("trade=²", "trade must be a whole number."),  # str.isdigit() says yes; int() used to answer 500
    ("trade=99999", "No such trade."),
    ("ward=-3", "ward must be a whole number."),
    ("technician=99999", "No such technician."),
    ("team=99999", "No such team."),
    ("priority=9", "Priority must be 1 to 4."),
    ("month=2026-13", "month is not a month (YYYY-MM)."),
    ("by=colour", "Unknown grouping."),
    ("trend=speed", "Unknown target."),
])
def test_bad_report_input_gives_a_message_not_an_error(fixed, login_as, query, message):
    response = login_as("manager").get(f"/reports/compliance?{query}")
    assert response.status_code == 200
    assert message in flashes(response.get_data(as_text=True))


@pytest.mark.parametrize("path,message", [
    ("/reports/tickets?target=speed&outcome=missed", "Unknown target."),
    ("/reports/tickets?target=attend", "Give both a target and an outcome."),
    ("/reports/tickets?backlog=century", "Unknown age band."),
    ("/reports/tickets?repeat=colour", "Repeat faults are by asset or by location."),
    ("/reports/tickets?page=x", "page must be a whole number."),
    ("/reports/breaches?cause=x", "cause must be a whole number."),
    ("/reports/workload?end=soon", "end is not a date (YYYY-MM-DD)."),
])
def test_bad_drill_down_input_gives_a_message(fixed, login_as, path, message):
    response = login_as("manager").get(path)
    assert response.status_code == 200
    assert message in flashes(response.get_data(as_text=True))


def test_an_export_with_bad_input_says_why_in_plain_text(fixed, login_as):
    response = login_as("manager").get("/reports/compliance.csv?start=yesterday")
    assert response.status_code == 400
    assert "start is not a date (YYYY-MM-DD)." in response.get_data(as_text=True)


def test_recording_a_cause_for_a_missing_ticket_or_cause_is_refused_with_a_message(fixed, login_as):
    dispatcher = login_as("dispatcher")
    page = dispatcher.post("/reports/breaches/987654/cause", data={"cause_id": 1, "next": "/board/"},
                           follow_redirects=True).get_data(as_text=True)
    assert "Ticket 987654 not found." in flashes(page)
    page = dispatcher.post(f"/reports/breaches/{fixed['p4'].id}/cause", data={"cause_id": "x"},
                           follow_redirects=True).get_data(as_text=True)
    assert any("Choose a cause from the list" in f for f in flashes(page))


def test_a_page_past_the_last_shows_the_last(fixed, login_as):
    page = login_as("manager").get(f"/reports/tickets?{MARCH}&page=99").get_data(as_text=True)
    assert "Page 1 of 1" not in page  # one page only: no pager at all
    assert "#1001" in page


def test_the_ticket_list_exports_every_ticket_behind_the_figure(fixed, login_as):
    response = login_as("manager").get(f"/reports/tickets.csv?{MARCH}&target=acknowledge&outcome=missed")
    rows = list(csv.reader(io.StringIO(response.get_data(as_text=True).lstrip("\ufeff"))))
    assert [int(r[0]) for r in rows[1:]] == sorted([fixed["p4"].id, fixed["p5"].id, fixed["w1"].id],
                                                   key=lambda i: (fixed_created(fixed, i), i))
    record = dict(zip(rows[0], rows[1]))
    assert record["Acknowledge missed"] == "yes" and record["Reported"].startswith("2026-03-10")


def fixed_created(fixed, ticket_id):
    return next(t.created_at for t in fixed.values() if t.id == ticket_id)


def test_spreadsheet_cells_are_never_formulas(hospital, clock, login_as, db):
    from tests.report_data import make_ticket

    clock.set(NOW)
    ticket = make_ticket(hospital, NOW.replace(day=5), ack=1)
    ticket.description = "=HYPERLINK(\"http://evil.example\")"
    hospital.icu.name = "=1+1 ICU"
    db.session.commit()
    manager = login_as("manager")
    text = manager.get(f"/reports/tickets.csv?{MARCH}").get_data(as_text=True)
    assert "'=1+1 ICU" in text
    sheet = read_xlsx(manager.get(f"/reports/tickets.xlsx?{MARCH}").data)["Tickets"]
    assert sheet[1][4] == "=1+1 ICU"  # stored as text, not as a formula
