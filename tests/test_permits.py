"""Permits to work: attend refused without an accepted permit, resolve refused while it is live; who may issue and
accept at the licence boundaries (the list and the check agree); the wards' notices; the SMS grammar; one A4 page."""
from __future__ import annotations

import io
import uuid
from datetime import date, datetime, timedelta, timezone

import pytest
from pypdf import PdfReader
from sqlalchemy import select

from dispatch.errors import IllegalTransitionError, NotLicensedError, PermissionDeniedError, ValidationError
from dispatch.seed_permits import give_permit_licence, seed_permit_rules
from dispatch.services import permit_pdf, permit_sms, permits
from dispatch.services.assignment import assign_ticket
from dispatch.services.sms_replies import handle_inbound
from dispatch.services.tickets import report_fault, transition
from models import OutboundMessage, Permit, Ticket, User, db
from tests.factories import give_licence, make_user

TODAY = date(2026, 3, 10)  # the frozen clock's hospital day
GASMAN, AP_PHONE, NURSE_PHONE = "+8613900000010", "+8613900000011", "+8613900000012"


@pytest.fixture
def gas_job(hospital, clock):
    """A medical gas job in the ICU, assigned to a licensed Competent Person and acknowledged; an Authorised
    Person (a supervisor); the ICU nurse has a mobile for the wards' notices."""
    seed_permit_rules()
    gasman = make_user("gasman", "technician", full_name="Wu Gas", phone=GASMAN)
    ap = make_user("ap.gas", "supervisor", full_name="Yang Authorised", phone=AP_PHONE)
    db.session.flush()
    give_licence(gasman, "pressure-vessel", TODAY - timedelta(days=100), TODAY + timedelta(days=300))
    give_permit_licence(gasman, "cp-medical-gas", TODAY - timedelta(days=100), TODAY + timedelta(days=300), "CP-1")
    give_permit_licence(ap, "ap-medical-gas", TODAY - timedelta(days=100), TODAY + timedelta(days=300), "AP-1")
    hospital.user("nurse.icu").phone = NURSE_PHONE
    db.session.commit()
    ticket = report_fault(hospital.user("dispatcher"), ward_id=hospital.icu.id, trade_id=hospital.trades["gas"].id,
                          priority=3, description="Replace oxygen AVSU in ICU")
    assign_ticket(ticket.id, gasman.id, hospital.user("dispatcher"))
    transition(ticket.id, "acknowledge", db.session.get(User, gasman.id))
    return ticket.id


def values(hospital, clock, **changes) -> permits.PermitValues:
    fields = dict(work="Replace AVSU", isolation_points="AVSU ICU-O2 closed", precautions="Cylinders at bedside",
                  ward_ids=[hospital.icu.id], valid_from=clock.now() - timedelta(minutes=5),
                  valid_until=clock.now() + timedelta(hours=3))
    fields.update(changes)
    return permits.PermitValues(**fields)


def person(username: str) -> User:
    return db.session.scalar(select(User).where(User.username == username))


def draft(hospital, clock, ticket_id: int, **changes) -> int:
    return permits.draft_permit(hospital.user("dispatcher"), ticket_id, values(hospital, clock, **changes)).id


def ward_notices() -> list[str]:
    return [m.body for m in db.session.scalars(select(OutboundMessage).where(OutboundMessage.kind == "ward_notice")
                                               .order_by(OutboundMessage.id))]


def test_attend_is_refused_until_the_permit_is_accepted_then_resolve_until_it_is_cancelled(hospital, clock, gas_job):
    gasman = person("gasman")
    with pytest.raises(IllegalTransitionError, match="needs a permit to work"):
        transition(gas_job, "attend", gasman)
    permit_id = draft(hospital, clock, gas_job)
    with pytest.raises(IllegalTransitionError, match="needs a permit to work"):
        transition(gas_job, "attend", gasman)  # a draft authorises nothing
    permits.issue_permit(permit_id, person("ap.gas"))
    with pytest.raises(IllegalTransitionError, match="not yet accepted"):
        transition(gas_job, "attend", gasman)
    permits.accept_permit(permit_id, gasman)
    transition(gas_job, "attend", gasman)
    with pytest.raises(IllegalTransitionError, match=f"Permit {permit_id} for ticket {gas_job} is still live"):
        transition(gas_job, "resolve", gasman, note="Valve replaced")
    assert db.session.get(Ticket, gas_job).status == "attended"
    permits.cancel_permit(permit_id, person("ap.gas"), "AVSU reopened, O2 purity tested 99.5%")
    transition(gas_job, "resolve", gasman, note="Valve replaced")
    permit = db.session.get(Permit, permit_id)
    assert (db.session.get(Ticket, gas_job).status, permit.state, permit.cancelled_by.username,
            permit.restored) == ("resolved", "cancelled", "ap.gas", "AVSU reopened, O2 purity tested 99.5%")


