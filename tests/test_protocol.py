"""HTTP as clients and fuzzers send it: every answer the protocol asks for, and text the databases cannot
hold refused by name instead of failing on the way in."""
from __future__ import annotations

from itertools import product

import pytest
from werkzeug.exceptions import MethodNotAllowed, NotFound
from werkzeug.routing import RequestRedirect

# Sample values for the parts of a URL; the first that makes the URL match its own rule is used.
SAMPLES = ("1", "acknowledge", "csv", "x", "2026-03-10")
UNUSUAL = ("PUT", "DELETE", "PATCH", "TRACE")


def _url_for_rule(app, rule) -> str | None:
    adapter = app.url_map.bind("localhost")
    method = next(iter(rule.methods - {"HEAD", "OPTIONS"}), "GET")
    names = sorted(rule.arguments - set(rule.defaults or {}))  # a default (the API's action) is not in the URL
    for samples in product(SAMPLES, repeat=len(names)):
        try:
            path = adapter.build(rule.endpoint, dict(zip(names, samples)), method=method,
                                 append_unknown=False)
        except ValueError:  # an <any(...)> part that is not one of its words
            continue
        try:
            endpoint, _values = adapter.match(path, method=method)
        except (NotFound, MethodNotAllowed, RequestRedirect):
            continue
        if endpoint == rule.endpoint:
            return path
    return None


def test_every_405_says_which_methods_the_address_allows(app):
    client = app.test_client()
    checked = 0
    for rule in app.url_map.iter_rules():
        path = _url_for_rule(app, rule)
        assert path is not None, f"no sample URL for {rule.rule}"
        adapter = app.url_map.bind("localhost")
        for method in UNUSUAL:
            try:
                adapter.match(path, method=method)
            except MethodNotAllowed as refused:
                allowed = set(refused.valid_methods)
                break
            except RequestRedirect:
                continue
        else:
            continue  # every unusual method is served here
        response = client.open(path, method=method)
        assert response.status_code == 405, (method, path)
        assert "Allow" in response.headers, (method, path, response.get_data(as_text=True)[:200])
        assert {m.strip() for m in response.headers["Allow"].split(",")} == allowed, (method, path)
        checked += 1
    assert checked > 50  # the pages and the API both


@pytest.mark.parametrize("method", ["PUT", "TRACE"])
def test_the_api_names_the_allowed_methods_on_a_405(client, method):
    response = client.open("/api/v1/tickets", method=method)
    assert response.status_code == 405
    assert {m.strip() for m in response.headers["Allow"].split(",")} >= {"GET", "POST"}
    assert response.get_json()["error"] == "Method Not Allowed"


# --- text no database can store: a NUL, or half of a UTF-16 surrogate pair sent alone ----------------------

LONE = "\ud800 lone"  # JSON's "\ud800": valid JSON, but no character (SQLite's driver cannot encode it)
API_BODIES = {  # per request schema: a body the API accepts, and who sends it
    "TicketCreateSchema": ("nurse.icu", "/api/v1/tickets", lambda h, n: {
        "ward_id": h.icu.id, "trade": "power", "description": "No power to bed 1", "place_detail": "Bed 1"}),
    "TransitionSchema": ("dispatcher", "/api/v1/tickets/{n}/cancel", lambda h, n: {"note": "Reported twice"}),
    "AssignSchema": ("dispatcher", "/api/v1/tickets/{n}/assign", lambda h, n: {"technician_id": h.users["sparky"].id}),
    "AlarmSchema": ("bms", "/api/v1/alarms", lambda h, n: {
        "source": "bms-block-a", "point_id": "AHU-3/FAULT", "condition": "Supply fan tripped", "severity": "major",
        "time": "2026-03-10T09:59:30+08:00", "state": "active"}),
}


def _api_field_cases():
    from dispatch.blueprints.api import schemas

    for schema_name in API_BODIES:
        for field in getattr(schemas, schema_name)().fields:
            yield pytest.param(schema_name, field, id=f"{schema_name}.{field}")


