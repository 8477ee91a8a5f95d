"""Who is on call when: weekly shifts at their edges, overnight and across the week's end,
hospital-wide lines, cover and leave, licences that lapse at midnight, a daylight-saving change,
coverage gaps and the CSV import. Time comes from the frozen clock; nothing sleeps."""
from __future__ import annotations

from datetime import date, datetime, timedelta, timezone

import pytest

from dispatch.errors import ValidationError
from dispatch.services import rota
from dispatch.services.timezone import hospital_zone
from models import OnCallShift, db
from tests.factories import give_licence, make_user

EVERY_DAY = range(7)


def local(text: str) -> datetime:
    """A hospital wall-clock time ('2026-03-10 08:00:00') as the UTC instant it names."""
    return datetime.fromisoformat(text).replace(tzinfo=hospital_zone()).astimezone(timezone.utc)


def shift(hospital, username: str, weekday: int, starts: str, ends: str, role: str = "primary",
          trade: str | None = "power"):
    return rota.add_shift(trade_id=hospital.trades[trade].id if trade else None, role=role,
                          user_id=hospital.users[username].id, weekday=weekday, starts=starts, ends=ends)


def on_call(hospital, when: datetime, roles=("primary", "secondary"), trade: str = "power") -> list[str]:
    return [u.username for u in rota.on_call(hospital.trades[trade].id, roles, when)]


def electrician(hospital, username: str = "amp"):
    """Another low-voltage electrician, licensed for years."""
    user = make_user(username, "technician", phone="+8613900000009")
    give_licence(user, "lv-electrician", date(2025, 1, 1), date(2028, 1, 1))
    db.session.commit()
    hospital.users[username] = user
    return user


# --- weekly shifts at their edges ---------------------------------------------------------------

def test_a_day_shift_starts_on_the_second_and_ends_before_its_end(hospital, clock):
    shift(hospital, "sparky", weekday=1, starts="08:00", ends="20:00")  # Tuesday 2026-03-10
    assert clock.now() == local("2026-03-10 10:00:00")
    assert on_call(hospital, clock.now()) == ["sparky"]
    assert on_call(hospital, local("2026-03-10 07:59:59")) == []
    assert on_call(hospital, local("2026-03-10 08:00:00")) == ["sparky"]
    assert on_call(hospital, local("2026-03-10 19:59:59")) == ["sparky"]
    assert on_call(hospital, local("2026-03-10 20:00:00")) == []
    # The Tuesday line does not put anyone on call on Wednesday.
    assert on_call(hospital, local("2026-03-11 10:00:00")) == []


def test_an_overnight_shift_runs_past_midnight_into_the_next_day(hospital):
    shift(hospital, "sparky", weekday=1, starts="20:00", ends="08:00")
    assert on_call(hospital, local("2026-03-10 19:59:59")) == []
    assert on_call(hospital, local("2026-03-10 20:00:00")) == ["sparky"]
    assert on_call(hospital, local("2026-03-10 23:59:59")) == ["sparky"]
    assert on_call(hospital, local("2026-03-11 00:00:00")) == ["sparky"]
    assert on_call(hospital, local("2026-03-11 07:59:59")) == ["sparky"]
    assert on_call(hospital, local("2026-03-11 08:00:00")) == []
    [duty] = rota.duties_between(local("2026-03-10 00:00:00"), local("2026-03-12 00:00:00"))
    assert (duty.starts_at, duty.ends_at) == (local("2026-03-10 20:00:00"), local("2026-03-11 08:00:00"))


def test_sundays_night_shift_runs_into_monday_morning_of_the_next_week(hospital):
    shift(hospital, "sparky", weekday=6, starts="20:00", ends="08:00")  # Sunday 2026-03-15
    assert on_call(hospital, local("2026-03-15 19:59:59")) == []
    assert on_call(hospital, local("2026-03-15 23:30:00")) == ["sparky"]
    assert on_call(hospital, local("2026-03-16 00:00:00")) == ["sparky"]  # Monday, a new week
    assert on_call(hospital, local("2026-03-16 07:59:59")) == ["sparky"]
    assert on_call(hospital, local("2026-03-16 08:00:00")) == []
    # Asked from Monday morning only, the duty that began on Sunday is still found.
    [duty] = rota.duties_between(local("2026-03-16 06:00:00"), local("2026-03-16 07:00:00"))
    assert (duty.starts_at, duty.ends_at, duty.user_id) == (
        local("2026-03-15 20:00:00"), local("2026-03-16 08:00:00"), hospital.users["sparky"].id)


