"""Emergency plans: chosen for P1 tickets, versioned so a ticket keeps what it was handled under,
steps ticked into the history, a login-only link in the technician's SMS, the editor and the board."""
from __future__ import annotations

import re

import pytest

from dispatch.errors import NotFoundError, PermissionDeniedError, ValidationError
from dispatch.fake_twilio.segments import count_segments
from dispatch.services import emergency_plans as plans
from dispatch.services.assignment import assign_ticket
from dispatch.services.tickets import reprioritise, report_fault
from dispatch.sms import segments
from models import EmergencyPlan, EmergencyPlanVersion, OutboundMessage, Ticket, TicketEvent, TicketPlanStep, User, db
from models.plan import PublishedPlanError
from tests.test_i18n import data_words, english_left  # noqa: F401  (data_words is a fixture)

ICU_STEPS = ["Phone ICU nurse in charge: which beds are on battery", "Check the ICU UPS panel",
             "Check LV board A at switch room A-B1"]


def make_plan(hospital, *, trade="power", criticality=None, keywords=None, title="ICU power loss", steps=None,
              contacts="Duty electrician | +86 139 0000 1000\nICU nurse in charge | 3301",
              isolation="ICU essential supply | Switch room A-B1, feeder A-07",
              summary="Ventilators are on battery.") -> EmergencyPlan:
    content = plans.parse_content(title=title, summary=summary,
                                  steps="\n".join(steps or ICU_STEPS), contacts=contacts, isolation_points=isolation)
    return plans.create_plan(hospital.user("manager"), trade_id=hospital.trades[trade].id, criticality=criticality,
                             keywords=keywords, content=content)


def file_fault(hospital, trade="power", ward="icu", description="No power to beds 1-4", **kw) -> Ticket:
    nurse = hospital.user("nurse.icu" if ward == "icu" else "nurse.ward3")
    return report_fault(nurse, ward_id=getattr(hospital, ward).id, trade_id=hospital.trades[trade].id,
                        description=description, **kw)


def events(ticket_id: int, kind: str) -> list[TicketEvent]:
    return list(db.session.query(TicketEvent).filter_by(ticket_id=ticket_id, kind=kind).order_by(TicketEvent.id))


def plan_panel(html: str) -> str:
    match = re.search(r'<section class="card plan-panel".*?</section>', html, re.S)
    assert match, "no plan panel on the page"
    return match.group(0)


def edit_form(plan: EmergencyPlan, **changes) -> dict:
    current = plan.current
    data = {"title": current.title, "summary": current.summary or "", "trade_id": plan.trade_id,
            "criticality": plan.criticality or "", "keywords": plan.keywords or "", "active": "y",
            "steps": "\n".join(current.steps),
            "contacts": "\n".join(f"{c['name']} | {c['phone']}" for c in current.contacts),
            "isolation_points": "\n".join(f"{p['what']} | {p['where']}" for p in current.isolation_points),
            "change_note": ""}
    data.update(changes)
    return data


# --- the version a ticket is handled under ------------------------------------------------------

