"""Check forms (inspection rounds and test records): readings at their limits, a failed item opening
exactly one corrective ticket (also when sent twice, and by two people at once), the SMS reply grammar
with bad input, on-time compliance and the binder's figures."""
from __future__ import annotations

from datetime import date, datetime, timedelta, timezone

import pytest
from sqlalchemy import func, select

from dispatch.errors import NotFoundError, PermissionDeniedError, ValidationError
from dispatch.services import check_forms, planned, rounds
from dispatch.services.check_forms import Answer, FormValues, ItemValues, parse_item_lines, reading_passes
from dispatch.services.sms_replies import handle_inbound
from models import CheckRecord, CheckResult, Ticket, TicketEvent, db
from tests.test_concurrency import run_together


def generator_form(hospital, schedule_id=None):
    return check_forms.save_form(hospital.user("admin"), FormValues(
        kind="test", title="Generator 1 monthly test", ward_id=hospital.icu.id, trade_id=hospital.trades["power"].id,
        standard="NFPA 110", schedule_id=schedule_id, items=[
            ItemValues("Minutes run", "reading", "min", 30, None),
            ItemValues("Load, % of nameplate", "reading", "%", 30, None),
            ItemValues("Transfer time", "reading", "s", None, 10),
            ItemValues("No leaks, no alarms"),
        ]))


def answers(minutes=30, load=30, transfer=10, clean=True):
    return {1: Answer(reading=minutes), 2: Answer(reading=load), 3: Answer(reading=transfer),
            4: Answer(passed=clean, note=None if clean else "oil under the sump")}


def corrective_tickets() -> list[Ticket]:
    return list(db.session.scalars(select(Ticket).join(CheckResult, CheckResult.ticket_id == Ticket.id)))


# ---- the rule -----------------------------------------------------------------------------------

@pytest.mark.parametrize("reading, low, high, passes", [
    (30, 30, None, True), (29.99, 30, None, False), (10, None, 10, True), (10.01, None, 10, False),
    (1.5, 1.5, 4.5, True), (4.5, 1.5, 4.5, True), (4.51, 1.5, 4.5, False), (1.49, 1.5, 4.5, False),
    (-3, -5, 0, True),
])
def test_a_reading_at_its_limit_passes_and_just_outside_fails(reading, low, high, passes):
    assert reading_passes(reading, low, high) is passes


def test_the_generator_test_at_exactly_its_nfpa_110_limits_passes_and_opens_nothing(hospital, db):
    form = generator_form(hospital)
    submission = check_forms.submit_record(hospital.user("sparky"), form.id, answers(30, 30, 10))
    assert submission.created and submission.record.failed_count == 0 and submission.tickets == []
    assert corrective_tickets() == []


def test_a_slow_transfer_opens_one_corrective_ticket_linked_to_the_record_and_item(hospital, db):
    form = generator_form(hospital)
    submission = check_forms.submit_record(hospital.user("sparky"), form.id, answers(45, 52, 10.5))
    assert submission.record.failed_count == 1
    [ticket] = corrective_tickets()
    result = db.session.scalar(select(CheckResult).where(CheckResult.ticket_id == ticket.id))
    assert (result.position, result.reading, result.passed) == (3, 10.5, False)
    assert ticket.trade_id == hospital.trades["power"].id and ticket.ward_id == hospital.icu.id
    assert "Transfer time read 10.5 s (limits ≤ 10 s)" in ticket.description
    assert ticket.reporter_id == hospital.users["sparky"].id
    reported = db.session.scalar(select(TicketEvent).where(TicketEvent.ticket_id == ticket.id,
                                                           TicketEvent.kind == "reported"))
    assert reported.data["check_result_id"] == result.id and reported.data["check_record_id"] == result.record_id


def test_a_corrective_ticket_is_dispatched_only_to_a_licensed_technician(hospital, db):
    form = generator_form(hospital)
    check_forms.submit_record(hospital.user("plumb"), form.id, answers(clean=False))
    [ticket] = corrective_tickets()
    # The plumber found it; the electrical job goes to an electrician whose licence is valid, never the lapsed one.
    assert ticket.assignee_id in (None, hospital.users["sparky"].id, hospital.users["volt"].id)


