"""Utility interruptions: a planned one announced to its wards by the scheduler at its lead time, exactly once (the
clock moved, two schedulers); the log opened from a major incident, prefilled; the pages, the API, and the binder's
figures equal the pages' (permits and interruptions)."""
from __future__ import annotations

import re
from datetime import date, datetime, timedelta, timezone

import pytest
from sqlalchemy import select

from dispatch.seed_permits import give_permit_licence, seed_permit_rules
from dispatch.services import incidents, interruptions, permits
from dispatch.services.assignment import assign_ticket
from dispatch.services.scheduler import Rounds
from dispatch.services.tickets import report_fault, transition
from models import OutboundMessage, Permit, User, UtilityInterruption, db
from tests.conftest import text_of
from tests.factories import give_licence, make_user

NURSE_PHONE = "+8613900000012"
TODAY = date(2026, 3, 10)


def ward_notices() -> list[OutboundMessage]:
    return list(db.session.scalars(select(OutboundMessage).where(OutboundMessage.kind == "ward_notice")
                                   .order_by(OutboundMessage.id)))


def planned_water(hospital, clock, **changes) -> UtilityInterruption:
    values = dict(utility="water", planned=True, starts_at=clock.now() + timedelta(hours=72),
                  ends_at=clock.now() + timedelta(hours=75), cause="Main valve replacement",
                  ward_ids=[hospital.icu.id, hospital.ward3.id], notice_hours=48)
    values.update(changes)
    return interruptions.save_interruption(hospital.user("manager"), None, interruptions.InterruptionValues(**values))


def test_a_planned_interruption_is_announced_at_its_lead_time_exactly_once(hospital, clock):
    hospital.user("nurse.icu").phone = NURSE_PHONE
    db.session.commit()
    planned_water(hospital, clock)
    first, second = Rounds(), Rounds()  # two schedulers running side by side
    for hours in (0, 23, 23.98):
        clock.set(datetime(2026, 3, 10, 2, 0, tzinfo=timezone.utc) + timedelta(hours=hours))
        first.tick(clock.now())
    assert ward_notices() == []
    clock.set(datetime(2026, 3, 11, 2, 0, tzinfo=timezone.utc))  # 72 h before the start less 48 h notice
    first.tick(clock.now())
    second.tick(clock.now() + timedelta(minutes=2))
    notices = ward_notices()
    # ICU's nurse by SMS; Ward 3 has nobody with a mobile: one failed row says it was not told.
    assert [(n.recipient.username if n.recipient else None, n.state != "failed") for n in notices] == [
        ("nurse.icu", True), (None, False)]
    assert "planned Water interruption" in notices[0].body and "Main valve replacement" in notices[0].body
    for later in (1, 30, 70):
        clock.set(datetime(2026, 3, 11, 2, 0, tzinfo=timezone.utc) + timedelta(hours=later))
        first.tick(clock.now())
        second.tick(clock.now())
    assert len(ward_notices()) == 2
    assert db.session.scalar(select(UtilityInterruption)).announced_at == datetime(2026, 3, 11, 2, 0, tzinfo=timezone.utc)


def test_an_unplanned_or_finished_interruption_is_never_announced(hospital, clock):
    planned_water(hospital, clock, planned=False)
    planned_water(hospital, clock, starts_at=clock.now() - timedelta(hours=5), ends_at=clock.now() - timedelta(hours=1))
    assert interruptions.announce_due(clock.now() + timedelta(days=5)) == 0 and ward_notices() == []


def test_moving_a_planned_interruption_moves_its_notice(hospital, clock):
    entry = planned_water(hospital, clock)
    values = interruptions.values_of(entry)
    values.starts_at += timedelta(days=2)
    values.ends_at += timedelta(days=2)
    interruptions.save_interruption(hospital.user("manager"), entry.id, values)
    assert interruptions.announce_due(clock.now() + timedelta(hours=24)) == 0
    assert interruptions.announce_due(clock.now() + timedelta(hours=72)) == 2