def test_a_p1_ticket_shows_its_plan_version_and_an_edit_later_does_not_change_it(hospital, login_as):
    plan = make_plan(hospital, criticality="icu")
    ticket = file_fault(hospital)
    assert ticket.priority == 1
    assert ticket.plan_version.number == 1
    dispatcher = login_as("dispatcher")
    page = dispatcher.get(f"/tickets/{ticket.id}").get_data(as_text=True)
    panel = plan_panel(page)
    assert page.index("plan-panel") < page.index('class="description"')  # at the top of the ticket
    assert "ICU power loss" in panel and "version 1" in panel
    assert "Check the ICU UPS panel" in panel
    assert 'href="tel:+8613900001000"' in panel and 'href="tel:3301"' in panel
    assert "Switch room A-B1, feeder A-07" in panel

    manager = login_as("manager")
    response = manager.post(f"/plans/{plan.id}/edit", data=edit_form(
        plan, title="ICU power loss (revised)", steps="\n".join(ICU_STEPS + ["Start the standby generator by hand"]),
        change_note="Generator step added"))
    assert response.status_code == 302
    db.session.expire_all()
    assert [v.number for v in db.session.get(EmergencyPlan, plan.id).versions] == [1, 2]

    panel = plan_panel(dispatcher.get(f"/tickets/{ticket.id}").get_data(as_text=True))
    assert "version 1" in panel and "version 2" not in panel.split("now at")[0]
    assert "Start the standby generator by hand" not in panel
    assert "(revised)" not in panel
    assert "the plan is now at version 2" in panel
    assert db.session.get(Ticket, ticket.id).plan_version.number == 1

    # New emergencies get the new version; the old one stays readable as it was.
    second = file_fault(hospital, description="Whole ICU dark")
    assert second.plan_version.number == 2
    panel = plan_panel(dispatcher.get(f"/tickets/{second.id}").get_data(as_text=True))
    assert "version 2" in panel and "Start the standby generator by hand" in panel
    old = dispatcher.get(f"/plans/{plan.id}/v/1").get_data(as_text=True)
    assert "Start the standby generator by hand" not in old and "not the current version" in old
    assert "Generator step added" in dispatcher.get(f"/plans/{plan.id}").get_data(as_text=True)


def test_saving_unchanged_steps_publishes_no_new_version_but_keeps_the_rule(hospital, login_as):
    plan = make_plan(hospital)
    response = login_as("supervisor").post(f"/plans/{plan.id}/edit", data=edit_form(plan, keywords="dark, 停电"))
    assert response.status_code == 302
    db.session.expire_all()
    plan = db.session.get(EmergencyPlan, plan.id)
    assert plan.current_number == 1 and plan.keywords == "dark, 停电"


def test_a_published_version_never_changes(hospital):
    plan = make_plan(hospital)
    version = db.session.get(EmergencyPlanVersion, plan.current.id)
    version.steps = ["something else"]
    with pytest.raises(PublishedPlanError):
        db.session.flush()
    db.session.rollback()


# --- which plan a ticket gets ------------------------------------------------------------------

def test_the_best_fitting_active_plan_is_chosen_for_p1_only(hospital):
    whole_trade = make_plan(hospital, title="Power loss, any ward")
    icu = make_plan(hospital, criticality="icu", title="ICU power loss")
    ups = make_plan(hospital, keywords="UPS, 不间断电源", title="UPS alarm")
    make_plan(hospital, trade="water", title="Water loss")

    assert file_fault(hospital).plan_version.plan_id == icu.id                       # the ward's kind
    assert file_fault(hospital, description="UPS alarm, ups on battery").plan_version.plan_id == ups.id  # a word
    assert file_fault(hospital, description="不间断电源报警").plan_version.plan_id == ups.id
    general = file_fault(hospital, ward="ward3", description="Whole ward dark", priority=None)
    assert general.priority == 2 and general.plan_version_id is None              # P2: no plan
    at_risk = file_fault(hospital, ward="ward3", patient_at_risk=True)
    assert at_risk.priority == 1 and at_risk.plan_version.plan_id == whole_trade.id

    plans.update_plan(icu.id, hospital.user("manager"), trade_id=icu.trade_id, criticality="icu", keywords=None,
                      active=False, content=plans.parse_content(title="ICU power loss", summary="Ventilators are on battery.",
                                                                steps="\n".join(ICU_STEPS), contacts="", isolation_points=""),
                      change_note=None)
    assert file_fault(hospital).plan_version.plan_id == whole_trade.id  # a retired plan is not chosen
    [attached] = events(at_risk.id, "plan_attached")
    assert attached.channel == "system" and attached.note == "Power loss, any ward v1"


