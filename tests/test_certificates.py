"""Statutory equipment and certificates: the lapse moment in hospital time, the reminders and the
request-the-inspection task (once each), and the report files (hostile ones refused)."""
from __future__ import annotations

from datetime import date, datetime, timezone

import pytest
from sqlalchemy import select

from dispatch.errors import PermissionDeniedError, ValidationError
from dispatch.services import certificates
from dispatch.services.certificates import CertificateValues, check_report, lapse_moment, must_not_use, send_notices
from models import CertificateNotice, OutboundMessage, db
from tests.compliance_data import make_asset, plain_pdf, statutory_lift
from tests.photo_files import plain


def test_a_certificate_is_valid_through_its_last_day_in_hospital_time(hospital, clock):
    asset, _certificate = statutory_lift(hospital, valid_until=date(2026, 3, 31))
    assert lapse_moment(date(2026, 3, 31)) == datetime(2026, 3, 31, 16, 0, tzinfo=timezone.utc)
    clock.set(datetime(2026, 3, 31, 15, 59, 59, tzinfo=timezone.utc))  # 23:59:59 on the 31st in Shanghai
    assert not must_not_use(asset.id, clock.now())
    assert certificates.out_of_use_assets([asset.id], clock.now()) == set()
    clock.set(datetime(2026, 3, 31, 16, 0, tzinfo=timezone.utc))  # midnight: 1 April in Shanghai
    assert must_not_use(asset.id, clock.now())
    assert certificates.out_of_use_assets([asset.id], clock.now()) == {asset.id}
    [row] = certificates.standings(clock.now())
    assert (row.state, row.out_of_use, row.lapsed_on) == ("lapsed", True, date(2026, 4, 1))


def test_a_renewal_recorded_in_time_leaves_no_day_out_of_use(hospital, clock):
    asset, _old = statutory_lift(hospital, valid_until=date(2026, 3, 31))
    certificates.add_certificate(hospital.user("manager"), asset.id,
                                 CertificateValues("TJ-2026", date(2026, 3, 9), date(2027, 3, 31)), None)
    clock.set(datetime(2026, 4, 2, 4, 0, tzinfo=timezone.utc))
    assert not must_not_use(asset.id, clock.now())
    assert certificates.lapses_between(date(2026, 3, 1), date(2026, 4, 30)) == []


def test_an_asset_not_registered_is_never_out_of_use_and_cannot_take_a_certificate(hospital, clock):
    asset = make_asset(hospital, tag="AHU-1")
    assert not must_not_use(asset.id, clock.now())
    with pytest.raises(ValidationError) as refused:
        certificates.add_certificate(hospital.user("manager"), asset.id,
                                     CertificateValues("X-1", date(2026, 1, 1), date(2027, 1, 1)), None)
    assert refused.value.field == "number"


def test_a_registered_asset_without_any_certificate_must_not_be_used(hospital, clock):
    asset = make_asset(hospital)
    certificates.register_asset(hospital.user("manager"), asset.id, kind="boiler", high_risk=True,
                                registration_number="21103101", authority="District market regulator")
    assert must_not_use(asset.id, clock.now())
    assert [r.state for r in certificates.standings(clock.now())] == ["none"]


def test_only_estates_managers_and_admins_keep_the_register(hospital):
    asset = make_asset(hospital)
    with pytest.raises(PermissionDeniedError):
        certificates.register_asset(hospital.user("dispatcher"), asset.id, kind="lift", high_risk=True,
                                    registration_number="1", authority="x")


@pytest.mark.parametrize("values, field", [
    (CertificateValues("", date(2026, 1, 1), date(2027, 1, 1)), "number"),
    (CertificateValues("N", None, date(2027, 1, 1)), "inspected_on"),
    (CertificateValues("N", date(2026, 1, 1), None), "valid_until"),
    (CertificateValues("N", date(2026, 1, 1), date(2025, 12, 31)), "valid_until"),
    (CertificateValues("N", date(2026, 3, 11), date(2027, 1, 1)), "inspected_on"),  # after today (10 March)
    (CertificateValues("N", date(2016, 1, 1), date(2026, 1, 2)), "valid_until"),  # more than ten years
])
def test_bad_certificates_are_refused_naming_the_field(hospital, values, field):
    asset, _c = statutory_lift(hospital, valid_until=date(2026, 12, 31))
    with pytest.raises(ValidationError) as refused:
        certificates.add_certificate(hospital.user("manager"), asset.id, values, None)
    assert refused.value.field == field


# ---- reminders and the task -------------------------------------------------------------------------

def _notices() -> list[tuple[str, bool]]:
    db.session.rollback()
    return [(n.kind, n.done_at is not None) for n in db.session.scalars(select(CertificateNotice).order_by(CertificateNotice.id))]


