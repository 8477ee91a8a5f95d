"""On-call pages: who sees what, and that rota lines, cover, leave, CSV, swaps, the calendar feed,
gaps and escalation policies entered through the pages change who is on call."""
from __future__ import annotations

import io
import re
from datetime import date, datetime, timedelta, timezone

import pytest
from sqlalchemy import func, select

from dispatch.services import calendar_feed, rota, swaps
from dispatch.errors import ConflictError
from models import EscalationPolicy, Heartbeat, OnCallShift, OutboundMessage, ShiftOverride, SwapRequest, User, db
from tests.conftest import START
from tests.factories import give_licence, make_user

TUESDAY, WEDNESDAY = 1, 2  # the frozen clock starts on Tuesday 10 March 2026, 10:00 in Shanghai


def uid(hospital, username: str) -> int:
    return db.session.scalar(select(User.id).where(User.username == username))


def shift(hospital, username: str, weekday: int, starts: str, ends: str, role: str = "primary", trade: str | None = "power"):
    return rota.add_shift(trade_id=hospital.trades[trade].id if trade else None, role=role, user_id=uid(hospital, username),
                          weekday=weekday, starts=starts, ends=ends)


def row(html: str, trade_code: str) -> tuple[str, str]:
    """The 'now' and 'next' cells of a trade's row on the who-is-on-call page."""
    match = re.search(rf'<tr id="trade-{trade_code}">(.*?)</tr>', html, re.S)
    assert match, f"no row for {trade_code}"
    now_cell, next_cell = re.findall(r"<td>(.*?)</td>", match.group(1), re.S)
    return now_cell, next_cell


def page(browser, path: str) -> str:
    response = browser.get(path)
    assert response.status_code == 200, response.status_code
    return response.get_data(as_text=True)


def count(model) -> int:
    db.session.expire_all()
    return db.session.scalar(select(func.count()).select_from(model))


@pytest.fixture
def amp(hospital):
    """A second electrician whose licence is good for months: someone to swap with."""
    tech = make_user("amp", "technician", full_name="Chen Amp", phone="+8613900000005")
    give_licence(tech, "lv-electrician", date(2025, 1, 1), date(2027, 1, 1))
    db.session.commit()
    return tech


# --- who may open what ------------------------------------------------------------------------

def test_the_nav_offers_on_call_to_staff_but_not_to_nurses(login_as):
    assert 'href="/oncall/"' in page(login_as("dispatcher"), "/oncall/")
    assert 'href="/oncall/"' not in login_as("nurse.icu").get("/report").get_data(as_text=True)


def test_supervisors_read_escalation_policies_but_cannot_change_them(login_as, hospital):
    supervisor = login_as("supervisor")
    assert "New policy" not in page(supervisor, "/oncall/escalation")
    response = supervisor.post("/oncall/escalation/new", data={"name": "Mine", "repeat": "1", "steps-0-target": "supervisor",
                                                               "steps-0-wait_minutes": "5"})
    assert response.status_code == 403
    assert count(EscalationPolicy) == 0


# --- who is on call ---------------------------------------------------------------------------

def test_a_shift_added_on_the_rota_page_is_on_call_now_with_phone_and_stop_mark(login_as, hospital):
    db.session.get(User, uid(hospital, "sparky")).sms_opted_out = True
    db.session.commit()
    supervisor = login_as("supervisor")
    response = supervisor.post("/oncall/rota/shifts", data={
        "trade_id": hospital.trades["power"].id, "role": "primary", "user_id": uid(hospital, "sparky"),
        "weekday": TUESDAY, "starts": "08:00", "ends": "20:00"})
    assert response.status_code == 302
    now_cell, next_cell = row(page(supervisor, "/oncall/"), "power")
    assert "Wang Sparky" in now_cell and "tel:+8613900000001" in now_cell and "+86 139 0000 0001" in now_cell and "SMS off (STOP)" in now_cell
    assert "until Tue 10 Mar 20:00" in now_cell
    assert "From Tue 10 Mar 20:00" in next_cell and "Nobody on call" in next_cell
    assert "Wang Sparky" in page(supervisor, "/oncall/rota")


def test_a_day_shift_followed_by_the_same_persons_night_reads_as_one_stretch(login_as, hospital):
    shift(hospital, "sparky", TUESDAY, "08:00", "20:00")
    shift(hospital, "sparky", TUESDAY, "20:00", "08:00")
    now_cell, next_cell = row(page(login_as("dispatcher"), "/oncall/"), "power")
    assert "until Wed 11 Mar 08:00" in now_cell
    assert "From Wed 11 Mar 08:00" in next_cell and "Nobody on call" in next_cell


