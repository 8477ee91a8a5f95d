"""Staff pages: who may open them, phones checked and stored in E.164, people created and edited,
licences added with their expiry shown, and a test SMS that leaves one outbox row."""
from __future__ import annotations


import pytest
from sqlalchemy import func, select

from dispatch.sms import text as sms_text
from models import Licence, LicenceType, OutboundMessage, User, db
from tests.conftest import PASSWORD, Browser

def person(username: str) -> User:
    db.session.expire_all()
    return db.session.scalar(select(User).where(User.username == username))


def details(user: User, **changes) -> dict:
    """The person form as it is filled in now, with some fields changed (active=None: box unticked)."""
    data = {"full_name": user.full_name, "role": user.role, "phone": user.phone or "", "ward_id": user.ward_id or 0,
            "active": "y" if user.active else None}
    data.update(changes)
    return {k: v for k, v in data.items() if v is not None}


def test_the_staff_list_shows_phones_roles_licences_and_opt_outs(login_as, hospital):
    sparky = person("sparky")
    sparky.sms_opted_out = True
    db.session.commit()
    html = login_as("manager").get("/admin/staff").get_data(as_text=True)
    assert "Wang Sparky" in html and "+8613900000001" in html and "SMS off (STOP)" in html
    assert "Technician" in html and "Nurse" in html
    assert "valid to 4 Jan 2027" in html  # sparky's licence
    assert "expires today" in html  # volt's last valid day is today
    assert "expired 9 Mar 2026" in html  # lapsed
    assert 'href="/admin/staff"' in html  # the nav link


@pytest.mark.parametrize("raw", ["12345", "not a phone", "+86 138 0013 800"])
def test_an_invalid_phone_is_shown_under_the_field_and_not_saved(login_as, hospital, raw):
    sparky = person("sparky")
    response = login_as("admin").post(f"/admin/staff/{sparky.id}", data=details(sparky, phone=raw))
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert 'class="field-error"' in html and ("Not a valid phone number." in html or "Not a phone number." in html)
    assert person("sparky").phone == "+8613900000001"


def test_a_local_mobile_number_is_stored_in_e164(login_as, hospital):
    sparky = person("sparky")
    sparky.sms_opted_out = True  # the old number said STOP; the new one has not
    db.session.commit()
    manager = login_as("manager")
    response = manager.post(f"/admin/staff/{sparky.id}", data=details(sparky, phone="13800138000", full_name="Wang Lei"))
    assert response.status_code == 302
    saved = person("sparky")
    assert (saved.phone, saved.full_name, saved.sms_opted_out) == ("+8613800138000", "Wang Lei", False)
    assert "+8613800138000" in manager.get("/admin/staff").get_data(as_text=True)


def test_switching_someone_off_stops_them_logging_in(app, login_as, hospital):
    volt = person("volt")
    assert login_as("admin").post(f"/admin/staff/{volt.id}", data=details(volt, active=None)).status_code == 302
    assert person("volt").active is False
    client = app.test_client()
    page = client.get("/login").get_data(as_text=True)
    from tests.conftest import csrf_token

    response = client.post("/login", data={"username": "volt", "password": PASSWORD, "csrf_token": csrf_token(page)})
    assert response.status_code == 200 and "Wrong username or password." in response.get_data(as_text=True)


def test_a_nurse_needs_a_ward(login_as, hospital):
    dispatcher = person("dispatcher")
    response = login_as("admin").post(f"/admin/staff/{dispatcher.id}", data=details(dispatcher, role="nurse"))
    assert response.status_code == 422 and "A nurse belongs to a ward." in response.get_data(as_text=True)
    assert person("dispatcher").role == "dispatcher"
    response = login_as("admin").post(f"/admin/staff/{dispatcher.id}",
                                      data=details(dispatcher, role="nurse", ward_id=hospital.ward3.id))
    assert response.status_code == 302
    assert (person("dispatcher").role, person("dispatcher").ward_id) == ("nurse", hospital.ward3.id)


def test_a_manager_cannot_make_anyone_an_administrator(login_as, hospital):
    dispatcher = person("dispatcher")
    manager = login_as("manager")
    response = manager.post(f"/admin/staff/{dispatcher.id}", data=details(dispatcher, role="admin"))
    assert response.status_code == 422
    assert "Only an administrator can" in response.get_data(as_text=True)
    assert person("dispatcher").role == "dispatcher"
    created = manager.post("/admin/staff/new", data={"username": "boss", "full_name": "Boss", "role": "admin",
                                                     "password": "long-enough-1", "ward_id": "0", "phone": ""})
    assert created.status_code == 422 and person("boss") is None


