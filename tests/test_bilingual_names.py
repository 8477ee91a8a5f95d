"""Names in both languages (models.names): each reader sees their language, falling back to the other, the
same on a page, in SQL ordering, in an SMS and through the API."""
from __future__ import annotations

from datetime import date, datetime, timezone

import pytest
from flask_babel import force_locale
from sqlalchemy import select

from dispatch.errors import ValidationError
from dispatch.services.assignment import assign_ticket
from dispatch.services.planned import ScheduleValues, open_due, save_schedule
from dispatch.services.report_breaches import add_cause, change_cause
from dispatch.services.tickets import report_fault
from dispatch.templating import named
from models import BreachCause, OutboundMessage, Part, TicketChecklistItem, Ward, db
from models.names import both_names, name_in
from tests.conftest import text_of


def in_chinese(hospital):
    hospital.icu.name_zh = "重症监护室"
    hospital.trades["power"].name_zh = "电力"
    db.session.commit()


def reading(hospital, username: str, locale: str) -> None:
    """The hospital's ICU and power named in Chinese too, and this person reading `locale`."""
    in_chinese(hospital)
    hospital.user(username).locale = locale
    db.session.commit()


def icu_power_fault(hospital):
    return report_fault(hospital.user("nurse.icu"), ward_id=hospital.icu.id, trade_id=hospital.trades["power"].id,
                        description="No power to bed 1")


@pytest.mark.parametrize("english, chinese, language, shown", [
    ("ICU", "重症监护室", "zh_CN", "重症监护室"), ("ICU", "重症监护室", "en", "ICU"),
    ("ICU", None, "zh_CN", "ICU"), ("ICU", "", "zh_CN", "ICU"), ("", "重症监护室", "en", "重症监护室"),
])
def test_each_reader_sees_their_language_falling_back_to_the_other(english, chinese, language, shown):
    assert name_in(english, chinese, language) == shown


def test_a_name_given_only_in_chinese_stands_in_both_columns():
    assert both_names("  ", " 产科 ") == ("产科", "产科")
    assert both_names("Maternity", "") == ("Maternity", None)


@pytest.mark.parametrize("language", ["en", "zh_CN"])
def test_the_sql_expression_orders_and_names_as_the_python_rule(app, hospital, language):
    hospital.icu.name_zh = "重症监护室"  # ward3 has no Chinese name: it falls back to "Ward 3"
    db.session.commit()
    with app.test_request_context(), force_locale(language):
        in_sql = db.session.execute(select(Ward.id, Ward.display_name).order_by(Ward.display_name)).all()
        wards = db.session.scalars(select(Ward)).all()
        by_python = sorted(((w.id, w.display_name) for w in wards), key=lambda pair: pair[1])
        assert in_sql == by_python
        assert named(hospital.icu) == ("重症监护室" if language == "zh_CN" else "ICU")
        assert named(None) == "" and named("plain text") == "plain text"


def test_pages_show_the_readers_names(app, hospital, login_as):
    in_chinese(hospital)
    fault = icu_power_fault(hospital)
    english = text_of(login_as("dispatcher").get(f"/tickets/{fault.id}").get_data(as_text=True))
    assert "ICU" in english and "Power" in english and "重症监护室" not in english
    hospital.user("dispatcher").locale = "zh_CN"
    db.session.commit()
    chinese = text_of(login_as("dispatcher").get(f"/tickets/{fault.id}").get_data(as_text=True))
    assert "重症监护室" in chinese and "电力" in chinese


@pytest.mark.parametrize("locale, ward, trade", [("zh_CN", "重症监护室", "电力"), ("en", "ICU", "Power")])
def test_the_sms_names_the_place_and_trade_in_the_technicians_language(app, hospital, locale, ward, trade):
    reading(hospital, "sparky", locale)
    fault = icu_power_fault(hospital)
    assign_ticket(fault.id, hospital.user("sparky").id, hospital.user("dispatcher"))
    body = db.session.scalars(select(OutboundMessage.body).where(OutboundMessage.ticket_id == fault.id,
                                                                 OutboundMessage.recipient_id == hospital.user("sparky").id)).all()[0]
    assert ward in body and trade in body


