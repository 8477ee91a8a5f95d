"""A QR label in a real browser on a phone: nobody logged in, JavaScript off, a photo from the "camera", the
ticket filed and followed from the same phone; and the form raises no Content-Security-Policy violation."""
from __future__ import annotations

import re
from urllib.parse import urlsplit

from playwright.sync_api import expect
from sqlalchemy import select

from dispatch.services import qr_labels
from models import Location, Ticket, TicketPhoto, db
from tests import photo_files as files
from tests.e2e.conftest import STEP_TIMEOUT_MS
from tests.e2e.test_content_security_policy import watch_for_violations


def label_path(hospital) -> str:
    room = db.session.scalar(select(Location).where(Location.ward_id == hospital.icu.id))
    return urlsplit(qr_labels.label_url("location", room)).path


def test_a_phone_without_javascript_reports_from_a_label_with_a_photo(app, live_server, browser, hospital, redis_conn,
                                                                      tmp_path):
    app.config.update(QR_PLACE_RATE_LIMIT="1000/hour", QR_ADDRESS_RATE_LIMIT="1000/hour")
    photo = tmp_path / "IMG_0001.jpg"
    photo.write_bytes(files.jpeg_from_a_phone())
    context = browser.new_context(base_url=live_server, locale="en-GB", timezone_id="Asia/Shanghai",
                                  viewport={"width": 390, "height": 844}, is_mobile=True, has_touch=True,
                                  java_script_enabled=False)
    context.set_default_timeout(STEP_TIMEOUT_MS)
    try:
        page = context.new_page()
        page.goto(label_path(hospital))
        expect(page.get_by_text("ICU · Bed 1")).to_be_visible()
        page.get_by_label("Power").check()
        page.get_by_label("What is wrong?").fill("Sockets by bed 1 dead")
        page.get_by_label("Your name").fill("Li Na")
        page.get_by_label("Phone extension").fill("2301")
        page.locator("input[type=file][name=photos]").set_input_files(str(photo))
        page.get_by_role("button", name="Send report").click()
        expect(page.get_by_role("heading", name=re.compile(r"Ticket \d+ filed"))).to_be_visible()
        expect(page.get_by_text("Acknowledged by")).to_be_visible()
        followed_at = page.url
    finally:
        context.close()
    db.session.rollback()  # end this test's read snapshot: the server filed the ticket meanwhile
    ticket = db.session.scalar(select(Ticket).order_by(Ticket.id.desc()))
    assert ticket.description == "Sockets by bed 1 dead (call back: Li Na, ext 2301)"
    assert "/q/t/" in followed_at
    [kept] = db.session.scalars(select(TicketPhoto).where(TicketPhoto.ticket_id == ticket.id)).all()
    assert kept.width == 200 and kept.height == 400  # turned upright


def test_the_label_form_raises_no_policy_violation(live_server, new_device, hospital):
    page = new_device(live_server, phone=True)
    violations = watch_for_violations(page)
    page.goto(label_path(hospital))
    page.wait_for_load_state("networkidle")
    expect(page.get_by_role("button", name="Send report")).to_be_visible()
    assert violations == []
