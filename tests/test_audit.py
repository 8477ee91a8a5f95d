"""The security audit trail: logins, role changes and API tokens are recorded with who, whom and from where,
in the same transaction as the change; token use at most once a minute; an admin-only page reads it."""
from __future__ import annotations

import uuid
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from dispatch.services import audit
from dispatch.services.tokens import create_token, revoke_token
from models import ApiToken, AuditEvent, User, db
from tests.conftest import PASSWORD, Browser, csrf_token



def events(kind: str | None = None) -> list[AuditEvent]:
    db.session.expire_all()
    query = select(AuditEvent).order_by(AuditEvent.id)
    if kind:
        query = query.where(AuditEvent.kind == kind)
    return list(db.session.scalars(query))


def _address() -> str:
    """An address of this test's own: failed logins are counted per address in the shared Redis."""
    n = uuid.uuid4().int
    return f"10.{n % 250}.{(n >> 8) % 250}.{(n >> 16) % 250 + 1}"


def attempt_login(client, username: str, password: str, address: str):
    environ = {"REMOTE_ADDR": address}
    page = client.get("/login", environ_overrides=environ).get_data(as_text=True)
    return client.post("/login", data={"username": username, "password": password, "csrf_token": csrf_token(page)},
                       environ_overrides=environ)


def details(user: User, **changes) -> dict:
    data = {"full_name": user.full_name, "role": user.role, "phone": user.phone or "", "ward_id": user.ward_id or 0,
            "active": "y" if user.active else None}
    data.update(changes)
    return {k: v for k, v in data.items() if v is not None}


# --- logins ------------------------------------------------------------------------------------

def test_a_login_and_a_logout_are_recorded_with_the_address(app, hospital):
    client, address = app.test_client(), _address()
    assert attempt_login(client, "dispatcher", PASSWORD, address).status_code == 302
    page = client.get("/board/", environ_overrides={"REMOTE_ADDR": address}).get_data(as_text=True)
    client.post("/logout", data={"csrf_token": csrf_token(page)}, environ_overrides={"REMOTE_ADDR": address})
    dispatcher = hospital.users["dispatcher"].id
    recorded = [(e.kind, e.actor_id, e.subject_id, e.address) for e in events()]
    assert recorded == [("login_succeeded", dispatcher, dispatcher, address), ("logout", dispatcher, dispatcher, address)]


@pytest.mark.parametrize("username,password,reason", [
    ("dispatcher", "wrong-password", "password"),
    ("nobody.here", PASSWORD, "unknown"),
])
def test_a_failed_login_is_recorded_with_the_name_tried_and_why(app, hospital, username, password, reason):
    address = _address()
    assert attempt_login(app.test_client(), username, password, address).status_code == 200
    (event,) = events()
    assert (event.kind, event.actor_id, event.subject, event.address, event.detail) == (
        "login_failed", None, username, address, {"reason": reason})
    assert event.subject_id == (hospital.users["dispatcher"].id if reason == "password" else None)


def test_a_switched_off_account_failing_to_log_in_is_recorded_as_such(app, hospital):
    db.session.get(User, hospital.users["volt"].id).active = False
    db.session.commit()
    assert attempt_login(app.test_client(), "volt", PASSWORD, _address()).status_code == 200
    assert [(e.kind, e.detail) for e in events()] == [("login_failed", {"reason": "inactive"})]


def test_an_alarm_panels_account_trying_the_pages_is_recorded_as_such(app, hospital):
    from tests.factories import make_user

    panel = make_user("bms", "integration")
    db.session.commit()
    client = app.test_client()
    response = attempt_login(client, "bms", PASSWORD, _address())
    assert response.status_code == 200 and "alarm panel" in response.get_data(as_text=True)
    assert [(e.kind, e.subject_id, e.detail) for e in events()] == [("login_failed", panel.id, {"reason": "api_only"})]
    assert client.get("/").status_code == 302  # still nobody