def _manager_sms() -> list[str]:
    return [m.body for m in db.session.scalars(select(OutboundMessage).where(OutboundMessage.kind == "certificate")
                                                .order_by(OutboundMessage.id))]


def test_reminders_at_60_and_30_days_and_the_task_a_month_before_each_once(hospital, clock):
    statutory_lift(hospital, valid_until=date(2026, 6, 30))
    clock.set(datetime(2026, 4, 30, 15, 59, tzinfo=timezone.utc))  # 30 April, 23:59: 61 days left
    assert send_notices(clock.now()) == 0
    clock.set(datetime(2026, 4, 30, 16, 0, tzinfo=timezone.utc))  # 1 May: 60 days left
    assert send_notices(clock.now()) == 1
    assert send_notices(clock.now()) == 0  # once
    assert _notices() == [("remind_60", True)]
    [sms] = _manager_sms()
    assert "60 days" in sms and "2026-06-30" in sms
    clock.set(datetime(2026, 5, 30, 16, 0, tzinfo=timezone.utc))  # 31 May: 30 days left, and a month before
    assert send_notices(clock.now()) == 2
    assert _notices() == [("remind_60", True), ("remind_30", True), ("request_inspection", False)]
    assert len(_manager_sms()) == 2
    [task] = certificates.open_tasks()
    certificates.complete_task(hospital.user("manager"), task.id, "Requested, ref SH-2026-118")
    assert certificates.open_tasks() == []
    assert send_notices(clock.now()) == 0


def test_a_certificate_recorded_late_gets_the_30_day_reminder_only(hospital, clock):
    statutory_lift(hospital, valid_until=date(2026, 3, 30), inspected_on=date(2025, 3, 31))
    assert send_notices(clock.now()) == 2  # 20 days left: the 30-day reminder and the task
    assert _notices() == [("remind_30", True), ("request_inspection", False)]


def test_a_renewed_certificate_owes_no_more_reminders(hospital, clock):
    asset, _old = statutory_lift(hospital, valid_until=date(2026, 4, 30))
    certificates.add_certificate(hospital.user("manager"), asset.id,
                                 CertificateValues("TJ-2026", date(2026, 3, 9), date(2027, 3, 31)), None)
    assert send_notices(clock.now()) == 0


# ---- the report file ------------------------------------------------------------------------------

def test_a_plain_pdf_is_kept_as_it_is_and_a_photo_is_redrawn_as_jpeg(app, db):
    pdf = plain_pdf()
    kept = check_report(pdf, "report.pdf")
    assert (kept.data, kept.content_type, kept.name) == (pdf, "application/pdf", "report.pdf")
    photo = check_report(plain("PNG"), "certificate.png")
    assert (photo.content_type, photo.name, photo.data[:3]) == ("image/jpeg", "certificate.jpg", b"\xff\xd8\xff")


def _pdf_with(extra: bytes) -> bytes:
    return plain_pdf().replace(b"/Type /Catalog", b"/Type /Catalog " + extra, 1)


@pytest.mark.parametrize("raw", [
    pytest.param(_pdf_with(b"/OpenAction << /S /JavaScript /JS (app.alert(1)) >>"), id="pdf-javascript"),
    pytest.param(_pdf_with(b"/OpenAction << /S /Launch /F (cmd.exe) >>"), id="pdf-launch"),
    pytest.param(_pdf_with(b"/Names << /EmbeddedFiles << >> >>"), id="pdf-attachment"),
    pytest.param(b"%PDF-1.7\n garbage that is not a pdf", id="broken-pdf"),
    pytest.param(b'<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>', id="svg"),
    pytest.param(b"MZ\x90\x00" + b"\x00" * 200, id="executable"),
    pytest.param(b"<html><script>alert(1)</script></html>", id="html"),
])
def test_hostile_or_broken_files_are_refused_with_a_clear_message(app, db, raw):
    with pytest.raises(ValidationError) as refused:
        check_report(raw, "report.pdf")
    assert refused.value.field == "report"
    assert "plain PDF" in refused.value.message


def test_empty_and_oversized_reports_are_refused(app, db):
    with pytest.raises(ValidationError, match="empty"):
        check_report(b"", "a.pdf")
    app.config["CERTIFICATE_MAX_BYTES"] = 1000
    with pytest.raises(ValidationError, match="at most"):
        check_report(plain_pdf() + b" " * 2000, "a.pdf")


# ---- where "must not be used" shows ---------------------------------------------------------------