def test_sending_the_same_form_again_makes_no_second_record_and_no_second_ticket(hospital, db):
    form = generator_form(hospital)
    first = check_forms.submit_record(hospital.user("sparky"), form.id, answers(clean=False))
    again = check_forms.submit_record(hospital.user("sparky"), form.id, answers(clean=False))
    other = check_forms.submit_record(hospital.user("volt"), form.id, answers(minutes=5))
    assert first.created and not again.created and not other.created
    assert again.record.id == first.record.id == other.record.id
    assert len(corrective_tickets()) == 1
    assert db.session.scalar(select(func.count(CheckRecord.id))) == 1


def test_two_technicians_sending_at_the_same_moment_make_one_record_and_one_ticket(app, hospital, db):
    form_id = generator_form(hospital).id

    def submit(username):
        from models import User

        def act(user):
            return check_forms.submit_record(user, form_id, answers(clean=False)).created
        return (lambda: db.session.scalar(select(User).where(User.username == username)), act)

    results = run_together(app, [submit("sparky"), submit("volt")])
    assert sorted(r for _state, r in results) == [False, True], results
    db.session.rollback()  # see what the two threads committed
    assert db.session.scalar(select(func.count(CheckRecord.id))) == 1
    assert len(corrective_tickets()) == 1


def test_every_item_must_be_answered_and_readings_need_numbers(hospital, db):
    form = generator_form(hospital)
    partial = answers()
    del partial[2]
    with pytest.raises(ValidationError) as missing:
        check_forms.submit_record(hospital.user("sparky"), form.id, partial)
    assert missing.value.field == "item_2"
    with pytest.raises(ValidationError) as extra:
        check_forms.submit_record(hospital.user("sparky"), form.id, {**answers(), 9: Answer(passed=True)})
    assert extra.value.field == "item_9"
    with pytest.raises(ValidationError) as nan:
        check_forms.submit_record(hospital.user("sparky"), form.id, {**answers(), 1: Answer(reading=float("nan"))})
    assert nan.value.field == "item_1"
    assert db.session.scalar(select(func.count(CheckRecord.id))) == 0


@pytest.mark.parametrize("username, allowed", [
    ("sparky", True), ("dispatcher", True), ("supervisor", True), ("admin", True), ("manager", False),
    ("nurse.icu", False),
])
def test_who_may_fill_a_form_in(hospital, db, username, allowed):
    form = generator_form(hospital)
    if allowed:
        assert check_forms.submit_record(hospital.user(username), form.id, answers()).created
    else:
        with pytest.raises(PermissionDeniedError):
            check_forms.submit_record(hospital.user(username), form.id, answers())


@pytest.mark.parametrize("username", ["sparky", "supervisor", "dispatcher", "nurse.icu"])
def test_only_managers_and_admins_define_forms(hospital, db, username):
    with pytest.raises(PermissionDeniedError):
        check_forms.save_form(hospital.user(username), FormValues(
            kind="round", title="Plant room", ward_id=hospital.icu.id, trade_id=hospital.trades["power"].id,
            items=[ItemValues("Doors shut")]))


def test_the_editor_reads_item_lines_and_names_the_bad_line(hospital, db):
    items = parse_item_lines("Doors shut\nChilled water pressure; min 1.5; max 4.5; unit bar\n\nBed 1 @ Oxygen outlet")
    assert [(i.label, i.kind, i.min_value, i.max_value, i.unit) for i in items] == [
        ("Doors shut", "check", None, None, None), ("Chilled water pressure", "reading", 1.5, 4.5, "bar"),
        ("Oxygen outlet", "check", None, None, None)]
    assert items[2].location_id is not None
    for text, words in [("Pressure; min lots", "Line 1"), ("ok\nPressure; above 3", "Line 2"),
                        ("Nowhere @ Door", "no asset tag or room")]:
        with pytest.raises(ValidationError) as refused:
            parse_item_lines(text)
        assert words in refused.value.message and refused.value.field == "items"
    with pytest.raises(ValidationError) as backwards:
        check_forms.save_form(hospital.user("admin"), FormValues(
            kind="round", title="Plant room", ward_id=hospital.icu.id, trade_id=hospital.trades["power"].id,
            items=parse_item_lines("Pressure; min 5; max 1")))
    assert "min is above the max" in backwards.value.message