@pytest.fixture
def filed(hospital):
    from dispatch.services.tickets import report_fault
    from tests.factories import make_user

    make_user("bms", "integration", full_name="Block A BMS")
    ticket = report_fault(hospital.user("nurse.icu"), ward_id=hospital.icu.id, trade_id=hospital.trades["power"].id,
                          description="No power to bed 2")
    return ticket.id


@pytest.mark.parametrize("bad", [LONE, "a\x00b", "\udfff"], ids=["lone-high-surrogate", "nul", "lone-low-surrogate"])
@pytest.mark.parametrize("schema_name, field", list(_api_field_cases()))
def test_unstorable_text_in_any_api_field_is_a_422_naming_it(app, hospital, api_token, redis_conn, filed,
                                                             schema_name, field, bad):
    from tests.conftest import changed_tables, database_fingerprint

    username, path, body = API_BODIES[schema_name]
    client, headers = app.test_client(), api_token(username)
    client.get("/api/v1/tickets", headers=headers)  # a token's first use is on record; this is about the next
    before = database_fingerprint()
    response = client.post(path.format(n=filed), headers=headers, json={**body(hospital, filed), field: bad})
    assert response.status_code == 422, response.get_data(as_text=True)
    assert list(response.get_json()["errors"]) == [field]
    assert changed_tables(before, database_fingerprint()) == []


def test_the_acceptance_examples_are_refused_by_field_name(app, hospital, api_token, redis_conn, filed):
    client = app.test_client()
    nurse, dispatcher = api_token("nurse.icu"), api_token("dispatcher")
    for headers, path, body, field in [
        (nurse, "/api/v1/tickets", {"ward_id": hospital.icu.id, "trade": "power", "description": LONE}, "description"),
        (nurse, "/api/v1/tickets", {"ward_id": hospital.icu.id, "trade": "power", "description": "No power",
                                    "place_detail": LONE}, "place_detail"),
        (dispatcher, f"/api/v1/tickets/{filed}/cancel", {"note": LONE}, "note"),
        (nurse, "/api/v1/tickets", {"ward_id": hospital.icu.id, "trade": "power", "description": "No power",
                                    "\udc00": 1}, "\\udc00"),
    ]:
        response = client.post(path, headers=headers, json=body)
        assert response.status_code == 422 and field in response.get_json()["errors"], response.get_data(as_text=True)
        assert "cannot be stored" in response.get_json()["message"]


def test_a_form_field_holding_a_nul_is_a_422_page_naming_the_field(login_as, hospital):
    from dispatch.services.tickets import report_fault
    from tests.conftest import changed_tables, csrf_token, database_fingerprint, text_of

    ticket = report_fault(hospital.user("nurse.icu"), ward_id=hospital.icu.id, trade_id=hospital.trades["power"].id,
                          description="No power to bed 2")
    nurse = login_as("nurse.icu")
    token = csrf_token(nurse.get(f"/tickets/{ticket.id}").get_data(as_text=True))
    before = database_fingerprint()
    response = nurse.post(f"/tickets/{ticket.id}/comment", data={"csrf_token": token, "note": "Still\x00 no power"})
    assert response.status_code == 422
    assert "“note”" in text_of(response.get_data(as_text=True))
    assert changed_tables(before, database_fingerprint()) == []


def test_one_check_finds_unstorable_text_wherever_it_is_sent():
    from werkzeug.datastructures import MultiDict

    from dispatch.security import unstorable_field, unstorable_form_field

    assert unstorable_field({"a": "fine", "b": [1, {"c": LONE}]}) == "b.1.c"
    assert unstorable_field({"note": "x\x00"}) == "note"
    assert unstorable_field({"\ud83d": 1}) == "\\ud83d"
    assert unstorable_field("\udc00") == "body"
    assert unstorable_field({"ok": "😀 中文 \u202e", "n": None, "i": 3}) is None  # a whole pair is a character
    assert unstorable_form_field(MultiDict([("a", "ok"), ("b", "ok"), ("b", "x\x00")])) == "b"
    assert unstorable_form_field(MultiDict([("a", "ok")]), MultiDict([("z", LONE)])) == "z"
    assert unstorable_form_field(MultiDict([("a", "😀")])) is None
