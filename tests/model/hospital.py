"""The model's hospital and how the state machine reaches it: an empty database refilled for every example,
the small hospital of tests/factories.py with a rota, an alarm point and a planned schedule, and one driver
per entry point (the report page, the board, the ticket page, the JSON API, alarms, the signed SMS and voice
webhooks, and the services the control room's incident and rota pages call)."""
from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta

from sqlalchemy import select, text

from dispatch.services import alarms, planned, rota
from dispatch.services.staff import add_licence
from dispatch.services.tokens import create_token
from models import LicenceType, OnCallShift, OutboundMessage, Ticket, User, db
from tests.conftest import Browser
from tests.factories import build_hospital
from tests.webhooks import signed_post, text_in

TECHNICIANS = ("sparky", "volt", "lapsed", "plumb")
NURSES = ("nurse.icu", "nurse.ward3")
# Who the API spot check (invariant f) looks through, in turn.
VIEWERS = ("nurse.icu", "nurse.ward3", "sparky", "volt", "plumb", "lapsed", "bms", "dispatcher")
PHONES = {"supervisor": "+8613900001999", "manager": "+8613900001888"}
ALARM_SOURCE, ALARM_POINT = "BMS", "ICU-DB-1/trip"
_sids = itertools.count(1)


def empty_the_database() -> None:
    """Every row gone, sequences back at their start (as the conftest empties PostgreSQL between tests)."""
    db.session.remove()
    with db.engine.begin() as conn:
        for table in reversed(db.metadata.sorted_tables):
            conn.execute(text(f'DELETE FROM "{table.name}"'))
        if conn.dialect.name == "postgresql":
            for (sequence,) in conn.execute(text("SELECT sequencename FROM pg_sequences WHERE schemaname = 'public'")):
                start = 1001 if sequence == "ticket_id_seq" else 1
                conn.execute(text(f'ALTER SEQUENCE "{sequence}" RESTART WITH {start}'))


@dataclass
class ModelHospital:
    """Ids of everything the rules name, the API tokens and the logged-in browsers (made when first used)."""

    app: object
    users: dict[str, int]
    trades: dict[str, int]
    wards: dict[str, int]
    building_id: int
    schedule_id: int
    tokens: dict[str, dict[str, str]] = field(default_factory=dict)
    browsers: dict[str, Browser] = field(default_factory=dict)

    def user(self, name: str) -> User:
        return db.session.get(User, self.users[name])

    def browser(self, name: str) -> Browser:
        if name not in self.browsers:
            self.browsers[name] = Browser(self.app.test_client(), name)
        return self.browsers[name]

    def api(self, name: str, method: str, path: str, body: dict | None = None):
        response = getattr(self.app.test_client(), method)(f"/api/v1{path}", json=body, headers=self.tokens[name])
        assert response.status_code < 500, f"{method.upper()} {path} as {name}: {response.status_code}"
        return response


def furnish(app) -> ModelHospital:
    """The factories' hospital plus: power on call round the clock (sparky primary, volt secondary), water
    (plumb primary), a hospital-wide supervisor and duty manager with phones, an alarm point on ICU power,
    a weekly planned inspection of Ward 3's distribution board opening two days ahead, and API tokens."""
    hospital = build_hospital()
    users = {name: user.id for name, user in hospital.users.items()}
    trades = {code: trade.id for code, trade in hospital.trades.items()}
    for name, phone in PHONES.items():
        db.session.get(User, users[name]).phone = phone
    bms = User(username="bms", full_name="Block A BMS", role="integration", active=True)
    bms.set_password("unused-password-1")
    db.session.add(bms)
    for weekday in range(7):
        for trade, role, name in (("power", "primary", "sparky"), ("power", "secondary", "volt"),
                                  ("water", "primary", "plumb"), (None, "supervisor", "supervisor"),
                                  (None, "duty_manager", "manager")):
            db.session.add(OnCallShift(trade_id=trades[trade] if trade else None, role=role, user_id=users[name],
                                       weekday=weekday, starts=time(0), ends=time(0)))
    db.session.commit()
    users["bms"] = bms.id
    alarms.save_point(hospital.user("admin"), source=ALARM_SOURCE, point_id=ALARM_POINT, ward_id=hospital.icu.id,
                      asset_id=None, trade_id=trades["power"], priority=None, description="ICU distribution board")
    schedule = planned.save_schedule(hospital.user("supervisor"), planned.ScheduleValues(
        title="Distribution board inspection", ward_id=hospital.ward3.id, trade_id=trades["power"],
        start_date=date(2026, 3, 12), interval_unit="week", interval_count=1, lead_days=2,
        checklist=["Check breakers"]))
    model = ModelHospital(app=app, users=users, trades=trades,
                          wards={"icu": hospital.icu.id, "ward3": hospital.ward3.id},
                          building_id=hospital.icu.building_id, schedule_id=schedule.id)
    for name in {*VIEWERS, "dispatcher", "nurse.icu", "nurse.ward3"}:
        model.tokens[name] = {"Authorization": f"Bearer {create_token(users[name], 'model')}"}
    db.session.commit()
    return model


# ---- drivers: each one the way a person or a panel reaches the product -------------------------------

