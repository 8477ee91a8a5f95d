"""Check form pages and API: the admin defines a form, a technician fills it in on the phone page (and by
API), a failed item opens one ticket, bad input is answered on the field, and each role sees what it may."""
from __future__ import annotations

import pytest
from sqlalchemy import func, select

from dispatch.services import check_forms
from dispatch.services.check_forms import FormValues, ItemValues
from models import CheckForm, CheckRecord, CheckResult, db
from tests.conftest import text_of


def generator(hospital) -> CheckForm:
    return check_forms.save_form(hospital.user("admin"), FormValues(
        kind="test", title="Generator 1 monthly test", ward_id=hospital.icu.id, trade_id=hospital.trades["power"].id,
        standard="NFPA 110", items=[ItemValues("Minutes run", "reading", "min", 30, None),
                                    ItemValues("Transfer time", "reading", "s", None, 10),
                                    ItemValues("No leaks, no alarms")]))


def test_the_admin_defines_a_form_from_item_lines(hospital, db, login_as):
    admin = login_as("admin")
    page = admin.get("/checks/new")
    assert page.status_code == 200
    response = admin.post("/checks/new", data={
        "kind": "round", "title": "Plant room daily round", "ward_id": hospital.icu.id,
        "trade_id": hospital.trades["power"].id, "standard": "HTM 06-01", "schedule_id": 0, "active": "y",
        "items": "Doors shut\nBed 1 @ Room temperature; max 30; unit °C"})
    assert response.status_code == 302, text_of(response.get_data(as_text=True))
    form = db.session.scalar(select(CheckForm))
    assert [(i.label, i.kind, i.max_value) for i in form.items] == [("Doors shut", "check", None),
                                                                     ("Room temperature", "reading", 30)]
    bad = admin.post("/checks/new", data={"kind": "round", "title": "Another", "ward_id": hospital.icu.id,
                                          "trade_id": hospital.trades["power"].id, "schedule_id": 0,
                                          "items": "Pressure; min lots"})
    assert bad.status_code == 422 and "Line 1: the limit" in text_of(bad.get_data(as_text=True))


def test_a_technician_fills_a_test_in_on_the_phone_page_and_a_failed_reading_opens_one_ticket(hospital, db, login_as):
    form = generator(hospital)
    sparky = login_as("sparky")
    page = sparky.get(f"/checks/{form.id}/fill")
    assert page.status_code == 200 and "≥ 30 min" in page.get_data(as_text=True)
    data = {"item_1": "30", "item_2": "12", "note_2": "ATS sticky", "item_3": "pass"}
    response = sparky.post(f"/checks/{form.id}/fill", data=data, follow_redirects=True)
    text = text_of(response.get_data(as_text=True))
    assert "Corrective tickets opened: #" in text and "ATS sticky" in text
    again = sparky.post(f"/checks/{form.id}/fill", data=data, follow_redirects=True)
    assert "recorded already" in text_of(again.get_data(as_text=True))
    assert db.session.scalar(select(func.count(CheckResult.ticket_id))) == 1


@pytest.mark.parametrize("data, words", [
    ({"item_1": "thirty", "item_2": "5", "item_3": "pass"}, "The reading is a number"),
    ({"item_1": "", "item_2": "5", "item_3": "pass"}, "Give the reading"),
    ({"item_1": "40", "item_2": "5"}, "Choose pass or fail"),
    ({"item_1": "40", "item_2": "5", "item_3": "maybe"}, "Not a valid choice"),
    ({"item_1": "inf", "item_2": "5", "item_3": "pass"}, "The reading is a number"),
])
def test_bad_input_on_the_phone_page_is_shown_on_the_item(hospital, db, login_as, data, words):
    form = generator(hospital)
    response = login_as("sparky").post(f"/checks/{form.id}/fill", data=data)
    assert response.status_code == 422 and words in text_of(response.get_data(as_text=True))
    assert db.session.scalar(select(func.count(CheckRecord.id))) == 0


@pytest.mark.parametrize("username, index, fill, edit", [
    ("sparky", 200, 200, 403), ("dispatcher", 200, 200, 403), ("supervisor", 200, 200, 403),
    ("manager", 200, 403, 200), ("admin", 200, 200, 200), ("nurse.icu", 403, 403, 403),
])
def test_pages_per_role(hospital, db, login_as, username, index, fill, edit):
    form = generator(hospital)
    browser = login_as(username)
    assert browser.get("/checks/").status_code == index
    assert browser.get("/checks/compliance").status_code == index
    assert browser.get(f"/checks/{form.id}").status_code == index
    assert browser.get(f"/checks/{form.id}/fill").status_code == fill
    assert browser.get(f"/checks/{form.id}/edit").status_code == edit


def test_the_compliance_page_refuses_a_backwards_period(hospital, db, login_as):
    response = login_as("manager").get("/checks/compliance?start=2026-03-10&end=2026-03-01", follow_redirects=True)
    assert "The start date is after the end date." in text_of(response.get_data(as_text=True))


def test_the_api_records_a_test_once_and_names_bad_fields(hospital, db, client, api_token):
    form = generator(hospital)
    headers = api_token("sparky")
    listed = client.get("/api/v1/check-forms", headers=headers).get_json()
    assert listed[0]["items"][0] == {"position": 1, "label": "Minutes run", "kind": "reading", "unit": "min",
                                     "min_value": 30.0, "max_value": None, "asset_id": None, "location_id": None}
    body = {"answers": [{"reading": 29.5}, {"reading": 10}, {"passed": True}]}
    first = client.post(f"/api/v1/check-forms/{form.id}/records", json=body, headers=headers)
    assert first.status_code == 201
    results = first.get_json()["results"]
    assert [r["passed"] for r in results] == [False, True, True] and results[0]["ticket_id"] is not None
    again = client.post(f"/api/v1/check-forms/{form.id}/records", json=body, headers=headers)
    assert again.status_code == 200 and again.get_json()["id"] == first.get_json()["id"]
    nested = client.post(f"/api/v1/check-forms/{form.id}/records", json={"answers": [{"reading": "lots"}]},
                         headers=headers)
    assert nested.status_code == 422 and "answers.0.reading" in nested.get_json()["errors"]
    nurse = client.post(f"/api/v1/check-forms/{form.id}/records", json=body, headers=api_token("nurse.icu"))
    assert nurse.status_code == 403
    assert client.get("/api/v1/check-forms", headers=api_token("nurse.icu")).status_code == 403
    figures = client.get("/api/v1/check-compliance?month=2026-03", headers=headers).get_json()
    assert (figures["start"], figures["end"], figures["forms"][0]["failed_items"]) == ("2026-03-01", "2026-03-31", 1)
    bad = client.get("/api/v1/check-compliance?month=2026-13", headers=headers)
    assert bad.status_code == 422 and "month" in bad.get_json()["errors"]


def test_the_api_names_an_unanswered_item(hospital, db, client, api_token):
    form = generator(hospital)
    response = client.post(f"/api/v1/check-forms/{form.id}/records", json={"answers": [{"reading": 40}]},
                           headers=api_token("sparky"))
    assert response.status_code == 422 and "item_2" in response.get_json()["errors"]
    extra = client.post(f"/api/v1/check-forms/{form.id}/records", headers=api_token("sparky"), json={
        "answers": [{"reading": 40}, {"reading": 5}, {"passed": True}, {"passed": True}]})
    assert extra.status_code == 422 and "item_4" in extra.get_json()["errors"]
