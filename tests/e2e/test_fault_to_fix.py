"""The whole fault-to-fix loop in a real browser: a nurse reports a power fault, the control room assigns
it, the electrician accepts, attends and finishes, and the nurse confirms the fix. Each person has their
own browser context, as they would have their own device."""
from __future__ import annotations

import re

from playwright.sync_api import Page, expect
from sqlalchemy import select

from models import Ticket, TicketEvent, User
from tests.conftest import PASSWORD


def log_in(page: Page, username: str) -> None:
    page.goto("/login")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    expect(page.get_by_role("button", name="Log out")).to_be_visible()


def log_out(page: Page) -> None:
    page.get_by_role("button", name="Log out").click()
    expect(page).to_have_url(re.compile(r"/login$"))
    expect(page.get_by_role("status")).to_contain_text("You have logged out.")


def test_power_fault_from_report_to_confirmed_fix(live_server, new_device, hospital, db):
    # 10:00 in Shanghai on the frozen clock. The nurse reports on the ward PC.
    ward_pc = new_device(live_server)
    log_in(ward_pc, "nurse.icu")
    expect(ward_pc).to_have_url(re.compile(r"/report$"))
    ward_pc.get_by_label("Power").check()
    ward_pc.get_by_label("The whole room or area").check()
    ward_pc.get_by_label("What is wrong?").fill("No power to bed 1 sockets; monitor on battery")
    ward_pc.get_by_role("button", name="Send report").click()

    expect(ward_pc).to_have_url(re.compile(r"/tickets/\d+\?filed=1$"))
    number = int(re.search(r"/tickets/(\d+)", ward_pc.url).group(1))
    filed = ward_pc.locator("section.filed")
    expect(filed.get_by_role("heading", name=f"Ticket {number} filed")).to_be_visible()
    expect(filed).to_contain_text("P1 emergency")  # power loss to a whole area of the ICU
    promises = filed.locator("ul.promises li")
    expect(promises).to_have_count(3)
    expect(promises.nth(0)).to_contain_text("Acknowledged by 10 Mar 10:05")
    expect(promises.nth(1)).to_contain_text("Technician on site by 10 Mar 10:15")
    expect(promises.nth(2)).to_contain_text("Resolved or made safe by 10 Mar 14:00")
    log_out(ward_pc)

    # The control room sees it on the board and sends the licensed electrician.
    control_room = new_device(live_server)
    log_in(control_room, "dispatcher")
    expect(control_room).to_have_url(re.compile(r"/board/$"))
    row = control_room.locator(f'#board tr[data-ticket="{number}"]')
    expect(row).to_contain_text(f"#{number}")
    expect(row).to_contain_text("No power to bed 1 sockets")
    expect(row).to_contain_text("New")
    technician = row.locator("select[name=technician_id]")
    sparky_value = technician.locator("option", has_text="Wang Sparky").get_attribute("value")
    technician.select_option(sparky_value)
    row.get_by_role("button", name="Assign").click()
    expect(control_room.get_by_role("status").first).to_contain_text(f"Ticket {number} assigned to Wang Sparky.")
    expect(control_room.locator(f'#board tr[data-ticket="{number}"]')).to_contain_text("Assigned")

    # The electrician works the job from a phone.
    phone = new_device(live_server, phone=True)
    log_in(phone, "sparky")
    expect(phone).to_have_url(re.compile(r"/jobs$"))
    job = phone.locator("article.job", has=phone.get_by_role("link", name=f"#{number}"))
    expect(job).to_contain_text("Power")
    job.get_by_role("button", name="Accept").click()
    expect(phone.get_by_role("status").first).to_contain_text(f"Ticket {number} acknowledged.")
    job.get_by_role("button", name="On site").click()
    expect(phone.get_by_role("status").first).to_contain_text(f"Ticket {number} marked on site.")
    done = job.locator("details.action-note", has=phone.locator("summary", has_text="Done"))
    done.locator("summary").click()
    done.get_by_label("What was done").fill("Tripped RCD on bed 1 circuit; found and replaced a failed socket")
    done.get_by_label("Other parts (not in the stock list)").fill("1 x twin socket outlet")
    done.get_by_label("Labour (minutes)").fill("35")
    done.get_by_role("button", name="Done").click()
    expect(phone.get_by_role("status").first).to_contain_text(f"Ticket {number} resolved.")
    expect(phone.locator("article.job")).to_have_count(0)

    # Back on the ward PC, the nurse confirms the fix and rates the service.
    log_in(ward_pc, "nurse.icu")
    ward_pc.goto("/ward")
    awaiting = ward_pc.locator("article.ticket-card", has=ward_pc.get_by_role("link", name=f"#{number}"))
    expect(awaiting).to_contain_text("Tripped RCD on bed 1 circuit")
    awaiting.get_by_label("How was the service?").select_option("5")
    awaiting.get_by_role("button", name="Confirm fixed").click()
    expect(ward_pc.get_by_role("status").first).to_contain_text(f"Ticket {number} confirmed.")
    expect(ward_pc.locator("article.ticket-card")).to_have_count(0)

    # What the database now holds, read in a fresh session (the server wrote it from another thread).
    db.session.remove()
    ticket = db.session.get(Ticket, number)
    assert ticket.status == "closed"
    assert ticket.rating == 5
    assert ticket.assignee_id == db.session.scalar(select(User.id).where(User.username == "sparky"))
    assert ticket.labour_minutes == 35 and ticket.parts_used == "1 x twin socket outlet"
    kinds = db.session.scalars(
        select(TicketEvent.kind).where(TicketEvent.ticket_id == number).order_by(TicketEvent.id)).all()
    assert kinds == ["reported", "assigned", "acknowledge", "attend", "resolve", "confirm"]
