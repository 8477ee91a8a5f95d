"""Who may see and do what, case by case: another ward's tickets, a technician's own jobs, guessed ids (the same
answer as a missing one), and API tokens (stored only as a digest, revocable)."""
from __future__ import annotations

import hashlib
import re

import pytest
from sqlalchemy import func, select

from dispatch.services.assignment import assign_ticket
from dispatch.services.tickets import report_fault, transition
from models import ApiToken, Ticket, TicketEvent, User, db
from tests.conftest import database_fingerprint

# The whole matrix of who may open and send what is tests/test_access_matrix.py; here, the guessed ids,
# another ward's tickets and bad tokens, case by case.
MISSING = 987654


def file_fault(hospital, ward="icu", trade="power", **kw):
    ward = getattr(hospital, ward)
    nurse = hospital.user("nurse.icu" if ward is hospital.icu else "nurse.ward3")
    return report_fault(nurse, ward_id=ward.id, trade_id=hospital.trades[trade].id,
                        description=kw.pop("description", "No power to bed 1"), **kw)


def resolved_fault(hospital, ward="icu"):
    ticket = file_fault(hospital, ward=ward)
    sparky = hospital.user("sparky")
    assign_ticket(ticket.id, sparky.id, hospital.user("dispatcher"))
    transition(ticket.id, "attend", sparky)
    return transition(ticket.id, "resolve", sparky, note="Breaker reset")


def snapshot(ticket_id: int) -> tuple:
    """What a change would alter: status, version, and the length of the file."""
    db.session.expire_all()
    ticket = db.session.get(Ticket, ticket_id)
    events = db.session.scalar(select(func.count()).select_from(TicketEvent).where(TicketEvent.ticket_id == ticket_id))
    return ticket.status, ticket.version, ticket.rating, events


def same_page(response, number: str) -> str:
    """The page with the ticket number and the (time-stamped) CSRF token blanked, for comparing answers."""
    page = re.sub(r'(name="csrf_token"[^>]*value=")[^"]+', r"\1", response.get_data(as_text=True))
    return page.replace(number, "N")


def ticket_count() -> int:
    return db.session.scalar(select(func.count()).select_from(Ticket))


# --- a nurse of another ward ----------------------------------------------------------------

def test_a_ward3_nurse_gets_the_same_not_found_for_an_icu_ticket_as_for_a_missing_one(hospital, login_as):
    ticket = file_fault(hospital)
    nurse = login_as("nurse.ward3")
    icu_page = nurse.get(f"/tickets/{ticket.id}")
    missing_page = nurse.get(f"/tickets/{MISSING}")
    assert icu_page.status_code == missing_page.status_code == 404
    assert same_page(icu_page, str(ticket.id)) == same_page(missing_page, str(MISSING))
    assert "No power to bed 1" not in icu_page.get_data(as_text=True)
    # ... while the ICU nurse reads it.
    assert login_as("nurse.icu").get(f"/tickets/{ticket.id}").status_code == 200


def test_a_ward3_nurse_gets_the_same_not_found_for_an_icu_ticket_by_api(hospital, app, api_token):
    ticket = file_fault(hospital)
    client, headers = app.test_client(), api_token("nurse.ward3")
    icu = client.get(f"/api/v1/tickets/{ticket.id}", headers=headers)
    missing = client.get(f"/api/v1/tickets/{MISSING}", headers=headers)
    assert icu.status_code == missing.status_code == 404
    assert icu.get_json() == {"error": "NotFoundError", "message": f"Ticket {ticket.id} not found."}
    assert missing.get_json() == {"error": "NotFoundError", "message": f"Ticket {MISSING} not found."}
    assert client.get(f"/api/v1/tickets/{ticket.id}", headers=api_token("nurse.icu")).status_code == 200


@pytest.mark.parametrize("action,state", [
    ("confirm", "resolved"),
    ("reopen", "resolved"),
    ("cancel", "new"),
])
def test_a_ward3_nurse_cannot_move_an_icu_ticket_by_page(hospital, login_as, action, state):
    ticket = resolved_fault(hospital) if state == "resolved" else file_fault(hospital)
    before = snapshot(ticket.id)
    nurse = login_as("nurse.ward3")
    # With the ticket's real version, a stale one, or none: the answer is the one a missing ticket gets.
    for version in (str(before[1]), str(before[1] + 5), ""):
        form = {"note": "Not fixed", "rating": "1", "version": version}
        response = nurse.post(f"/tickets/{ticket.id}/{action}", data=form, follow_redirects=True)
        guessed = nurse.post(f"/tickets/{MISSING}/{action}", data=form, follow_redirects=True)
        assert response.status_code == guessed.status_code == 404  # the flash lands on a page they may not see
        assert same_page(response, str(ticket.id)) == same_page(guessed, str(MISSING))
    assert snapshot(ticket.id) == before