def test_a_ticket_raised_to_p1_gets_its_plan_and_its_technician_is_sent_the_link(hospital, clock):
    make_plan(hospital, title="Power loss, any ward")
    ticket = file_fault(hospital, ward="ward3", description="Ward 3 lights out")
    assert ticket.priority == 2 and ticket.plan_version_id is None
    assign_ticket(ticket.id, hospital.users["sparky"].id, hospital.user("dispatcher"))
    clock.advance(minutes=2)
    reprioritise(ticket.id, 1, hospital.user("dispatcher"), reason="Patients on oxygen concentrators")
    ticket = db.session.get(Ticket, ticket.id)
    assert ticket.plan_version.number == 1
    [row] = db.session.query(OutboundMessage).filter_by(ticket_id=ticket.id, kind="plan").all()
    assert row.recipient_id == hospital.users["sparky"].id
    assert f"http://127.0.0.1:5000/p/{ticket.id}" in row.body and segments.count(row.body) <= 2
    assert row.body.startswith(f"P1 #{ticket.id} emergency plan v1: ")


def test_the_control_room_attaches_changes_and_removes_a_plan(hospital, login_as):
    power = make_plan(hospital, title="Power loss, any ward")
    other = make_plan(hospital, title="Generator start", keywords="generator")
    ticket = file_fault(hospital, ward="ward3", description="Corridor lights out")
    assert ticket.plan_version_id is None
    dispatcher = login_as("dispatcher")
    page = dispatcher.get(f"/tickets/{ticket.id}").get_data(as_text=True)
    assert "Attach plan" in page
    version = db.session.get(Ticket, ticket.id).version
    assert dispatcher.post(f"/p/{ticket.id}/plan", data={"plan_id": other.id, "version": version}).status_code == 302
    db.session.expire_all()
    assert db.session.get(Ticket, ticket.id).plan_version.plan_id == other.id
    dispatcher.post(f"/p/{ticket.id}/plan", data={"plan_id": power.id})
    db.session.expire_all()
    assert db.session.get(Ticket, ticket.id).plan_version.plan_id == power.id
    dispatcher.post(f"/p/{ticket.id}/plan", data={"plan_id": 0})
    db.session.expire_all()
    assert db.session.get(Ticket, ticket.id).plan_version_id is None
    assert [e.note for e in events(ticket.id, "plan_attached")] == ["Generator start v1", "Power loss, any ward v1"]
    assert len(events(ticket.id, "plan_removed")) == 1
    # A plan that does not exist is a form message, not a 500; a nurse may not choose plans.
    response = dispatcher.post(f"/p/{ticket.id}/plan", data={"plan_id": 999}, follow_redirects=True)
    assert response.status_code == 200 and "Choose an emergency plan." in response.get_data(as_text=True)
    assert login_as("nurse.ward3").post(f"/p/{ticket.id}/plan", data={"plan_id": power.id}).status_code == 403


# --- ticking steps -----------------------------------------------------------------------------

def test_ticking_steps_records_history_with_time_and_who_once(hospital, clock):
    make_plan(hospital, criticality="icu")
    ticket = file_fault(hospital)
    assign_ticket(ticket.id, hospital.users["sparky"].id, hospital.user("dispatcher"))
    sparky = hospital.user("sparky")
    clock.advance(minutes=3)
    first = plans.tick_step(ticket.id, 1, sparky)
    ticked_at = clock.now()
    clock.advance(minutes=4)
    again = plans.tick_step(ticket.id, 1, sparky)  # a second tap changes nothing
    assert again.id == first.id and again.done_at == ticked_at
    plans.tick_step(ticket.id, 0, hospital.user("dispatcher"))  # the control room, on the phone's word
    [step2, step1] = events(ticket.id, "plan_step")
    assert (step2.at, step2.actor_id, step2.data["step"], step2.data["number"]) == (ticked_at, sparky.id, 2, 1)
    assert step2.note == "Check the ICU UPS panel"
    assert (step1.at, step1.actor_id) == (clock.now(), hospital.users["dispatcher"].id)
    assert db.session.query(TicketPlanStep).filter_by(ticket_id=ticket.id).count() == 2

    with pytest.raises(ValidationError) as error:
        plans.tick_step(ticket.id, 3, sparky)
    assert error.value.field == "step"
    with pytest.raises(PermissionDeniedError):
        plans.tick_step(ticket.id, 2, hospital.user("nurse.icu"))
    with pytest.raises(NotFoundError):
        plans.tick_step(ticket.id, 2, hospital.user("volt"))  # not their job: they do not see it at all


