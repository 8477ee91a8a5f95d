"""Cost of the work: parts off the shelf in the finishing transaction, labour at the trade's rate (normal and
out of hours), cost per ticket, asset, ward, trade and month, and each trade's month against its budget.
Every figure is checked against a value worked out by hand (money exact, as Decimal)."""
from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from dispatch.errors import NotFoundError, PermissionDeniedError, ValidationError
from dispatch.services import costs, stock
from dispatch.services.report_filters import ReportFilter
from dispatch.services.stock import PartLine
from dispatch.services.tickets import transition
from models import Asset, Part, StockLevel, StockMovement, Ticket, TicketPart, TradeBudget, db
from tests.costs_data import build_stock, job_on_site, local


def level(part_id: int, store_id: int) -> int:
    db.session.rollback()
    return db.session.query(StockLevel).filter_by(part_id=part_id, store_id=store_id).one().quantity


def finish(hospital, clock, ticket_id, at, minutes, parts=(), tech="sparky"):
    clock.set(at)
    return transition(ticket_id, "resolve", hospital.user(tech), note="Done", labour_minutes=minutes,
                      parts=[PartLine(code, qty) for code, qty in parts])


# --- labour split --------------------------------------------------------------------------------

@pytest.mark.parametrize("start, end, expected", [
    (local(2026, 3, 10, 10, 0), local(2026, 3, 10, 11, 0), (0, 3600)),          # Tuesday, office hours
    (local(2026, 3, 10, 17, 30), local(2026, 3, 10, 18, 30), (1800, 3600)),     # across 18:00
    (local(2026, 3, 10, 7, 45), local(2026, 3, 10, 8, 15), (900, 1800)),        # across 08:00
    (local(2026, 3, 14, 10, 0), local(2026, 3, 14, 12, 0), (7200, 7200)),       # Saturday
    (local(2026, 3, 10, 17, 0), local(2026, 3, 11, 9, 0), (14 * 3600, 16 * 3600)),  # overnight
])
def test_out_of_hours_share_of_the_on_site_period(app, db, start, end, expected):
    assert costs.out_of_hours_seconds(start, end) == expected


def test_a_public_holiday_is_out_of_hours(app, db):
    app.config["HOLIDAYS"] = ("2026-03-11",)
    assert costs.out_of_hours_seconds(local(2026, 3, 11, 10, 0), local(2026, 3, 11, 11, 0)) == (3600, 3600)
    assert costs.split_minutes(50, local(2026, 3, 11, 10, 0), local(2026, 3, 11, 11, 0)) == (0, 50)


def test_minutes_split_in_proportion_and_without_arrival_by_the_finishing_time(app, db):
    assert costs.split_minutes(60, local(2026, 3, 10, 17, 30), local(2026, 3, 10, 18, 30)) == (30, 30)
    assert costs.split_minutes(45, local(2026, 3, 10, 17, 40), local(2026, 3, 10, 18, 10)) == (30, 15)
    assert costs.split_minutes(20, None, local(2026, 3, 10, 19, 0)) == (0, 20)
    assert costs.split_minutes(20, None, local(2026, 3, 10, 9, 0)) == (20, 0)


# --- parts off the shelf ---------------------------------------------------------------------------

def test_parts_used_come_off_the_shelf_when_the_job_is_done(hospital, clock):
    ids = build_stock(hospital)
    ticket_id = job_on_site(hospital, clock, reported=local(2026, 3, 10, 9, 50), arrived=local(2026, 3, 10, 10, 0))
    ticket = finish(hospital, clock, ticket_id, local(2026, 3, 10, 11, 0), 45, [("p-100", 2)])
    assert ticket.status == "resolved"
    assert level(ids["breaker"], ids["main"]) == 8
    line = db.session.query(TicketPart).filter_by(ticket_id=ticket_id).one()
    assert (line.quantity, line.unit_cost, line.store_id) == (2, Decimal("12.35"), ids["main"])
    move = db.session.query(StockMovement).filter_by(ticket_id=ticket_id).one()
    assert (move.kind, move.quantity, move.balance_after, move.actor_id) == ("issue", -2, 8, hospital.users["sparky"].id)
    ticket = db.session.get(Ticket, ticket_id)
    assert (ticket.parts_cost, ticket.labour_cost, ticket.labour_out_of_hours_minutes) == (
        Decimal("24.70"), Decimal("45.00"), 0)
    resolve = [e for e in ticket.events if e.kind == "resolve"][0]
    assert resolve.data["parts"] == [["P-100", 2, "12.35"]]