def test_a_shift_form_error_is_shown_under_the_field(login_as, hospital):
    response = login_as("manager").post("/oncall/rota/shifts", data={
        "trade_id": hospital.trades["power"].id, "role": "primary", "user_id": uid(hospital, "supervisor"),
        "weekday": TUESDAY, "starts": "08:00", "ends": "20:00"})
    assert response.status_code == 422
    assert "Primary and secondary on call must be technicians." in response.get_data(as_text=True)
    assert count(OnCallShift) == 0


def test_removing_a_shift_takes_the_person_off_call(login_as, hospital):
    line = shift(hospital, "sparky", TUESDAY, "08:00", "20:00")
    shift(hospital, "volt", TUESDAY, "08:00", "20:00", role="secondary")
    supervisor = login_as("supervisor")
    assert supervisor.post(f"/oncall/rota/shifts/{line.id}/remove").status_code == 302
    now_cell, _next = row(page(supervisor, "/oncall/"), "power")
    assert "Wang Sparky" not in now_cell and "Li Volt" in now_cell
    assert count(OnCallShift) == 1


def test_an_unlicensed_technician_on_the_rota_is_shown_as_unable_to_take_jobs(login_as, hospital):
    shift(hospital, "lapsed", TUESDAY, "08:00", "20:00")
    now_cell, _next = row(page(login_as("dispatcher"), "/oncall/"), "power")
    assert "Zhao Lapsed" in now_cell and "Cannot take jobs" in now_cell and "expired on 2026-03-09" in now_cell


def test_hospital_wide_supervisor_and_duty_manager_are_shown(login_as, hospital):
    shift(hospital, "supervisor", TUESDAY, "00:00", "00:00", role="supervisor", trade=None)
    shift(hospital, "manager", TUESDAY, "00:00", "00:00", role="duty_manager", trade=None)
    html = page(login_as("sparky"), "/oncall/")
    hospital_part = html.split("Hospital-wide", 1)[1].split("</section>", 1)[0]
    assert "Supervisor" in hospital_part and "Duty manager" in hospital_part and "Manager" in hospital_part


# --- overrides --------------------------------------------------------------------------------

def override_form(hospital, **fields) -> dict:
    data = {"kind": "cover", "user_id": "", "replaces_user_id": "0", "trade_id": "0", "role": "",
            "starts_at": "2026-03-10T09:00", "ends_at": "2026-03-10T12:00", "reason": ""}
    data.update({k: str(v) for k, v in fields.items()})
    return data


def test_cover_entered_in_hospital_time_replaces_the_person_for_that_window(login_as, hospital):
    shift(hospital, "sparky", TUESDAY, "08:00", "20:00")
    supervisor = login_as("supervisor")
    response = supervisor.post("/oncall/overrides", data=override_form(
        hospital, user_id=uid(hospital, "volt"), replaces_user_id=uid(hospital, "sparky"), reason="Training"))
    assert response.status_code == 302
    override = db.session.scalar(select(ShiftOverride))
    # 09:00-12:00 in Shanghai is 01:00-04:00 UTC.
    assert (override.starts_at, override.ends_at) == (datetime(2026, 3, 10, 1, tzinfo=timezone.utc),
                                                      datetime(2026, 3, 10, 4, tzinfo=timezone.utc))
    now_cell, next_cell = row(page(supervisor, "/oncall/"), "power")
    assert "Li Volt" in now_cell and "Cover" in now_cell and "Wang Sparky" not in now_cell
    assert "From Tue 10 Mar 12:00" in next_cell and "Wang Sparky" in next_cell
    assert "Training" in page(supervisor, "/oncall/overrides")


def test_leave_takes_someone_off_every_shift_in_the_window(login_as, hospital):
    shift(hospital, "sparky", TUESDAY, "08:00", "20:00")
    shift(hospital, "volt", TUESDAY, "08:00", "20:00", role="secondary")
    manager = login_as("manager")
    response = manager.post("/oncall/overrides", data=override_form(
        hospital, kind="leave", user_id=uid(hospital, "sparky"), starts_at="2026-03-10T00:00", ends_at="2026-03-11T00:00"))
    assert response.status_code == 302
    now_cell, _next = row(page(manager, "/oncall/"), "power")
    assert "Wang Sparky" not in now_cell and "Li Volt" in now_cell


