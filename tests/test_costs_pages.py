"""The store and cost pages as each role sees them: who may look, who may change, and bad input answered on
the form (422) rather than with an error page."""
from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from dispatch.services import costs
from models import Part, StockLevel, StockMovement, Ticket, TicketPart, TradeBudget, db
from tests.costs_data import build_stock, job_on_site, local


@pytest.fixture
def stocked(hospital):
    return build_stock(hospital, mcb=4)


def test_the_stock_list_highlights_parts_at_their_reorder_level(login_as, stocked):
    dispatcher = login_as("dispatcher")
    page = dispatcher.get("/stock/").get_data(as_text=True)
    assert 'class="low-stock"' in page and "P-100" in page and "W-7" in page
    assert page.count('class="low-stock"') == 1  # the breaker (4, level 5); washers (50, level 20) are fine
    found = dispatcher.get("/stock/?q=washer").get_data(as_text=True)
    assert "W-7" in found and "P-100" not in found


def test_the_reorder_list_exports_the_suggested_order(login_as, stocked):
    manager = login_as("manager")
    text = manager.get("/stock/reorder.csv").get_data(as_text=True)
    lines = text.lstrip("\ufeff").strip().splitlines()
    assert lines[1] == "P-100,MCB 16A,each,4,5,6,12.35,74.10,Power"
    xlsx = manager.get("/stock/reorder.xlsx")
    assert xlsx.status_code == 200 and xlsx.data[:2] == b"PK"


@pytest.mark.parametrize("username, status", [("supervisor", 302), ("admin", 302)])  # others: the access matrix
def test_storekeepers_receive_stock(login_as, stocked, username, status):
    browser = login_as(username)
    response = browser.post(f"/stock/parts/{stocked['breaker']}/receive",
                            data={"receive-csrf_token": browser.token, "receive-store_id": stocked["main"],
                                  "receive-quantity": "6"})
    assert response.status_code == status
    expected = 10 if status == 302 else 4
    db.session.rollback()
    assert db.session.query(StockLevel).filter_by(part_id=stocked["breaker"], store_id=stocked["main"]).one().quantity == expected


@pytest.mark.parametrize("quantity, message", [("-3", "Quantity must be between 1 and 100000."),
                                               ("abc", "Quantity must be a whole number."),
                                               ("100001", "Quantity must be between 1 and 100000."),
                                               ("99999999999", "Field cannot be longer than 9 characters.")])
def test_bad_receipts_come_back_on_the_form(login_as, stocked, quantity, message):
    keeper = login_as("supervisor")
    response = keeper.post(f"/stock/parts/{stocked['breaker']}/receive",
                           data={"receive-csrf_token": keeper.token, "receive-store_id": stocked["main"],
                                 "receive-quantity": quantity})
    assert response.status_code == 422
    assert message in response.get_data(as_text=True)
    assert db.session.query(StockMovement).count() == 0


def test_a_count_without_a_reason_is_refused_and_with_one_is_on_the_ledger(login_as, stocked):
    keeper = login_as("supervisor")
    url = f"/stock/parts/{stocked['breaker']}/adjust"
    response = keeper.post(url, data={"adjust-csrf_token": keeper.token, "adjust-store_id": stocked["main"],
                                      "adjust-counted": "2", "adjust-reason": ""})
    assert response.status_code == 422 and "Say why" in response.get_data(as_text=True)
    response = keeper.post(url, data={"adjust-csrf_token": keeper.token, "adjust-store_id": stocked["main"],
                                      "adjust-counted": "2", "adjust-reason": "Two found broken"}, follow_redirects=True)
    page = response.get_data(as_text=True)
    assert "Two found broken" in page and "Count correction" in page and "-2" in page


def test_parts_are_created_and_edited_by_storekeepers_with_messages_for_bad_values(login_as, stocked):
    keeper = login_as("admin")
    bad = keeper.post("/stock/parts/new", data={"code": "P 1", "name": "Fuse", "unit": "each", "unit_cost": "1.5",
                                                "reorder_level": "2", "trade_id": "0", "active": "y"})
    assert bad.status_code == 422 and "without spaces" in bad.get_data(as_text=True)
    clash = keeper.post("/stock/parts/new", data={"code": "p-100", "name": "Fuse", "unit_cost": "1", "reorder_level": "0",
                                                  "trade_id": "0"})
    assert clash.status_code == 422 and "already has the code P-100" in clash.get_data(as_text=True)
    price = keeper.post("/stock/parts/new", data={"code": "F-5", "name": "Fuse 5A", "unit_cost": "-2",
                                                  "reorder_level": "0", "trade_id": "99999"})
    assert price.status_code == 422 and "Enter an amount from 0" in price.get_data(as_text=True)
    good = keeper.post("/stock/parts/new", data={"code": "f-5", "name": "Fuse 5A", "unit": "each", "unit_cost": "0.60",
                                                 "reorder_level": "10", "trade_id": "0", "active": "y"})
    assert good.status_code == 302
    assert db.session.query(Part).filter_by(code="F-5").one().unit_cost == Decimal("0.60")
    assert login_as("manager").get("/stock/parts/new").status_code == 403