def test_short_stock_stops_the_finish_and_says_what_is_left(hospital, clock):
    ids = build_stock(hospital, mcb=1)
    ticket_id = job_on_site(hospital, clock, reported=local(2026, 3, 10, 9, 50), arrived=local(2026, 3, 10, 10, 0))
    with pytest.raises(ValidationError) as error:
        finish(hospital, clock, ticket_id, local(2026, 3, 10, 11, 0), 45, [("P-100", 2)])
    assert error.value.message == "Only 1 each of P-100 left in Main store."
    assert error.value.field == "quantity"
    db.session.rollback()
    ticket = db.session.get(Ticket, ticket_id)
    assert ticket.status == "attended" and ticket.labour_minutes is None and ticket.labour_cost is None
    assert level(ids["breaker"], ids["main"]) == 1
    assert db.session.query(StockMovement).count() == 0


@pytest.mark.parametrize("code, quantity, field", [
    ("P-100", -1, "quantity"), ("P-100", 0, "quantity"), ("P-100", "2.5", "quantity"), ("P-100", 10**12, "quantity"),
    ("NOPE-1", 1, "part"), ("", 1, "part"),
])
def test_bad_part_lines_are_refused_by_field(hospital, clock, code, quantity, field):
    ids = build_stock(hospital)
    ticket_id = job_on_site(hospital, clock, reported=local(2026, 3, 10, 9, 50), arrived=local(2026, 3, 10, 10, 0))
    with pytest.raises(ValidationError) as error:
        finish(hospital, clock, ticket_id, local(2026, 3, 10, 11, 0), 10, [(code, quantity)])
    assert error.value.field == field
    assert level(ids["breaker"], ids["main"]) == 10


def test_returns_put_parts_back_at_the_issue_price(hospital, clock):
    ids = build_stock(hospital)
    ticket_id = job_on_site(hospital, clock, reported=local(2026, 3, 10, 9, 50), arrived=local(2026, 3, 10, 10, 0))
    finish(hospital, clock, ticket_id, local(2026, 3, 10, 11, 0), 0, [("W-7", 3)])
    line = db.session.query(TicketPart).filter_by(ticket_id=ticket_id).one()
    with pytest.raises(ValidationError):
        stock.return_part(line.id, 4, hospital.user("sparky"))
    stock.return_part(line.id, 1, hospital.user("sparky"), "one spare")
    assert level(ids["washer"], ids["main"]) == 48
    ticket = db.session.get(Ticket, ticket_id)
    assert ticket.parts_cost == Decimal("1.70")
    back = db.session.query(StockMovement).filter_by(kind="return").one()
    assert (back.quantity, back.balance_after, back.reason, back.ticket_id) == (1, 48, "one spare", ticket_id)
    with pytest.raises(PermissionDeniedError):  # the ward sees the ticket, but the shelf is not theirs
        stock.return_part(line.id, 1, hospital.user("nurse.icu"))
    with pytest.raises(NotFoundError):  # a line is returned from its own ticket's page only
        stock.return_part(line.id, 1, hospital.user("sparky"), ticket_id=ticket_id + 1)


def test_receipts_and_counted_adjustments_are_recorded_with_who_and_why(hospital, clock):
    ids = build_stock(hospital)
    keeper = hospital.user("supervisor")
    stock.receive(ids["breaker"], ids["workshop"], 5, keeper, unit_cost="13.00", reason="PO 4711")
    assert level(ids["breaker"], ids["workshop"]) == 5
    assert db.session.get(Part, ids["breaker"]).unit_cost == Decimal("13.00")
    with pytest.raises(ValidationError) as error:
        stock.adjust(ids["breaker"], ids["main"], 7, keeper, "  ")
    assert error.value.field == "reason"
    movement = stock.adjust(ids["breaker"], ids["main"], 7, keeper, "Stock count: 3 damaged")
    assert (movement.kind, movement.quantity, movement.balance_after, movement.actor_id) == (
        "adjustment", -3, 7, hospital.users["supervisor"].id)
    assert stock.adjust(ids["breaker"], ids["main"], 7, keeper, "count again") is None
    with pytest.raises(ValidationError):
        stock.adjust(ids["breaker"], ids["main"], -1, keeper, "below zero")
    with pytest.raises(PermissionDeniedError):
        stock.receive(ids["breaker"], ids["main"], 5, hospital.user("sparky"))
    with pytest.raises(PermissionDeniedError):
        stock.adjust(ids["breaker"], ids["main"], 50, hospital.user("manager"), "more")
    kinds = [m.kind for m in stock.movements(ids["breaker"])]
    assert kinds == ["adjustment", "receipt"]


def test_reorder_list_holds_parts_at_or_below_their_level_with_a_suggested_order(hospital, clock):
    ids = build_stock(hospital, mcb=5, washers=21)
    rows = stock.reorder_list()
    assert [(r.part.code, r.on_hand, r.suggested) for r in rows] == [("P-100", 5, 5)]
    stock.adjust(ids["washer"], ids["main"], 20, hospital.user("admin"), "count")
    assert [(r.part.code, r.suggested) for r in stock.reorder_list()] == [("P-100", 5), ("W-7", 20)]