@pytest.mark.parametrize("change, field", [
    ({"utility": "steam"}, "utility"), ({"ends_at": datetime(2026, 3, 1, tzinfo=timezone.utc)}, "ends_at"),
    ({"cause": "  "}, "cause"), ({"ward_ids": []}, "ward_ids"), ({"ward_ids": [987654]}, "ward_ids"),
    ({"notice_hours": -1}, "notice_hours"), ({"ticket_ids": [987654]}, "ticket_ids"),
])
def test_a_bad_entry_names_the_field(hospital, clock, change, field):
    with pytest.raises(Exception) as refused:
        planned_water(hospital, clock, **change)
    assert getattr(refused.value, "field", None) == field


def lift_incident(hospital):
    reports = [report_fault(hospital.user(n), ward_id=hospital.user(n).ward_id, trade_id=hospital.trades["lift"].id,
                            description="Lift stuck between floors") for n in ("nurse.icu", "nurse.ward3")]
    return incidents.group_reports(hospital.trades["lift"].id, hospital.icu.building_id, hospital.user("dispatcher")), reports


def test_a_major_incident_offers_the_interruption_log_prefilled(hospital, clock, login_as):
    incident, reports = lift_incident(hospital)
    board = login_as("dispatcher").get("/board/").get_data(as_text=True)
    assert f"/interruptions/new?incident={incident.id}" in board
    browser = login_as("dispatcher")
    form = browser.get(f"/interruptions/new?incident={incident.id}").get_data(as_text=True)
    assert re.search(r'<option selected value="lift">', form) and "Lift stuck between floors" in form
    assert f'value="{reports[0].id}, {reports[1].id}"' in form or f'value="{reports[1].id}, {reports[0].id}"' in form
    response = browser.post("/interruptions/new", data={
        "utility": "lift", "starts_at": "2026-03-10T09:30", "ends_at": "2026-03-10T10:15", "cause": "Lift stuck",
        "ward_ids": [hospital.icu.id, hospital.ward3.id], "plan_version_id": "0", "notice_hours": "0",
        "clinical_actions": "Patients moved by the other lift", "incident_id": str(incident.id),
        "ticket_ids": f"{reports[0].id}, #{reports[1].id}"})
    assert response.status_code == 302, text_of(response.get_data(as_text=True))
    entry = db.session.scalar(select(UtilityInterruption))
    assert (entry.incident_id, sorted(t.id for t in entry.tickets), entry.minutes, entry.planned) == (
        incident.id, sorted(r.id for r in reports), 45, False)


def test_the_form_names_a_bad_ticket_list(hospital, clock, login_as):
    response = login_as("dispatcher").post("/interruptions/new", data={
        "utility": "power", "starts_at": "2026-03-10T09:30", "cause": "Trip", "ward_ids": [hospital.icu.id],
        "plan_version_id": "0", "ticket_ids": "12a"})
    assert response.status_code == 422 and "Ticket numbers separated by commas" in response.get_data(as_text=True)


# ---- the binder's figures are the pages' -------------------------------------------------------------

def figures(page: str, element_id: str) -> list[int]:
    found = re.search(rf'id="{element_id}">(.*?)<', page, re.DOTALL)
    return [int(n) for n in re.findall(r"\d+", found.group(1))]


def a_permit_history(hospital, clock):
    """Two permits issued this month on a lift job: one cancelled in time, one that outlasted its window."""
    seed_permit_rules()
    liftman = make_user("liftman", "technician", phone="+8613900000020")
    ap = make_user("ap.lift", "supervisor")
    db.session.flush()
    give_licence(liftman, "lift", TODAY - timedelta(days=9), TODAY + timedelta(days=300))
    give_permit_licence(liftman, "cp-lift", TODAY - timedelta(days=9), TODAY + timedelta(days=300), "CP-L")
    give_permit_licence(ap, "ap-lift", TODAY - timedelta(days=9), TODAY + timedelta(days=300), "AP-L")
    db.session.commit()
    ticket = report_fault(hospital.user("dispatcher"), ward_id=hospital.icu.id, trade_id=hospital.trades["lift"].id,
                          priority=3, description="Lift door operator replacement")
    assign_ticket(ticket.id, liftman.id, hospital.user("dispatcher"))
    made = []
    for hours in (1, 2):
        permit = permits.draft_permit(hospital.user("dispatcher"), ticket.id, permits.PermitValues(
            work="Door operator", isolation_points="Motor room isolator", precautions="Barriers",
            ward_ids=[hospital.icu.id], valid_from=clock.now(), valid_until=clock.now() + timedelta(hours=hours)))
        permits.issue_permit(permit.id, db.session.get(User, ap.id))
        permits.accept_permit(permit.id, db.session.get(User, liftman.id))
        clock.advance(hours=1.5)
        permits.cancel_permit(permit.id, db.session.get(User, ap.id), "Lift returned to service")
        made.append(permit.id)
    return made