def test_nobody_can_switch_off_or_demote_themselves(login_as, hospital):
    admin = person("admin")
    response = login_as("admin").post(f"/admin/staff/{admin.id}", data=details(admin, active=None))
    assert response.status_code == 422
    assert person("admin").active is True


def test_a_new_person_can_log_in(app, login_as, hospital):
    response = login_as("admin").post("/admin/staff/new", data={
        "username": "zhou.lift", "full_name": "Zhou Lift", "role": "technician", "password": PASSWORD,
        "ward_id": "0", "phone": "139 0000 0099"})
    assert response.status_code == 302
    new = person("zhou.lift")
    assert (new.role, new.phone, new.active) == ("technician", "+8613900000099", True)
    assert Browser(app.test_client(), "zhou.lift").get("/jobs").status_code == 200


@pytest.mark.parametrize("fields, message", [
    ({"username": "sparky"}, "That username is taken."),
    ({"password": "short"}, "The password needs at least 8 characters."),
    ({"phone": ""}, "A technician needs a mobile number for jobs by SMS."),
    ({"phone": "999"}, "Not a valid phone number."),
])
def test_new_person_errors_are_shown_under_the_fields(login_as, hospital, fields, message):
    data = {"username": "zhou.lift", "full_name": "Zhou Lift", "role": "technician", "password": PASSWORD,
            "ward_id": "0", "phone": "13900000099"} | fields
    before = db.session.scalar(select(func.count()).select_from(User))
    response = login_as("manager").post("/admin/staff/new", data=data)
    assert response.status_code == 422 and message in response.get_data(as_text=True)
    assert db.session.scalar(select(func.count()).select_from(User)) == before


def licence_form(**changes) -> dict:
    lift = db.session.scalar(select(LicenceType).where(LicenceType.code.contains("lift")))
    return {"licence_type_id": lift.id, "number": "TS-2026-001", "issuer": "Shanghai Market Supervision Bureau",
            "issued_on": "2026-01-05", "expires_on": "2030-01-04"} | changes


def test_a_licence_is_added_and_shown_with_its_expiry(login_as, hospital):
    plumb = person("plumb")
    manager = login_as("manager")
    assert manager.post(f"/admin/staff/{plumb.id}/licences", data=licence_form()).status_code == 302
    licence = db.session.scalar(select(Licence).where(Licence.number == "TS-2026-001"))
    assert licence.technician_id == plumb.id
    assert "TS-2026-001" in manager.get(f"/admin/staff/{plumb.id}").get_data(as_text=True)
    assert "valid to 4 Jan 2030" in manager.get("/admin/staff").get_data(as_text=True)


def test_a_licence_that_expires_before_it_is_issued_is_refused(login_as, hospital):
    plumb = person("plumb")
    response = login_as("admin").post(f"/admin/staff/{plumb.id}/licences",
                                      data=licence_form(expires_on="2025-01-01"))
    assert response.status_code == 422
    assert "A licence cannot expire before it is issued." in response.get_data(as_text=True)
    assert db.session.scalar(select(Licence).where(Licence.number == "TS-2026-001")) is None


def test_a_test_sms_leaves_one_outbox_row_for_that_person(login_as, hospital, redis_conn):
    sparky = person("sparky")
    manager = login_as("manager")
    response = manager.post(f"/admin/staff/{sparky.id}/test-sms", follow_redirects=True)
    html = response.get_data(as_text=True)
    assert "Test SMS to Wang Sparky queued." in html
    rows = db.session.scalars(select(OutboundMessage)).all()
    assert [(m.recipient_id, m.to_number, m.kind, m.state) for m in rows] == [(sparky.id, "+8613900000001", "test", "pending")]
    assert rows[0].body == sms_text.test_message("Wang Sparky")
    assert "SMS queued" in html.split(f'id="person-{sparky.id}"', 1)[1].split("</tr>", 1)[0]


def test_a_test_sms_to_someone_who_replied_stop_is_recorded_as_failed(login_as, hospital):
    sparky = person("sparky")
    sparky.sms_opted_out = True
    db.session.commit()
    response = login_as("admin").post(f"/admin/staff/{sparky.id}/test-sms", follow_redirects=True)
    assert "replied STOP" in response.get_data(as_text=True)
    message = db.session.scalar(select(OutboundMessage))
    assert (message.recipient_id, message.state) == (sparky.id, "failed")


def test_no_test_sms_without_a_phone(login_as, hospital):
    dispatcher = person("dispatcher")
    response = login_as("admin").post(f"/admin/staff/{dispatcher.id}/test-sms", follow_redirects=True)
    assert "has no mobile number" in response.get_data(as_text=True)
    assert db.session.scalar(select(func.count()).select_from(OutboundMessage)) == 0