def test_the_database_itself_refuses_a_negative_stock_level(hospital, clock):
    from sqlalchemy.exc import IntegrityError

    ids = build_stock(hospital)
    row = db.session.query(StockLevel).filter_by(part_id=ids["breaker"], store_id=ids["main"]).one()
    row.quantity = -1
    with pytest.raises(IntegrityError):
        db.session.commit()
    db.session.rollback()


# --- the figures, by hand ----------------------------------------------------------------------------

@pytest.fixture
def costed(hospital, clock):
    """Five jobs (see each line) and budgets; the expected figures are in the tests."""
    ids = build_stock(hospital)
    asset = Asset(tag="ICU-PNL-1", name="Bed-head panel", ward_id=hospital.icu.id)
    db.session.add(asset)
    db.session.commit()
    # T0, a year earlier: Wed 2025-03-05 10:10-10:40, 30 min normal (30.00) + 1 breaker (12.35) = 42.35
    t0 = job_on_site(hospital, clock, reported=local(2025, 3, 5, 10, 0), arrived=local(2025, 3, 5, 10, 10))
    finish(hospital, clock, t0, local(2025, 3, 5, 10, 40), 30, [("P-100", 1)])
    # T1: Tue 10:00-11:00, 45 min normal (45.00) + 2 breakers (24.70) = 69.70, on the asset
    t1 = job_on_site(hospital, clock, reported=local(2026, 3, 10, 9, 50), arrived=local(2026, 3, 10, 10, 0),
                     asset_id=asset.id)
    finish(hospital, clock, t1, local(2026, 3, 10, 11, 0), 45, [("P-100", 2)])
    # T2: Ward 3, Tue 17:30-18:30, 60 min = 30 normal (30.00) + 30 out of hours (45.00); 3 washers, 1 returned
    # (1.70) = 76.70
    t2 = job_on_site(hospital, clock, ward="ward3", reported=local(2026, 3, 10, 17, 20),
                     arrived=local(2026, 3, 10, 17, 30))
    finish(hospital, clock, t2, local(2026, 3, 10, 18, 30), 60, [("W-7", 3)])
    stock.return_part(db.session.query(TicketPart).filter_by(ticket_id=t2).one().id, 1, hospital.user("sparky"))
    # T3: water, Ward 3, Saturday 10:30-11:10, 40 min out of hours at 75.00 (50.00) + 1 washer (0.85) = 50.85
    t3 = job_on_site(hospital, clock, trade="water", ward="ward3", tech="plumb", reported=local(2026, 3, 14, 10, 0),
                     arrived=local(2026, 3, 14, 10, 30))
    finish(hospital, clock, t3, local(2026, 3, 14, 11, 10), 40, [("W-7", 1)], tech="plumb")
    # Prices and rates change: nothing above may move.
    stock.receive(ids["breaker"], ids["main"], 10, hospital.user("admin"), unit_cost="13.00")
    costs.set_labour_rate(hospital.user("manager"), hospital.trades["power"].id, "80.00", "120.00")
    # T4: Thu 2026-04-02 09:30-09:50, 20 min at the new 80.00 (26.67) + 1 breaker at 13.00 = 39.67
    t4 = job_on_site(hospital, clock, reported=local(2026, 4, 2, 9, 0), arrived=local(2026, 4, 2, 9, 30))
    finish(hospital, clock, t4, local(2026, 4, 2, 9, 50), 20, [("P-100", 1)])
    costs.set_budget(hospital.user("manager"), hospital.trades["power"].id, date(2026, 3, 1), "150.00")
    costs.set_budget(hospital.user("admin"), hospital.trades["water"].id, date(2026, 3, 1), "40")
    return {"t0": t0, "t1": t1, "t2": t2, "t3": t3, "t4": t4, "asset": asset.id, "icu": hospital.icu.id}


SPRING = ReportFilter(start=date(2026, 3, 1), end=date(2026, 4, 30))


def figures(rows):
    return {r.label: (r.tickets, r.parts, r.labour, r.total) for r in rows}


def test_cost_per_ticket(costed):
    rows, total = costs.costs(SPRING, "ticket")
    d = Decimal
    assert figures(rows) == {
        f"#{costed['t1']}": (1, d("24.70"), d("45.00"), d("69.70")),
        f"#{costed['t2']}": (1, d("1.70"), d("75.00"), d("76.70")),
        f"#{costed['t3']}": (1, d("0.85"), d("50.00"), d("50.85")),
        f"#{costed['t4']}": (1, d("13.00"), d("26.67"), d("39.67")),
    }
    assert [r.label for r in rows][:1] == [f"#{costed['t2']}"]  # biggest first
    assert (total.tickets, total.parts, total.labour, total.total) == (4, d("40.25"), d("196.67"), d("236.92"))
    assert (total.labour_minutes, total.out_of_hours_minutes) == (165, 70)


