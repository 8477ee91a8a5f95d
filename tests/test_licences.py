"""Licence eligibility (依法持证上岗) through every path: the service, the board page and the API.

The hospital's day runs on Asia/Shanghai time: volt's licence is good through 2026-03-10, which
ends at 2026-03-10 16:00 UTC.
"""
from __future__ import annotations

import re
from datetime import datetime, timezone

import pytest

from dispatch.errors import NotLicensedError
from dispatch.services.assignment import assign_ticket, candidates_for
from dispatch.services.tickets import report_fault
from models import Ticket, TicketEvent, db

LAST_SECOND_OF_VOLTS_LICENCE = datetime(2026, 3, 10, 15, 59, 59, tzinfo=timezone.utc)  # 23:59:59 in Shanghai
MIDNIGHT_IN_SHANGHAI = datetime(2026, 3, 10, 16, 0, tzinfo=timezone.utc)  # 00:00 on 11 March


def file_fault(hospital, trade="power", ward="icu", description="No power to bed 1"):
    ward = getattr(hospital, ward)
    nurse = hospital.user("nurse.icu" if ward is hospital.icu else "nurse.ward3")
    return report_fault(nurse, ward_id=ward.id, trade_id=hospital.trades[trade].id, description=description)


def ticket_row(ticket_id: int) -> Ticket:
    db.session.expire_all()
    return db.session.get(Ticket, ticket_id)


def assigned_events(ticket_id: int) -> int:
    return db.session.query(TicketEvent).filter(
        TicketEvent.ticket_id == ticket_id, TicketEvent.kind.in_(("assigned", "reassigned"))).count()


def board_rows(html: str) -> dict[int, str]:
    """Each board row's HTML by ticket id."""
    return {int(m.group(1)): m.group(2) for m in re.finditer(r'<tr[^>]*data-ticket="(\d+)"[^>]*>(.*?)</tr>', html, re.S)}


def offered_technicians(row_html: str) -> list[str]:
    """Names in the row's technician drop-down (the text before the load)."""
    return [name.strip() for name in re.findall(r"<option[^>]*>([^<·]+)·", row_html)]


# --- the service ---------------------------------------------------------------------------------

def test_an_expired_licence_is_refused_naming_the_expiry_date(hospital):
    ticket = file_fault(hospital)
    with pytest.raises(NotLicensedError) as error:
        assign_ticket(ticket.id, hospital.users["lapsed"].id, hospital.user("dispatcher"))
    assert "expired on 2026-03-09" in error.value.message
    assert "Zhao Lapsed" in error.value.message
    assert error.value.field == "technician_id"
    unchanged = ticket_row(ticket.id)
    assert unchanged.status == "new" and unchanged.assignee_id is None
    assert assigned_events(ticket.id) == 0


@pytest.mark.parametrize("technician", ["sparky", "volt"])
def test_a_valid_licence_is_accepted_including_one_whose_last_day_is_today(hospital, technician):
    ticket = file_fault(hospital)
    assign_ticket(ticket.id, hospital.users[technician].id, hospital.user("dispatcher"))
    assigned = ticket_row(ticket.id)
    assert assigned.status == "assigned"
    assert assigned.assignee_id == hospital.users[technician].id
    assert assigned_events(ticket.id) == 1


def test_a_licence_is_valid_until_the_last_second_of_its_day_in_hospital_time(hospital, clock):
    ticket = file_fault(hospital)
    clock.set(LAST_SECOND_OF_VOLTS_LICENCE)
    assign_ticket(ticket.id, hospital.users["volt"].id, hospital.user("dispatcher"))
    assert ticket_row(ticket.id).assignee_id == hospital.users["volt"].id


def test_a_licence_expiring_today_is_refused_after_midnight_hospital_time(hospital, clock):
    ticket = file_fault(hospital)
    clock.set(MIDNIGHT_IN_SHANGHAI)  # still 10 March in UTC, already 11 March on the ward
    with pytest.raises(NotLicensedError) as error:
        assign_ticket(ticket.id, hospital.users["volt"].id, hospital.user("dispatcher"))
    assert "expired on 2026-03-10" in error.value.message
    assert ticket_row(ticket.id).assignee_id is None