def test_deleting_an_override_brings_back_the_weekly_rota(login_as, hospital):
    shift(hospital, "sparky", TUESDAY, "08:00", "20:00")
    supervisor = login_as("supervisor")
    supervisor.post("/oncall/overrides", data=override_form(hospital, kind="leave", user_id=uid(hospital, "sparky")))
    override = db.session.scalar(select(ShiftOverride))
    assert "Wang Sparky" not in row(page(supervisor, "/oncall/"), "power")[0]
    assert supervisor.post(f"/oncall/overrides/{override.id}/remove").status_code == 302
    assert count(ShiftOverride) == 0
    assert "Wang Sparky" in row(page(supervisor, "/oncall/"), "power")[0]


@pytest.mark.parametrize("fields, message", [
    ({"starts_at": "2026-03-10T12:00", "ends_at": "2026-03-10T09:00"}, "The end must be after the start."),
    ({"replaces_user_id": "0"}, "Say whom they replace, or for which trade they join the rota."),
    ({"starts_at": "not a time"}, "Not a valid datetime value."),
])
def test_override_errors_are_shown_and_nothing_is_saved(login_as, hospital, fields, message):
    data = override_form(hospital, user_id=uid(hospital, "volt"), replaces_user_id=uid(hospital, "sparky"))
    data.update(fields)
    response = login_as("supervisor").post("/oncall/overrides", data=data)
    assert response.status_code == 422
    assert message in response.get_data(as_text=True)
    assert count(ShiftOverride) == 0


def test_a_wall_time_the_clocks_skip_is_refused_with_a_message_and_a_repeated_one_means_the_first(app, login_as, hospital):
    app.config["HOSPITAL_TIMEZONE"] = "Europe/London"  # clocks go forward at 01:00 on 29 March 2026
    supervisor = login_as("supervisor")
    skipped = supervisor.post("/oncall/overrides", data=override_form(
        hospital, kind="leave", user_id=uid(hospital, "sparky"), starts_at="2026-03-29T01:30", ends_at="2026-03-29T05:00"))
    assert skipped.status_code == 422
    assert "2026-03-29 01:30 does not exist in hospital time" in skipped.get_data(as_text=True)
    assert count(ShiftOverride) == 0
    repeated = supervisor.post("/oncall/overrides", data=override_form(
        hospital, kind="leave", user_id=uid(hospital, "sparky"), starts_at="2026-10-25T01:30", ends_at="2026-10-25T05:00"))
    assert repeated.status_code == 302
    assert db.session.scalar(select(ShiftOverride)).starts_at == datetime(2026, 10, 25, 0, 30, tzinfo=timezone.utc)


# --- CSV import and export --------------------------------------------------------------------

GOOD_CSV = """trade,role,username,weekday,starts,ends
power,primary,sparky,tue,08:00,20:00
power,primary,volt,tue,20:00,08:00
,supervisor,supervisor,tue,00:00,00:00
"""


def upload(browser, text: str, replace: bool = False):
    data = {"file": (io.BytesIO(text.encode("utf-8")), "rota.csv")}
    if replace:
        data["replace_existing"] = "y"
    return browser.post("/oncall/rota/import", data=data, content_type="multipart/form-data")


def test_a_good_csv_imports_every_line(login_as, hospital):
    supervisor = login_as("supervisor")
    response = upload(supervisor, GOOD_CSV)
    assert response.status_code == 302
    assert count(OnCallShift) == 3
    assert "3 shifts imported." in page(supervisor, "/oncall/rota")
    assert "Wang Sparky" in row(page(supervisor, "/oncall/"), "power")[0]


def test_a_bad_line_is_named_and_nothing_is_imported(login_as, hospital):
    shift(hospital, "plumb", TUESDAY, "08:00", "20:00", trade="water")
    bad = GOOD_CSV + "power,primary,nobody.here,wed,08:00,20:00\n"
    response = upload(login_as("supervisor"), bad, replace=True)
    assert response.status_code == 422
    assert "Line 5: unknown username" in response.get_data(as_text=True)
    assert count(OnCallShift) == 1  # the existing line kept, none of the good lines added


def test_a_spreadsheet_csv_with_a_byte_order_mark_imports(login_as, hospital):
    response = upload(login_as("supervisor"), "\ufeff" + GOOD_CSV)
    assert response.status_code == 302
    assert count(OnCallShift) == 3