def test_cost_per_asset_ward_trade_and_month(costed):
    d = Decimal
    assert figures(costs.costs(SPRING, "asset")[0]) == {
        "ICU-PNL-1 Bed-head panel": (1, d("24.70"), d("45.00"), d("69.70")),
        "no asset": (3, d("15.55"), d("151.67"), d("167.22")),
    }
    assert figures(costs.costs(SPRING, "ward")[0]) == {
        "ICU": (2, d("37.70"), d("71.67"), d("109.37")),
        "Ward 3": (2, d("2.55"), d("125.00"), d("127.55")),
    }
    assert figures(costs.costs(SPRING, "trade")[0]) == {
        "Power": (3, d("39.40"), d("146.67"), d("186.07")),
        "Water": (1, d("0.85"), d("50.00"), d("50.85")),
    }
    months = costs.costs(SPRING, "month")[0]
    assert [(r.key, r.total) for r in months] == [(date(2026, 3, 1), d("197.25")), (date(2026, 4, 1), d("39.67"))]
    icu_only = ReportFilter(start=date(2026, 3, 1), end=date(2026, 4, 30), ward_id=costed["icu"])
    assert figures(costs.costs(icu_only, "trade")[0]) == {"Power": (2, d("37.70"), d("71.67"), d("109.37"))}


def test_cost_against_budget_and_the_same_month_last_year(costed, hospital):
    d = Decimal
    rows = {r.trade: r for r in costs.cost_against_budget(date(2026, 3, 17))}
    power, water = rows["Power"], rows["Water"]
    assert (power.budget, power.actual, power.last_year, power.variance) == (d("150.00"), d("146.40"), d("42.35"),
                                                                              d("-3.60"))
    assert (power.over, power.used_pct, power.change_on_last_year) == (False, 97.6, d("104.05"))
    assert (water.budget, water.actual, water.last_year, water.variance, water.over) == (
        d("40.00"), d("50.85"), d("0.00"), d("10.85"), True)
    assert rows["Lift"].budget is None and rows["Lift"].variance is None and rows["Lift"].actual == d("0.00")
    total = costs.budget_total(list(rows.values()))
    assert (total.budget, total.actual, total.last_year, total.variance) == (d("190.00"), d("197.25"), d("42.35"),
                                                                              d("7.25"))
    april = {r.trade: r for r in costs.cost_against_budget(date(2026, 4, 1))}
    assert (april["Power"].budget, april["Power"].actual) == (None, d("39.67"))


def test_only_managers_and_admins_set_budgets_and_rates(hospital):
    for role in ("supervisor", "dispatcher", "sparky", "nurse.icu"):
        with pytest.raises(PermissionDeniedError):
            costs.set_budget(hospital.user(role), hospital.trades["power"].id, date(2026, 3, 1), "10")
        with pytest.raises(PermissionDeniedError):
            costs.set_labour_rate(hospital.user(role), hospital.trades["power"].id, "10", "20")


@pytest.mark.parametrize("amount", ["-1", "abc", "1.234", "1e9", "NaN", "99999999999"])
def test_bad_budget_amounts_are_refused(hospital, amount):
    with pytest.raises(ValidationError) as error:
        costs.set_budget(hospital.user("manager"), hospital.trades["power"].id, date(2026, 3, 1), amount)
    assert error.value.field == "amount"


def test_an_empty_budget_removes_it(hospital):
    power = hospital.trades["power"].id
    costs.set_budget(hospital.user("manager"), power, date(2026, 3, 1), "100")
    costs.set_budget(hospital.user("manager"), power, date(2026, 3, 1), "")
    assert costs.budget_year(2026) == {}


def test_the_demo_hospital_shows_stock_costs_and_this_months_budget(app, db, clock):
    from dispatch.seed import seed_demo_hospital
    from dispatch.services.timezone import hospital_date

    seed_demo_hospital(days=12)
    today = hospital_date(clock.now())
    low = [r.part.code for r in stock.reorder_list()]
    assert {"E-116", "L-08"} <= set(low)
    rows = costs.cost_against_budget(today)
    assert all(r.budget is not None for r in rows if r.actual)
    assert sum(r.actual for r in rows) > 0 and sum(r.last_year for r in rows) > 0
    assert any(r.over for r in rows)  # the lifts, this month
    assert {b.month.year for b in db.session.query(TradeBudget)} == {today.year - 1, today.year}
    assert db.session.query(TicketPart).count() > 0
    assert all(level.quantity >= 0 for level in db.session.query(StockLevel))