def test_a_shift_outside_its_valid_dates_puts_nobody_on_call(hospital):
    rota.add_shift(trade_id=hospital.trades["power"].id, role="primary", user_id=hospital.users["sparky"].id,
                   weekday=1, starts="08:00", ends="20:00", valid_from=date(2026, 3, 17))
    assert on_call(hospital, local("2026-03-10 10:00:00")) == []
    assert on_call(hospital, local("2026-03-17 10:00:00")) == ["sparky"]


def test_primary_comes_before_secondary(hospital, clock):
    electrician(hospital)
    shift(hospital, "amp", weekday=1, starts="00:00", ends="00:00", role="secondary")
    shift(hospital, "sparky", weekday=1, starts="08:00", ends="20:00", role="primary")
    assert on_call(hospital, clock.now()) == ["sparky", "amp"]
    assert on_call(hospital, clock.now(), roles=("secondary",)) == ["amp"]


# --- hospital-wide lines -------------------------------------------------------------------------

def test_a_hospital_wide_supervisor_line_applies_to_every_trade(hospital, clock):
    for weekday in EVERY_DAY:
        shift(hospital, "supervisor", weekday, "00:00", "00:00", role="supervisor", trade=None)
        shift(hospital, "manager", weekday, "00:00", "00:00", role="duty_manager", trade=None)
    for trade in hospital.trades:
        assert on_call(hospital, clock.now(), roles=("supervisor",), trade=trade) == ["supervisor"]
        assert on_call(hospital, clock.now(), roles=("duty_manager",), trade=trade) == ["manager"]
        # Hospital-wide lines never make anyone a trade's technician on call.
        assert on_call(hospital, clock.now(), trade=trade) == []


def test_technicians_cannot_be_put_on_call_without_a_trade(hospital):
    with pytest.raises(ValidationError) as raised:
        shift(hospital, "sparky", 1, "08:00", "20:00", role="primary", trade=None)
    assert raised.value.field == "trade_id"
    with pytest.raises(ValidationError):
        shift(hospital, "supervisor", 1, "08:00", "20:00", role="primary")  # not a technician
    assert db.session.query(OnCallShift).count() == 0


# --- overrides -----------------------------------------------------------------------------------

def test_cover_replaces_one_person_for_its_window_only(hospital):
    electrician(hospital)
    shift(hospital, "sparky", weekday=1, starts="08:00", ends="20:00", role="primary")
    shift(hospital, "volt", weekday=1, starts="08:00", ends="20:00", role="secondary")
    rota.add_override(kind="cover", user_id=hospital.users["amp"].id, replaces_user_id=hospital.users["sparky"].id,
                      starts_at=local("2026-03-10 12:00:00"), ends_at=local("2026-03-10 14:00:00"),
                      actor_id=hospital.users["manager"].id, reason="Sparky at the dentist")
    assert on_call(hospital, local("2026-03-10 11:59:59")) == ["sparky", "volt"]
    assert on_call(hospital, local("2026-03-10 12:00:00")) == ["amp", "volt"]
    assert on_call(hospital, local("2026-03-10 13:59:59")) == ["amp", "volt"]
    assert on_call(hospital, local("2026-03-10 14:00:00")) == ["sparky", "volt"]
    sources = [(d.user_id, d.source, d.starts_at, d.ends_at) for d in
               rota.duties_between(local("2026-03-10 00:00:00"), local("2026-03-11 00:00:00")) if d.role == "primary"]
    amp, sparky = hospital.users["amp"].id, hospital.users["sparky"].id
    assert sources == [(sparky, "rota", local("2026-03-10 08:00:00"), local("2026-03-10 12:00:00")),
                       (amp, "cover", local("2026-03-10 12:00:00"), local("2026-03-10 14:00:00")),
                       (sparky, "rota", local("2026-03-10 14:00:00"), local("2026-03-10 20:00:00"))]


def test_leave_removes_the_person_from_every_shift_in_the_window(hospital):
    electrician(hospital)
    shift(hospital, "sparky", weekday=1, starts="08:00", ends="20:00", role="primary")
    shift(hospital, "sparky", weekday=2, starts="00:00", ends="00:00", role="secondary")
    shift(hospital, "amp", weekday=2, starts="08:00", ends="20:00", role="primary")
    rota.add_override(kind="leave", user_id=hospital.users["sparky"].id, starts_at=local("2026-03-10 12:00:00"),
                      ends_at=local("2026-03-11 12:00:00"), actor_id=hospital.users["manager"].id, reason="Sick")
    assert on_call(hospital, local("2026-03-10 11:59:59")) == ["sparky"]
    assert on_call(hospital, local("2026-03-10 12:00:00")) == []
    assert on_call(hospital, local("2026-03-11 09:00:00")) == ["amp"]
    assert on_call(hospital, local("2026-03-11 12:00:00")) == ["amp", "sparky"]
    window = rota.shifts_of(hospital.users["sparky"].id, local("2026-03-10 12:00:00"), local("2026-03-11 12:00:00"))
    assert window == []


