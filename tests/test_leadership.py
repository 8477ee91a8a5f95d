"""The monthly leadership report: made once on the 1st by the scheduler (also with two of them, also after a
missed 1st), kept unchanged as data moves on, the same figures as the managers' reports, a PDF that reads in
English and Chinese, and pages for the people allowed to see them."""
from __future__ import annotations

import io
import threading
from datetime import date, datetime, timedelta, timezone

import pytest
from pypdf import PdfReader
from sqlalchemy import select

from dispatch.errors import PermissionDeniedError, ValidationError
from dispatch.services import leadership
from dispatch.services.leadership_pdf import render_pdf
from dispatch.services.report_breaches import ensure_default_causes, record_breach_cause
from dispatch.services.report_filters import TARGETS, ReportFilter
from dispatch.services.reports import compliance
from dispatch.services.scheduler import Rounds
from models import BreachCause, LeadershipReport, Ticket, db
from tests.report_data import NOW, build_fixed_set, make_ticket

MARCH = date(2026, 3, 1)
# 00:30 on 1 April 2026 in Shanghai is still 31 March in UTC: the report for March is due.
FIRST_OF_APRIL = datetime(2026, 3, 31, 16, 30, tzinfo=timezone.utc)


@pytest.fixture
def fixed(hospital, clock, db):
    clock.set(NOW)
    ensure_default_causes()  # PostgreSQL tests start from emptied tables
    return build_fixed_set(hospital)


def kept() -> list[LeadershipReport]:
    db.session.expire_all()
    return list(db.session.scalars(select(LeadershipReport).order_by(LeadershipReport.month, LeadershipReport.version)))


def pdf_text(data: bytes) -> str:
    assert data.startswith(b"%PDF-")
    reader = PdfReader(io.BytesIO(data))
    assert len(reader.pages) >= 2
    # Words wrapped in a table cell come out on separate lines: compare with the spaces made plain.
    return " ".join(" ".join(page.extract_text() for page in reader.pages).split())


# --- once on the 1st ---------------------------------------------------------------------------------

def test_the_scheduler_makes_last_months_report_once_on_the_first(fixed, clock):
    rounds = Rounds()
    clock.set(FIRST_OF_APRIL - timedelta(hours=1))  # 23:30 on 31 March in Shanghai: February's is due, not March's
    rounds.tick(clock.now())
    assert [(r.month, r.version) for r in kept()] == [(date(2026, 2, 1), 1)]
    clock.set(FIRST_OF_APRIL)
    rounds.tick(clock.now())
    clock.advance(seconds=1)
    rounds.tick(clock.now())
    Rounds().tick(clock.now() + timedelta(hours=3))  # a restarted scheduler later that day
    reports = kept()
    assert [(r.month, r.version, r.generated_by_id) for r in reports] == [
        (date(2026, 2, 1), 1, None), (MARCH, 1, None)]
    assert reports[1].generated_at == FIRST_OF_APRIL and reports[1].pdf.startswith(b"%PDF-")


def test_a_scheduler_down_on_the_first_makes_it_when_it_comes_back(fixed, clock):
    clock.set(datetime(2026, 4, 3, 1, 0, tzinfo=timezone.utc))  # 3 April: nothing ran on the 1st or the 2nd
    Rounds().tick(clock.now())
    reports = kept()
    assert [(r.month, r.version) for r in reports] == [(MARCH, 1)]
    assert reports[0].figures["as_of"] == clock.now().isoformat()


def test_the_scheduler_process_makes_it_on_a_thread_of_its_own(fixed, clock):
    rounds = Rounds(reports_in_background=True)
    clock.set(FIRST_OF_APRIL)
    rounds.tick(clock.now())  # returns without waiting for the report
    rounds.leadership_thread.join(timeout=120)
    assert not rounds.leadership_thread.is_alive()
    assert [(r.month, r.version) for r in kept()] == [(MARCH, 1)]
    thread = rounds.leadership_thread
    rounds.tick(clock.now() + timedelta(seconds=1))
    assert rounds.leadership_thread is thread and len(kept()) == 1  # known to be kept: nothing started