def test_the_technician_ticks_steps_on_the_phone_and_the_ticket_shows_the_times(hospital, clock, login_as):
    make_plan(hospital, criticality="icu")
    ticket = file_fault(hospital)
    assign_ticket(ticket.id, hospital.users["sparky"].id, hospital.user("dispatcher"))
    sparky = login_as("sparky")
    jobs = sparky.get("/jobs").get_data(as_text=True)
    panel = plan_panel(jobs)
    assert panel.count('class="tick"') == 3  # three boxes to tick
    clock.advance(minutes=5)  # 10:05 in the hospital (Asia/Shanghai)
    response = sparky.post(f"/p/{ticket.id}/steps/1", data={"next": "/jobs"})
    assert response.status_code == 302 and response.headers["Location"].endswith("/jobs")
    assert sparky.post(f"/p/{ticket.id}/steps/9").status_code == 302  # no such step: a message, not a 500
    panel = plan_panel(login_as("dispatcher").get(f"/tickets/{ticket.id}").get_data(as_text=True))
    assert "1 of 3 steps done" in panel
    assert "10 Mar 10:05 · Wang Sparky" in panel
    history = login_as("dispatcher").get(f"/tickets/{ticket.id}").get_data(as_text=True)
    assert "Plan step done" in history and "Step 1 · Phone ICU nurse in charge" in history


# --- the SMS and its link ----------------------------------------------------------------------

LONG_EN = ("No power to bed spaces 1-6, ventilators alarming on battery, monitors dark, smell of burning at DB; " * 8)[:900]
LONG_ZH = ("重症监护室1至6床无电，呼吸机电池报警，监护仪黑屏，配电箱有焦糊味，请立即派电工。" * 8)[:300]


@pytest.mark.parametrize("locale,description,place", [(None, LONG_EN, "Bed 5"), ("zh_CN", LONG_ZH, "5床")])
def test_the_assignment_sms_carries_the_plan_link_within_two_segments(hospital, locale, description, place):
    make_plan(hospital, criticality="icu")
    sparky = db.session.get(User, hospital.users["sparky"].id)
    sparky.locale = locale
    db.session.commit()
    ticket = file_fault(hospital, description=description, place_detail=place)
    assign_ticket(ticket.id, sparky.id, hospital.user("dispatcher"))
    [row] = db.session.query(OutboundMessage).filter_by(ticket_id=ticket.id, kind="assignment").all()
    link = f"http://127.0.0.1:5000/p/{ticket.id}"
    assert link in row.body
    assert segments.count(row.body) == count_segments(row.body) == row.segments <= 2
    if locale:
        assert f"预案：{link} 回复" in row.body and row.body.endswith(f"完 {ticket.id} 备注 完工。")
        assert segments.units(row.body)[0] == "ucs2"
    else:
        assert f"Plan: {link} Reply A {ticket.id} accept" in row.body
        assert row.body.endswith(f"D {ticket.id} note done.") and segments.units(row.body)[0] == "gsm"


def test_a_long_chinese_place_gives_way_to_the_link_and_the_reply_codes(hospital):
    """An English-speaking technician, a ward named in Chinese: the text is UCS-2 and head, link and
    reply codes alone would take three segments. The place is shortened; the link and codes arrive whole."""
    make_plan(hospital, criticality="icu")
    ticket = file_fault(hospital, description="配电箱断电", place_detail="重症监护室东区三号病房五号床旁设备带后方配电箱")
    assign_ticket(ticket.id, hospital.users["sparky"].id, hospital.user("dispatcher"))
    [row] = db.session.query(OutboundMessage).filter_by(ticket_id=ticket.id, kind="assignment").all()
    assert segments.count(row.body) == count_segments(row.body) == 2
    assert row.body.startswith(f"P1 #{ticket.id} Power, ICU")  # the number, trade and ward survive
    assert row.body.endswith(f"… Plan: http://127.0.0.1:5000/p/{ticket.id} Reply A {ticket.id} accept, R {ticket.id} "
                             f"reason refuse, S {ticket.id} on site, D {ticket.id} note done.")