# --- licences ------------------------------------------------------------------------------------

def test_a_technician_whose_licence_has_lapsed_is_on_the_rota_but_not_on_call(hospital, clock):
    shift(hospital, "lapsed", weekday=1, starts="08:00", ends="20:00")
    [duty] = rota.duties_between(clock.now(), clock.now() + timedelta(seconds=1))
    assert duty.user_id == hospital.users["lapsed"].id
    assert on_call(hospital, clock.now()) == []


def test_a_licence_ending_today_stops_being_on_call_at_midnight_hospital_time(hospital, clock):
    shift(hospital, "volt", weekday=1, starts="20:00", ends="08:00")  # Tuesday night into Wednesday
    assert on_call(hospital, local("2026-03-10 23:59:59")) == ["volt"]
    midnight = local("2026-03-11 00:00:00")
    assert midnight == datetime(2026, 3, 10, 16, 0, tzinfo=timezone.utc)
    clock.set(midnight)
    assert on_call(hospital, clock.now()) == []
    assert on_call(hospital, local("2026-03-11 07:00:00")) == []


def test_a_plumber_is_never_on_call_for_power(hospital, clock):
    shift(hospital, "plumb", weekday=1, starts="00:00", ends="00:00", trade="water")
    assert on_call(hospital, clock.now(), trade="water") == ["plumb"]
    assert on_call(hospital, clock.now(), trade="power") == []


# --- daylight saving time (Europe/London: forward 2026-03-29 01:00 UTC, back 2026-10-25 01:00 UTC) --

@pytest.fixture
def london(app, clock):
    app.config["HOSPITAL_TIMEZONE"] = "Europe/London"
    clock.set(datetime(2026, 3, 27, 12, 0, tzinfo=timezone.utc))
    return clock


def utc(*args) -> datetime:
    return datetime(*args, tzinfo=timezone.utc)


def test_a_day_shift_keeps_its_wall_clock_hours_when_summer_time_starts(hospital, london):
    for weekday in EVERY_DAY:
        shift(hospital, "sparky", weekday, "08:00", "20:00")
    duties = rota.duties_between(utc(2026, 3, 28, 0), utc(2026, 3, 30, 0))
    assert [(d.starts_at, d.ends_at) for d in duties] == [
        (utc(2026, 3, 28, 8), utc(2026, 3, 28, 20)),  # Saturday, GMT
        (utc(2026, 3, 29, 7), utc(2026, 3, 29, 19)),  # Sunday, BST: 08:00-20:00 local is an hour earlier in UTC
    ]
    london.set(utc(2026, 3, 29, 7, 0))  # 08:00 BST
    assert on_call(hospital, london.now()) == ["sparky"]
    assert on_call(hospital, london.now() - timedelta(seconds=1)) == []
    assert on_call(hospital, utc(2026, 3, 29, 19, 0)) == []  # 20:00 BST


def test_a_day_shift_keeps_its_wall_clock_hours_when_summer_time_ends(hospital, london):
    for weekday in EVERY_DAY:
        shift(hospital, "sparky", weekday, "08:00", "20:00")
    duties = rota.duties_between(utc(2026, 10, 24, 0), utc(2026, 10, 26, 0))
    assert [(d.starts_at, d.ends_at) for d in duties] == [
        (utc(2026, 10, 24, 7), utc(2026, 10, 24, 19)),  # Saturday, BST
        (utc(2026, 10, 25, 8), utc(2026, 10, 25, 20)),  # Sunday, GMT
    ]


def test_a_night_shift_over_the_spring_change_is_eleven_hours(hospital, london):
    shift(hospital, "sparky", weekday=5, starts="20:00", ends="08:00")  # Saturday 2026-03-28 night
    [duty] = rota.duties_between(utc(2026, 3, 28, 12), utc(2026, 3, 29, 12))
    assert (duty.starts_at, duty.ends_at) == (utc(2026, 3, 28, 20), utc(2026, 3, 29, 7))
    assert duty.ends_at - duty.starts_at == timedelta(hours=11)
    # On call through the missing hour, off at 08:00 BST.
    assert on_call(hospital, utc(2026, 3, 29, 1, 30)) == ["sparky"]
    assert on_call(hospital, utc(2026, 3, 29, 6, 59, 59)) == ["sparky"]
    assert on_call(hospital, utc(2026, 3, 29, 7, 0)) == []


