"""The JSON API under /api/v1: the same rules as the pages, with status codes and field errors a program can use."""
from __future__ import annotations

import pytest

from models import Ticket, TicketEvent, db

ACTORS = {  # who moves a ticket on, per action
    "acknowledge": "sparky", "refuse": "sparky", "attend": "sparky", "hold": "sparky", "resume": "sparky",
    "make-safe": "sparky", "resolve": "sparky", "confirm": "nurse.icu", "reopen": "nurse.icu", "cancel": "dispatcher",
}


@pytest.fixture
def api(app, api_token):
    """api(username).get/post(path, json=...) against /api/v1, with that person's token."""
    client = app.test_client()

    class As:
        def __init__(self, username):
            self.headers = api_token(username)

        def get(self, path, **kw):
            return client.get(f"/api/v1{path}", headers=self.headers, **kw)

        def post(self, path, json=None, **kw):
            return client.post(f"/api/v1{path}", headers=self.headers, json=json if json is not None else {}, **kw)

    return As


def new_fault(api, hospital, **fields):
    body = {"ward_id": hospital.icu.id, "trade": "power", "description": "No power to bed 1", **fields}
    response = api("nurse.icu").post("/tickets", json=body)
    assert response.status_code == 201, response.get_json()
    return response.get_json()


def assigned_fault(api, hospital, technician="sparky"):
    ticket = new_fault(api, hospital)
    response = api("dispatcher").post(f"/tickets/{ticket['number']}/assign",
                                      json={"technician_id": hospital.users[technician].id})
    assert response.status_code == 200, response.get_json()
    return response.get_json()


def act(api, number, action, **body):
    return api(ACTORS[action]).post(f"/tickets/{number}/{action}", json=body)


def events(number: int) -> list[str]:
    return [e.kind for e in db.session.query(TicketEvent).filter_by(ticket_id=number).order_by(TicketEvent.id)]


def stored(number: int) -> Ticket:
    db.session.expire_all()
    return db.session.get(Ticket, number)


# --- create -----------------------------------------------------------------------------------

def test_creating_a_ticket_answers_201_with_number_priority_and_due_times(api, hospital):
    response = api("nurse.icu").post("/tickets", json={
        "ward_id": hospital.icu.id, "trade": "power", "description": "No power to bed 1"})
    assert response.status_code == 201
    body = response.get_json()
    assert body["number"] == 1001 and body["version"] == 1
    assert body["priority"] == 1 and body["status"] == "new" and body["trade"] == "power" and body["ward"] == "ICU"
    assert body["created_at"] == "2026-03-10T02:00:00+00:00"
    assert body["acknowledge_due_at"] == "2026-03-10T02:05:00+00:00"
    assert body["attend_due_at"] == "2026-03-10T02:15:00+00:00"
    assert body["resolve_due_at"] == "2026-03-10T06:00:00+00:00"
    assert body["assignee"] is None
    assert events(1001) == ["reported"]
    assert db.session.query(TicketEvent).filter_by(ticket_id=1001).one().channel == "api"


def test_the_proposed_priority_follows_the_answers(api, hospital):
    body = new_fault(api, hospital, whole_area=False, description="Single socket dead")
    assert body["priority"] == 2  # ICU raises a single socket (P3) by one


@pytest.mark.parametrize("change,field", [
    ({"description": None}, "description"),          # missing
    ({"description": ""}, "description"),
    ({"description": "ab"}, "description"),          # too short to say anything
    ({"description": 12345}, "description"),         # wrong type
    ({"trade": "plumbing-and-more"}, "trade"),       # unknown trade code
    ({"trade": None}, "trade"),                      # missing
    ({"ward_id": None}, "ward_id"),                  # missing
    ({"ward_id": "ICU"}, "ward_id"),                 # wrong type
    ({"ward_id": 999}, "ward_id"),                   # no such ward
    ({"priority": 7}, "priority"),
    ({"priority": "urgent"}, "priority"),
    ({"patient_at_risk": "perhaps"}, "patient_at_risk"),
    ({"location_id": "bay 2"}, "location_id"),
    ({"place_detail": "x" * 121}, "place_detail"),
])
def test_invalid_reports_answer_422_naming_the_field(api, hospital, change, field):
    body = {"ward_id": hospital.icu.id, "trade": "power", "description": "No power to bed 1"}
    body.update(change)
    body = {k: v for k, v in body.items() if v is not None}
    response = api("dispatcher").post("/tickets", json=body)
    assert response.status_code == 422
    payload = response.get_json()
    assert field in payload["errors"], payload
    assert payload["errors"][field] and all(isinstance(m, str) and m for m in payload["errors"][field])
    assert db.session.query(Ticket).count() == 0