def test_the_binders_figures_equal_the_pages(hospital, clock, login_as):
    a_permit_history(hospital, clock)
    planned_water(hospital, clock, starts_at=clock.now() - timedelta(hours=6), ends_at=clock.now() - timedelta(hours=4))
    planned_water(hospital, clock, planned=False, starts_at=clock.now() - timedelta(hours=3),
                  ends_at=clock.now() - timedelta(hours=2))
    start, end = date(2026, 3, 1), date(2026, 3, 31)
    browser = login_as("manager")
    permit_page = browser.get(f"/permits/?start={start}&end={end}").get_data(as_text=True)
    log_page = browser.get(f"/interruptions/?start={start}&end={end}").get_data(as_text=True)
    [permit_section] = permits.binder_sections(start, end, None, "en")
    [log_section] = interruptions.binder_sections(start, end, None, "en")
    total, live, overran = figures(permit_page, "permit-figures")[:3]
    assert (len(permit_section.rows), len(permit_section.deficiencies)) == (total, overran) == (2, 1)
    assert live == 0
    assert permit_section.summary.startswith(f"{total} permits issued, {live} live, {overran} outlasted")
    counted, planned, unplanned, minutes = figures(log_page, "interruption-figures")
    assert (len(log_section.rows), sum(r[3] == "planned" for r in log_section.rows)) == (counted, planned) == (2, 1)
    assert (unplanned, minutes) == (1, 180)
    # The planned one started without the wards being told (it was logged afterwards): a deficiency.
    assert len(log_section.deficiencies) == 1
    assert log_section.summary == "2 interruptions (1 planned, 1 unplanned), 180 minutes"


def test_the_binder_speaks_chinese(hospital, clock, app):
    a_permit_history(hospital, clock)
    from flask_babel import force_locale

    with force_locale("zh_CN"):
        [section] = permits.binder_sections(date(2026, 3, 1), date(2026, 3, 31), None, "zh_CN")
    assert section.title == "工作许可证"


# ---- pages and API ----------------------------------------------------------------------------------

def test_a_permit_drafted_issued_and_printed_from_the_pages(hospital, clock, login_as, api_token):
    seed_permit_rules()
    gasman = make_user("gasman", "technician")
    ap = make_user("ap.gas", "supervisor")
    db.session.flush()
    give_licence(gasman, "pressure-vessel", TODAY, TODAY + timedelta(days=30))
    give_permit_licence(gasman, "cp-medical-gas", TODAY, TODAY + timedelta(days=30), "CP-G")
    give_permit_licence(ap, "ap-medical-gas", TODAY, TODAY + timedelta(days=30), "AP-G")
    db.session.commit()
    ticket = report_fault(hospital.user("dispatcher"), ward_id=hospital.icu.id, trade_id=hospital.trades["gas"].id,
                          priority=3, description="AVSU replacement")
    assign_ticket(ticket.id, gasman.id, hospital.user("dispatcher"))
    dispatcher = login_as("dispatcher")
    assert "This work needs an accepted permit" in dispatcher.get(f"/tickets/{ticket.id}").get_data(as_text=True)
    bad = dispatcher.post(f"/tickets/{ticket.id}/permit", data={
        "work": "AVSU", "isolation_points": "", "precautions": "Cylinders", "ward_ids": [hospital.icu.id],
        "valid_from": "2026-03-10T10:00", "valid_until": "2026-03-10T14:00"})
    assert bad.status_code == 422 and "This field is required." in bad.get_data(as_text=True)
    made = dispatcher.post(f"/tickets/{ticket.id}/permit", data={
        "work": "AVSU", "isolation_points": "AVSU ICU-O2", "precautions": "Cylinders", "ward_ids": [hospital.icu.id],
        "valid_from": "2026-03-10T10:00", "valid_until": "2026-03-10T14:00"})
    permit = db.session.scalar(select(Permit))
    assert made.headers["Location"].endswith(f"/permits/{permit.id}")
    page = login_as("ap.gas").get(f"/permits/{permit.id}").get_data(as_text=True)
    assert "Issue the permit" in page
    assert re.search(r'id="issuers">\s*<li>Ap Gas</li>', page) and re.search(r'id="acceptors">\s*<li>Gasman</li>', page)
    refused = dispatcher.post(f"/permits/{permit.id}/issue", follow_redirects=True).get_data(as_text=True)
    assert "may not issue permits" in refused and db.session.get(Permit, permit.id).state == "draft"
    login_as("ap.gas").post(f"/permits/{permit.id}/issue")
    accepted = login_as("gasman").post(f"/permits/{permit.id}/accept")
    assert accepted.status_code == 302 and db.session.get(Permit, permit.id).state == "accepted"
    pdf = dispatcher.get(f"/permits/{permit.id}.pdf")
    assert pdf.mimetype == "application/pdf" and pdf.data.startswith(b"%PDF")
    # The API answers with the same permit, and cancels it with what was restored.
    listed = hospital and db.session  # keep the session warm for the API client below
    client = dispatcher.client.application.test_client()
    shown = client.get(f"/api/v1/permits/{permit.id}", headers=api_token("dispatcher")).get_json()
    assert (shown["state"], shown["isolation_points"], shown["wards"]) == ("accepted", ["AVSU ICU-O2"], [hospital.icu.id])
    missing = client.post(f"/api/v1/permits/{permit.id}/cancel", json={}, headers=api_token("ap.gas"))
    assert missing.status_code == 422 and "restored" in str(missing.get_json()["errors"]), missing.get_json()
    done = client.post(f"/api/v1/permits/{permit.id}/cancel", json={"restored": "O2 back on"}, headers=api_token("ap.gas"))
    assert done.status_code == 200 and done.get_json()["state"] == "cancelled"
    assert listed is not None