def test_attend_outside_the_permit_window_is_refused(hospital, clock, gas_job):
    permit_id = draft(hospital, clock, gas_job, valid_from=clock.now() + timedelta(hours=1),
                      valid_until=clock.now() + timedelta(hours=2))
    permits.issue_permit(permit_id, person("ap.gas"))
    permits.accept_permit(permit_id, person("gasman"))
    with pytest.raises(IllegalTransitionError, match="not now"):
        transition(gas_job, "attend", person("gasman"))
    clock.advance(hours=1)
    transition(gas_job, "attend", person("gasman"))


def test_work_of_a_trade_without_a_permit_rule_is_not_held(hospital, clock):
    seed_permit_rules()
    ticket = report_fault(hospital.user("nurse.ward3"), ward_id=hospital.ward3.id, trade_id=hospital.trades["water"].id,
                          description="Dripping tap")
    assign_ticket(ticket.id, hospital.users["plumb"].id, hospital.user("dispatcher"))
    transition(ticket.id, "attend", hospital.user("plumb"))
    transition(ticket.id, "resolve", hospital.user("plumb"), note="Washer replaced")


def test_power_needs_a_permit_only_for_high_voltage_work(hospital, clock):
    seed_permit_rules()
    low = report_fault(hospital.user("nurse.icu"), ward_id=hospital.icu.id, trade_id=hospital.trades["power"].id,
                       description="Socket dead at bed 1")
    high = report_fault(hospital.user("nurse.icu"), ward_id=hospital.icu.id, trade_id=hospital.trades["power"].id,
                        description="10kV switchgear alarm in the substation (high voltage)")
    assert permits.requirement_for(low) is None
    assert permits.requirement_for(high).trade.code == "power"


# ---- who may issue and accept: the list and the check agree, at the licence's boundaries ---------------

LAST_DAY_END = datetime(2026, 3, 10, 15, 59, 59, tzinfo=timezone.utc)  # 23:59:59 in Shanghai on TODAY
NEXT_DAY = datetime(2026, 3, 10, 16, 0, tzinfo=timezone.utc)


@pytest.mark.parametrize("expires, revoked_at, moment, allowed", [
    (TODAY, None, LAST_DAY_END, True),  # valid through its expiry day, hospital time
    (TODAY, None, NEXT_DAY, False),  # expired at the hospital's midnight
    (TODAY + timedelta(days=30), LAST_DAY_END, LAST_DAY_END - timedelta(seconds=1), True),  # before the revocation
    (TODAY + timedelta(days=30), LAST_DAY_END, LAST_DAY_END, False),  # revoked from the moment it is recorded
])
def test_who_may_issue_at_the_licence_boundaries(hospital, clock, expires, revoked_at, moment, allowed):
    rules = seed_permit_rules()
    ap = make_user("ap.edge", "supervisor")
    db.session.flush()
    licence = give_permit_licence(ap, "ap-medical-gas", TODAY - timedelta(days=10), expires, "AP-EDGE")
    licence.revoked_at = revoked_at
    db.session.commit()
    gas = hospital.trades["gas"].id
    listed = ap.id in {p.id for p in permits.people_who_may("issue", gas, moment)}
    assert listed == permits.may_hold("issue", ap.id, gas, moment) == allowed
    if not allowed:
        reason = permits.why_may_not("issue", db.session.get(User, ap.id), rules["gas"], moment)
        assert ("revoked on 2026-03-10" if revoked_at else "expired on 2026-03-10") in reason


def test_accepting_needs_the_competent_persons_licence_and_the_trades_own(hospital, clock):
    seed_permit_rules()
    gas = hospital.trades["gas"].id
    only_cp = make_user("only.cp", "technician")
    both = make_user("both", "technician")
    an_ap = make_user("an.ap", "supervisor")
    db.session.flush()
    give_permit_licence(only_cp, "cp-medical-gas", TODAY, TODAY + timedelta(days=9), "CP-2")
    give_permit_licence(both, "cp-medical-gas", TODAY, TODAY + timedelta(days=9), "CP-3")
    give_licence(both, "pressure-vessel", TODAY, TODAY + timedelta(days=9))
    give_permit_licence(an_ap, "ap-medical-gas", TODAY, TODAY + timedelta(days=9), "AP-3")
    db.session.commit()
    now = clock.now()
    acceptors = [p.username for p in permits.people_who_may("accept", gas, now)]
    assert acceptors == ["both"]
    assert [permits.may_hold("accept", u.id, gas, now) for u in (only_cp, both, an_ap)] == [False, True, False]
    assert [p.username for p in permits.people_who_may("issue", gas, now)] == ["an.ap"]
    # A CP licence for lifts makes nobody a CP for medical gas.
    assert permits.people_who_may("accept", hospital.trades["lift"].id, now) == []