def test_a_room_of_another_ward_is_refused(api, hospital):
    from models import Location

    bay2 = db.session.query(Location).filter_by(name="Bay 2").one()  # in Ward 3
    response = api("nurse.icu").post("/tickets", json={
        "ward_id": hospital.icu.id, "trade": "power", "description": "No power", "location_id": bay2.id})
    assert response.status_code == 422 and "location_id" in response.get_json()["errors"]


# --- read and list -----------------------------------------------------------------------------

def test_reading_a_ticket(api, hospital):
    ticket = assigned_fault(api, hospital)
    body = api("dispatcher").get(f"/tickets/{ticket['number']}").get_json()
    assert body["number"] == ticket["number"] and body["status"] == "assigned"
    assert body["assignee"] == {"id": hospital.users["sparky"].id, "name": "Wang Sparky"}
    assert body["place"] == "ICU"


def test_reading_a_ticket_that_does_not_exist_is_404_json(api, hospital):
    response = api("dispatcher").get("/tickets/424242")
    assert response.status_code == 404 and response.get_json()["error"] == "NotFoundError"


def test_the_list_shows_open_tickets_newest_first_and_filters_by_status(api, hospital, clock):
    first = new_fault(api, hospital, description="First")
    clock.advance(minutes=1)
    second = new_fault(api, hospital, description="Second")
    clock.advance(minutes=1)
    withdrawn = new_fault(api, hospital, description="Withdrawn")
    assert act(api, withdrawn["number"], "cancel", note="Reported twice").status_code == 200
    dispatcher = api("dispatcher")
    assert [t["number"] for t in dispatcher.get("/tickets").get_json()] == [second["number"], first["number"]]
    assert [t["number"] for t in dispatcher.get("/tickets?status=cancelled").get_json()] == [withdrawn["number"]]
    assert [t["number"] for t in dispatcher.get("/tickets?limit=1").get_json()] == [second["number"]]


@pytest.mark.parametrize("query,field", [("status=lost", "status"), ("limit=0", "limit"), ("limit=many", "limit")])
def test_bad_list_arguments_answer_422_naming_them(api, hospital, query, field):
    response = api("dispatcher").get(f"/tickets?{query}")
    assert response.status_code == 422 and field in response.get_json()["errors"]


# --- assign and reassign -------------------------------------------------------------------------

def test_assigning(api, hospital):
    ticket = new_fault(api, hospital)
    response = api("dispatcher").post(f"/tickets/{ticket['number']}/assign",
                                      json={"technician_id": hospital.users["sparky"].id})
    assert response.status_code == 200
    body = response.get_json()
    assert body["status"] == "assigned" and body["version"] == 2 and body["assigned_at"] == "2026-03-10T02:00:00+00:00"
    assert events(ticket["number"]) == ["reported", "assigned"]


@pytest.mark.parametrize("body,field", [({}, "technician_id"), ({"technician_id": "sparky"}, "technician_id"),
                                        ({"technician_id": 999}, "technician_id"),
                                        ({"technician_id": 1, "version": "latest"}, "version")])
def test_bad_assignments_answer_422_naming_the_field(api, hospital, body, field):
    ticket = new_fault(api, hospital)
    response = api("dispatcher").post(f"/tickets/{ticket['number']}/assign", json=body)
    assert response.status_code == 422 and field in response.get_json()["errors"]
    assert stored(ticket["number"]).status == "new"


def test_assigning_a_non_technician_is_refused(api, hospital):
    ticket = new_fault(api, hospital)
    response = api("dispatcher").post(f"/tickets/{ticket['number']}/assign",
                                      json={"technician_id": hospital.users["nurse.icu"].id})
    assert response.status_code == 422 and "technician_id" in response.get_json()["errors"]