def test_changing_a_form_keeps_what_earlier_records_answered(hospital, db):
    form = generator_form(hospital)
    record = check_forms.submit_record(hospital.user("sparky"), form.id, answers(minutes=40)).record
    check_forms.save_form(hospital.user("admin"), FormValues(
        kind="test", title=form.title, ward_id=hospital.icu.id, trade_id=hospital.trades["power"].id,
        items=[ItemValues("Minutes run", "reading", "min", 45, None)]), form.id)
    db.session.expire_all()
    assert [i.min_value for i in check_forms.get_form(form.id).items] == [45]
    assert [r.min_value for r in check_forms.get_record(record.id).results][:1] == [30]


# ---- SMS ------------------------------------------------------------------------------------------

def sms(body, sid, number="+8613900000001"):
    return handle_inbound(sid, number, "+15005550006", body)


def test_an_sms_lists_the_items_and_records_the_answers_once(hospital, db):
    form = generator_form(hospital)
    listing = sms(f"C {form.id}", "SMc1")
    assert "1 Minutes run (≥ 30 min)" in listing and "3 Transfer time (≤ 10 s)" in listing
    body = f"C{form.id} 1=31 2=40 3=12.5 4F oil under the sump"
    reply = sms(body, "SMc2")
    assert "2 passed, 2 failed" in reply and "Corrective tickets: #" in reply
    tickets = corrective_tickets()
    assert len(tickets) == 2 and any("oil under the sump" in t.description for t in tickets)
    assert sms(body, "SMc2") == reply  # the same message delivered twice: the first answer, nothing new
    assert "recorded already" in sms(body, "SMc3")  # sent again by the technician
    assert len(corrective_tickets()) == 2


@pytest.mark.parametrize("body, words", [
    ("C", "Which form?"),
    ("C 999 1P", "Form 999 not found"),
    ("C {id} looks fine", 'Could not read "looks fine"'),
    ("C {id} 1=31 1=32 2=40 3=5 4P", "Item 1 is answered twice"),
    ("C {id} 1=31 2=40 4P", "Item 3 (Transfer time) is not answered"),
    ("C {id} 1=31 2=40 3=5 4P 7P", "The form has no item 7"),
    ("C {id} 1P 2=40 3=5 4P", "Item 1 (Minutes run) is not answered"),
    ("C {id} 1=31 2=40 3=5 4=1", "Item 4 is passed or failed, not a reading"),
])
def test_a_bad_sms_is_answered_with_what_is_wrong_and_records_nothing(hospital, db, body, words):
    form = generator_form(hospital)
    reply = sms(body.format(id=form.id), "SMbad")
    assert words in reply
    assert db.session.scalar(select(func.count(CheckRecord.id))) == 0


def test_a_nurse_cannot_record_a_form_by_sms(hospital, db):
    from models import User

    nurse = db.session.scalar(select(User).where(User.username == "nurse.icu"))
    nurse.phone = "+8613900000099"
    db.session.commit()
    form = generator_form(hospital)
    assert "Your role may not" in sms(f"C {form.id} 1=31 2=40 3=5 4P", "SMn", "+8613900000099")
    assert db.session.scalar(select(func.count(CheckRecord.id))) == 0


# ---- on time, and the binder ----------------------------------------------------------------------