def test_issuing_without_an_authorised_persons_licence_is_refused_with_the_reason(hospital, clock, gas_job):
    permit_id = draft(hospital, clock, gas_job)
    with pytest.raises(NotLicensedError, match="holds no Authorised Person, medical gas"):
        permits.issue_permit(permit_id, person("gasman"))
    revoked = db.session.scalar(select(User).where(User.username == "ap.gas")).licences[0]
    revoked.revoked_at = clock.now() - timedelta(minutes=1)
    db.session.commit()
    with pytest.raises(NotLicensedError, match="was revoked on 2026-03-10"):
        permits.issue_permit(permit_id, person("ap.gas"))
    assert db.session.get(Permit, permit_id).state == "draft" and ward_notices() == []


def test_only_the_jobs_technician_may_accept(hospital, clock, gas_job):
    permit_id = draft(hospital, clock, gas_job)
    permits.issue_permit(permit_id, person("ap.gas"))
    with pytest.raises(PermissionDeniedError, match="not assigned to you"):
        permits.accept_permit(permit_id, person("sparky"))


@pytest.mark.parametrize("change, field", [
    ({"valid_until": datetime(2026, 3, 10, 1, 0, tzinfo=timezone.utc)}, "valid_until"),
    ({"ward_ids": []}, "ward_ids"), ({"ward_ids": [999999]}, "ward_ids"),
    ({"isolation_points": "  "}, "isolation_points"), ({"precautions": "x" * 4001}, "precautions"),
])
def test_a_bad_draft_names_the_field(hospital, clock, gas_job, change, field):
    with pytest.raises(ValidationError) as refused:
        draft(hospital, clock, gas_job, **change)
    assert refused.value.field == field


# ---- the wards are told: at issue (before the isolation) and at cancelling, once each --------------------

def test_the_wards_are_told_before_the_isolation_and_when_supply_is_restored_once_each(hospital, clock, gas_job):
    permit_id = draft(hospital, clock, gas_job, ward_ids=[hospital.icu.id, hospital.ward3.id])
    assert ward_notices() == []
    permits.issue_permit(permit_id, person("ap.gas"))
    notices = ward_notices()
    # The ICU's nurse has a mobile; Ward 3's has none: a failed row says so rather than nothing.
    assert len(notices) == 2 and all("will be isolated" in n and "AVSU ICU-O2 closed" in n for n in notices)
    failed = db.session.scalar(select(OutboundMessage).where(OutboundMessage.kind == "ward_notice",
                                                            OutboundMessage.state == "failed"))
    assert "Ward 3" in failed.body
    with pytest.raises(IllegalTransitionError):
        permits.issue_permit(permit_id, person("ap.gas"))  # issuing twice tells nobody twice
    permits.accept_permit(permit_id, person("gasman"))
    assert len(ward_notices()) == 2
    permits.cancel_permit(permit_id, person("ap.gas"), "Oxygen restored at 10:40")
    restored = ward_notices()[2:]
    assert len(restored) == 2 and all("supply restored" in n and "Oxygen restored at 10:40" in n for n in restored)
    with pytest.raises(IllegalTransitionError):
        permits.cancel_permit(permit_id, person("ap.gas"), "again")
    assert len(ward_notices()) == 4


def test_cancelling_a_live_permit_needs_what_was_restored(hospital, clock, gas_job):
    permit_id = draft(hospital, clock, gas_job)
    permits.issue_permit(permit_id, person("ap.gas"))
    with pytest.raises(ValidationError) as refused:
        permits.cancel_permit(permit_id, person("ap.gas"), "   ")
    assert refused.value.field == "restored"


# ---- by SMS ----------------------------------------------------------------------------------------

def sms(sender: str, body: str) -> str | None:
    return handle_inbound("SM" + uuid.uuid4().hex, sender, "+15005550006", body)


@pytest.mark.parametrize("body, expected", [
    ("PTW ISSUE 12", ("issue", 12, "")), ("ptw accept #12", ("accept", 12, "")),
    ("PERMIT CANCEL 12 O2 valve reopened", ("cancel", 12, "O2 valve reopened")),
    ("许可 签发 12", ("issue", 12, "")), ("许可 注销 12 已恢复供氧", ("cancel", 12, "已恢复供氧")),
    ("PTW", (None, None, "")), ("PTW ISSUE", (None, None, "")), ("PTW BURN 12", (None, None, "")),
    ("PTW ISSUE twelve", (None, None, "")),
])
def test_the_permit_grammar(body, expected):
    command = permit_sms.parse(body)
    assert (command.verb, command.permit_number, command.text) == expected