def report_by_page(model: ModelHospital, nurse: str, trade: str, patient_at_risk: bool, whole_area: bool) -> None:
    browser = model.browser(nurse)
    ward = model.wards["icu" if nurse == "nurse.icu" else "ward3"]
    form = {"ward_id": ward, "trade_id": model.trades[trade], "whole_area": "1" if whole_area else "0",
            "location_id": "0", "description": f"{trade} fault reported on the ward"}
    if patient_at_risk:
        form["patient_at_risk"] = "y"
    response = browser.post("/report", data=form)
    assert response.status_code == 302 and "/tickets/" in response.headers["Location"], response.status_code


def report_by_api(model: ModelHospital, who: str, ward: str, trade: str, priority: int | None) -> None:
    body = {"ward_id": model.wards[ward], "trade": trade, "description": f"{trade} fault by API"}
    if priority is not None:
        body["priority"] = priority
    model.api(who, "post", "/tickets", body)


def report_by_alarm(model: ModelHospital, state: str, moment: datetime) -> None:
    model.api("bms", "post", "/alarms", {"source": ALARM_SOURCE, "point_id": ALARM_POINT, "condition": "Breaker trip",
                                         "severity": "major", "state": state, "time": moment.isoformat()})


def assign_by_board(model: ModelHospital, ticket_id: int, technician: str, version: int | None) -> None:
    data = {"technician_id": model.users[technician], "version": "" if version is None else str(version)}
    response = model.browser("dispatcher").post(f"/board/{ticket_id}/assign", data=data)
    if response.status_code == 200:  # a reassignment first asks, naming who loses the job: the dispatcher confirms
        response = model.browser("dispatcher").post(f"/board/{ticket_id}/assign", data={**data, "confirmed": "1"})
    assert response.status_code == 302, response.status_code


def assign_by_api(model: ModelHospital, ticket_id: int, technician: str, version: int | None) -> None:
    model.api("dispatcher", "post", f"/tickets/{ticket_id}/assign",
              {"technician_id": model.users[technician], "version": version})


def act_by_api(model: ModelHospital, who: str, ticket_id: int, action: str, note: str | None) -> None:
    model.api(who, "post", f"/tickets/{ticket_id}/{action.replace('_', '-')}", {"note": note})


def act_by_page(model: ModelHospital, who: str, ticket_id: int, action: str, note: str | None) -> None:
    response = model.browser(who).post(f"/tickets/{ticket_id}/{action}", data={"note": note or ""})
    assert response.status_code in (302, 403, 404), response.status_code


def reprioritise_by_board(model: ModelHospital, ticket_id: int, priority: int) -> None:
    response = model.browser("dispatcher").post(f"/board/{ticket_id}/priority",
                                                data={"priority": str(priority), "note": "Control room's judgement"})
    assert response.status_code == 302, response.status_code


def group_by_page(model: ModelHospital, trade: str) -> None:
    response = model.browser("dispatcher").post("/incidents/group", data={
        "trade_id": model.trades[trade], "building_id": model.building_id})
    assert response.status_code == 302, response.status_code


def ungroup_by_page(model: ModelHospital, ticket_id: int) -> None:
    response = model.browser("dispatcher").post(f"/incidents/ungroup/{ticket_id}", data={"note": "Not the same fault"})
    assert response.status_code == 302, response.status_code


def resolve_incident_by_page(model: ModelHospital, incident_id: int) -> None:
    response = model.browser("dispatcher").post(f"/incidents/{incident_id}/resolve", data={"note": "Supply restored"})
    assert response.status_code == 302, response.status_code


def sms_from(model: ModelHospital, technician: str, body: str) -> None:
    text_in(model.app, db.session.get(User, model.users[technician]).phone, body)


def voice_key(model: ModelHospital, message_id: int, digit: str) -> None:
    message = db.session.get(OutboundMessage, message_id)
    response = signed_post(model.app, f"/voice/call/{message_id}/digits", {
        "CallSid": f"CA{next(_sids):032x}", "From": model.app.config["TWILIO_FROM_NUMBER"], "To": message.to_number,
        "Digits": digit})
    assert response.status_code == 200, response.status_code


def renew_licence(model: ModelHospital, technician: str, today: date) -> None:
    code = "plumbing" if technician == "plumb" else "lv-electrician"
    licence_type = db.session.scalar(select(LicenceType).where(LicenceType.code == code))
    add_licence(model.users[technician], licence_type.id, number=f"R-{technician}-{today.isoformat()}",
                issuer="Test bureau", issued_on=today, expires_on=today + timedelta(days=365))


def rota_override(model: ModelHospital, kind: str, who: str, instead_of: str | None, starts_at: datetime,
                  hours: int) -> None:
    rota.add_override(kind=kind, user_id=model.users[who], starts_at=starts_at,
                      ends_at=starts_at + timedelta(hours=hours), actor_id=model.users["supervisor"],
                      **({"replaces_user_id": model.users[instead_of], "trade_id": model.trades["power"],
                          "role": "primary"} if instead_of else {}))


def ticket_ids() -> list[int]:
    return list(db.session.scalars(select(Ticket.id).order_by(Ticket.id)))
