"""Building blocks for tests: a small hospital with wards, trades, staff and licences."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

from dispatch.seed import seed_reference_data
from models import Building, Licence, LicenceType, Location, Site, Trade, User, Ward, db
from tests.conftest import PASSWORD


@dataclass
class Hospital:
    icu: Ward
    ward3: Ward
    trades: dict[str, Trade]
    users: dict[str, User]

    def user(self, username: str) -> User:
        return db.session.get(User, self.users[username].id)


def make_user(username: str, role: str, **fields) -> User:
    user = User(username=username, full_name=fields.pop("full_name", username.replace(".", " ").title()), role=role,
                active=True, **fields)
    user.set_password(PASSWORD)
    db.session.add(user)
    return user


def give_licence(tech: User, licence_code: str, issued: date, expires: date) -> Licence:
    licence_type = db.session.query(LicenceType).filter_by(code=licence_code).one()
    licence = Licence(technician=tech, licence_type=licence_type, number=f"L-{tech.username}-{licence_code}",
                      issuer="Test bureau", issued_on=issued, expires_on=expires)
    db.session.add(licence)
    return licence


def build_hospital() -> Hospital:
    """ICU (critical) and Ward 3 (general); electricians with valid, expiring-today and expired
    licences; a plumber; one nurse per ward; the control room, a manager and an admin."""
    trades = seed_reference_data()
    site = Site(name="Test campus")
    building = Building(site=site, name="Block A")
    icu = Ward(building=building, name="ICU", criticality="icu")
    ward3 = Ward(building=building, name="Ward 3", criticality="general")
    db.session.add_all([site, building, icu, ward3, Location(ward=icu, name="Bed 1"), Location(ward=ward3, name="Bay 2")])
    db.session.flush()
    # The frozen clock starts 2026-03-10 (hospital time).
    today = date(2026, 3, 10)
    users = {
        "nurse.icu": make_user("nurse.icu", "nurse", ward=icu),
        "nurse.ward3": make_user("nurse.ward3", "nurse", ward=ward3),
        "dispatcher": make_user("dispatcher", "dispatcher"),
        "dispatcher2": make_user("dispatcher2", "dispatcher"),
        "supervisor": make_user("supervisor", "supervisor"),
        "manager": make_user("manager", "manager"),
        "admin": make_user("admin", "admin"),
        "sparky": make_user("sparky", "technician", full_name="Wang Sparky", phone="+8613900000001"),
        "volt": make_user("volt", "technician", full_name="Li Volt", phone="+8613900000002"),
        "lapsed": make_user("lapsed", "technician", full_name="Zhao Lapsed", phone="+8613900000003"),
        "plumb": make_user("plumb", "technician", full_name="Liu Plumb", phone="+8613900000004"),
    }
    give_licence(users["sparky"], "lv-electrician", today - timedelta(days=400), today + timedelta(days=300))
    give_licence(users["volt"], "lv-electrician", today - timedelta(days=400), today)  # last valid day is today
    give_licence(users["lapsed"], "lv-electrician", today - timedelta(days=800), today - timedelta(days=1))
    give_licence(users["plumb"], "plumbing", today - timedelta(days=100), today + timedelta(days=600))
    db.session.commit()
    return Hospital(icu=icu, ward3=ward3, trades=trades, users=users)


@dataclass
class Furnished:
    """One of everything a page or form can name by id, on top of the small hospital: what the access
    matrix, the CSRF crawl and the form fuzzing put into URLs."""

    ids: dict[str, int | str]


def furnish_hospital(hospital: Hospital) -> Furnished:
    """Stock, an asset with its QR label, an emergency plan, an ICU power loss (P1, under that plan) assigned to
    sparky who is on site and has taken a breaker, a Ward 3 water fault from yesterday nobody has yet, a lift
    incident reported by both wards and three AC reports the board offers to group, a planned schedule with its
    first ticket open, an escalation policy, an alarm point, a rota line and a leave, swap requests, a kept
    leadership report, sparky's calendar link and an alarm panel account."""
    from datetime import datetime, timezone

    from flask import current_app

    from dispatch.services import alarms, calendar_feed, emergency_plans, incidents, leadership, planned, rota
    from dispatch.services.assignment import assign_ticket
    from dispatch.services.escalation_policies import StepInput, save_policy
    from dispatch.services.report_breaches import causes, ensure_default_causes
    from dispatch.services.stock import PartLine, issue_parts
    from dispatch.services.tickets import report_fault, transition
    from models import Asset, EmergencyPlan, Location, OutboundMessage, SwapRequest, TicketPhoto
    from tests.compliance_data import furnish_compliance
    from tests.costs_data import build_stock

    ensure_default_causes()
    stock = build_stock(hospital)
    bed = db.session.query(Location).filter_by(ward_id=hospital.icu.id).first()
    asset = Asset(tag="ICU-PANEL-1", name="Bed head panel", ward_id=hospital.icu.id, location_id=bed.id,
                  trade_id=hospital.trades["power"].id)
    db.session.add(asset)
    db.session.commit()
    content = emergency_plans.parse_content(
        title="ICU power loss", summary="Ventilators are on battery.",
        steps="Phone ICU nurse in charge\nCheck the ICU UPS panel", contacts="Duty electrician | +86 139 0000 1000",
        isolation_points="ICU essential supply | Switch room A-B1")
    plan = emergency_plans.create_plan(hospital.user("manager"), trade_id=hospital.trades["power"].id,
                                       criticality="icu", keywords=None, content=content)
    nurse_icu, nurse_ward3 = hospital.user("nurse.icu"), hospital.user("nurse.ward3")
    icu_job = report_fault(nurse_icu, ward_id=hospital.icu.id, trade_id=hospital.trades["power"].id,
                           description="No power to bed 1", location_id=bed.id, asset_id=asset.id)
    assign_ticket(icu_job.id, hospital.users["sparky"].id, hospital.user("dispatcher"))
    transition(icu_job.id, "attend", hospital.user("sparky"))
    line = issue_parts(icu_job.id, [PartLine("P-100", 1, stock["main"])], hospital.user("sparky"))[0]
    clock = current_app.extensions["dispatch.clock"]
    clock.advance(days=-1)  # reported yesterday: past its targets, so its page asks the control room for a cause
    ward3_job = report_fault(nurse_ward3, ward_id=hospital.ward3.id, trade_id=hospital.trades["water"].id,
                             description="Dripping tap in bay 2")
    clock.advance(days=1)
    for nurse in (nurse_icu, nurse_ward3, nurse_icu):  # three reports, one building: the board proposes grouping
        report_fault(nurse, ward_id=nurse.ward_id, trade_id=hospital.trades["hvac"].id, description="AC not cooling")
    lift_reports = [report_fault(nurse, ward_id=nurse.ward_id, trade_id=hospital.trades["lift"].id,
                                 description="Lift stuck between floors") for nurse in (nurse_icu, nurse_ward3)]
    incident = incidents.group_reports(hospital.trades["lift"].id, hospital.icu.building_id, hospital.user("dispatcher"))
    schedule = planned.save_schedule(hospital.user("supervisor"), planned.ScheduleValues(
        title="Monthly distribution board inspection", ward_id=hospital.icu.id, trade_id=hospital.trades["power"].id,
        start_date=date(2026, 3, 12), checklist=["Check breakers", "Test RCDs"]))
    planned.open_due(clock.now())  # due in two days: its ticket is open, with the checklist to tick
    policy = save_policy(None, name="ICU power", trade_id=hospital.trades["power"].id, priority=1, repeat=1,
                         steps=[StepInput(position=1, target="supervisor", wait_minutes=5)])
    point = alarms.save_point(hospital.user("admin"), source="BMS", point_id="AHU-1/filter", ward_id=hospital.icu.id,
                              asset_id=None, trade_id=hospital.trades["hvac"].id, priority=None,
                              description="AHU-1 filter blocked")
    shift = rota.add_shift(trade_id=hospital.trades["power"].id, role="primary", user_id=hospital.users["sparky"].id,
                           weekday=2, starts="08:00", ends="20:00")
    wednesday = (datetime(2026, 3, 11, 0, tzinfo=timezone.utc), datetime(2026, 3, 11, 12, tzinfo=timezone.utc))
    leave = rota.add_override(kind="leave", user_id=hospital.users["volt"].id, starts_at=wednesday[0],
                              ends_at=wednesday[1], actor_id=None)
    swaps = [SwapRequest(requester_id=hospital.users[asker].id, colleague_id=hospital.users[asked].id,
                         trade_id=hospital.trades["power"].id, role="primary", starts_at=wednesday[0],
                         ends_at=wednesday[1], state="pending", created_at=wednesday[0] - timedelta(days=1))
             for asker, asked in (("sparky", "volt"), ("volt", "lapsed"))]
    db.session.add_all(swaps)
    integration = make_user("bms", "integration", full_name="Block A BMS")
    db.session.commit()
    from dispatch.clock import now

    report = leadership.generate(date(2026, 2, 1), now(), hospital.user("manager"))
    token = calendar_feed.subscribe(hospital.users["sparky"].id)
    message = db.session.query(OutboundMessage).filter_by(ticket_id=icu_job.id).first()
    hospital.users["bms"] = integration
    from dispatch.services import photos, qr_labels

    from dispatch.services import check_forms

    check_form = check_forms.save_form(hospital.user("admin"), check_forms.FormValues(
        kind="test", title="Generator 1 monthly test", ward_id=hospital.icu.id, trade_id=hospital.trades["power"].id,
        items=[check_forms.ItemValues("Transfer time", "reading", "s", None, 10)]))
    check_record = check_forms.submit_record(hospital.user("sparky"), check_form.id,
                                             {1: check_forms.Answer(reading=8.5)}).record
    from dispatch.seed_permits import seed_permit_rules
    from dispatch.services import interruptions, permits

    seed_permit_rules()  # lifts need permits: a draft on the lift incident's lead, and the incident logged
    permit = permits.draft_permit(hospital.user("dispatcher"), lift_reports[0].id, permits.PermitValues(
        work="Free the lift car", isolation_points="Lift A motor room isolator", precautions="Barriers at each landing",
        ward_ids=[hospital.icu.id], valid_from=clock.now(), valid_until=clock.now() + timedelta(hours=2)))
    interruption = interruptions.save_interruption(hospital.user("manager"), None,
                                                   interruptions.prefill_from_incident(incident.id))
    photo_note = photos.add_photos(icu_job.id, hospital.user("nurse.icu"), [photos.process(_small_png())],
                                   stage="comment", note="Scorch marks on the panel")
    return Furnished(ids={
        "icu_ticket": icu_job.id, "ward3_ticket": ward3_job.id, "lift_ticket": lift_reports[1].id,
        "part_line": line.id, "asset_code": asset.qr_code, "plan": plan.id, "plan_version": 1,
        "incident": incident.id, "schedule": schedule.id, "policy": policy.id, "alarm_point": point.id,
        "shift": shift.id, "override": leave.id, "own_swap": swaps[0].id, "others_swap": swaps[1].id,
        "leadership_report": report.id, "calendar_token": token, "message": message.id, "part": stock["breaker"],
        "store": stock["main"], "cause": causes()[0].id, "person": hospital.users["sparky"].id,
        "licence": hospital.user("sparky").licences[0].id,
        "ward3": hospital.ward3.id, "icu": hospital.icu.id,
        "photo": db.session.query(TicketPhoto).filter_by(event_id=photo_note.id).one().public_id,
        "qr_label": qr_labels.token_for("location", bed), "qr_follow": qr_labels.follow_token(icu_job.id),
        "bed": bed.id, "check_form": check_form.id, "check_record": check_record.id,
        **furnish_compliance(hospital, asset, schedule),
        "bed": bed.id, "permit": permit.id, "interruption": interruption.id,
    })


def _small_png() -> bytes:
    import io

    from PIL import Image

    out = io.BytesIO()
    Image.new("RGB", (40, 30), (200, 40, 40)).save(out, "PNG")
    return out.getvalue()