def test_the_csv_export_imports_back_to_the_same_rota(login_as, hospital):
    shift(hospital, "sparky", TUESDAY, "08:00", "20:00")
    shift(hospital, "volt", TUESDAY, "20:00", "08:00")
    shift(hospital, "plumb", 6, "00:00", "00:00", role="secondary", trade="water")
    shift(hospital, "manager", 0, "00:00", "00:00", role="duty_manager", trade=None)
    manager = login_as("manager")
    exported = manager.get("/oncall/rota.csv")
    assert exported.status_code == 200 and exported.mimetype == "text/csv"
    first = exported.get_data(as_text=True)
    assert first.splitlines()[0] == "trade,role,username,weekday,starts,ends"
    assert "power,primary,volt,tue,20:00,08:00" in first and ",duty_manager,manager,mon,00:00,00:00" in first

    def lines() -> set:
        db.session.expire_all()
        return {(s.trade_id, s.role, s.user_id, s.weekday, s.starts, s.ends) for s in db.session.scalars(select(OnCallShift))}

    before = lines()
    assert upload(manager, first, replace=True).status_code == 302
    assert lines() == before and count(OnCallShift) == 4
    assert manager.get("/oncall/rota.csv").get_data(as_text=True) == first


# --- swaps between technicians ----------------------------------------------------------------

WED_DAY = (datetime(2026, 3, 11, 0, tzinfo=timezone.utc), datetime(2026, 3, 11, 12, tzinfo=timezone.utc))  # 08-20 Shanghai


def ask(browser, hospital, colleague: str, window=WED_DAY, trade="power", role="primary") -> str:
    """Send a swap request from /oncall/mine; the page it lands on, with its message."""
    response = browser.post("/oncall/mine/swaps", follow_redirects=True, data={
        "colleague_id": uid(hospital, colleague), "trade_id": hospital.trades[trade].id, "role": role,
        "starts_at": window[0].isoformat(), "ends_at": window[1].isoformat(), "note": "Family wedding"})
    assert response.status_code == 200
    return response.get_data(as_text=True)


def test_a_swap_accepted_by_the_colleague_puts_them_on_call_and_tells_the_asker(app, clock, login_as, hospital, amp, redis_conn):
    shift(hospital, "sparky", WEDNESDAY, "08:00", "20:00")
    sparky = login_as("sparky")
    mine = page(sparky, "/oncall/mine")
    assert "Ask a colleague to take this shift" in mine and "Chen Amp" in mine
    assert "Zhao Lapsed" not in mine  # an expired licence is not offered
    assert "Asked Chen Amp to take the shift." in ask(sparky, hospital, "amp")
    request = db.session.scalar(select(SwapRequest))
    assert request.state == "pending"
    assert "waiting for an answer" in page(sparky, "/oncall/mine")

    colleague = login_as("amp")
    assert "Wang Sparky asks you to take a shift" in page(colleague, "/oncall/mine")
    assert colleague.post(f"/oncall/mine/swaps/{request.id}/accept").status_code == 302
    db.session.expire_all()
    override = db.session.scalar(select(ShiftOverride))
    assert (override.kind, override.user_id, override.replaces_user_id) == ("swap", amp.id, uid(hospital, "sparky"))
    assert (override.starts_at, override.ends_at) == WED_DAY
    told = db.session.scalars(select(OutboundMessage)).all()
    assert [(m.recipient_id, m.kind) for m in told] == [(uid(hospital, "sparky"), "rota")]
    assert "Chen Amp will take your Power on-call shift" in told[0].body

    clock.set(datetime(2026, 3, 11, 1, tzinfo=timezone.utc))  # Wednesday 09:00 in Shanghai
    now_cell, _next = row(page(login_as("dispatcher"), "/oncall/"), "power")
    assert "Chen Amp" in now_cell and "Wang Sparky" not in now_cell
    assert [u.username for u in rota.on_call(hospital.trades["power"].id, ("primary",), clock.now())] == ["amp"]


