"""The demo hospital's stores and costs: a stock list (a couple of parts already at their reorder level), labour
rates, parts and labour on past jobs with deliveries and a stock count on the ledger, and budgets for this
year and last, so the Cost and Budget reports have something true to show after `make run`."""
from __future__ import annotations

import random
from datetime import date, datetime, timedelta
from decimal import Decimal

from sqlalchemy import select

from dispatch.services import costs
from dispatch.services.report_filters import utc_range
from dispatch.services.timezone import hospital_date
from models import Building, LabourRate, Part, StockLevel, StockMovement, Store, Ticket, TicketPart, Trade, TradeBudget, User, db

# code, name, unit, unit cost (CNY), reorder level, trade, opening stock
PARTS = [
    ("E-101", "Fuse 10A (BS1362)", "each", "3.50", 40, "power", 120),
    ("E-116", "MCB 16A type C", "each", "28.00", 10, "power", 30),
    ("E-130", "RCD 30mA 40A", "each", "85.00", 4, "power", 10),
    ("E-210", "Twin socket outlet 13A", "each", "12.50", 15, "power", 40),
    ("E-305", "LED tube 1200mm", "each", "18.00", 20, "power", 60),
    ("W-7", "Tap washer 1/2in", "each", "0.80", 50, "water", 200),
    ("W-22", "Ball valve 22mm", "each", "45.00", 6, "water", 16),
    ("W-40", "Pipe coupling 15mm", "each", "6.50", 20, "water", 60),
    ("G-12", "Oxygen outlet seal kit", "kit", "15.00", 10, "gas", 30),
    ("G-50", "Pressure sensor (MGPS)", "each", "320.00", 2, "gas", 5),
    ("L-08", "Lift door sensor", "each", "260.00", 2, "lift", 6),
    ("L-15", "Lift door roller", "each", "48.00", 8, "lift", 20),
    ("H-33", "AC filter 600x600", "each", "35.00", 12, "hvac", 40),
    ("H-41", "Fan belt A-38", "each", "42.00", 4, "hvac", 12),
    ("H-90", "Refrigerant R410A", "kg", "95.00", 10, "hvac", 30),
    ("X-05", "Mortice door lock", "each", "120.00", 3, "other", 8),
]
# Left at or below their reorder level at the end of the demo (a delivery is awaited).
LEFT_LOW = ("E-116", "L-08")
# Hourly rates, CNY: normal, out of hours.
RATES = {"power": ("80.00", "120.00"), "water": ("70.00", "105.00"), "gas": ("95.00", "142.50"),
         "lift": ("110.00", "165.00"), "hvac": ("85.00", "127.50"), "other": ("60.00", "90.00")}
# Budget as a share of what a trade typically spends; lifts run over this year (a run of door faults).
BUDGET_FACTOR = {"power": 1.10, "water": 1.05, "gas": 1.25, "lift": 0.85, "hvac": 1.0, "other": 1.2}
PART_SHARE = 0.45  # jobs that use parts from the store