def test_without_a_plan_the_sms_is_as_before(hospital):
    ticket = file_fault(hospital)
    assign_ticket(ticket.id, hospital.users["sparky"].id, hospital.user("dispatcher"))
    [row] = db.session.query(OutboundMessage).filter_by(ticket_id=ticket.id).all()
    assert "/p/" not in row.body and "Plan" not in row.body


def test_the_plan_link_needs_a_login_and_shows_only_to_those_who_see_the_ticket(hospital, app, login_as):
    make_plan(hospital, criticality="icu")
    ticket = file_fault(hospital)
    assign_ticket(ticket.id, hospital.users["sparky"].id, hospital.user("dispatcher"))
    stranger = app.test_client()
    response = stranger.get(f"/p/{ticket.id}")
    assert response.status_code == 302 and "/login" in response.headers["Location"]
    assert "Check the ICU UPS panel" not in stranger.get(f"/p/{ticket.id}", follow_redirects=True).get_data(as_text=True)

    # The technician opens the SMS link, logs in, and lands on the plan.
    from tests.conftest import PASSWORD, csrf_token

    phone = app.test_client()
    login_page = phone.get(response.headers["Location"])
    landed = phone.post(response.headers["Location"], data={"username": "sparky", "password": PASSWORD,
                                                             "csrf_token": csrf_token(login_page.get_data(as_text=True))})
    assert landed.status_code == 302 and landed.headers["Location"].endswith(f"/p/{ticket.id}")
    page = phone.get(f"/p/{ticket.id}").get_data(as_text=True)
    assert "Check the ICU UPS panel" in page and 'class="tick"' in page

    assert login_as("volt").get(f"/p/{ticket.id}").status_code == 404        # another technician
    assert login_as("nurse.ward3").get(f"/p/{ticket.id}").status_code == 404  # another ward
    ward_view = login_as("nurse.icu").get(f"/p/{ticket.id}").get_data(as_text=True)
    assert "Check the ICU UPS panel" in ward_view and "tick-form" not in ward_view  # the ward reads, does not tick
    assert login_as("nurse.icu").post(f"/p/{ticket.id}/steps/1").status_code == 403  # sees it, does not work it
    assert db.session.query(TicketPlanStep).count() == 0
    assert login_as("dispatcher").get("/p/999999").status_code == 404
    no_plan = file_fault(hospital, ward="ward3", description="Corridor lights out")
    assert login_as("dispatcher").get(f"/p/{no_plan.id}").status_code == 302  # to the ticket itself


# --- the editor --------------------------------------------------------------------------------

def test_a_missing_plan_or_version_is_not_found(hospital, login_as):
    # Who may write or read plans at all: tests/test_access_matrix.py.
    plan = make_plan(hospital)
    assert login_as("manager").get("/plans/999/edit").status_code == 404
    assert login_as("manager").get(f"/plans/{plan.id}/v/7").status_code == 404


@pytest.mark.parametrize("changes,message", [
    ({"steps": "  \n  "}, "Write at least one step."),
    ({"title": ""}, "This field is required."),
    ({"contacts": "Duty electrician 13900001000"}, "Line 1: write &#39;name or role | phone number&#39;."),
    ({"contacts": "Duty electrician | call the switchboard"}, "is not a phone number."),
    ({"isolation_points": "Main valve |"}, "Line 1: write &#39;what is isolated | where the valve or switch is&#39;."),
    ({"steps": "x" * 301}, "Step 1 is longer than 300 characters."),
    ({"criticality": "car-park"}, "Not a valid choice."),
])
def test_bad_input_in_the_editor_is_named_and_nothing_is_published(hospital, login_as, changes, message):
    plan = make_plan(hospital)
    response = login_as("manager").post(f"/plans/{plan.id}/edit", data=edit_form(plan, **changes))
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert message in page
    assert 'class="field-error"' in page
    db.session.expire_all()
    assert db.session.get(EmergencyPlan, plan.id).current_number == 1
    assert db.session.query(EmergencyPlanVersion).count() == 1