def test_the_technician_finishes_with_parts_from_the_ticket_page(login_as, hospital, clock, stocked):
    ticket_id = job_on_site(hospital, clock, reported=local(2026, 3, 10, 9, 50), arrived=local(2026, 3, 10, 10, 0))
    tech = login_as("sparky")
    page = tech.get(f"/tickets/{ticket_id}").get_data(as_text=True)
    assert 'list="part-codes"' in page and '<option value="P-100">' in page
    version = db.session.get(Ticket, ticket_id).version
    short = tech.post(f"/tickets/{ticket_id}/resolve", data={"version": version, "note": "Breakers", "labour_minutes": "30",
                                                             "part-0": "P-100", "quantity-0": "5"}, follow_redirects=True)
    assert "Only 4 each of P-100 left in Main store." in short.get_data(as_text=True)
    done = tech.post(f"/tickets/{ticket_id}/resolve", data={"version": version, "note": "Breakers", "labour_minutes": "30",
                                                            "part-0": "P-100", "quantity-0": "2", "part-1": "w-7"},
                     follow_redirects=True)
    page = done.get_data(as_text=True)
    assert "resolved" in page
    db.session.rollback()
    lines = sorted((line.part.code, line.quantity) for line in db.session.query(TicketPart))
    assert lines == [("P-100", 2), ("W-7", 1)]
    # 2 × 12.35 + 0.85 = 25.55 parts; 30 min at 60.00 = 30.00 labour
    assert "CN¥55.55" in page
    extra = tech.post(f"/tickets/{ticket_id}/parts", data={"part-0": "W-7", "quantity-0": "2"}, follow_redirects=True)
    assert "1 part line(s) recorded" in extra.get_data(as_text=True)
    nurse_page = login_as("nurse.icu").get(f"/tickets/{ticket_id}").get_data(as_text=True)
    assert "CN¥" not in nurse_page and "Add parts used" not in nurse_page


def test_a_nurse_cannot_put_parts_on_a_ticket(login_as, hospital, clock, stocked):
    ticket_id = job_on_site(hospital, clock, reported=local(2026, 3, 10, 9, 50), arrived=local(2026, 3, 10, 10, 0))
    response = login_as("nurse.icu").post(f"/tickets/{ticket_id}/parts", data={"part-0": "P-100", "quantity-0": "1"})
    assert response.status_code == 403  # the ward sees the ticket, but not what it costs or what was taken
    assert db.session.query(TicketPart).count() == 0


def test_the_budget_page_shows_this_months_cost_against_budget_with_a_chart(login_as, hospital, clock, stocked):
    ticket_id = job_on_site(hospital, clock, reported=local(2026, 3, 10, 9, 50), arrived=local(2026, 3, 10, 10, 0))
    clock.set(local(2026, 3, 10, 11, 0))
    from dispatch.services.stock import PartLine
    from dispatch.services.tickets import transition

    transition(ticket_id, "resolve", hospital.user("sparky"), note="ok", labour_minutes=45, parts=[PartLine("P-100", 2)])
    costs.set_budget(hospital.user("manager"), hospital.trades["power"].id, date(2026, 3, 1), "50")
    manager = login_as("manager")
    page = manager.get("/reports/budget").get_data(as_text=True)
    assert "<svg" in page and 'class="over-budget"' in page and "69.70" in page and "+19.70" in page
    csv = manager.get("/reports/budget.csv?month=2026-03").get_data(as_text=True)
    assert "Power,50.00,69.70,139.4,19.70,0.00,69.70" in csv
    assert manager.get("/reports/budget.csv?month=soon").status_code == 400
    assert "month is not a month" in manager.get("/reports/budget?month=13-2026").get_data(as_text=True)
    cost = login_as("admin").get("/reports/cost.csv?by=ward&start=2026-03-01&end=2026-03-31").get_data(as_text=True)
    assert "ICU,1,24.70,45.00,69.70,0.8,0.0" in cost


def test_budgets_and_rates_are_edited_by_managers_with_the_bad_cell_named(login_as, hospital, stocked):
    manager = login_as("manager")
    power = hospital.trades["power"].id
    assert manager.get("/reports/budget/edit?year=2026").status_code == 200
    bad = manager.post("/reports/budget/edit?year=2026", data={"what": "budgets", f"b-{power}-3": "lots"})
    assert bad.status_code == 422 and 'aria-invalid="true"' in bad.get_data(as_text=True)
    ok = manager.post("/reports/budget/edit?year=2026", data={"what": "budgets", f"b-{power}-3": "1200.50",
                                                              f"b-{power}-4": "1300"})
    assert ok.status_code == 302
    assert {b.month: b.amount for b in db.session.query(TradeBudget)} == {date(2026, 3, 1): Decimal("1200.50"),
                                                                           date(2026, 4, 1): Decimal("1300.00")}
    rates = manager.post("/reports/budget/edit?year=2026", data={"what": "rates", f"rate-{power}-normal": "70",
                                                                 f"rate-{power}-ooh": "1e99"})
    assert rates.status_code == 422
    assert login_as("supervisor").get("/reports/budget/edit").status_code == 403
