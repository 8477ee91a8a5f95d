"""The licence rule defined once: the SQL the lists use and the check at assignment agree, on the expiry
day's boundary in hospital time (Asia/Shanghai) and at a revocation's moment; and revocation itself."""
from __future__ import annotations

from datetime import date, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

from dispatch.errors import NotLicensedError, ValidationError
from dispatch.services import licences, rota, staff
from dispatch.services.assignment import assign_ticket
from sqlalchemy import select

from models import Licence, User, db
from tests.factories import give_licence, make_user
from tests.test_licences import file_fault, ticket_row

SHANGHAI = ZoneInfo("Asia/Shanghai")
TODAY = date(2026, 3, 10)
# volt's licence is good through 2026-03-10 in Shanghai, i.e. until 16:00 UTC.
END_OF_VOLTS_DAY = datetime(2026, 3, 10, 16, 0, tzinfo=timezone.utc)
REVOKED_AT = datetime(2026, 3, 10, 9, 30, tzinfo=timezone.utc)


@pytest.fixture
def licensed_people(hospital):
    """Besides the factory's electricians and plumber: one not yet licensed, one revoked mid-morning, one
    with an expired and a renewed licence, a switched-off account and a supervisor."""
    people = {
        "future": make_user("future", "technician", full_name="Qian Future", phone="+8613900000011"),
        "revoked": make_user("revoked", "technician", full_name="Sun Revoked", phone="+8613900000012"),
        "renewed": make_user("renewed", "technician", full_name="Zhou Renewed", phone="+8613900000013"),
        "retired": make_user("retired", "technician", full_name="Wu Retired", phone="+8613900000014"),
        "boss": make_user("boss", "supervisor", full_name="Zheng Boss"),
    }
    give_licence(people["future"], "lv-electrician", TODAY + timedelta(days=1), TODAY + timedelta(days=700))
    revoked = give_licence(people["revoked"], "hv-electrician", TODAY - timedelta(days=100), TODAY + timedelta(days=100))
    revoked.revoked_at = REVOKED_AT
    give_licence(people["renewed"], "plumbing", TODAY - timedelta(days=900), TODAY - timedelta(days=2))
    give_licence(people["renewed"], "boiler", TODAY, TODAY + timedelta(days=1))
    give_licence(people["retired"], "lv-electrician", TODAY - timedelta(days=10), TODAY + timedelta(days=10))
    people["retired"].active = False
    db.session.commit()
    return [u.id for u in db.session.scalars(select(User).order_by(User.id))]


def by_the_rule(person, trade, at: datetime) -> bool:
    """The brief's words, written out independently of the code: active, a technician, and (when the trade
    names licence types) one of them issued on or before the hospital day, not expired before it and not
    revoked at or before the moment."""
    if not person.active or person.role != "technician":
        return False
    if not trade.licence_types:
        return True
    day = at.astimezone(SHANGHAI).date()
    accepted = {t.id for t in trade.licence_types}
    return any(lic.licence_type_id in accepted and lic.issued_on <= day <= lic.expires_on
               and (lic.revoked_at is None or lic.revoked_at > at) for lic in person.licences)


def python_check(person, trade, at: datetime) -> bool:
    try:
        licences.ensure_licensed(person, trade, at)
    except (NotLicensedError, ValidationError):
        return False
    return True


# Moments from two days before to two days after the frozen day, to the second, with the boundaries
# (hospital midnights, the revocation) drawn often.
BOUNDARIES = [END_OF_VOLTS_DAY, END_OF_VOLTS_DAY - timedelta(days=1), END_OF_VOLTS_DAY + timedelta(days=1),
              END_OF_VOLTS_DAY - timedelta(days=2), REVOKED_AT]
MOMENTS = st.one_of(
    st.sampled_from(BOUNDARIES).flatmap(lambda b: st.integers(-2, 1).map(lambda s: b + timedelta(seconds=s))),
    st.integers(-2 * 86400, 2 * 86400).map(lambda s: END_OF_VOLTS_DAY + timedelta(seconds=s)),
)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_the_lists_and_the_check_at_assignment_agree_with_each_other_and_with_the_rule(hospital, licensed_people, data):
    person = db.session.get(User, data.draw(st.sampled_from(licensed_people), label="person"))
    trade = data.draw(st.sampled_from(sorted(hospital.trades.values(), key=lambda t: t.id)), label="trade")
    at = data.draw(MOMENTS, label="moment")
    in_the_list = person in licences.eligible_technicians(trade, at)
    assert in_the_list == python_check(person, trade, at) == licences.may_work(person.id, trade.id, at) \
        == by_the_rule(person, trade, at)