def test_a_new_plan_from_the_editor(hospital, login_as):
    manager = login_as("manager")
    data = {"title": "Person trapped in lift", "trade_id": hospital.trades["lift"].id, "criticality": "",
            "keywords": "trapped，困", "summary": "", "steps": "Talk to them on the intercom\n\nInspection mode first",
            "contacts": "Lift company (24 h) | 400 600 5678\nLift emergency platform | 96333", "isolation_points": ""}
    response = manager.post("/plans/new", data=data)
    assert response.status_code == 302
    plan = db.session.query(EmergencyPlan).one()
    assert plan.keywords == "trapped, 困" and plan.current.steps == ["Talk to them on the intercom", "Inspection mode first"]
    assert plan.current.published_by_id == hospital.users["manager"].id
    assert "Person trapped in lift" in manager.get("/plans/").get_data(as_text=True)
    assert manager.post("/plans/new", data={**data, "trade_id": 999}).status_code == 422


def test_a_plan_titled_in_chinese_shows_each_reader_their_language_and_a_new_title_is_a_new_version(hospital,
                                                                                                     login_as):
    manager = login_as("manager")
    data = {"title": "", "title_zh": "电梯困人", "trade_id": hospital.trades["lift"].id, "criticality": "",
            "keywords": "", "summary": "", "steps": "Talk to them on the intercom", "contacts": "",
            "isolation_points": ""}
    assert manager.post("/plans/new", data=data).status_code == 302
    plan = db.session.query(EmergencyPlan).one()
    # Only the Chinese title given: it stands in both, and an English reader sees it too.
    assert (plan.current.title, plan.current.title_zh) == ("电梯困人", "电梯困人")
    assert "电梯困人" in manager.get("/plans/").get_data(as_text=True)
    edit = {**data, "title": "Person trapped in lift", "active": "y", "change_note": "English title"}
    assert manager.post(f"/plans/{plan.id}/edit", data=edit).status_code == 302
    db.session.expire_all()
    plan = db.session.get(EmergencyPlan, plan.id)
    assert plan.current_number == 2 and plan.current.title == "Person trapped in lift"
    assert plan.current.name_for("zh_CN") == "电梯困人" and plan.current.name_for("en") == "Person trapped in lift"
    # Neither title: the English field is named.
    refused = manager.post("/plans/new", data={**data, "title_zh": ""})
    assert refused.status_code == 422 and 'class="field-error"' in refused.get_data(as_text=True)


# --- the board ---------------------------------------------------------------------------------

def test_the_board_marks_p1_rows_with_their_plan(hospital, login_as):
    make_plan(hospital, criticality="icu")
    emergency = file_fault(hospital)
    routine = file_fault(hospital, ward="ward3", description="Corridor lights out")
    rows = login_as("dispatcher").get("/board/rows").get_data(as_text=True)
    row = re.search(rf'<tr[^>]*data-ticket="{emergency.id}".*?</tr>', rows, re.S).group(0)
    assert f'href="/p/{emergency.id}"' in row and "Plan v1" in row
    other = re.search(rf'<tr[^>]*data-ticket="{routine.id}".*?</tr>', rows, re.S).group(0)
    assert "/p/" not in other and "plan-marker" not in other
    # The full board page carries the same rows (board.js swaps them in place).
    assert f'href="/p/{emergency.id}"' in login_as("dispatcher").get("/board/").get_data(as_text=True)


# --- in Chinese ----------------------------------------------------------------------------------