def test_reassigning_without_the_version_is_a_conflict(api, hospital):
    ticket = assigned_fault(api, hospital)
    response = api("dispatcher2").post(f"/tickets/{ticket['number']}/assign",
                                       json={"technician_id": hospital.users["volt"].id})
    assert response.status_code == 409
    body = response.get_json()
    assert body["error"] == "ConflictError" and "already assigned to Wang Sparky" in body["message"]
    assert stored(ticket["number"]).assignee_id == hospital.users["sparky"].id


def test_reassigning_with_the_current_version_succeeds(api, hospital):
    ticket = assigned_fault(api, hospital)
    response = api("dispatcher2").post(f"/tickets/{ticket['number']}/assign",
                                       json={"technician_id": hospital.users["volt"].id, "version": ticket["version"]})
    assert response.status_code == 200
    body = response.get_json()
    assert body["assignee"]["name"] == "Li Volt" and body["version"] == ticket["version"] + 1
    assert events(ticket["number"]) == ["reported", "assigned", "reassigned"]
    assert stored(ticket["number"]).reassign_count == 1


def test_reassigning_with_a_stale_version_is_a_conflict(api, hospital):
    ticket = assigned_fault(api, hospital)
    stale = ticket["version"]
    assert act(api, ticket["number"], "acknowledge", version=stale).status_code == 200  # sparky moved first
    response = api("dispatcher").post(f"/tickets/{ticket['number']}/assign",
                                      json={"technician_id": hospital.users["volt"].id, "version": stale})
    assert response.status_code == 409
    assert "was changed meanwhile (now Acknowledged)" in response.get_json()["message"]
    current = stored(ticket["number"])
    assert current.assignee_id == hospital.users["sparky"].id and current.status == "acknowledged"


# --- every transition ----------------------------------------------------------------------------

@pytest.mark.parametrize("before,action,body,status", [
    ([], "acknowledge", {}, "acknowledged"),
    ([], "refuse", {"note": "On another emergency"}, "refused"),
    ([], "attend", {}, "attended"),
    (["attend"], "hold", {"note": "Waiting for a contactor"}, "on_hold"),
    (["attend", "hold"], "resume", {}, "attended"),
    (["attend"], "make-safe", {"note": "Circuit isolated"}, "made_safe"),
    (["attend"], "resolve", {"note": "Breaker reset", "labour_minutes": 20, "parts_used": "1 x MCB"}, "resolved"),
    (["attend", "resolve"], "confirm", {"rating": 4, "note": "Quick, thanks"}, "closed"),
    (["attend", "resolve"], "reopen", {"note": "Tripped again"}, "reopened"),
    ([], "cancel", {"note": "Duplicate of 1000"}, "cancelled"),
])
def test_every_transition_through_the_api(api, hospital, before, action, body, status):
    ticket = assigned_fault(api, hospital)
    number = ticket["number"]
    for step in before:
        assert act(api, number, step, note="step").status_code == 200
    version = stored(number).version
    response = act(api, number, action, version=version, **body)
    assert response.status_code == 200, response.get_json()
    answer = response.get_json()
    assert answer["status"] == status and answer["version"] == version + 1
    last = db.session.query(TicketEvent).filter_by(ticket_id=number).order_by(TicketEvent.id.desc()).first()
    assert last.kind == action.replace("-", "_") and last.to_status == status and last.channel == "api"
    assert last.actor_id == hospital.users[ACTORS[action]].id


def test_resolving_through_the_api_records_the_work(api, hospital):
    ticket = assigned_fault(api, hospital)
    act(api, ticket["number"], "attend")
    body = act(api, ticket["number"], "resolve", note="Reset breaker", labour_minutes=25, parts_used="1 x MCB").get_json()
    assert (body["resolution_note"], body["labour_minutes"], body["parts_used"]) == ("Reset breaker", 25, "1 x MCB")