@pytest.mark.parametrize("locale, shown", [("zh_CN", "重症监护室"), ("en", "ICU")])
def test_the_api_gives_both_names_and_the_callers(app, hospital, api_token, locale, shown):
    reading(hospital, "dispatcher", locale)
    fault = icu_power_fault(hospital)
    body = app.test_client().get(f"/api/v1/tickets/{fault.number}", headers=api_token("dispatcher")).get_json()
    assert body["ward_names"] == {"name": "ICU", "name_zh": "重症监护室", "display_name": shown}
    assert body["trade_names"]["name_zh"] == "电力" and body["ward"] == shown


def test_a_part_may_be_named_only_in_chinese_and_the_form_shows_it_so(app, hospital, login_as):
    supervisor = login_as("supervisor")
    page = supervisor.post("/stock/parts/new", data={"code": "Z-1", "name": "", "name_zh": "保险丝", "unit": "each",
                                                     "unit_cost": "3.50", "reorder_level": "0", "trade_id": "0",
                                                     "active": "y"})
    assert page.status_code == 302, text_of(page.get_data(as_text=True))
    part = db.session.scalars(select(Part).where(Part.code == "Z-1")).one()
    assert (part.name, part.name_zh, part.english_name) == ("保险丝", "保险丝", "")
    form = supervisor.get(f"/stock/parts/{part.id}/edit").get_data(as_text=True)
    assert 'name="name" type="text" value=""' in form and 'value="保险丝"' in form
    refused = supervisor.post("/stock/parts/new", data={"code": "Z-2", "name": "", "name_zh": "", "unit": "each",
                                                        "unit_cost": "1", "reorder_level": "0", "trade_id": "0"})
    assert refused.status_code == 422 and "Name the part" in text_of(refused.get_data(as_text=True))


def test_a_breach_cause_takes_both_names(app, hospital):
    cause = add_cause("Lift contractor late", hospital.user("manager"), name_zh="电梯承包商迟到")
    assert (cause.name, cause.name_zh) == ("Lift contractor late", "电梯承包商迟到")
    change_cause(cause.id, hospital.user("manager"), name="", name_zh="承包商迟到")
    db.session.expire_all()
    assert (db.session.get(BreachCause, cause.id).name, db.session.get(BreachCause, cause.id).name_zh) == ("承包商迟到",) * 2
    with pytest.raises(ValidationError, match="Name the cause"):
        add_cause("", hospital.user("manager"), name_zh="")


def test_a_schedules_chinese_checklist_goes_onto_its_tickets_step_for_step(app, hospital):
    schedule = save_schedule(hospital.user("supervisor"), ScheduleValues(
        title="Gas alarm test", title_zh="气体报警测试", ward_id=hospital.icu.id, trade_id=hospital.trades["gas"].id,
        start_date=date(2026, 3, 12), interval_unit="month", interval_count=1, lead_days=7,
        checklist=["Test the panel", "Record readings"], checklist_zh=["测试面板"]))
    open_due(datetime(2026, 3, 10, 2, tzinfo=timezone.utc))
    items = db.session.scalars(select(TicketChecklistItem).order_by(TicketChecklistItem.position)).all()
    with app.test_request_context(), force_locale("zh_CN"):
        assert named(schedule) == "气体报警测试"
        assert [named(item) for item in items] == ["测试面板", "Record readings"]
    with pytest.raises(ValidationError, match="more steps"):
        save_schedule(hospital.user("supervisor"), ScheduleValues(
            title="Gas alarm test", ward_id=hospital.icu.id, trade_id=hospital.trades["gas"].id,
            start_date=date(2026, 3, 12), checklist=["One"], checklist_zh=["一", "二"]))


@pytest.mark.parametrize("by", ["ticket", "ward", "trade"])
def test_reports_grouped_by_name_work_in_chinese(app, hospital, login_as, by):
    """The name expression stands in SELECT and GROUP BY alike (PostgreSQL refuses two that differ)."""
    in_chinese(hospital)
    hospital.user("manager").locale = "zh_CN"
    db.session.commit()
    icu_power_fault(hospital)
    manager = login_as("manager")
    assert manager.get(f"/reports/cost?by={by}").status_code == 200
    assert manager.get(f"/reports/cost.csv?by={by}").status_code == 200
    assert manager.get("/reports/repeats").status_code == 200