def test_the_plan_pages_are_chinese_for_a_chinese_user(login_as, hospital, data_words):

    for person in db.session.query(User):
        person.locale = "zh_CN"
    db.session.commit()
    plan = make_plan(hospital, criticality="icu", title="ICU 停电", keywords="停电",
                     steps=["电话询问 ICU 护士长：哪些床位在用电池", "检查 ICU 不间断电源柜"],
                     contacts="值班电工 | +86 139 0000 1000\nICU 护士长 | 3301 转 2", isolation="ICU 保障电源 | 配电房 A-B1",
                     summary="呼吸机在用电池供电。")
    ticket = file_fault(hospital, description="1 床停电")
    assign_ticket(ticket.id, hospital.users["sparky"].id, hospital.user("dispatcher"))
    plans.tick_step(ticket.id, 0, hospital.user("sparky"))
    # The switch room's name as entered, and the link inside the SMS text shown on the ticket.
    words = data_words | {"a-b", "avsu-", "http"}  # AVSU: the valve-box code in the example
    pages = {"dispatcher": ["/plans/", f"/plans/{plan.id}", f"/plans/{plan.id}/v/1", f"/tickets/{ticket.id}",
                            f"/p/{ticket.id}", "/board/rows"],
             "manager": [f"/plans/{plan.id}/edit", "/plans/new"],
             "sparky": ["/jobs", f"/p/{ticket.id}"],
             "nurse.icu": [f"/tickets/{ticket.id}"]}
    for username, paths in pages.items():
        browser = login_as(username)
        for path in paths:
            response = browser.get(path)
            assert response.status_code == 200, path
            page = response.get_data(as_text=True)
            assert english_left(page, words) == [], (path, english_left(page, words))
    assert "第 1 版" in login_as("dispatcher").get(f"/tickets/{ticket.id}").get_data(as_text=True)
    [row] = db.session.query(OutboundMessage).filter_by(ticket_id=ticket.id, kind="assignment").all()
    assert f"预案：http://127.0.0.1:5000/p/{ticket.id}" in row.body


def test_two_taps_on_the_same_step_at_once_record_it_once(app, hospital):
    """The technician's phone and the control room tick step 1 at the same moment (real threads)."""
    from tests.test_concurrency import run_together

    make_plan(hospital, criticality="icu")
    ticket = file_fault(hospital)
    assign_ticket(ticket.id, hospital.users["sparky"].id, hospital.user("dispatcher"))
    people = [hospital.users["sparky"].id, hospital.users["dispatcher"].id, hospital.users["sparky"].id]
    ticket_id = ticket.id
    db.session.close()

    def tapping(user_id):
        return (lambda: db.session.get(User, user_id),
                lambda user: plans.tick_step(ticket_id, 0, user).id)

    results = run_together(app, [tapping(person) for person in people])
    assert [outcome for outcome, _ in results] == ["ok", "ok", "ok"], results
    assert len({value for _, value in results}) == 1  # every tap got the same record
    db.session.rollback()
    assert db.session.query(TicketPlanStep).filter_by(ticket_id=ticket_id).count() == 1
    assert len(events(ticket_id, "plan_step")) == 1


def test_an_incident_teams_sms_carries_the_lead_tickets_plan_link(hospital):
    from dispatch.services import incidents
    from models import Incident

    make_plan(hospital, title="Power loss, any ward")
    lead = file_fault(hospital)
    file_fault(hospital, ward="ward3", description="Ward 3 dark too", patient_at_risk=True)  # the incident's second report
    incident = incidents.group_reports(hospital.trades["power"].id, hospital.icu.building_id, hospital.user("dispatcher"))
    assert db.session.get(Incident, incident.id).lead_ticket_id == lead.id
    assign_ticket(lead.id, hospital.users["sparky"].id, hospital.user("dispatcher"))
    [row] = db.session.query(OutboundMessage).filter_by(ticket_id=lead.id, kind="assignment").all()
    assert "INCIDENT" in row.body and f"Plan: http://127.0.0.1:5000/p/{lead.id} Reply A {lead.id}" in row.body
    assert segments.count(row.body) <= 2
