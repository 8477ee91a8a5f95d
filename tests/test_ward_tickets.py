"""A nurse's *Our tickets*: the ward is asked to confirm the fixes it reported, not planned work a schedule opened
(unless the hospital says so), and every card's form has ids of its own."""
from __future__ import annotations

import re
from collections import Counter
from datetime import datetime, timezone

from dispatch.services.assignment import assign_ticket
from dispatch.services.planned import open_due
from dispatch.services.tickets import transition
from tests.conftest import text_of
from tests.test_pages import file_fault
from tests.test_planned import make_schedule, planned_tickets


def resolve(hospital, ticket_id: int, note: str) -> None:
    assign_ticket(ticket_id, hospital.users["sparky"].id, hospital.user("dispatcher"))
    sparky = hospital.user("sparky")
    for action in ("acknowledge", "attend"):
        transition(ticket_id, action, sparky)
    transition(ticket_id, "resolve", sparky, note=note, labour_minutes=30)


def a_resolved_planned_job_and_two_reported_fixes(hospital, clock) -> int:
    make_schedule(hospital)  # the ICU's monthly board inspection, due 20 March, opening on the 13th
    clock.set(datetime(2026, 3, 12, 16, 0, tzinfo=timezone.utc))
    assert open_due(clock.now()) == 1
    [planned] = planned_tickets()
    resolve(hospital, planned.id, "Inspection done")
    for description in ("No power to bed 1", "Socket loose at bed 2"):
        resolve(hospital, file_fault(hospital, description=description).id, "Fixed")
    return planned.id


def awaiting_section(page: str) -> str:
    match = re.search(r"<h2>Fixed: please confirm</h2>(.*?)</section>", page, re.S)
    return match.group(1) if match else ""


def test_planned_work_is_not_put_to_the_ward_for_confirmation(app, hospital, clock, login_as):
    planned_id = a_resolved_planned_job_and_two_reported_fixes(hospital, clock)
    page = login_as("nurse.icu").get("/ward").get_data(as_text=True)
    asking = awaiting_section(page)
    assert "No power to bed 1" in asking and "Socket loose at bed 2" in asking
    assert f"/tickets/{planned_id}/confirm" not in page
    assert "Monthly distribution board inspection" not in text_of(asking)
    # Still listed with the ward's other recent tickets, as resolved.
    assert f'href="/tickets/{planned_id}"' in page


def test_the_hospital_can_ask_wards_to_confirm_planned_work(app, hospital, clock, login_as):
    app.config["PLANNED_WORK_NEEDS_WARD_CONFIRMATION"] = True
    planned_id = a_resolved_planned_job_and_two_reported_fixes(hospital, clock)
    page = login_as("nurse.icu").get("/ward").get_data(as_text=True)
    assert f"/tickets/{planned_id}/confirm" in awaiting_section(page)


def test_every_card_has_ids_of_its_own(hospital, clock, login_as):
    a_resolved_planned_job_and_two_reported_fixes(hospital, clock)
    page = login_as("nurse.icu").get("/ward").get_data(as_text=True)
    ids = Counter(re.findall(r'\sid="([^"]+)"', page))
    assert ids and all(count == 1 for count in ids.values()), ids
    assert len([i for i in ids if i.startswith("rating-")]) == 2


def test_the_setting_is_off_unless_the_environment_turns_it_on(monkeypatch):
    import importlib

    import config

    monkeypatch.delenv("PLANNED_WORK_NEEDS_WARD_CONFIRMATION", raising=False)
    assert importlib.reload(config).Config.PLANNED_WORK_NEEDS_WARD_CONFIRMATION is False
    monkeypatch.setenv("PLANNED_WORK_NEEDS_WARD_CONFIRMATION", "true")
    assert importlib.reload(config).Config.PLANNED_WORK_NEEDS_WARD_CONFIRMATION is True
    monkeypatch.delenv("PLANNED_WORK_NEEDS_WARD_CONFIRMATION")
    importlib.reload(config)

