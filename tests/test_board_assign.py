"""Assigning from the board on a busy control-room screen: nobody is pre-chosen, a blank choice is a message,
and taking a job off someone is asked about first, naming them, without any script."""
from __future__ import annotations

import re
from urllib.parse import urlsplit

from dispatch.services.assignment import assign_ticket
from models import TicketEvent, db
from tests.conftest import text_of
from tests.test_pages import file_fault, flashes, fresh


def technician_selects(page: str) -> list[str]:
    return re.findall(r'<select name="technician_id".*?</select>', page, re.S)


def test_every_technician_drop_down_starts_blank(hospital, login_as):
    file_fault(hospital)
    assigned = file_fault(hospital, description="Socket sparking at bed 2")
    assign_ticket(assigned.id, hospital.users["sparky"].id, hospital.user("dispatcher"))
    dispatcher = login_as("dispatcher")
    for page in (dispatcher.get("/board/").get_data(as_text=True),
                 dispatcher.get(f"/tickets/{assigned.id}").get_data(as_text=True)):
        selects = technician_selects(page)
        assert selects
        for select in selects:
            options = re.findall(r"<option[^>]*>", select)
            assert options[0] == '<option value="" selected>'
            assert all("selected" not in option for option in options[1:]), select


def test_a_blank_choice_is_a_message_and_nothing_changes(hospital, login_as):
    ticket = file_fault(hospital)
    dispatcher = login_as("dispatcher")
    response = dispatcher.post(f"/board/{ticket.id}/assign", data={"technician_id": "", "version": "1"})
    assert response.status_code == 302 and urlsplit(response.headers["Location"]).path == "/board/"
    assert "Choose a technician." in flashes(dispatcher.get("/board/").get_data(as_text=True))
    assert fresh(ticket.id).assignee_id is None and fresh(ticket.id).version == 1


def test_reassigning_asks_first_naming_who_loses_the_job(hospital, login_as):
    ticket = file_fault(hospital)
    assign_ticket(ticket.id, hospital.users["sparky"].id, hospital.user("dispatcher"))
    version = fresh(ticket.id).version
    dispatcher = login_as("dispatcher")

    asked = dispatcher.post(f"/board/{ticket.id}/assign",
                            data={"technician_id": hospital.users["volt"].id, "version": str(version)})
    assert asked.status_code == 200
    page = asked.get_data(as_text=True)
    assert "Wang Sparky has this job now and will lose it." in text_of(page)
    assert "Li Volt will get it." in text_of(page)
    assert "<script" not in page.split("</main>")[0].split("<main")[1]  # the step works without script
    assert fresh(ticket.id).assignee_id == hospital.users["sparky"].id  # nothing changed yet
    assert 'name="confirmed" value="1"' in page and 'href="/board/"' in page  # yes, or back to the board

    done = dispatcher.post(f"/board/{ticket.id}/assign", data={
        "technician_id": hospital.users["volt"].id, "version": str(version), "confirmed": "1", "next": "/board/"})
    assert done.status_code == 302
    assert "Ticket 1001 assigned to Li Volt." in flashes(dispatcher.get("/board/").get_data(as_text=True))
    assert fresh(ticket.id).assignee_id == hospital.users["volt"].id
    assert db.session.query(TicketEvent).filter_by(ticket_id=ticket.id, kind="reassigned").count() == 1


def test_the_first_assignment_needs_no_confirmation(hospital, login_as):
    ticket = file_fault(hospital)
    response = login_as("dispatcher").post(f"/board/{ticket.id}/assign",
                                           data={"technician_id": hospital.users["sparky"].id, "version": "1"})
    assert response.status_code == 302
    assert fresh(ticket.id).assignee_id == hospital.users["sparky"].id


def test_confirming_from_the_ticket_page_goes_back_to_the_ticket(hospital, login_as):
    ticket = file_fault(hospital)
    assign_ticket(ticket.id, hospital.users["sparky"].id, hospital.user("dispatcher"))
    dispatcher = login_as("dispatcher")
    asked = dispatcher.post(f"/board/{ticket.id}/assign", data={
        "technician_id": hospital.users["volt"].id, "version": "2", "next": f"/tickets/{ticket.id}"})
    page = asked.get_data(as_text=True)
    assert f'name="next" value="/tickets/{ticket.id}"' in page and f'href="/tickets/{ticket.id}"' in page