def test_behind_a_trusted_proxy_the_clients_own_address_is_recorded(app, hospital):
    from dispatch import create_app

    proxied = create_app({**app.config, "PROXY_FIX_X_FOR": 1})
    client = proxied.test_client()
    environ = {"REMOTE_ADDR": "10.0.0.1"}  # the proxy
    headers = {"X-Forwarded-For": "203.0.113.9, 198.51.100.7"}  # the client wrote the first; our proxy the last
    page = client.get("/login", environ_overrides=environ, headers=headers).get_data(as_text=True)
    client.post("/login", data={"username": "manager", "password": PASSWORD, "csrf_token": csrf_token(page)},
                environ_overrides=environ, headers=headers)
    assert [(e.kind, e.address) for e in events()] == [("login_succeeded", "198.51.100.7")]


# --- staff changes -------------------------------------------------------------------------------

def test_a_role_change_is_recorded_with_who_whom_and_both_roles(login_as, hospital):
    admin = login_as("admin")
    dispatcher = hospital.user("dispatcher")
    assert admin.post(f"/admin/staff/{dispatcher.id}", data=details(dispatcher, role="supervisor")).status_code == 302
    (event,) = events("role_changed")
    assert (event.actor_id, event.subject_id, event.detail) == (
        hospital.users["admin"].id, dispatcher.id, {"from": "dispatcher", "to": "supervisor"})


def test_editing_a_name_alone_records_no_role_change(login_as, hospital):
    sparky = hospital.user("sparky")
    assert login_as("manager").post(f"/admin/staff/{sparky.id}", data=details(sparky, full_name="Wang Lei")).status_code == 302
    assert [e.kind for e in events() if e.kind != "login_succeeded"] == []


def test_switching_an_account_off_and_on_is_recorded(login_as, hospital):
    admin = login_as("admin")
    volt = hospital.user("volt")
    admin.post(f"/admin/staff/{volt.id}", data=details(volt, active=None))
    admin.post(f"/admin/staff/{volt.id}", data=details(hospital.user("volt"), active="y"))
    assert [(e.kind, e.subject_id) for e in events() if e.kind != "login_succeeded"] == [
        ("user_deactivated", volt.id), ("user_reactivated", volt.id)]


def test_a_refused_role_change_leaves_no_event(login_as, hospital):
    """The event is written in the change's own transaction: a change refused half-way records nothing."""
    dispatcher = hospital.user("dispatcher")
    response = login_as("manager").post(f"/admin/staff/{dispatcher.id}", data=details(dispatcher, role="admin"))
    assert response.status_code == 422
    nurse = hospital.user("nurse.icu")
    response = login_as("admin").post(f"/admin/staff/{nurse.id}", data=details(nurse, role="technician", phone=""))
    assert response.status_code == 422
    assert [e.kind for e in events() if e.kind != "login_succeeded"] == []


def test_a_new_account_is_recorded_with_its_role_and_maker(login_as, hospital):
    response = login_as("manager").post("/admin/staff/new", data={
        "username": "new.nurse", "password": "long-enough-1", "full_name": "New Nurse", "role": "nurse",
        "ward_id": hospital.icu.id, "phone": ""})
    assert response.status_code == 302
    (event,) = events("user_created")
    created = db.session.scalar(select(User).where(User.username == "new.nurse"))
    assert (event.actor_id, event.subject_id, event.subject, event.detail) == (
        hospital.users["manager"].id, created.id, "new.nurse", {"role": "nurse"})


# --- API tokens ----------------------------------------------------------------------------------

def test_tokens_made_and_revoked_are_recorded(app, hospital):
    sparky = hospital.users["sparky"].id
    create_token(sparky, "tablet")
    token_id = db.session.scalar(select(func.max(ApiToken.id)))
    revoke_token(token_id, actor_id=hospital.users["admin"].id)
    revoke_token(token_id)  # again: already revoked, nothing new happens
    assert [(e.kind, e.actor_id, e.subject_id, e.subject, e.detail) for e in events()] == [
        ("token_created", None, sparky, "tablet", {"token_id": token_id}),
        ("token_revoked", hospital.users["admin"].id, sparky, "tablet", {"token_id": token_id}),
    ]