class DemoStores:
    """Stock on hand while the history is written in time order: issues take from the shelf, and a delivery
    arrives when a part runs low (except the ones left low at the end)."""

    def __init__(self, rng: random.Random, start: datetime, keeper: User | None) -> None:
        self.rng = rng
        self.keeper_id = keeper.id if keeper else None
        buildings = list(db.session.scalars(select(Building).order_by(Building.name)))
        self.main = Store(name="Main estates store", building=buildings[0] if buildings else None)
        self.workshop = Store(name="Workshop, Emergency block", building=buildings[-1] if buildings else None)
        db.session.add_all([self.main, self.workshop])
        trades = {t.code: t for t in db.session.scalars(select(Trade))}
        self.parts: dict[str, list[Part]] = {}
        self.balance: dict[int, int] = {}
        db.session.flush()
        for code, name, unit, cost, level, trade, opening in PARTS:
            part = Part(code=code, name=name, unit=unit, unit_cost=Decimal(cost), reorder_level=level,
                        trade_id=trades[trade].id, active=True)
            db.session.add(part)
            db.session.flush()
            self.parts.setdefault(trade, []).append(part)
            self.balance[part.id] = opening
            db.session.add(StockMovement(part_id=part.id, store_id=self.main.id, kind="receipt", quantity=opening,
                                         balance_after=opening, unit_cost=part.unit_cost, actor_id=self.keeper_id,
                                         reason="Opening stock", at=start))
        for code, (normal, outside) in RATES.items():
            if code in trades:
                db.session.add(LabourRate(trade_id=trades[code].id, normal_rate=Decimal(normal),
                                          out_of_hours_rate=Decimal(outside), updated_at=start))
        db.session.flush()
        self.rates = {rate.trade_id: rate for rate in db.session.scalars(select(LabourRate))}

    def cost_job(self, ticket: Ticket, trade: Trade, moment: datetime) -> None:
        """Labour priced as the live service prices it; sometimes a part or two from the main store."""
        normal, outside = costs.split_minutes(ticket.labour_minutes or 0, ticket.attended_at, ticket.resolved_at)
        ticket.labour_out_of_hours_minutes = outside
        ticket.labour_cost = costs.labour_cost(normal, outside, self.rates.get(trade.id))
        candidates = self.parts.get(trade.code)
        if not candidates or self.rng.random() > PART_SHARE:
            return
        db.session.flush()  # the ticket's number
        total = Decimal("0.00")
        for part in self.rng.sample(candidates, k=min(len(candidates), self.rng.choice((1, 1, 1, 2)))):
            quantity = self.rng.choice((1, 1, 1, 2, 3)) if part.unit_cost < 50 else 1
            if self.balance[part.id] < quantity:
                continue
            self.balance[part.id] -= quantity
            db.session.add(TicketPart(ticket_id=ticket.id, part_id=part.id, store_id=self.main.id, quantity=quantity,
                                      returned=0, unit_cost=part.unit_cost, issued_at=ticket.resolved_at,
                                      issued_by_id=ticket.assignee_id))
            db.session.add(StockMovement(part_id=part.id, store_id=self.main.id, kind="issue", quantity=-quantity,
                                         balance_after=self.balance[part.id], unit_cost=part.unit_cost,
                                         ticket_id=ticket.id, actor_id=ticket.assignee_id, at=ticket.resolved_at))
            total += part.unit_cost * quantity
            self._restock(part, ticket.resolved_at, moment)
        if total:
            ticket.parts_cost = total

    def _restock(self, part: Part, at: datetime, moment: datetime) -> None:
        if self.balance[part.id] > part.reorder_level or part.code in LEFT_LOW:
            return
        delivered = at + timedelta(days=self.rng.randint(2, 5))
        if delivered >= moment:
            return
        quantity = 3 * part.reorder_level - self.balance[part.id]
        self.balance[part.id] += quantity
        db.session.add(StockMovement(part_id=part.id, store_id=self.main.id, kind="receipt", quantity=quantity,
                                     balance_after=self.balance[part.id], unit_cost=part.unit_cost,
                                     actor_id=self.keeper_id, reason=f"PO {self.rng.randint(24000, 26999)}",
                                     at=delivered))

    def finish(self, moment: datetime) -> None:
        """Levels as they stand now; the parts meant to be low are brought to it by last week's stock count."""
        for parts in self.parts.values():
            for part in parts:
                if part.code in LEFT_LOW and self.balance[part.id] > part.reorder_level:
                    target = max(part.reorder_level - 1, 0)
                    change = target - self.balance[part.id]
                    self.balance[part.id] = target
                    db.session.add(StockMovement(
                        part_id=part.id, store_id=self.main.id, kind="adjustment", quantity=change, balance_after=target,
                        unit_cost=part.unit_cost, actor_id=self.keeper_id, at=moment - timedelta(days=3),
                        reason="Stock count: found damaged on the shelf"))
                db.session.add(StockLevel(part_id=part.id, store_id=self.main.id, quantity=self.balance[part.id]))
        # The workshop keeps a few fast movers of its own.
        for code in ("E-101", "W-7", "H-33"):
            part = next(p for parts in self.parts.values() for p in parts if p.code == code)
            db.session.add(StockLevel(part_id=part.id, store_id=self.workshop.id, quantity=12))
            db.session.add(StockMovement(part_id=part.id, store_id=self.workshop.id, kind="receipt", quantity=12,
                                         balance_after=12, unit_cost=part.unit_cost, actor_id=self.keeper_id,
                                         reason="Transfer from the main store", at=moment - timedelta(days=20)))
        db.session.flush()


def seed_budgets(moment: datetime, history_from: date) -> None:
    """Monthly budgets per trade for this year and last: what the trade typically spends in a whole month of
    the demo's history, times its factor (rounded to 100)."""
    today = hospital_date(moment)
    this_month = today.replace(day=1)
    typical: dict[int, Decimal] = {}
    months_seen = 0
    month = (this_month - timedelta(days=1)).replace(day=1)
    while month >= history_from and months_seen < 3:  # up to three whole months of history
        months_seen += 1
        for row in costs.cost_against_budget(month):
            typical[row.trade_id] = typical.get(row.trade_id, Decimal(0)) + row.actual
        month = (month - timedelta(days=1)).replace(day=1)
    if not months_seen:  # a very short history: the same month last year stands in
        months_seen = 1
        for row in costs.cost_against_budget(this_month.replace(year=this_month.year - 1)):
            typical[row.trade_id] = row.actual
    trades = {t.id: t.code for t in db.session.scalars(select(Trade))}
    to_date = {row.trade_id: row.actual for row in costs.cost_against_budget(this_month)}
    for trade_id, code in trades.items():
        base = typical.get(trade_id, Decimal(0)) / months_seen
        if base <= 0:
            continue
        for year in (today.year - 1, today.year):
            for number in range(1, 13):
                seasonal = 1.15 if code == "hvac" and number in (6, 7, 8) else 1.0
                amount = Decimal(round(float(base) * BUDGET_FACTOR.get(code, 1.0) * seasonal * (0.96 if year < today.year else 1.0), -2))
                if code == "lift" and date(year, number, 1) == this_month and to_date.get(trade_id):
                    # This month's lift budget is already spent: the report's over-budget case is visible.
                    amount = Decimal(round(float(to_date[trade_id]) * 0.9, -2))
                db.session.add(TradeBudget(trade_id=trade_id, month=date(year, number, 1), amount=amount,
                                           updated_at=moment))
    db.session.flush()


def last_year_days(moment: datetime) -> list[int]:
    """Day offsets (days before now) covering the same month last year, for the history to fill."""
    today = hospital_date(moment)
    first = today.replace(day=1, year=today.year - 1)
    last = costs.month_end(first)
    lower, upper = utc_range(first, last)
    return list(range((moment - lower).days, (moment - upper).days, -1))