def test_a_swap_cannot_be_accepted_twice(login_as, hospital, amp, redis_conn):
    shift(hospital, "sparky", WEDNESDAY, "08:00", "20:00")
    ask(login_as("sparky"), hospital, "amp")
    request = db.session.scalar(select(SwapRequest))
    colleague = login_as("amp")
    colleague.post(f"/oncall/mine/swaps/{request.id}/accept")
    again = colleague.post(f"/oncall/mine/swaps/{request.id}/accept", follow_redirects=True)
    assert "already been answered" in again.get_data(as_text=True)
    with pytest.raises(ConflictError):
        swaps.accept_swap(request.id, amp.id)
    assert count(ShiftOverride) == 1 and count(OutboundMessage) == 1


@pytest.mark.parametrize("colleague, message", [
    ("lapsed", "licence L-lapsed-lv-electrician expired on 2026-03-09"),
    ("volt", "licence L-volt-lv-electrician expired on 2026-03-10"),  # valid today, not on Wednesday
    ("plumb", "holds no valid licence for Power"),
    ("dispatcher", "Choose an active technician."),
])
def test_only_a_technician_licensed_for_the_whole_shift_can_be_asked(login_as, hospital, colleague, message):
    shift(hospital, "sparky", WEDNESDAY, "08:00", "20:00")
    assert message in ask(login_as("sparky"), hospital, colleague)
    assert count(SwapRequest) == 0


def test_only_your_own_shift_can_be_offered(login_as, hospital, amp):
    shift(hospital, "volt", WEDNESDAY, "08:00", "20:00")
    assert "That is not one of your shifts." in ask(login_as("sparky"), hospital, "amp")
    assert count(SwapRequest) == 0


def test_declined_and_withdrawn_requests_change_nothing(login_as, hospital, amp):
    shift(hospital, "sparky", WEDNESDAY, "08:00", "20:00")
    sparky = login_as("sparky")
    ask(sparky, hospital, "amp")
    first = db.session.scalar(select(SwapRequest))
    login_as("amp").post(f"/oncall/mine/swaps/{first.id}/decline")
    ask(sparky, hospital, "amp")
    second = db.session.scalar(select(SwapRequest).where(SwapRequest.id != first.id))
    sparky.post(f"/oncall/mine/swaps/{second.id}/withdraw")
    accepted_late = login_as("amp").post(f"/oncall/mine/swaps/{second.id}/accept", follow_redirects=True)
    assert "already been answered or withdrawn" in accepted_late.get_data(as_text=True)
    db.session.expire_all()
    assert [r.state for r in db.session.scalars(select(SwapRequest).order_by(SwapRequest.id))] == ["declined", "withdrawn"]
    assert count(ShiftOverride) == 0


def test_another_technician_cannot_answer_a_request_not_made_to_them(login_as, hospital, amp):
    shift(hospital, "sparky", WEDNESDAY, "08:00", "20:00")
    ask(login_as("sparky"), hospital, "amp")
    request = db.session.scalar(select(SwapRequest))
    login_as("plumb").post(f"/oncall/mine/swaps/{request.id}/accept")
    db.session.expire_all()
    assert db.session.get(SwapRequest, request.id).state == "pending"


# --- calendar feed ----------------------------------------------------------------------------

def test_the_calendar_feed_lists_each_duty_as_an_event_in_utc(client, clock, login_as, hospital):
    shift(hospital, "sparky", TUESDAY, "08:00", "20:00")
    shift(hospital, "sparky", 5, "20:00", "08:00", role="secondary")
    sparky = login_as("sparky")
    assert "Subscribe to my shifts" in page(sparky, "/oncall/mine")
    sparky.post("/oncall/mine/calendar")
    token = db.session.get(User, uid(hospital, "sparky")).calendar_token
    assert token and f"/oncall/calendar/{token}.ics" in page(sparky, "/oncall/mine")

    response = client.get(f"/oncall/calendar/{token}.ics")  # no login: the token is the key
    assert response.status_code == 200 and response.mimetype == "text/calendar"
    raw = response.get_data()
    body = raw.decode("utf-8")
    assert body.startswith("BEGIN:VCALENDAR\r\n") and body.endswith("END:VCALENDAR\r\n")
    assert b"\n" not in raw.replace(b"\r\n", b"")  # CRLF only
    assert all(len(line.encode()) <= 75 for line in body.split("\r\n"))
    duties = rota.shifts_of(uid(hospital, "sparky"), clock.now() - timedelta(days=7), clock.now() + timedelta(days=60))
    assert body.count("BEGIN:VEVENT") == body.count("END:VEVENT") == len(duties) >= 18
    starts = re.findall(r"^DTSTART:(\d{8}T\d{6}Z)\r$", body, re.M)
    assert len(starts) == len(duties) and "20260310T000000Z" in starts  # Tuesday 08:00 in Shanghai
    assert "DTEND:20260310T120000Z" in body
    assert "SUMMARY:On call: Power (primary)" in body and "SUMMARY:On call: Power (secondary)" in body
    uids = re.findall(r"^UID:(.+)\r$", body, re.M)
    assert len(set(uids)) == len(uids) == len(duties)