@pytest.mark.parametrize("body", ["A 1042", "D done", "PTWX 12", "", "permits please"])
def test_other_messages_are_not_permit_messages(body):
    assert permit_sms.parse(body) is None


def test_issue_accept_and_cancel_by_sms(hospital, clock, gas_job):
    permit_id = draft(hospital, clock, gas_job)
    assert "issued for ticket" in sms(AP_PHONE, f"PTW ISSUE {permit_id}")
    assert "accepted" in sms(GASMAN, f"ptw accept {permit_id}")
    transition(gas_job, "attend", person("gasman"))
    assert "cancelled" in sms(AP_PHONE, f"PTW CANCEL {permit_id} AVSU reopened and tested")
    permit = db.session.get(Permit, permit_id)
    assert (permit.state, permit.issued_by.username, permit.accepted_by.username, permit.restored) == (
        "cancelled", "ap.gas", "gasman", "AVSU reopened and tested")
    assert len(ward_notices()) == 2


def test_sms_from_the_wrong_phone_or_licence_is_refused_with_a_clear_reply(hospital, clock, gas_job):
    permit_id = draft(hospital, clock, gas_job)
    # The technician's phone cannot issue: no Authorised Person's licence.
    assert "may not issue permits for Oxygen / medical gas" in sms(GASMAN, f"PTW ISSUE {permit_id}")
    # Another technician's phone cannot accept the gas man's permit.
    sms(AP_PHONE, f"PTW ISSUE {permit_id}")
    assert "not assigned to you" in sms(hospital.users["sparky"].phone, f"PTW ACCEPT {permit_id}")
    # A number nobody holds changes nothing (and, as for every reply, gets no answer).
    assert sms("+8613999999999", f"PTW ACCEPT {permit_id}") is None
    assert "not found" in sms(GASMAN, "PTW ACCEPT 99999")
    assert "Say what was restored" in sms(AP_PHONE, f"PTW CANCEL {permit_id}")
    assert "PTW ISSUE 12" in sms(AP_PHONE, "PTW ISSUE")  # not understood: the permit grammar's help
    assert db.session.get(Permit, permit_id).state == "issued"


# ---- one A4 page -------------------------------------------------------------------------------------

@pytest.mark.parametrize("locale", ["en", "zh_CN"])
def test_the_permit_prints_on_one_a4_page_even_with_a_long_isolation_list(hospital, clock, gas_job, locale):
    points = "\n".join(f"隔离点 {n}: valve V{n} closed, locked and tagged at riser {n}" for n in range(60))
    permit_id = draft(hospital, clock, gas_job, isolation_points=points, work="更换手术室氧气区域阀")
    permits.issue_permit(permit_id, person("ap.gas"))
    pdf = PdfReader(io.BytesIO(permit_pdf.render_permit(db.session.get(Permit, permit_id), locale)))
    assert len(pdf.pages) == 1
    width, height = (float(v) for v in pdf.pages[0].mediabox[2:])
    assert (round(width), round(height)) == (595, 842)  # A4 in points
    fonts = str(pdf.pages[0]["/Resources"]["/Font"].get_object())
    assert "STSong-Light" in str({k: v.get_object()["/BaseFont"] for k, v in pdf.pages[0]["/Resources"]["/Font"].items()}), fonts


def test_issue_accept_and_cancel_from_the_permit_page_move_the_permit(hospital, clock, gas_job, login_as):
    """The page shows each person the button for their step, and the button, sent with its token, takes it: the
    Authorised Person issues, the Competent Person accepts, and the Authorised Person cancels it recording what was
    restored."""
    permit_id = draft(hospital, clock, gas_job)
    ap, gasman = login_as("ap.gas"), login_as("gasman")

    def press(person, step: str, data: dict | None = None) -> None:
        action = f"/permits/{permit_id}/{step}"
        assert f'action="{action}"' in person.get(f"/permits/{permit_id}").get_data(as_text=True), step
        assert person.post(action, data).status_code == 302

    press(ap, "issue")
    press(gasman, "accept")
    db.session.expire_all()
    assert db.session.get(Permit, permit_id).state == "accepted"
    press(ap, "cancel", {"restored": "AVSU ICU-O2 reopened"})
    db.session.expire_all()
    assert db.session.get(Permit, permit_id).state == "cancelled"