def test_a_failed_report_does_not_stop_the_rounds_and_is_tried_again_later(fixed, clock, monkeypatch):
    failures = []

    def broken(month, now):
        failures.append(now)
        raise RuntimeError("disk full")

    monkeypatch.setattr(leadership, "build_figures", broken)
    rounds = Rounds()
    clock.set(FIRST_OF_APRIL)
    rounds.tick(clock.now())
    rounds.tick(clock.now() + timedelta(minutes=5))
    assert len(failures) == 1 and kept() == []
    monkeypatch.undo()
    rounds.tick(clock.now() + timedelta(minutes=11))
    assert [(r.month, r.version) for r in kept()] == [(MARCH, 1)]


@pytest.mark.parametrize("stale_reads", [False, True])
def test_two_schedulers_at_the_same_moment_keep_one_report(app, fixed, clock, db_backend, monkeypatch, stale_reads):
    if stale_reads:
        # Both read "no report yet" and both insert version 1: the unique (month, version) decides.
        monkeypatch.setattr(leadership, "_latest_version", lambda month: 0)
    barrier = threading.Barrier(2)
    made, failures = [], []

    def scheduler():
        try:
            with app.app_context():
                barrier.wait(timeout=10)
                report = leadership.generate_due(FIRST_OF_APRIL)
                made.append(report.id if report else None)
                db.session.remove()
        except BaseException as error:  # surfaced below
            failures.append(error)

    threads = [threading.Thread(target=scheduler) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert not failures, failures
    assert len(made) == 2 and made.count(None) == 1, (db_backend, made)
    assert [(r.month, r.version) for r in kept()] == [(MARCH, 1)]


def test_the_database_refuses_a_second_version_one(fixed, clock):
    leadership.generate_due(FIRST_OF_APRIL)
    db.session.add(LeadershipReport(month=MARCH, version=1, generated_at=FIRST_OF_APRIL, figures={}, pdf_locale="en",
                                    pdf=b"%PDF-"))
    with pytest.raises(Exception):
        db.session.commit()
    db.session.rollback()
    assert len(kept()) == 1


# --- the kept report never changes ---------------------------------------------------------------------

def test_the_kept_report_stays_as_it_was_when_data_changes_later(fixed, clock, hospital):
    report = leadership.generate_due(FIRST_OF_APRIL)
    figures, pdf = report.figures, report.pdf
    # Later: a cause is recorded, a late March ticket appears, a trade is renamed.
    clock.set(FIRST_OF_APRIL + timedelta(days=2))
    cause = db.session.scalar(select(BreachCause).order_by(BreachCause.sort_order))
    record_breach_cause(fixed["w1"].id, cause.id, "Plumber called in", hospital.user("manager"), clock.now())
    make_ticket(hospital, datetime(2026, 3, 15, 2, 0, tzinfo=timezone.utc), ack=500)
    hospital.trades["power"].name = "Electrical"
    db.session.commit()
    again = kept()[0]
    assert again.figures == figures and again.pdf == pdf
    assert "Power" in [r["label"] for r in again.figures["compliance"]["by_trade"]]
    # Generating again on demand keeps a second version with the new figures, beside the first.
    second = leadership.generate(MARCH, clock.now(), hospital.user("manager"))
    assert second.version == 2 and second.generated_by_id == hospital.users["manager"].id
    assert second.figures["breaches"]["explained"] == 1 and figures["breaches"]["explained"] == 0
    assert [r.figures == figures for r in kept()] == [True, False]


def test_a_month_not_yet_ended_or_a_nurse_cannot_generate(fixed, clock, hospital):
    with pytest.raises(ValidationError) as error:
        leadership.generate(date(2026, 3, 1), NOW, hospital.user("manager"))
    assert error.value.field == "month"
    with pytest.raises(PermissionDeniedError):
        leadership.generate(date(2026, 2, 1), NOW, hospital.user("supervisor"))
    assert kept() == []


# --- the same figures as the managers' reports ------------------------------------------------------------

def test_figures_match_the_compliance_report_for_the_same_month(fixed, clock):
    report = leadership.generate_due(FIRST_OF_APRIL)
    march = ReportFilter(start=MARCH, end=date(2026, 3, 31))
    february = ReportFilter(start=date(2026, 2, 1), end=date(2026, 2, 28))
    for by in ("trade", "priority"):
        expected = compliance(march, FIRST_OF_APRIL, by)
        before = compliance(february, FIRST_OF_APRIL, by).totals
        rows = report.figures["compliance"][f"by_{by}"]
        assert [r["label"] for r in rows if not r["total"]] == [row.labels[0] for row in expected.rows]
        for row, figures in zip([*expected.rows, expected.totals], rows):
            assert figures["tickets"] == row.tickets
            for target in TARGETS:
                mine, theirs = figures["targets"][target], row.targets[target]
                assert (mine["met"], mine["missed"], mine["pct"], mine["p50"], mine["p90"]) == (
                    theirs.met, theirs.missed, theirs.pct, theirs.p50, theirs.p90)
        total = rows[-1]["targets"]["attend"]
        assert total["previous_pct"] == before.targets["attend"].pct
    # Worked by hand (tests/report_data.py): 7 tickets in March; 6 of them power; on site in time 4 of 7.
    total = report.figures["compliance"]["by_trade"][-1]
    assert total["tickets"] == 7 and total["targets"]["attend"]["met"] == 4
    assert report.figures["breaches"]["total"] == 3 and report.figures["breaches"]["explained"] == 0
    assert {b["number"] for b in report.figures["breaches"]["listed"]} == {
        fixed["p4"].id, fixed["p5"].id, fixed["w1"].id}


def test_breaches_carry_their_cause_and_the_action_taken(fixed, clock, hospital):
    cause = db.session.scalar(select(BreachCause).where(BreachCause.name == "Parts not in stock"))
    record_breach_cause(fixed["p4"].id, cause.id, "Spare contactor now kept on site", hospital.user("manager"),
                        clock.now())
    report = leadership.generate_due(FIRST_OF_APRIL)
    listed = {b["number"]: b for b in report.figures["breaches"]["listed"]}
    assert listed[fixed["p4"].id]["cause"] == "Parts not in stock"
    assert listed[fixed["p4"].id]["action"] == "Spare contactor now kept on site"
    assert listed[fixed["w1"].id]["cause"] is None
    counts = {c["name"]: c["breaches"] for c in report.figures["breaches"]["by_cause"]}
    assert counts == {None: 2, "Parts not in stock": 1}
    assert "Spare contactor now kept on site" in pdf_text(report.pdf)


def test_licences_expiring_and_expired_while_still_assigned(fixed, clock, hospital):
    # On 1 April: Li Volt's licence ended 10 March and he still holds an open power job (replayed as it happened:
    # the licence rule is the live engine's); Zhao Lapsed's ended 9 March and he holds nothing; Wang Sparky's runs
    # to January 2027 (p5 is his).
    make_ticket(hospital, NOW - timedelta(hours=2), assignee="volt", ack=30)
    db.session.commit()
    licences = leadership.generate_due(FIRST_OF_APRIL).figures["licences"]
    assert [(lic["technician"], lic["open_jobs"]) for lic in licences["expired_assigned"]] == [("Li Volt", 1)]
    assert licences["within_30"] == [] and licences["within_60"] == []


def test_cost_against_budget_from_the_costs_service(fixed, clock, hospital):
    from decimal import Decimal

    from dispatch.services.costs import set_budget

    assert leadership.generate_due(FIRST_OF_APRIL - timedelta(days=1)).figures["costs"]["available"] is False
    set_budget(hospital.user("manager"), hospital.trades["power"].id, MARCH, "150.00")
    p1, w1 = db.session.get(Ticket, fixed["p1"].id), db.session.get(Ticket, fixed["w1"].id)
    p1.parts_cost, p1.labour_cost, w1.parts_cost = Decimal("12.35"), Decimal("60.00"), Decimal("0.85")
    db.session.commit()
    report = leadership.generate_due(FIRST_OF_APRIL)
    costs = report.figures["costs"]
    rows = {r["trade"]: r for r in costs["rows"]}
    assert costs["available"] and costs["currency"] == "CNY"
    assert (rows["Power"]["budget"], rows["Power"]["actual"], rows["Power"]["variance"]) == (150.0, 72.35, -77.65)
    assert (rows["Water"]["budget"], rows["Water"]["actual"], rows["Water"]["variance"]) == (None, 0.85, None)
    assert (costs["total"]["trade"], costs["total"]["actual"]) == (None, 73.2)
    text = pdf_text(report.pdf)
    assert "Cost data not available" not in text and "72.35" in text and "-77.65" in text


# --- the PDF ----------------------------------------------------------------------------------------

@pytest.mark.parametrize("locale,words", [
    ("en", ["General Hospital", "Monthly report for hospital leadership", "March 2026", "Power", "Cost data not available"]),
    ("zh_CN", ["General Hospital", "医院领导月度督办报告", "2026年3月", "Power", "暂无成本数据"]),
])
def test_the_pdf_reads_in_english_and_chinese(fixed, clock, locale, words):
    figures = leadership.build_figures(MARCH, FIRST_OF_APRIL)
    text = pdf_text(render_pdf(figures, locale))
    for word in words:
        assert word in text, (locale, word)
    total = figures["compliance"]["by_trade"][-1]["targets"]["attend"]["pct"]
    assert f"{total:.1f}%" in text


def test_the_download_is_the_kept_pdf_or_the_same_snapshot_in_the_readers_language(fixed, clock, login_as, hospital):
    report = leadership.generate_due(FIRST_OF_APRIL)
    manager = login_as("manager")
    response = manager.get(f"/reports/leadership/{report.id}.pdf")
    assert response.status_code == 200 and response.mimetype == "application/pdf"
    assert response.data == report.pdf
    assert 'filename="leadership-report_2026-03_v1.pdf"' in response.headers["Content-Disposition"]
    manager.post("/language", {"locale": "zh_CN"})
    chinese = manager.get(f"/reports/leadership/{report.id}.pdf").data
    assert "医院领导月度督办报告" in pdf_text(chinese)


# --- pages and who may use them -------------------------------------------------------------------

def test_the_list_and_the_page_show_the_kept_report(fixed, clock, login_as):
    report = leadership.generate_due(FIRST_OF_APRIL)
    manager = login_as("manager")
    listing = manager.get("/reports/leadership").get_data(as_text=True)
    assert "March 2026" in listing and f"/reports/leadership/{report.id}.pdf" in listing
    assert "Generate now" in listing
    page = manager.get(f"/reports/leadership/{report.id}").get_data(as_text=True)
    for text in ("Monthly report for hospital leadership", "Compliance with service targets", "Power",
                 "Breaches: causes and actions taken", "Cost data not available", "Repeat faults", "<svg"):
        assert text in page
    assert manager.get("/reports/leadership/99999").status_code == 404
    supervisor = login_as("supervisor").get("/reports/leadership").get_data(as_text=True)
    assert "Generate now" not in supervisor


def test_generate_now_for_a_chosen_month(fixed, clock, login_as):
    clock.set(FIRST_OF_APRIL + timedelta(days=1))
    manager = login_as("manager")
    response = manager.post("/reports/leadership", {"month": "2026-03"})
    assert response.status_code == 302
    made = kept()
    assert [(r.month, r.version) for r in made] == [(MARCH, 1)]
    assert response.headers["Location"].endswith(f"/reports/leadership/{made[0].id}")
    manager.post("/reports/leadership", {"month": "2026-03"})
    assert [r.version for r in kept()] == [1, 2]


@pytest.mark.parametrize("month,message", [("2026-04", "Choose a month that has ended."), ("april", "Choose a month (YYYY-MM)."),
                                           ("2026-13", "Choose a month (YYYY-MM)."), ("", "Choose a month (YYYY-MM).")])
def test_generate_now_refuses_a_bad_month_with_a_message(fixed, clock, login_as, month, message):
    clock.set(FIRST_OF_APRIL + timedelta(days=1))
    manager = login_as("manager")
    page = manager.post("/reports/leadership", {"month": month}, follow_redirects=True)
    assert page.status_code == 200 and message in page.get_data(as_text=True)
    assert kept() == []


def test_generate_now_needs_the_form_token_and_a_manager(fixed, clock, login_as):
    clock.set(FIRST_OF_APRIL + timedelta(days=1))
    assert login_as("supervisor").post("/reports/leadership", {"month": "2026-03"}).status_code == 403
    manager = login_as("manager")
    response = manager.client.post("/reports/leadership", data={"month": "2026-03"})  # no form token
    assert response.status_code == 400 and "Form not accepted" in response.get_data(as_text=True)
    assert kept() == []
