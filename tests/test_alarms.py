"""Alarm intake: panels open a ticket, a repeat is counted on it, a clear is recorded but closes nothing,
an unmapped point is refused naming it and kept for the admin; rate-limited per token, also without Redis."""
from __future__ import annotations

import socket

import pytest

from dispatch.services import alarms
from models import Alarm, AlarmPoint, Asset, Ticket, TicketEvent, User, db
from tests.factories import make_user

SOURCE = "bms-block-a"


@pytest.fixture
def panel(app, hospital, api_token):
    """An integration account (the building-management system) and its token; one mapped point."""
    make_user("bms", "integration", full_name="Block A BMS")
    asset = Asset(tag="AHU-3", name="Air handler 3", ward_id=hospital.icu.id)
    db.session.add(asset)
    db.session.flush()
    db.session.add(AlarmPoint(source=SOURCE, point_id="AHU-3/FAULT", ward_id=hospital.icu.id, asset_id=asset.id,
                              trade_id=hospital.trades["hvac"].id, priority=2, description="Air handler 3 trip",
                              occurrences=0, alarm_active=False))
    db.session.commit()
    client = app.test_client()
    headers = api_token("bms")

    def send(state="active", point="AHU-3/FAULT", **extra):
        body = {"source": SOURCE, "point_id": point, "condition": "Supply fan tripped", "severity": "major",
                "time": "2026-03-10T09:59:30+08:00", "state": state, **extra}
        return client.post("/api/v1/alarms", json=body, headers=headers)

    send.asset = asset
    return send


def events(ticket_id: int, kind: str) -> list[TicketEvent]:
    db.session.expire_all()
    return db.session.query(TicketEvent).filter_by(ticket_id=ticket_id, kind=kind).order_by(TicketEvent.id).all()


def test_an_active_alarm_opens_a_ticket_with_the_mapped_place_trade_and_priority(panel, hospital):
    response = panel()
    assert response.status_code == 201, response.get_json()
    body = response.get_json()
    assert body["outcome"] == "opened" and body["occurrences"] == 1
    ticket = body["ticket"]
    assert (ticket["trade"], ticket["ward"], ticket["priority"], ticket["status"]) == ("hvac", "ICU", 2, "new")
    assert "Supply fan tripped" in ticket["description"] and "AHU-3/FAULT" in ticket["description"]
    stored = db.session.get(Ticket, ticket["number"])
    assert stored.asset_id == panel.asset.id and stored.reporter.username == "bms"
    assert events(stored.id, "reported")[0].channel == "alarm"


def test_a_repeat_of_the_same_active_alarm_is_counted_on_its_ticket_not_filed_again(panel):
    first = panel().get_json()
    second = panel()
    third = panel()
    assert second.status_code == 200 and third.status_code == 200
    assert third.get_json()["outcome"] == "repeat" and third.get_json()["occurrences"] == 3
    number = first["ticket"]["number"]
    assert third.get_json()["ticket"]["number"] == number
    assert db.session.query(Ticket).count() == 1
    repeats = events(number, "alarm_repeat")
    assert [e.data["occurrences"] for e in repeats] == [2, 3]
    assert db.session.query(Alarm).filter_by(outcome="repeat").count() == 2


def test_a_cleared_alarm_is_recorded_on_the_ticket_which_stays_open(panel):
    number = panel().get_json()["ticket"]["number"]
    response = panel(state="cleared")
    assert response.status_code == 200
    assert response.get_json()["outcome"] == "cleared"
    assert response.get_json()["ticket"]["status"] == "new"  # a technician must still attend and resolve
    [cleared] = events(number, "alarm_cleared")
    assert "stays open" in cleared.note
    # The alarm coming back while the ticket is open is the same job again.
    again = panel().get_json()
    assert again["outcome"] == "repeat" and again["ticket"]["number"] == number
    assert "active again" in events(number, "alarm_repeat")[-1].note


def test_after_its_ticket_is_finished_a_new_alarm_opens_a_new_ticket(panel, hospital):
    from dispatch.services.tickets import transition

    number = panel().get_json()["ticket"]["number"]
    transition(number, "cancel", hospital.user("dispatcher"), note="Test of the panel")
    assert panel(state="cleared").get_json()["outcome"] == "cleared_no_ticket"
    fresh = panel().get_json()
    assert fresh["outcome"] == "opened" and fresh["ticket"]["number"] != number


def test_an_unmapped_point_is_422_naming_it_and_listed_for_the_admin(panel):
    response = panel(point="CHW-9/LOW")
    assert response.status_code == 422
    body = response.get_json()
    assert body["error"] == "UnmappedAlarmPointError"
    assert "CHW-9/LOW" in body["message"] and "CHW-9/LOW" in body["errors"]["point_id"][0]
    panel(point="CHW-9/LOW")
    [unmapped] = alarms.unmapped_points()
    assert (unmapped.source, unmapped.point_id, unmapped.count) == (SOURCE, "CHW-9/LOW", 2)
    assert db.session.query(Ticket).count() == 0