def test_a_plumber_cannot_take_a_power_job(hospital):
    ticket = file_fault(hospital)
    with pytest.raises(NotLicensedError) as error:
        assign_ticket(ticket.id, hospital.users["plumb"].id, hospital.user("dispatcher"))
    assert "Liu Plumb holds no valid licence for Power" in error.value.message
    assert "Low-voltage electrician" in error.value.message
    assert ticket_row(ticket.id).status == "new"


def test_a_plumber_can_take_a_water_job(hospital):
    ticket = file_fault(hospital, trade="water", description="No water to hand basins")
    assign_ticket(ticket.id, hospital.users["plumb"].id, hospital.user("dispatcher"))
    assert ticket_row(ticket.id).assignee_id == hospital.users["plumb"].id


def test_reassigning_to_an_expired_technician_keeps_the_current_one(hospital):
    ticket = file_fault(hospital)
    assign_ticket(ticket.id, hospital.users["sparky"].id, hospital.user("dispatcher"))
    version = ticket_row(ticket.id).version
    with pytest.raises(NotLicensedError):
        assign_ticket(ticket.id, hospital.users["lapsed"].id, hospital.user("dispatcher"), expected_version=version)
    kept = ticket_row(ticket.id)
    assert kept.assignee_id == hospital.users["sparky"].id and kept.version == version


@pytest.mark.parametrize("trade,expected", [
    ("power", ["Li Volt", "Wang Sparky"]),
    ("water", ["Liu Plumb"]),
    ("gas", []),  # nobody holds a pressure-vessel licence
    ("other", ["Li Volt", "Liu Plumb", "Wang Sparky", "Zhao Lapsed"]),  # no licence needed
])
def test_candidates_are_only_technicians_licensed_for_the_trade_today(hospital, trade, expected):
    ticket = file_fault(hospital, trade=trade, description="Something is broken")
    assert sorted(c.technician.full_name for c in candidates_for(ticket)) == expected


def test_candidates_drop_a_licence_at_midnight_hospital_time(hospital, clock):
    ticket = file_fault(hospital)
    assert "Li Volt" in [c.technician.full_name for c in candidates_for(ticket)]
    clock.set(MIDNIGHT_IN_SHANGHAI)
    assert [c.technician.full_name for c in candidates_for(ticket)] == ["Wang Sparky"]


def test_a_licence_that_expires_between_listing_and_assigning_is_refused_by_the_service(hospital, clock):
    ticket = file_fault(hospital)
    listed = [c.technician.id for c in candidates_for(ticket)]
    assert hospital.users["volt"].id in listed
    clock.set(MIDNIGHT_IN_SHANGHAI)
    with pytest.raises(NotLicensedError):
        assign_ticket(ticket.id, hospital.users["volt"].id, hospital.user("dispatcher"),
                      expected_version=ticket_row(ticket.id).version)
    assert ticket_row(ticket.id).status == "new"


# --- the board page ----------------------------------------------------------------------------

def test_board_offers_each_row_only_the_technicians_licensed_for_its_trade(hospital, login_as):
    power = file_fault(hospital)
    water = file_fault(hospital, trade="water", ward="ward3", description="Leak from ceiling")
    gas = file_fault(hospital, trade="gas", description="Oxygen low-pressure alarm")
    rows = board_rows(login_as("dispatcher").get("/board/").get_data(as_text=True))
    assert sorted(offered_technicians(rows[power.id])) == ["Li Volt", "Wang Sparky"]
    assert offered_technicians(rows[water.id]) == ["Liu Plumb"]
    assert offered_technicians(rows[gas.id]) == []
    assert "nobody licensed" in rows[gas.id]
    assert "Zhao Lapsed" not in rows[power.id]


def test_a_licence_that_expires_between_listing_and_assigning_is_refused_on_the_board(hospital, login_as, clock):
    ticket = file_fault(hospital)
    dispatcher = login_as("dispatcher")
    rows = board_rows(dispatcher.get("/board/").get_data(as_text=True))
    assert "Li Volt" in offered_technicians(rows[ticket.id])
    version = re.search(r'name="version" value="(\d+)"', rows[ticket.id]).group(1)

    clock.set(MIDNIGHT_IN_SHANGHAI)  # the dispatcher hesitates past midnight
    response = dispatcher.post(f"/board/{ticket.id}/assign",
                               data={"technician_id": hospital.users["volt"].id, "version": version},
                               follow_redirects=True)
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert "Li Volt cannot take Power jobs" in page and "expired on 2026-03-10" in page
    assert "assigned to Li Volt" not in page
    unchanged = ticket_row(ticket.id)
    assert unchanged.status == "new" and unchanged.assignee_id is None and unchanged.version == int(version)
    assert assigned_events(ticket.id) == 0
    # The refreshed board no longer offers volt.
    assert "Li Volt" not in offered_technicians(board_rows(page)[ticket.id])