def test_an_unknown_or_replaced_calendar_token_is_not_found(client, login_as, hospital):
    assert client.get("/oncall/calendar/not-a-real-token.ics").status_code == 404
    sparky = login_as("sparky")
    sparky.post("/oncall/mine/calendar")
    old = db.session.get(User, uid(hospital, "sparky")).calendar_token
    sparky.post("/oncall/mine/calendar", data={"rotate": "1"})
    db.session.expire_all()
    new = db.session.get(User, uid(hospital, "sparky")).calendar_token
    assert new != old
    assert client.get(f"/oncall/calendar/{old}.ics").status_code == 404
    assert client.get(f"/oncall/calendar/{new}.ics").status_code == 200


def test_calendar_text_is_escaped_and_long_lines_fold_without_splitting_characters():
    assert calendar_feed.escape_text("Power, water; back\\slash\nnext") == "Power\\, water\\; back\\\\slash\\nnext"
    line = "SUMMARY:" + "值班电工" * 30
    folded = calendar_feed.fold(line)
    parts = folded.split("\r\n")
    assert len(parts) > 1 and all(len(p.encode("utf-8")) <= 75 for p in parts)
    assert all(p.startswith(" ") for p in parts[1:])
    assert folded.replace("\r\n ", "") == line


# --- coverage gaps ----------------------------------------------------------------------------

def test_gaps_are_listed_per_trade_in_hospital_time_with_the_last_daily_sms(clock, login_as, hospital):
    for day in range(7):
        shift(hospital, "sparky", day, "08:00", "20:00")
        shift(hospital, "plumb", day, "00:00", "00:00", trade="water")
    dispatcher = login_as("dispatcher")
    html = page(dispatcher, "/oncall/gaps")
    assert "has not been sent yet" in html
    power = html.split('id="gaps-power"', 1)[1].split("</section>", 1)[0]
    assert "Tue 10 Mar 20:00" in power and "Wed 11 Mar 08:00" in power and "12 h 00 min" in power
    assert 'id="gaps-water"' not in html
    db.session.add(Heartbeat(name="coverage-sms", beat_at=clock.now() - timedelta(hours=3), detail="2026-03-10"))
    db.session.commit()
    assert "last sent Tue 10 Mar 07:00" in page(dispatcher, "/oncall/gaps")


def test_a_cover_handing_over_at_half_past_leaves_no_gap(login_as, hospital, amp):
    for day in range(7):
        shift(hospital, "sparky", day, "00:00", "00:00")
    supervisor = login_as("supervisor")
    supervisor.post("/oncall/overrides", data=override_form(
        hospital, user_id=amp.id, replaces_user_id=uid(hospital, "sparky"), starts_at="2026-03-10T11:30",
        ends_at="2026-03-10T14:45"))
    assert count(ShiftOverride) == 1
    assert 'id="gaps-power"' not in page(supervisor, "/oncall/gaps")


# --- escalation policies ----------------------------------------------------------------------

def policy_form(**fields) -> dict:
    """The policy form as a browser posts it: every step row, blank unless given."""
    data = {"name": "Medical gas out of hours", "trade_id": "0", "priority": "1", "repeat": "2"}
    for row_index in range(5):
        data.update({f"steps-{row_index}-target": "", f"steps-{row_index}-wait_minutes": "",
                     f"steps-{row_index}-group_name": ""})
    data.update({k: str(v) for k, v in fields.items()})
    return data


def test_the_escalation_page_shows_the_default_chains_without_policies(login_as, hospital):
    html = page(login_as("supervisor"), "/oncall/escalation")
    assert "No policies yet" in html and "Default chains" in html
    assert "P1 emergency" in html and "Next technician on call" in html and "voice call" in html