@pytest.mark.parametrize("ticket_state,action,message", [
    ("new", "confirm", "Ticket 1001 is New; it cannot be confirmed."),
    ("new", "acknowledge", "Ticket 1001 is New; it cannot be acknowledged."),
    ("assigned", "resolve", "Ticket 1001 is Assigned; it cannot be resolved."),
    ("assigned", "resume", "Ticket 1001 is Assigned; it cannot be resumed."),
    ("resolved", "hold", "Ticket 1001 is Resolved; it cannot be put on hold."),
    ("closed", "cancel", "Ticket 1001 is Closed; it cannot be cancelled."),
])
def test_an_illegal_transition_answers_409_with_a_message(api, hospital, ticket_state, action, message):
    ticket = new_fault(api, hospital) if ticket_state == "new" else assigned_fault(api, hospital)
    steps = {"resolved": ["attend", "resolve"], "closed": ["attend", "resolve", "confirm"]}.get(ticket_state, [])
    for step in steps:
        assert act(api, ticket["number"], step, note="step").status_code == 200
    before = stored(ticket["number"]).version
    actor = "dispatcher" if action != "confirm" else "nurse.icu"
    response = api(actor).post(f"/tickets/{ticket['number']}/{action}", json={"note": "trying"})
    assert response.status_code == 409
    assert response.get_json() == {"error": "IllegalTransitionError", "message": message}
    assert stored(ticket["number"]).version == before


def test_a_transition_with_a_stale_version_is_a_conflict(api, hospital):
    ticket = assigned_fault(api, hospital)
    response = act(api, ticket["number"], "acknowledge", version=ticket["version"] - 1)
    assert response.status_code == 409 and response.get_json()["error"] == "ConflictError"
    assert stored(ticket["number"]).status == "assigned"


@pytest.mark.parametrize("action,body,field", [
    ("refuse", {}, "note"),
    ("refuse", {"note": "   "}, "note"),
    ("resolve", {"note": "Done", "labour_minutes": -5}, "labour_minutes"),
    ("resolve", {"note": "Done", "labour_minutes": "half an hour"}, "labour_minutes"),
    ("confirm", {"rating": 9}, "rating"),
    ("acknowledge", {"version": "two"}, "version"),
])
def test_invalid_transition_bodies_answer_422_naming_the_field(api, hospital, action, body, field):
    ticket = assigned_fault(api, hospital)
    if action in ("resolve", "confirm"):
        act(api, ticket["number"], "attend")
    if action == "confirm":
        act(api, ticket["number"], "resolve", note="Done")
    before = stored(ticket["number"]).version
    response = act(api, ticket["number"], action, **body)
    assert response.status_code == 422
    assert field in response.get_json()["errors"]
    assert stored(ticket["number"]).version == before


def test_an_unknown_action_is_404_json(api, hospital):
    ticket = assigned_fault(api, hospital)
    response = api("dispatcher").post(f"/tickets/{ticket['number']}/teleport", json={})
    assert response.status_code == 404 and response.is_json


def test_a_body_that_is_not_json_answers_a_4xx_json(api, hospital, app, api_token):
    response = app.test_client().post("/api/v1/tickets", headers={**api_token("dispatcher"),
                                                                   "Content-Type": "application/json"},
                                      data="{not json")
    assert response.status_code in (400, 422) and response.is_json
    assert db.session.query(Ticket).count() == 0


# --- the OpenAPI document -----------------------------------------------------------------------

def test_the_openapi_document_is_served_and_lists_the_ticket_endpoints(client):
    response = client.get("/api/openapi.json")
    assert response.status_code == 200
    document = response.get_json()
    assert document["info"]["title"] == "Dispatch API"
    paths = document["paths"]
    assert "/api/v1/tickets" in paths
    assert {"get", "post"} <= set(paths["/api/v1/tickets"])
    assert "get" in paths["/api/v1/tickets/{number}"]
    assert "get" in paths["/api/v1/tickets/{number}/candidates"]
    assert "post" in paths["/api/v1/tickets/{number}/assign"]
    for action in ("acknowledge", "refuse", "attend", "hold", "resume", "make-safe", "resolve", "confirm", "reopen",
                   "cancel"):  # a path each, with the body that action takes
        assert "post" in paths[f"/api/v1/tickets/{{number}}/{action}"]