def daily_round(hospital, clock, start):
    schedule = planned.save_schedule(hospital.user("supervisor"), planned.ScheduleValues(
        title="Plant room round", ward_id=hospital.icu.id, trade_id=hospital.trades["power"].id, start_date=start,
        interval_unit="day", interval_count=1, lead_days=0))
    return check_forms.save_form(hospital.user("admin"), FormValues(
        kind="round", title="Plant room round", ward_id=hospital.icu.id, trade_id=hospital.trades["power"].id,
        schedule_id=schedule.id, standard="HTM 06-01", items=[ItemValues("Doors shut"),
                                                               ItemValues("Room temperature", "reading", "°C", None, 30)]))


def test_a_record_answers_the_next_due_date_and_passed_dates_without_one_are_missed(hospital, db, clock):
    start = date(2026, 3, 10)
    form = daily_round(hospital, clock, start)
    check_forms.submit_record(hospital.user("sparky"), form.id, {1: Answer(passed=True), 2: Answer(reading=24)})
    clock.advance(days=2)  # 11 March missed; 12 March failed an item
    check_forms.submit_record(hospital.user("sparky"), form.id, {1: Answer(passed=False, note="door wedged"),
                                                                  2: Answer(reading=24)})
    clock.advance(days=1)  # today is the 13th: not counted yet
    figures = rounds.compliance(date(2026, 3, 1), date(2026, 3, 31), "round")
    [line] = figures.forms
    assert (line.due, line.met, line.missed_dates, line.percent) == (3, 2, [date(2026, 3, 11)], 67)
    [deficiency] = figures.deficiencies
    assert deficiency.result.label == "Doors shut" and deficiency.result.ticket is not None


def test_a_skipped_date_counts_neither_way(hospital, db, clock):
    form = daily_round(hospital, clock, date(2026, 3, 10))
    planned.skip_occurrence(hospital.user("supervisor"), form.schedule_id, date(2026, 3, 11), "Plant room closed")
    clock.advance(days=2)
    [line] = rounds.compliance(date(2026, 3, 1), date(2026, 3, 31), "round").forms
    assert (line.due, line.met, line.missed, line.skipped) == (1, 0, 1, 1)  # the 10th missed, the 11th skipped


def test_the_binder_sections_give_the_pages_figures(hospital, db, clock, login_as):
    form = daily_round(hospital, clock, date(2026, 3, 10))
    check_forms.submit_record(hospital.user("sparky"), form.id, {1: Answer(passed=False), 2: Answer(reading=31)})
    clock.advance(days=3)
    start, end = date(2026, 3, 1), date(2026, 3, 31)
    figures = rounds.compliance(start, end, "round")
    round_section, test_section = rounds.binder_sections(start, end, None, "en")
    [row] = round_section.rows
    line = figures.forms[0]
    assert row[2:7] == [line.due, line.met, line.missed, line.skipped, line.failed_items] == [3, 1, 2, 0, 2]
    assert round_section.summary == "1 of 3 on time (33%)"
    assert len(round_section.deficiencies) == len(figures.deficiencies) == 2
    assert test_section.rows == [] and test_section.summary == "Nothing was due in the period."
    page = login_as("manager").get(f"/checks/compliance?start={start}&end={end}")
    assert page.status_code == 200
    assert "1 of 3 on time (33%)" in page.text
    chinese = rounds.binder_sections(start, end, None, "zh_CN")[0]
    assert chinese.rows[0][2:7] == row[2:7] and chinese.title != round_section.title
    assert rounds.binder_sections(start, end, "NFPA", "en")[0].rows == []


def test_a_form_that_is_switched_off_cannot_be_filled_in(hospital, db):
    form = generator_form(hospital)
    values = FormValues(kind="test", title=form.title, ward_id=hospital.icu.id, trade_id=hospital.trades["power"].id,
                        items=[ItemValues("Minutes run", "reading", "min", 30, None)], active=False)
    check_forms.save_form(hospital.user("admin"), values, form.id)
    with pytest.raises(NotFoundError):
        check_forms.submit_record(hospital.user("sparky"), form.id, {1: Answer(reading=40)})