def test_a_point_may_be_named_by_the_asset_id(panel):
    response = panel(point=None, asset_id=panel.asset.id)
    assert response.status_code == 201
    assert response.get_json()["ticket"]["trade"] == "hvac"


@pytest.mark.parametrize("change, field", [
    ({"state": "gone"}, "state"), ({"severity": "loud"}, "severity"), ({"time": "yesterday"}, "time"),
    ({"time": "2026-03-10T10:00:00"}, "time"), ({"source": ""}, "source"), ({"condition": None}, "condition"),
])
def test_invalid_alarms_answer_422_naming_the_field(panel, change, field):
    response = panel(**change)
    assert response.status_code == 422
    assert field in response.get_json()["errors"]


def test_only_integration_accounts_send_alarms(app, panel, api_token):
    response = app.test_client().post("/api/v1/alarms", headers=api_token("nurse.icu"), json={
        "source": SOURCE, "point_id": "AHU-3/FAULT", "condition": "x", "severity": "major",
        "time": "2026-03-10T10:00:00+08:00", "state": "active"})
    assert response.status_code == 403 and response.get_json()["error"] == "PermissionDeniedError"


def test_past_the_limit_a_token_is_answered_429_and_another_token_is_not(app, panel, api_token, redis_conn):
    app.config["ALARM_RATE_LIMIT"] = "3/minute"
    answers = [panel().status_code for _ in range(4)]
    assert answers == [201, 200, 200, 429]
    limited = panel()
    assert limited.status_code == 429
    assert limited.get_json()["error"] == "Too Many Requests" and limited.get_json()["message"]
    assert "Retry-After" in limited.headers
    make_user("mgps", "integration")
    db.session.commit()
    other = app.test_client().post("/api/v1/alarms", headers=api_token("mgps"), json={
        "source": SOURCE, "point_id": "AHU-3/FAULT", "condition": "x", "severity": "major",
        "time": "2026-03-10T10:00:00+08:00", "state": "active"})
    assert other.status_code == 200


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]  # closed again when this returns: nothing listens there


def test_with_redis_down_alarms_are_still_answered_and_still_limited(database_url, clock, hospital, tmp_path):
    from dispatch import create_app
    from dispatch.services.tokens import create_token

    app = create_app({"TESTING": True, "SECRET_KEY": "t", "SQLALCHEMY_DATABASE_URI": database_url, "CLOCK": clock,
                      "REDIS_URL": f"redis://127.0.0.1:{_closed_port()}/0", "ALARM_RATE_LIMIT": "3/minute",
                      "PASSWORD_HASH_METHOD": "pbkdf2:sha256:1000"})
    with app.app_context():
        make_user("bms", "integration")
        db.session.add(AlarmPoint(source=SOURCE, point_id="P1", ward_id=hospital.icu.id,
                                  trade_id=hospital.trades["power"].id, description="Main incomer",
                                  occurrences=0, alarm_active=False))
        db.session.commit()
        token = create_token(db.session.query(User).filter_by(username="bms").one().id, "bms")
        client = app.test_client()
        body = {"source": SOURCE, "point_id": "P1", "condition": "Mains lost", "severity": "critical",
                "time": "2026-03-10T10:00:00+08:00", "state": "active"}
        answers = [client.post("/api/v1/alarms", json=body, headers={"Authorization": f"Bearer {token}"}).status_code
                   for _ in range(5)]
        db.session.remove()
        db.engine.dispose()
    assert 500 not in answers
    assert answers[:3] == [201, 200, 200]  # counted in memory while Redis is away
    assert answers[3:] == [429, 429]


def test_the_admin_maps_an_unmapped_point_from_the_list_and_then_its_alarms_open_tickets(panel, hospital, login_as):
    assert panel(point="CHW-9/LOW").status_code == 422
    admin = login_as("admin")
    page = admin.get("/integrations/alarm-points").get_data(as_text=True)
    assert "CHW-9/LOW" in page and "Map it" in page
    response = admin.post("/integrations/alarm-points/new", data={
        "source": SOURCE, "point_id": "CHW-9/LOW", "description": "Chilled water low pressure",
        "ward_id": hospital.ward3.id, "asset_id": 0, "trade_id": hospital.trades["water"].id, "priority": 0})
    assert response.status_code == 302
    assert panel(point="CHW-9/LOW").status_code == 201
    assert alarms.unmapped_points() == []


def test_only_the_admin_maps_alarm_points(login_as):
    assert login_as("dispatcher").get("/integrations/alarm-points").status_code == 403