def test_the_api_logs_an_interruption_and_refuses_bad_input_naming_the_field(hospital, clock, app, api_token):
    client = app.test_client()
    body = {"utility": "power", "planned": True, "starts_at": "2026-03-12T09:00:00+08:00",
            "ends_at": "2026-03-12T11:00:00+08:00", "cause": "Switchboard work", "ward_ids": [hospital.icu.id]}
    made = client.post("/api/v1/interruptions", json=body, headers=api_token("manager"))
    assert made.status_code == 201 and made.get_json()["ward_ids"] == [hospital.icu.id]
    assert client.post("/api/v1/interruptions", json=body, headers=api_token("sparky")).status_code == 403
    for change, field in (({"utility": "steam"}, "utility"), ({"ward_ids": []}, "ward_ids"),
                          ({"ends_at": "2026-03-11T09:00:00+08:00"}, "ends_at")):
        answer = client.post("/api/v1/interruptions", json={**body, **change}, headers=api_token("manager"))
        assert answer.status_code == 422, answer.get_json()
        errors = answer.get_json()["errors"]
        assert field in errors or field in errors.get("json", {}), errors
    listed = client.get("/api/v1/interruptions?start=2026-03-01&end=2026-03-31", headers=api_token("sparky")).get_json()
    assert [e["cause"] for e in listed] == ["Switchboard work"]
    bad = client.get("/api/v1/interruptions?start=2026-03-31&end=2026-03-01", headers=api_token("sparky"))
    assert bad.status_code == 422 and "end" in bad.get_json()["errors"]


def test_the_demo_hospital_has_a_live_gas_permit_a_planned_interruption_and_a_past_incident_logged(app, db, clock):
    from dispatch.seed import seed_demo_hospital

    seed_demo_hospital(days=3)
    [permit] = db.session.scalars(select(Permit)).all()
    assert (permit.state, permit.trade.code, permit.ticket.status) == ("accepted", "gas", "attended")
    assert permit.issued_by.username == "supervisor" and permit.accepted_by == permit.ticket.assignee
    planned, past = db.session.scalars(select(UtilityInterruption).order_by(UtilityInterruption.planned.desc())).all()
    assert planned.planned and timedelta(days=6) < planned.starts_at - clock.now() < timedelta(days=8)
    assert planned.announced_at is None and planned.announce_at == planned.starts_at - timedelta(hours=48)
    assert (past.planned, past.utility, past.incident.state) == (False, "power", "resolved")
    assert past.plan_version is not None and past.tickets == [past.incident.lead_ticket]