def test_token_use_is_recorded_at_most_once_a_minute(app, hospital, clock, api_token):
    headers = api_token("dispatcher")
    client = app.test_client()
    for _ in range(5):  # a panel posting every few seconds
        assert client.get("/api/v1/tickets", headers=headers, environ_overrides={"REMOTE_ADDR": "10.1.2.3"}).status_code == 200
        clock.advance(seconds=10)
    assert len(events("token_used")) == 1
    clock.advance(seconds=30)  # over a minute since the recorded use
    client.get("/api/v1/tickets", headers=headers)
    used = events("token_used")
    assert len(used) == 2
    assert used[0].address == "10.1.2.3" and used[0].actor_id == hospital.users["dispatcher"].id
    assert used[1].at - used[0].at > timedelta(minutes=1)


def test_a_refused_token_is_not_recorded_as_used(app, hospital):
    app.test_client().get("/api/v1/tickets", headers={"Authorization": "Bearer dsp_not-a-real-token"})
    assert events("token_used") == []


# --- the page ------------------------------------------------------------------------------------

def test_the_audit_page_lists_and_filters_events(login_as, hospital, app):
    attempt_login(app.test_client(), "nobody.here", "x-wrong-1", _address())
    admin = login_as("admin")
    dispatcher = hospital.user("dispatcher")
    admin.post(f"/admin/staff/{dispatcher.id}", data=details(dispatcher, role="supervisor"))

    page = admin.get("/admin/audit").get_data(as_text=True)
    assert "Role changed" in page and "Login failed" in page and "nobody.here" in page
    only_roles = admin.get("/admin/audit?kind=role_changed").get_data(as_text=True)
    assert "Role changed" in only_roles and "nobody.here" not in only_roles
    by_person = admin.get(f"/admin/audit?person={dispatcher.id}").get_data(as_text=True)
    assert "1 event" in by_person and "Role changed" in by_person
    # Days in hospital time: the frozen clock stands at 2026-03-10 10:00 in Shanghai.
    assert "Nothing recorded" in admin.get("/admin/audit?start=2026-03-11").get_data(as_text=True)
    assert "Role changed" in admin.get("/admin/audit?start=2026-03-10&end=2026-03-10").get_data(as_text=True)


def test_the_audit_page_goes_back_fifty_events_a_page(login_as, hospital, clock):
    from dispatch.services.unit_of_work import write_transaction

    for i in range(120):
        clock.advance(seconds=1)
        with write_transaction() as session:
            audit.add(session, "login_failed", subject=f"guess{i:03d}")
    admin = login_as("admin")
    first = admin.get("/admin/audit?kind=login_failed").get_data(as_text=True)
    assert "guess119" in first and "guess070" in first and "guess069" not in first
    assert "Page 1 of 3" in first
    last = admin.get("/admin/audit?kind=login_failed&page=3").get_data(as_text=True)
    assert "guess019" in last and "guess000" in last and "guess020" not in last
    # A page past the end shows the last one.
    assert "guess000" in admin.get("/admin/audit?kind=login_failed&page=99").get_data(as_text=True)


@pytest.mark.parametrize("query", [
    "kind=everything", "person=abc", "person=99999", "start=2026-13-01", "end=yesterday", "page=-1",
    "page=99999999999999999999", "start=0001-01-01", "end=9999-12-31", "start=2026-03-10&end=2026-03-01",
])
def test_bad_filter_values_are_named_not_500(login_as, query):
    response = login_as("admin").get(f"/admin/audit?{query}")
    assert response.status_code == 200
    assert 'class="field-error"' in response.get_data(as_text=True)