def test_a_plumber_posted_to_a_power_job_on_the_board_is_refused(hospital, login_as):
    ticket = file_fault(hospital)
    page = login_as("dispatcher").post(f"/board/{ticket.id}/assign", data={
        "technician_id": hospital.users["plumb"].id, "version": "1"}, follow_redirects=True).get_data(as_text=True)
    assert "Liu Plumb holds no valid licence for Power" in page
    assert ticket_row(ticket.id).assignee_id is None


# --- the API -----------------------------------------------------------------------------------

def test_a_licence_that_expires_between_listing_and_assigning_is_refused_by_the_api(hospital, app, api_token, clock):
    ticket = file_fault(hospital)
    client, headers = app.test_client(), api_token("dispatcher")
    listed = client.get(f"/api/v1/tickets/{ticket.id}/candidates", headers=headers)
    assert listed.status_code == 200
    assert "Li Volt" in [c["name"] for c in listed.get_json()]

    clock.set(MIDNIGHT_IN_SHANGHAI)
    response = client.post(f"/api/v1/tickets/{ticket.id}/assign", headers=headers,
                           json={"technician_id": hospital.users["volt"].id, "version": 1})
    assert response.status_code == 422
    body = response.get_json()
    assert "technician_id" in body["errors"]
    assert "expired on 2026-03-10" in body["errors"]["technician_id"][0]
    assert ticket_row(ticket.id).assignee_id is None
    assert "Li Volt" not in [c["name"] for c in client.get(
        f"/api/v1/tickets/{ticket.id}/candidates", headers=headers).get_json()]


@pytest.mark.parametrize("technician,fragment", [
    ("lapsed", "expired on 2026-03-09"),
    ("plumb", "holds no valid licence for Power"),
])
def test_the_api_refuses_unlicensed_technicians_naming_the_field(hospital, app, api_token, technician, fragment):
    ticket = file_fault(hospital)
    response = app.test_client().post(f"/api/v1/tickets/{ticket.id}/assign", headers=api_token("dispatcher"),
                                      json={"technician_id": hospital.users[technician].id})
    assert response.status_code == 422
    assert fragment in response.get_json()["errors"]["technician_id"][0]
    assert ticket_row(ticket.id).status == "new"


def test_the_api_assigns_a_licensed_technician(hospital, app, api_token):
    ticket = file_fault(hospital)
    response = app.test_client().post(f"/api/v1/tickets/{ticket.id}/assign", headers=api_token("dispatcher"),
                                      json={"technician_id": hospital.users["volt"].id})
    assert response.status_code == 200
    assert response.get_json()["assignee"] == {"id": hospital.users["volt"].id, "name": "Li Volt"}


# --- after assignment: the licence must still be valid when the work starts ----------------------

@pytest.mark.parametrize("action", ["acknowledge", "attend"])
def test_a_technician_whose_licence_lapsed_overnight_cannot_start_the_job(hospital, clock, action):
    from dispatch.services.tickets import transition

    ticket = file_fault(hospital)
    assign_ticket(ticket.id, hospital.users["volt"].id, hospital.user("dispatcher"))
    clock.set(MIDNIGHT_IN_SHANGHAI)
    with pytest.raises(NotLicensedError) as error:
        transition(ticket.id, action, hospital.user("volt"))
    assert "expired on 2026-03-10" in error.value.message
    assert ticket_row(ticket.id).status == "assigned"


def test_a_technician_whose_licence_lapsed_overnight_cannot_start_the_job_by_api(hospital, app, api_token, clock):
    ticket = file_fault(hospital)
    assign_ticket(ticket.id, hospital.users["volt"].id, hospital.user("dispatcher"))
    clock.set(MIDNIGHT_IN_SHANGHAI)
    response = app.test_client().post(f"/api/v1/tickets/{ticket.id}/acknowledge", headers=api_token("volt"), json={})
    assert response.status_code == 422
    assert "expired on 2026-03-10" in response.get_json()["errors"]["technician_id"][0]
    assert ticket_row(ticket.id).status == "assigned"