def test_a_ward3_nurse_cannot_comment_on_an_icu_ticket(hospital, login_as):
    ticket = file_fault(hospital)
    before = snapshot(ticket.id)
    response = login_as("nurse.ward3").post(f"/tickets/{ticket.id}/comment", data={"note": "Peeking"},
                                            follow_redirects=True)
    assert response.status_code == 404
    assert snapshot(ticket.id) == before
    assert db.session.query(TicketEvent).filter_by(kind="comment").count() == 0


@pytest.mark.parametrize("action,state", [
    ("confirm", "resolved"),
    ("reopen", "resolved"),
    ("cancel", "new"),
])
def test_a_ward3_nurse_cannot_move_an_icu_ticket_by_api(hospital, app, api_token, action, state):
    ticket = resolved_fault(hospital) if state == "resolved" else file_fault(hospital)
    before = snapshot(ticket.id)
    client, headers = app.test_client(), api_token("nurse.ward3")
    # A stale version must not tell the guesser that the ticket exists (nor its state).
    for version in (None, before[1], before[1] + 5):
        payload = {"note": "x", "rating": 1, "version": version}
        response = client.post(f"/api/v1/tickets/{ticket.id}/{action}", headers=headers, json=payload)
        guessed = client.post(f"/api/v1/tickets/{MISSING}/{action}", headers=headers, json=payload)
        assert response.status_code == guessed.status_code == 404, response.get_json()
        assert response.get_json()["message"].replace(str(ticket.id), "N") == \
            guessed.get_json()["message"].replace(str(MISSING), "N")
    assert snapshot(ticket.id) == before


def test_the_ward_page_lists_only_the_nurses_own_ward(hospital, login_as):
    file_fault(hospital, description="ICU sockets dead")
    file_fault(hospital, ward="ward3", description="Ward 3 lights out")
    page = login_as("nurse.ward3").get("/ward").get_data(as_text=True)
    assert "Ward 3 lights out" in page and "ICU sockets dead" not in page


# --- technicians ------------------------------------------------------------------------------

def test_a_technician_sees_only_tickets_assigned_to_them(hospital, login_as, app, api_token):
    mine = file_fault(hospital, description="Sparky's job")
    unassigned = file_fault(hospital, description="Nobody's job yet")
    volts = file_fault(hospital, description="Volt's job")
    dispatcher = hospital.user("dispatcher")
    assign_ticket(mine.id, hospital.users["sparky"].id, dispatcher)
    assign_ticket(volts.id, hospital.users["volt"].id, dispatcher)

    sparky = login_as("sparky")
    assert sparky.get(f"/tickets/{mine.id}").status_code == 200
    assert sparky.get(f"/tickets/{unassigned.id}").status_code == 404
    assert sparky.get(f"/tickets/{volts.id}").status_code == 404
    jobs = sparky.get("/jobs").get_data(as_text=True)
    assert "Sparky&#39;s job" in jobs and "Nobody" not in jobs and "Volt&#39;s job" not in jobs

    listed = app.test_client().get("/api/v1/tickets", headers=api_token("sparky")).get_json()
    assert [t["number"] for t in listed] == [mine.id]


def test_a_technician_cannot_work_a_job_given_to_someone_else_by_page(hospital, login_as):
    ticket = file_fault(hospital)
    assign_ticket(ticket.id, hospital.users["volt"].id, hospital.user("dispatcher"))
    before = snapshot(ticket.id)
    response = login_as("sparky").post(f"/tickets/{ticket.id}/acknowledge", data={"version": "2"})
    assert response.status_code == 404  # not his: as if there were no such ticket
    assert snapshot(ticket.id) == before


# --- the API by role --------------------------------------------------------------------------

