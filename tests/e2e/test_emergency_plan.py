"""An emergency plan in a real browser: the electrician opens the SMS link on the phone, logs in, lands
on the plan and ticks a step; the board keeps the plan marker through its own refreshes."""
from __future__ import annotations

import re

from playwright.sync_api import expect

from dispatch.services import emergency_plans as plans
from dispatch.services.assignment import assign_ticket
from dispatch.services.tickets import report_fault
from models import OutboundMessage, db
from tests.conftest import PASSWORD
from tests.e2e.test_content_security_policy import watch_for_violations
from tests.e2e.test_fault_to_fix import log_in


def icu_power_loss(hospital) -> int:
    content = plans.parse_content(title="ICU power loss", summary="Ventilators are on battery.",
                                  steps="Phone the ICU nurse in charge\nCheck the ICU UPS panel\nCheck LV board A",
                                  contacts="Duty electrician | +86 139 0000 1000", isolation_points="")
    plans.create_plan(hospital.user("manager"), trade_id=hospital.trades["power"].id, criticality="icu", keywords=None,
                      content=content)
    ticket = report_fault(hospital.user("nurse.icu"), ward_id=hospital.icu.id, trade_id=hospital.trades["power"].id,
                          description="No power to beds 1-4")
    assign_ticket(ticket.id, hospital.users["sparky"].id, hospital.user("dispatcher"))
    return ticket.id


def test_the_sms_link_opens_the_plan_after_login_and_a_step_is_ticked(live_server, new_device, hospital):
    ticket_id = icu_power_loss(hospital)
    body = db.session.query(OutboundMessage).filter_by(ticket_id=ticket_id, kind="assignment").one().body
    path = re.search(r"https?://[^/\s]+(/p/\d+)", body).group(1)
    db.session.close()

    phone = new_device(live_server, phone=True)
    violations = watch_for_violations(phone)
    phone.goto(path)
    expect(phone).to_have_url(re.compile(r"/login\?next="))
    phone.get_by_label("Username").fill("sparky")
    phone.get_by_label("Password").fill(PASSWORD)
    phone.get_by_role("button", name="Log in").click()
    expect(phone).to_have_url(re.compile(rf"{path}$"))
    panel = phone.locator("section.plan-panel")
    expect(panel).to_contain_text("ICU power loss")
    expect(panel).to_contain_text("0 of 3 steps done")
    phone.get_by_role("button", name="Mark step 2 done").click()
    expect(panel).to_contain_text("1 of 3 steps done")
    expect(phone.locator("#step-2")).to_contain_text("10 Mar 10:00 · Wang Sparky")
    expect(phone.get_by_role("link", name="+86 139 0000 1000")).to_have_attribute("href", "tel:+8613900001000")
    assert violations == []


def test_the_board_keeps_the_plan_marker_through_its_refreshes(app, live_server, new_device, hospital):
    app.config["BOARD_REFRESH_SECONDS"] = 1
    ticket_id = icu_power_loss(hospital)
    db.session.close()
    page = new_device(live_server)
    log_in(page, "dispatcher")
    page.goto("/board/")
    marker = page.locator(f'tr[data-ticket="{ticket_id}"] a.plan-marker')
    expect(marker).to_have_text("Plan v1")
    with page.expect_response(lambda response: "/board/rows" in response.url and response.status == 200):
        pass  # board.js swapped the rows in again
    expect(marker).to_have_text("Plan v1")
    marker.click()
    expect(page).to_have_url(re.compile(rf"/p/{ticket_id}$"))
    expect(page.locator("section.plan-panel")).to_contain_text("version 1")