def test_must_not_be_used_shows_on_the_asset_page_its_qr_label_and_the_board_from_the_lapse_moment(
        hospital, clock, client):
    from dispatch.services import qr_labels
    from dispatch.services.tickets import report_fault
    from tests.conftest import Browser, text_of

    asset, _certificate = statutory_lift(hospital, valid_until=date(2026, 3, 31))
    report_fault(hospital.user("nurse.icu"), ward_id=hospital.icu.id, trade_id=hospital.trades["power"].id,
                 description="Lift doors slow to close", asset_id=asset.id)
    manager = Browser(client, "manager")
    dispatcher = Browser(client.application.test_client(), "dispatcher")
    passer_by = client.application.test_client()  # a QR label needs no login
    label = f"/q/{qr_labels.token_for('asset', asset)}"

    def shown() -> dict[str, bool]:
        def says(browser, url: str, words: str) -> bool:
            return words in text_of(browser.get(url).get_data(as_text=True))

        return {"asset page": says(manager, f"/compliance/assets/{asset.id}", "MUST NOT BE USED"),
                "QR label": says(passer_by, label, "MUST NOT BE USED"),
                "board": says(dispatcher, "/board/rows", "must not be used")}

    clock.set(datetime(2026, 3, 31, 15, 59, 59, tzinfo=timezone.utc))
    assert shown() == {"asset page": False, "QR label": False, "board": False}
    clock.set(datetime(2026, 3, 31, 16, 0, tzinfo=timezone.utc))
    assert shown() == {"asset page": True, "QR label": True, "board": True}


def test_the_api_lists_certificates_with_their_state(hospital, clock, client):
    from dispatch.services.tokens import create_token

    asset, _certificate = statutory_lift(hospital, valid_until=date(2026, 3, 31))
    headers = {"Authorization": f"Bearer {create_token(hospital.users['manager'].id, 'test')}"}
    clock.set(datetime(2026, 4, 1, 2, 0, tzinfo=timezone.utc))
    [row] = client.get("/api/v1/certificates", headers=headers).get_json()
    assert (row["tag"], row["state"], row["must_not_use"], row["valid_until"]) == ("LIFT-1", "lapsed", True, "2026-03-31")
    nurse = {"Authorization": f"Bearer {create_token(hospital.users['nurse.icu'].id, 'test')}"}
    assert client.get("/api/v1/certificates", headers=nurse).status_code == 403
    bad = client.get("/api/v1/required-activities/compliance?start=2026-04-01&end=2026-03-01", headers=headers)
    assert bad.status_code == 422 and "end" in bad.get_json()["errors"]


def test_a_hostile_report_upload_is_a_message_under_the_field(hospital, clock, client):
    import io as _io

    from tests.conftest import Browser, text_of

    asset, _certificate = statutory_lift(hospital, valid_until=date(2026, 12, 31))
    manager = Browser(client, "manager")
    response = manager.post(f"/compliance/assets/{asset.id}/certificates", data={
        "number": "TJ-2026", "inspected_on": "2026-03-01", "valid_until": "2027-02-28",
        "report": (_io.BytesIO(b'<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>'),
                               "report.pdf")}, content_type="multipart/form-data")
    assert response.status_code == 422
    assert "That file is not a report we can keep." in text_of(response.get_data(as_text=True))
    assert len(certificates.certificates_of(asset.id)) == 1
    pdf = plain_pdf()
    good = manager.post(f"/compliance/assets/{asset.id}/certificates", data={
        "number": "TJ-2026", "inspected_on": "2026-03-01", "valid_until": "2027-02-28",
        "report": (_io.BytesIO(pdf), "report.pdf")}, content_type="multipart/form-data")
    assert good.status_code == 302
    kept = certificates.certificates_of(asset.id)[0]
    download = manager.get(f"/compliance/reports/{kept.report_id}")
    assert (download.status_code, download.mimetype, download.data) == (200, "application/pdf", pdf)
    assert download.headers["Content-Disposition"].startswith("attachment")


def test_the_lapse_is_on_the_monthly_leadership_report(hospital, clock):
    import io as _io

    from pypdf import PdfReader

    from dispatch.services import leadership
    from dispatch.services.leadership_pdf import render_pdf

    statutory_lift(hospital, valid_until=date(2026, 3, 30))
    clock.set(datetime(2026, 4, 1, 2, 0, tzinfo=timezone.utc))
    figures = leadership.build_figures(date(2026, 3, 1), clock.now())
    [lapse] = figures["statutory"]["certificates"]["lapsed"]
    assert (lapse["tag"], lapse["lapsed_on"], lapse["renewed_on"]) == ("LIFT-1", "2026-03-31", None)
    assert [a["tag"] for a in figures["statutory"]["certificates"]["out_of_use"]] == ["LIFT-1"]
    text = " ".join(" ".join(p.extract_text() for p in PdfReader(_io.BytesIO(render_pdf(figures, "en"))).pages).split())
    assert "Certificates lapsed in the month (1)" in text and "LIFT-1" in text and "Not renewed" in text