def test_a_night_shift_over_the_autumn_change_is_thirteen_hours(hospital, london):
    shift(hospital, "sparky", weekday=5, starts="20:00", ends="08:00")  # Saturday 2026-10-24 night
    [duty] = rota.duties_between(utc(2026, 10, 24, 12), utc(2026, 10, 25, 12))
    assert (duty.starts_at, duty.ends_at) == (utc(2026, 10, 24, 19), utc(2026, 10, 25, 8))
    assert duty.ends_at - duty.starts_at == timedelta(hours=13)
    # On call through both 01:00-02:00s of the repeated hour.
    assert on_call(hospital, utc(2026, 10, 25, 0, 30)) == ["sparky"]  # 01:30 BST
    assert on_call(hospital, utc(2026, 10, 25, 1, 30)) == ["sparky"]  # 01:30 GMT
    assert on_call(hospital, utc(2026, 10, 25, 8, 0)) == []


# --- coverage gaps ------------------------------------------------------------------------------

def gaps_for(hospital, start: datetime, days: int, trade: str = "power") -> list[tuple[datetime, datetime]]:
    return [(g.starts_at, g.ends_at) for g in rota.coverage_gaps(start, days=days) if g.trade.code == trade]


def test_coverage_gaps_list_the_hours_nobody_licensed_is_on_call(hospital, clock):
    shift(hospital, "sparky", weekday=1, starts="08:00", ends="20:00")
    shift(hospital, "volt", weekday=1, starts="20:00", ends="08:00")  # volt's licence ends at midnight
    start = local("2026-03-10 08:00:00")
    assert gaps_for(hospital, start, days=1) == [(local("2026-03-11 00:00:00"), local("2026-03-11 08:00:00"))]
    # A trade with nobody on its rota is one gap the whole way.
    assert gaps_for(hospital, start, days=1, trade="water") == [(start, start + timedelta(days=1))]


def test_no_gaps_where_a_licensed_technician_is_on_call_around_the_clock(hospital, clock):
    for weekday in EVERY_DAY:
        shift(hospital, "sparky", weekday, "00:00", "00:00")
    assert gaps_for(hospital, clock.now(), days=14) == []


def test_an_unlicensed_technician_leaves_a_gap_even_when_on_the_rota(hospital, clock):
    for weekday in EVERY_DAY:
        shift(hospital, "lapsed", weekday, "00:00", "00:00")
    start = local("2026-03-10 10:00:00")
    assert gaps_for(hospital, start, days=2) == [(start, start + timedelta(days=2))]


# --- CSV import ---------------------------------------------------------------------------------

GOOD_CSV = """trade,role,username,weekday,starts,ends
power,primary,sparky,tue,08:00,20:00
power,secondary,volt,1,08:00,20:00
water,primary,plumb,Tuesday,00:00,00:00
,supervisor,supervisor,tue,00:00,00:00
"""


def test_a_good_csv_puts_everyone_on_call(hospital, clock):
    assert rota.import_csv(GOOD_CSV) == 4
    assert on_call(hospital, clock.now()) == ["sparky", "volt"]
    assert on_call(hospital, clock.now(), trade="water") == ["plumb"]
    assert on_call(hospital, clock.now(), roles=("supervisor",), trade="lift") == ["supervisor"]
    # Replacing the rota drops the old lines.
    assert rota.import_csv("trade,role,username,weekday,starts,ends\npower,primary,volt,tue,08:00,20:00\n",
                           replace_existing=True) == 1
    assert on_call(hospital, clock.now()) == ["volt"]
    assert on_call(hospital, clock.now(), trade="water") == []


@pytest.mark.parametrize("line, message", [
    ("power,primary,nobody,tue,08:00,20:00", "Line 3: unknown username"),
    ("sewage,primary,sparky,tue,08:00,20:00", "Line 3: unknown trade sewage"),
    ("power,boss,sparky,tue,08:00,20:00", "Line 3: unknown role boss"),
    ("power,primary,sparky,someday,08:00,20:00", "Line 3: weekday must be mon..sun"),
    ("power,primary,sparky,tue,8 o'clock,20:00", "Line 3: times must look like 08:00"),
    (",primary,sparky,tue,08:00,20:00", "Line 3: primary and secondary need a trade and a technician"),
    ("power,primary,nurse.icu,tue,08:00,20:00", "Line 3: primary and secondary need a trade and a technician"),
])
def test_a_bad_csv_line_is_named_and_nothing_is_imported(hospital, line, message):
    text = "trade,role,username,weekday,starts,ends\npower,primary,sparky,tue,08:00,20:00\n" + line + "\n"
    with pytest.raises(ValidationError) as raised:
        rota.import_csv(text)
    assert raised.value.message == message
    assert raised.value.field == "file"
    assert db.session.query(OnCallShift).count() == 0


def test_a_csv_without_the_columns_is_refused(hospital):
    with pytest.raises(ValidationError) as raised:
        rota.import_csv("who,when\nsparky,tue\n")
    assert "trade, role, username, weekday, starts, ends" in raised.value.message
    assert db.session.query(OnCallShift).count() == 0