def test_a_policy_is_created_edited_and_deleted(login_as, hospital):
    manager = login_as("manager")
    gas = hospital.trades["gas"].id
    response = manager.post("/oncall/escalation/new", data=policy_form(
        trade_id=gas, **{"steps-0-target": "primary", "steps-0-wait_minutes": "5", "steps-0-voice": "y",
                         "steps-2-target": "group", "steps-2-wait_minutes": "10", "steps-2-group_name": "Gas team",
                         "steps-2-group_user_ids": uid(hospital, "supervisor")}))
    assert response.status_code == 302
    policy = db.session.scalar(select(EscalationPolicy))
    assert (policy.trade_id, policy.priority, policy.repeat) == (gas, 1, 2)
    assert [(s.position, s.target, s.wait_minutes, s.voice) for s in policy.steps] == [
        (1, "primary", 5, True), (2, "group", 10, False)]
    assert policy.steps[1].group_user_ids == [uid(hospital, "supervisor")]
    listing = page(manager, "/oncall/escalation")
    assert "Medical gas out of hours" in listing and "Gas team" in listing

    edit = page(manager, f"/oncall/escalation/{policy.id}")
    assert 'value="Medical gas out of hours"' in edit
    response = manager.post(f"/oncall/escalation/{policy.id}", data=policy_form(
        name="Gas, any hour", trade_id=gas, repeat="3", **{"steps-0-target": "supervisor", "steps-0-wait_minutes": "0"}))
    assert response.status_code == 302
    db.session.expire_all()
    policy = db.session.get(EscalationPolicy, policy.id)
    assert (policy.name, policy.repeat, [s.target for s in policy.steps]) == ("Gas, any hour", 3, ["supervisor"])

    assert manager.post(f"/oncall/escalation/{policy.id}/delete").status_code == 302
    assert count(EscalationPolicy) == 0


def test_a_policy_sets_whom_to_tell_when_nobody_is_on_site(login_as, hospital):
    manager = login_as("manager")
    gas = hospital.trades["gas"].id
    response = manager.post("/oncall/escalation/new", data=policy_form(
        trade_id=gas, **{"steps-0-target": "primary", "steps-0-wait_minutes": "5",
                         "steps-1-phase": "attend", "steps-1-target": "duty_manager", "steps-1-wait_minutes": "10"}))
    assert response.status_code == 302
    policy = db.session.scalar(select(EscalationPolicy))
    assert [(s.phase, s.target, s.wait_minutes) for s in policy.steps] == [
        ("acknowledge", "primary", 5), ("attend", "duty_manager", 10)]
    listing = page(manager, "/oncall/escalation")
    assert "Acknowledged, nobody on site by the attend target:" in listing
    edit = page(manager, f"/oncall/escalation/{policy.id}")
    assert '<option selected value="attend">' in edit or '<option value="attend" selected>' in edit


@pytest.mark.parametrize("fields, message", [
    ({}, "A policy needs at least one step."),
    ({"steps-0-target": "supervisor", "steps-0-wait_minutes": "2000"}, "Step 1: wait between 0 and 1440 minutes."),
    ({"steps-0-target": "supervisor", "steps-0-wait_minutes": ""}, "Step 1: wait between 0 and 1440 minutes."),
    ({"steps-0-target": "supervisor", "steps-0-wait_minutes": "5", "steps-1-target": "group",
      "steps-1-wait_minutes": "5"}, "Step 2: a group needs at least one person."),
    ({"steps-0-target": "pager", "steps-0-wait_minutes": "5"}, "Not a valid choice"),
    ({"repeat": "0", "steps-0-target": "supervisor", "steps-0-wait_minutes": "5"}, "Number must be between 1 and 10."),
    ({"name": "", "steps-0-target": "supervisor", "steps-0-wait_minutes": "5"}, "Give the policy a name."),
])
def test_policy_errors_are_shown_and_nothing_is_saved(login_as, hospital, fields, message):
    response = login_as("admin").post("/oncall/escalation/new", data=policy_form(**fields))
    assert response.status_code == 422
    assert message in response.get_data(as_text=True)
    assert count(EscalationPolicy) == 0


def test_two_policies_for_the_same_trade_and_priority_are_refused(login_as, hospital):
    manager = login_as("manager")
    steps = {"steps-0-target": "supervisor", "steps-0-wait_minutes": "5"}
    assert manager.post("/oncall/escalation/new", data=policy_form(**steps)).status_code == 302
    again = manager.post("/oncall/escalation/new", data=policy_form(name="Another", **steps))
    assert again.status_code == 422
    assert "already covers this trade and priority" in again.get_data(as_text=True)
    assert count(EscalationPolicy) == 1
