"""The inspector's binder: its figures equal the compliance page's, in a PDF whose text can be read back (Chinese
included, drawn in the CJK font) and an XLSX; who may have it; a bad period is a clear message."""
from __future__ import annotations

import io
import re
from datetime import date, datetime, timezone

import pytest
from pypdf import PdfReader

from dispatch.services import binder
from tests.compliance_data import open_and_resolve, required_schedule, statutory_lift
from tests.conftest import Browser, text_of
from tests.report_data import read_xlsx

PERIOD = {"start": "2026-03-01", "end": "2026-04-30"}


@pytest.fixture
def inspected(hospital, clock):
    """A lift whose certificate lapsed on 1 April, another still valid; in March and April one activity on time,
    one late and three missed, under three standards. The clock ends on 2 May."""
    lift, _lapsed = statutory_lift(hospital, valid_until=date(2026, 3, 31))
    statutory_lift(hospital, valid_until=date(2027, 1, 31), tag="LIFT-2")
    generator = required_schedule(hospital, title="Generator monthly test", standard="NFPA 110",
                                  start_date=date(2026, 3, 20))
    gas = required_schedule(hospital, title="Medical gas alarm test", standard="HTM 02-01", start_date=date(2026, 3, 25),
                            interval_unit="month", interval_count=3)
    lifts = required_schedule(hospital, title="Lift half-monthly maintenance", standard="TSG T5001", asset=lift,
                              start_date=date(2026, 4, 1), interval_unit="day", interval_count=15)
    open_and_resolve(hospital, clock, generator.id, date(2026, 3, 20), datetime(2026, 3, 21, 2, tzinfo=timezone.utc))
    clock.set(datetime(2026, 3, 10, 2, tzinfo=timezone.utc))
    open_and_resolve(hospital, clock, gas.id, date(2026, 3, 25), datetime(2026, 4, 6, 2, tzinfo=timezone.utc))
    clock.set(datetime(2026, 5, 2, 2, tzinfo=timezone.utc))
    from dispatch.services import required_activities

    required_activities.record_occurrences(clock.now())
    return lifts


def _page_figures(page: str) -> dict[str, int]:
    """The 'All' line of the page's by-month table: on time, late, missed, window open."""
    text = text_of(page)
    match = re.search(r"By month .*? All (\d+) (\d+) (\d+) (\d+)", text)
    return dict(zip(("on_time", "late", "missed", "pending"), map(int, match.groups())))


def test_the_binders_figures_equal_the_pages(hospital, clock, client, inspected):
    manager = Browser(client, "manager")
    page = manager.get("/compliance/?start=2026-03-01&end=2026-04-30").get_data(as_text=True)
    figures = _page_figures(page)
    assert figures == {"on_time": 1, "late": 1, "missed": 3, "pending": 0}
    made = binder.assemble(hospital.user("manager"), date(2026, 3, 1), date(2026, 4, 30), None, "en")
    certificates_part, required_part = made.sections[:2]  # the rounds, permits and interruptions follow
    results = [row[-1] for row in required_part.rows]
    assert {"on_time": results.count("Done on time"), "late": results.count("Done late"),
            "missed": results.count("Missed"), "pending": results.count("Window open")} == figures
    assert len(required_part.deficiencies) == figures["late"] + figures["missed"]
    assert required_part.summary in text_of(page)
    # Certificates: the page's count of assets that must not be used is the binder's.
    assert "2 statutory assets: 1 valid, 0 expiring within 60 days, 1 must not be used." in text_of(page)
    assert certificates_part.summary.startswith("2 statutory assets: 1 with a valid certificate, 1 must not be used")
    assert [row[3] for row in certificates_part.deficiencies] == ["2026-04-01"]

    pdf = manager.get("/compliance/binder.pdf", query_string={**PERIOD, "lang": "en"})
    assert pdf.status_code == 200 and pdf.mimetype == "application/pdf"
    text = " ".join(" ".join(p.extract_text() for p in PdfReader(io.BytesIO(pdf.data)).pages).split())
    assert required_part.summary in text and "Lift half-monthly maintenance" in text and "Missed" in text
    sheets = read_xlsx(manager.get("/compliance/binder.xlsx", query_string={**PERIOD, "lang": "en"}).data)
    required_sheet = sheets["Required activities"]
    header = required_sheet.index(required_part.columns)
    assert [row[-1] for row in required_sheet[header + 1:header + 1 + len(results)]] == results


def test_the_binder_for_one_standard_holds_only_its_activities_and_assets(hospital, clock, inspected):
    made = binder.assemble(hospital.user("admin"), date(2026, 3, 1), date(2026, 4, 30), "TSG T5001", "en")
    certificates_part, required_part = made.sections[:2]  # the rounds, permits and interruptions follow
    assert {row[1] for row in required_part.rows} == {"TSG T5001"}
    assert [row[0] for row in certificates_part.rows] == ["LIFT-1"]  # the lift the standard's schedule covers


def test_the_chinese_binder_reads_back_in_chinese_drawn_in_the_cjk_font(hospital, clock, client, inspected):
    manager = Browser(client, "manager")
    response = manager.get("/compliance/binder.pdf", query_string={**PERIOD, "standard": "TSG T5001", "lang": "zh_CN"})
    reader = PdfReader(io.BytesIO(response.data))
    text = " ".join(" ".join(p.extract_text() for p in reader.pages).split())
    assert "法定设备与检验合格证" in text and "必须执行的维护活动" in text and "超时" in text
    fonts = {str(font.get_object()["/BaseFont"]) for page in reader.pages
             for font in page["/Resources"]["/Font"].values()}
    assert any("STSong-Light" in name for name in fonts)  # Chinese drawn in the CJK font: no empty boxes
    sheets = read_xlsx(manager.get("/compliance/binder.xlsx", query_string={**PERIOD, "lang": "zh_CN"}).data)
    assert "必须执行的维护活动" in sheets


@pytest.mark.parametrize("username", ["supervisor", "dispatcher", "sparky", "nurse.icu"])
def test_only_estates_managers_and_admins_get_the_binder(hospital, client, username):
    assert Browser(client, username).get("/compliance/binder.pdf", query_string={**PERIOD, "lang": "en"}).status_code == 403


@pytest.mark.parametrize("query, message", [
    ({"end": "2026-03-01", "lang": "en"}, "Give the first day of the period."),
    ({"start": "2026-03-02", "end": "2026-03-01", "lang": "en"}, "The start date is after the end date."),
    ({"start": "2026-03-01", "end": "2026-03-31", "lang": "en"}, "The period cannot end after today."),
    ({"start": "2026-03-01", "end": "2026-03-05", "lang": "fr"}, "Choose English or Chinese."),
    ({"start": "2026-02-30", "end": "2026-03-05", "lang": "en"}, "2026-02-30 is not a date (YYYY-MM-DD)."),
])
def test_a_bad_period_is_a_message_on_the_binders_page(hospital, client, query, message):
    response = Browser(client, "manager").get("/compliance/binder.xlsx", query_string=query, follow_redirects=True)
    assert response.request.path == "/compliance/binder"
    assert message in text_of(response.get_data(as_text=True))