def test_the_expiry_day_boundary_in_hospital_time(hospital):
    volt, power = hospital.user("volt"), hospital.trades["power"]
    last_second = END_OF_VOLTS_DAY - timedelta(seconds=1)
    assert volt in licences.eligible_technicians(power, last_second)
    licences.ensure_licensed(volt, power, last_second)
    assert volt not in licences.eligible_technicians(power, END_OF_VOLTS_DAY)
    with pytest.raises(NotLicensedError, match="expired on 2026-03-10"):
        licences.ensure_licensed(volt, power, END_OF_VOLTS_DAY)


def test_a_revoked_licence_stops_at_the_moment_of_revocation_and_the_refusal_says_so(hospital, clock):
    sparky, power = hospital.user("sparky"), hospital.trades["power"]
    licence = sparky.licences[0]
    clock.set(REVOKED_AT)
    staff.revoke_licence(sparky.id, licence.id, hospital.users["manager"].id, "Failed the annual inspection")
    db.session.expire_all()
    assert licences.may_work(sparky.id, power.id, REVOKED_AT - timedelta(seconds=1))
    assert not licences.may_work(sparky.id, power.id, REVOKED_AT)
    ticket = file_fault(hospital)
    with pytest.raises(NotLicensedError) as refused:
        assign_ticket(ticket.id, sparky.id, hospital.user("dispatcher"))
    assert f"licence {licence.number} was revoked on 2026-03-10" in refused.value.message
    assert ticket_row(ticket.id).assignee_id is None
    kept = db.session.get(Licence, licence.id)
    assert kept.revoked_by_id == hospital.users["manager"].id and kept.revoked_reason == "Failed the annual inspection"


def test_a_licence_cannot_be_revoked_twice_nor_through_another_persons_page(hospital):
    sparky, volt = hospital.user("sparky"), hospital.user("volt")
    with pytest.raises(ValidationError, match="Say why"):
        staff.revoke_licence(sparky.id, sparky.licences[0].id, hospital.users["manager"].id, "  ")
    with pytest.raises(Exception, match="No such licence"):
        staff.revoke_licence(volt.id, sparky.licences[0].id, hospital.users["manager"].id, "wrong person")
    staff.revoke_licence(sparky.id, sparky.licences[0].id, hospital.users["manager"].id, "inspection")
    with pytest.raises(ValidationError, match="already revoked"):
        staff.revoke_licence(sparky.id, sparky.licences[0].id, hospital.users["manager"].id, "again")


def test_the_rota_leaves_out_a_technician_whose_licence_was_revoked(hospital, clock):
    sparky = hospital.user("sparky")
    when = clock.now().astimezone(SHANGHAI)
    rota.add_shift(trade_id=hospital.trades["power"].id, role="primary", user_id=sparky.id,
                   weekday=when.weekday(), starts="00:00", ends="23:59")
    assert [u.username for u in rota.on_call(hospital.trades["power"].id, ("primary",), clock.now())] == ["sparky"]
    staff.revoke_licence(sparky.id, sparky.licences[0].id, hospital.users["manager"].id, "inspection")
    clock.advance(seconds=1)
    assert rota.on_call(hospital.trades["power"].id, ("primary",), clock.now()) == []
    gaps = rota.coverage_gaps(clock.now(), days=1)
    assert any(g.trade.code == "power" and g.starts_at <= clock.now() + timedelta(hours=1) for g in gaps)


def test_a_manager_revokes_a_licence_on_the_staff_page_and_it_shows_as_revoked(hospital, login_as):
    sparky = hospital.user("sparky")
    licence_id = sparky.licences[0].id
    manager = login_as("manager")
    page = manager.get(f"/admin/staff/{sparky.id}").get_data(as_text=True)
    assert f"/admin/staff/{sparky.id}/licences/{licence_id}/revoke" in page
    response = manager.post(f"/admin/staff/{sparky.id}/licences/{licence_id}/revoke",
                            data={"reason": "Failed the annual inspection"}, follow_redirects=True)
    page = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "revoked" in page and "Failed the annual inspection" in page
    again = manager.post(f"/admin/staff/{sparky.id}/licences/{licence_id}/revoke", data={"reason": "twice"},
                         follow_redirects=True).get_data(as_text=True)
    assert "was already revoked" in again


def test_only_staff_editors_may_revoke(hospital, login_as):
    sparky = hospital.user("sparky")
    for who in ("dispatcher", "sparky", "nurse.icu"):
        response = login_as(who).post(f"/admin/staff/{sparky.id}/licences/{sparky.licences[0].id}/revoke",
                                      data={"reason": "not mine to do"})
        assert response.status_code == 403, who
    db.session.expire_all()
    assert db.session.get(Licence, sparky.licences[0].id).revoked_at is None