@pytest.mark.parametrize("nurse,ward,other_ward", [("nurse.icu", "icu", "ward3"), ("nurse.ward3", "ward3", "icu")])
def test_the_api_lists_a_nurse_only_her_own_wards_tickets(hospital, app, api_token, nurse, ward, other_ward):
    own = [file_fault(hospital, ward=ward).id for _ in range(2)]
    file_fault(hospital, ward=other_ward)
    listed = app.test_client().get("/api/v1/tickets", headers=api_token(nurse)).get_json()
    assert sorted(t["number"] for t in listed) == own
    assert {t["ward_id"] for t in listed} == {getattr(hospital, ward).id}


def test_a_nurse_cannot_report_for_another_ward_by_api(hospital, app, api_token):
    response = app.test_client().post("/api/v1/tickets", headers=api_token("nurse.ward3"), json={
        "ward_id": hospital.icu.id, "trade": "power", "description": "No power to bed 1"})
    assert response.status_code == 403
    assert response.get_json()["error"] == "PermissionDeniedError"
    assert ticket_count() == 0


def test_a_nurse_cannot_report_for_another_ward_by_page(hospital, login_as):
    response = login_as("nurse.ward3").post("/report", data={
        "ward_id": hospital.icu.id, "trade_id": hospital.trades["power"].id, "whole_area": "1",
        "description": "No power to bed 1", "location_id": "0"})
    assert response.status_code == 200  # the form comes back
    assert ticket_count() == 0


def test_a_nurse_cannot_set_the_priority_by_api(hospital, app, api_token):
    # One socket in Ward 3 is proposed P3; the nurse asks for P1.
    response = app.test_client().post("/api/v1/tickets", headers=api_token("nurse.ward3"), json={
        "ward_id": hospital.ward3.id, "trade": "power", "description": "Single socket dead",
        "whole_area": False, "priority": 1})
    assert response.status_code == 403
    assert "control room" in response.get_json()["message"]
    assert ticket_count() == 0


def test_the_control_room_can_set_the_priority_by_api(hospital, app, api_token):
    response = app.test_client().post("/api/v1/tickets", headers=api_token("dispatcher"), json={
        "ward_id": hospital.ward3.id, "trade": "power", "description": "Single socket sparking",
        "whole_area": False, "priority": 1})
    assert response.status_code == 201
    assert response.get_json()["priority"] == 1


# --- tokens ----------------------------------------------------------------------------------

@pytest.mark.parametrize("header", [
    None,
    "Bearer",
    "Bearer garbage",
    "Bearer dsp_not-a-real-token",
    "Basic ZGlzcGF0Y2hlcjpjb3JyZWN0LWhvcnNlLTE=",
])
def test_the_api_answers_401_json_without_a_live_token(read_only_hospital, header):
    headers = {"Authorization": header} if header else {}
    response = read_only_hospital.test_client().get("/api/v1/tickets", headers=headers)
    assert response.status_code == 401
    assert response.is_json
    assert response.get_json()["error"]
    assert response.headers.get("WWW-Authenticate", "").startswith("Bearer")


def test_a_revoked_token_stops_working(hospital, app, api_token):
    from dispatch.services.tokens import revoke_token

    headers = api_token("dispatcher")
    client = app.test_client()
    assert client.get("/api/v1/tickets", headers=headers).status_code == 200
    dispatcher_id = hospital.users["dispatcher"].id
    token_id = db.session.scalar(select(ApiToken.id).where(ApiToken.user_id == dispatcher_id))
    revoke_token(token_id)
    response = client.get("/api/v1/tickets", headers=headers)
    assert response.status_code == 401 and response.is_json
    # Another token of the same person still works.
    assert client.get("/api/v1/tickets", headers=api_token("dispatcher")).status_code == 200


def test_a_deactivated_persons_token_stops_working(hospital, app, api_token):
    headers = api_token("dispatcher")
    db.session.get(User, hospital.users["dispatcher"].id).active = False
    db.session.commit()
    assert app.test_client().get("/api/v1/tickets", headers=headers).status_code == 401


def test_a_token_is_shown_once_and_stored_only_as_its_digest(hospital, app):
    from dispatch.services.tokens import create_token

    raw = create_token(hospital.users["dispatcher"].id, "control room screen")
    assert raw.startswith("dsp_") and len(raw) > 40
    stored = db.session.scalars(select(ApiToken)).one()
    assert stored.token_hash == hashlib.sha256(raw.encode()).hexdigest()
    # Nowhere in the database, in any table or column (the audit trail included), is the token itself.
    assert raw not in repr(database_fingerprint()) and raw[4:] not in repr(database_fingerprint())
