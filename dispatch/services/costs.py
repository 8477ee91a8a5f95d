"""What the work cost: parts at their issue price plus labour at the trade's rate, per ticket, asset, ward,
trade and month, and each trade's month against its budget and against the same month last year.

Rules (the README says the same in the hospital's words):
- A ticket's cost = its parts (quantity used × the unit cost on the day they were issued, returns taken
  off) + its labour. Both are priced when they happen and kept on the ticket, so a later price or rate
  change never rewrites a past month.
- Labour: the minutes the technician records on finishing, at the trade's rate. The minutes are split
  between the normal and the out-of-hours rate in the proportion of the on-site period (arrival to
  finishing) that fell out of hours: before NORMAL_HOURS_START, from NORMAL_HOURS_END, at weekends and on
  HOLIDAYS (config), hospital time. Without an arrival time the moment of finishing decides.
- Costs count in the month the ticket was reported (like every other report, so a figure and its
  tickets agree); cancelled tickets count too, since the parts and time were spent.
- Money is exact: every sum is taken in whole cents (integers) on both databases.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, timezone
from decimal import ROUND_HALF_UP, Decimal

from flask import current_app
from flask_babel import gettext as _
from sqlalchemy import BigInteger, Integer, cast, func, literal, select
from sqlalchemy.orm import Session

from dispatch.clock import now as clock_now
from dispatch.errors import ValidationError
from dispatch.services import access
from dispatch.services.report_filters import ReportFilter, narrowing, utc_range
from dispatch.services.report_sql import bucket_by_boundaries, local_midnight_utc, month_starts
from dispatch.services.stock import clean_money, issue_to_ticket
from dispatch.services.timezone import hospital_zone, local
from dispatch.services.unit_of_work import write_transaction
from models import Asset, LabourRate, Ticket, Trade, TradeBudget, User, Ward, db

CENT = Decimal("0.01")
ZERO = Decimal("0.00")
BUDGET_EDITORS = ("manager", "admin")
RATE_EDITORS = ("manager", "admin")
COST_DIMENSIONS = ("ticket", "asset", "ward", "trade", "month")
# Longest on-site period walked hour by hour for the labour split; a longer one is a data error.
MAX_ON_SITE = timedelta(days=62)


def to_money(value) -> Decimal:
    return Decimal(value or 0).quantize(CENT, rounding=ROUND_HALF_UP)


def money_sum(column):
    """SQL: the sum of a money column in whole cents, as an integer on both databases (SQLite keeps
    NUMERIC as floating point; rounding each row to a whole number of cents before adding keeps the
    total exact)."""
    return func.coalesce(func.sum(cast(func.round(func.coalesce(column, 0) * 100), BigInteger)), 0)


def from_cents(cents) -> Decimal:
    return (Decimal(int(cents or 0)) / 100).quantize(CENT)


# --- labour --------------------------------------------------------------------------------------

def _holidays() -> frozenset[date]:
    days = set()
    for text in current_app.config.get("HOLIDAYS", ()):
        try:
            days.add(date.fromisoformat(text))
        except ValueError:
            continue  # a mistyped holiday is ignored rather than stopping every job from being priced
    return frozenset(days)


def _is_out_of_hours(moment: datetime, start_hour: int, end_hour: int, holidays: frozenset[date]) -> bool:
    return moment.weekday() >= 5 or moment.date() in holidays or not (start_hour <= moment.hour < end_hour)


def out_of_hours_seconds(start: datetime, end: datetime) -> tuple[int, int]:
    """(seconds out of hours, seconds in all) of [start, end), walking hospital-time hour boundaries."""
    config = current_app.config
    start_hour, end_hour = config["NORMAL_HOURS_START"], config["NORMAL_HOURS_END"]
    holidays = _holidays()
    if end <= start:
        return 0, 0
    end = min(end, start + MAX_ON_SITE)
    zone = hospital_zone()
    cursor = start.astimezone(timezone.utc)
    end = end.astimezone(timezone.utc)
    outside = total = 0
    while cursor < end:
        wall = cursor.astimezone(zone)
        # The next whole hour on the hospital's clock (same-zone arithmetic is wall-clock time), then back
        # to UTC so a span across a clock change is measured in real seconds.
        following = (wall.replace(minute=0, second=0, microsecond=0) + timedelta(hours=1)).astimezone(timezone.utc)
        if following <= cursor:
            following = cursor + timedelta(hours=1)
        following = min(following, end)
        span = int((following - cursor).total_seconds())
        if _is_out_of_hours(wall, start_hour, end_hour, holidays):
            outside += span
        total += span
        cursor = following
    return outside, total


def split_minutes(minutes: int, attended_at: datetime | None, finished_at: datetime) -> tuple[int, int]:
    """(normal minutes, out-of-hours minutes) for labour recorded on finishing a job."""
    if minutes <= 0:
        return 0, 0
    outside, total = out_of_hours_seconds(attended_at, finished_at) if attended_at else (0, 0)
    if total == 0:
        config = current_app.config
        late = _is_out_of_hours(local(finished_at), config["NORMAL_HOURS_START"], config["NORMAL_HOURS_END"],
                                _holidays())
        return (0, minutes) if late else (minutes, 0)
    out_minutes = int((Decimal(minutes) * outside / total).quantize(Decimal(1), rounding=ROUND_HALF_UP))
    return minutes - out_minutes, out_minutes


def labour_cost(normal_minutes: int, out_minutes: int, rate: LabourRate | None) -> Decimal | None:
    if rate is None:
        return None
    return to_money((Decimal(normal_minutes) * rate.normal_rate + Decimal(out_minutes) * rate.out_of_hours_rate) / 60)


def price_labour(session: Session, ticket: Ticket, minutes: int, finished_at: datetime) -> None:
    """Add the cost of labour recorded on finishing (inside the caller's transaction), at today's rate."""
    if not minutes:
        return
    normal, outside = split_minutes(minutes, ticket.attended_at, finished_at)
    rate = session.scalar(select(LabourRate).where(LabourRate.trade_id == ticket.trade_id))
    ticket.labour_out_of_hours_minutes = (ticket.labour_out_of_hours_minutes or 0) + outside
    cost = labour_cost(normal, outside, rate)
    if cost is not None:
        ticket.labour_cost = (ticket.labour_cost or ZERO) + cost


# --- cost per ticket, asset, ward, trade, month -----------------------------------------------------

@dataclass
class CostRow:
    key: int | date | None
    label: str
    tickets: int = 0
    parts: Decimal = ZERO
    labour: Decimal = ZERO
    labour_minutes: int = 0
    out_of_hours_minutes: int = 0
    extra: dict = field(default_factory=dict)

    @property
    def total(self) -> Decimal:
        return self.parts + self.labour


def _cost_clauses(report: ReportFilter) -> list:
    lower, upper = report.utc_range()
    return [Ticket.created_at >= lower, Ticket.created_at < upper,
            (Ticket.parts_cost.is_not(None)) | (Ticket.labour_cost.is_not(None)), *narrowing(report)]


def _measures():
    return (func.count(), money_sum(Ticket.parts_cost), money_sum(Ticket.labour_cost),
            func.coalesce(func.sum(Ticket.labour_minutes), 0),
            func.coalesce(func.sum(Ticket.labour_out_of_hours_minutes), 0))


def _row(key, label, values) -> CostRow:
    count, parts, labour, minutes, outside = values
    return CostRow(key, label, int(count), from_cents(parts), from_cents(labour), int(minutes), int(outside))


def costs(report: ReportFilter, by: str, limit: int | None = None) -> tuple[list[CostRow], CostRow]:
    """Cost rows for the period grouped by ticket, asset, ward, trade or month (biggest first, months in
    order), and the total. Tickets without an asset form one row 'no asset'."""
    if by not in COST_DIMENSIONS:
        raise ValidationError(_("Unknown grouping."), field="by")
    where = _cost_clauses(report)
    total = _row(None, _("All"), db.session.execute(select(*_measures()).where(*where)).one())
    rows: list[CostRow] = []
    if by == "month":
        start, end = report.period()
        months = month_starts(start, end)
        zone = hospital_zone()
        bounds = [local_midnight_utc(m, zone) for m in months]
        bounds.append(local_midnight_utc((months[-1].replace(day=28) + timedelta(days=4)).replace(day=1), zone))
        bucket = bucket_by_boundaries(Ticket.created_at, bounds) if len(months) > 1 else literal(0, Integer)
        found = {int(i): values for i, *values in db.session.execute(
            select(bucket, *_measures()).where(*where).group_by(bucket))}
        for index, month in enumerate(months):
            rows.append(_row(month, month.strftime("%Y-%m"), found.get(index, (0, 0, 0, 0, 0))))
        return rows, total
    if by == "ticket":
        query = (select(Ticket.id, Ticket.created_at, Trade.display_name, Ward.display_name, Ticket.status, *_measures())
                 .join(Trade, Trade.id == Ticket.trade_id).join(Ward, Ward.id == Ticket.ward_id)
                 .where(*where).group_by(Ticket.id, Ticket.created_at, Trade.display_name, Ward.display_name, Ticket.status))
        for ticket_id, created, trade, ward, status, *values in db.session.execute(query):
            row = _row(ticket_id, f"#{ticket_id}", values)
            row.extra = {"created_at": created, "trade": trade, "ward": ward, "status": status}
            rows.append(row)
    else:
        column, model, name = {"asset": (Ticket.asset_id, Asset, Asset.display_name), "ward": (Ticket.ward_id, Ward, Ward.display_name),
                               "trade": (Ticket.trade_id, Trade, Trade.display_name)}[by]
        found = list(db.session.execute(select(column, *_measures()).where(*where).group_by(column)))
        ids = [key for key, *_values in found if key is not None]
        names = {}
        if ids:
            if by == "asset":
                names = {i: f"{tag} {label}" for i, tag, label in
                         db.session.execute(select(Asset.id, Asset.tag, Asset.display_name).where(Asset.id.in_(ids)))}
            else:
                names = dict(db.session.execute(select(model.id, name).where(model.id.in_(ids))).all())
        for key, *values in found:
            rows.append(_row(key, names.get(key, _("no asset") if key is None else "?"), values))
    rows.sort(key=lambda r: (-r.total, r.label))
    return (rows[:limit] if limit else rows), total


def ticket_cost(ticket: Ticket) -> CostRow:
    """One ticket's figures as kept on it."""
    row = CostRow(ticket.id, f"#{ticket.id}", 1, to_money(ticket.parts_cost), to_money(ticket.labour_cost),
                  ticket.labour_minutes or 0, ticket.labour_out_of_hours_minutes or 0)
    return row


# --- budgets -------------------------------------------------------------------------------------

@dataclass
class BudgetRow:
    """One trade's month. variance = actual - budget (positive: over budget); None without a budget."""

    trade_id: int | None
    trade: str
    budget: Decimal | None
    actual: Decimal
    last_year: Decimal
    month: date

    @property
    def variance(self) -> Decimal | None:
        return None if self.budget is None else self.actual - self.budget

    @property
    def used_pct(self) -> float | None:
        return None if not self.budget else round(float(self.actual * 100 / self.budget), 1)

    @property
    def change_on_last_year(self) -> Decimal:
        return self.actual - self.last_year

    @property
    def over(self) -> bool:
        return self.budget is not None and self.actual > self.budget


def first_of_month(day: date) -> date:
    return day.replace(day=1)


def current_currency() -> str:
    return current_app.config["CURRENCY"]


def normal_hours() -> tuple[int, int]:
    return current_app.config["NORMAL_HOURS_START"], current_app.config["NORMAL_HOURS_END"]


def month_end(month: date) -> date:
    return (month.replace(day=28) + timedelta(days=4)).replace(day=1) - timedelta(days=1)


def _same_month_last_year(month: date) -> date:
    return month.replace(year=month.year - 1)


def _actual_by_trade(month: date) -> dict[int, Decimal]:
    lower, upper = utc_range(month, month_end(month))
    query = (select(Ticket.trade_id, money_sum(Ticket.parts_cost) + money_sum(Ticket.labour_cost))
             .where(Ticket.created_at >= lower, Ticket.created_at < upper).group_by(Ticket.trade_id))
    return {trade_id: from_cents(cents) for trade_id, cents in db.session.execute(query)}


def cost_against_budget(month: date) -> list[BudgetRow]:
    """Each trade's cost for the hospital-calendar month containing `month` (to date, if it is the current
    month): its budget, the actual cost, the same month last year, and the variance (actual - budget).

    A stable entry point for other reports: the rows come in the trades' own order, one per trade, with
    Decimal money (two places). `budget_total(rows)` adds them up.
    """
    month = first_of_month(month)
    actual = _actual_by_trade(month)
    last_year = _actual_by_trade(_same_month_last_year(month))
    budgets = dict(db.session.execute(select(TradeBudget.trade_id, TradeBudget.amount)
                                      .where(TradeBudget.month == month)).all())
    rows = []
    for trade in db.session.scalars(select(Trade).order_by(Trade.sort_order, Trade.display_name)):
        budget = budgets.get(trade.id)
        rows.append(BudgetRow(trade.id, trade.display_name, to_money(budget) if budget is not None else None,
                              actual.get(trade.id, ZERO), last_year.get(trade.id, ZERO), month))
    return rows


def budget_total(rows: list[BudgetRow]) -> BudgetRow:
    budgets = [r.budget for r in rows if r.budget is not None]
    month = rows[0].month if rows else date.today().replace(day=1)
    return BudgetRow(None, _("All trades"), sum(budgets, ZERO) if budgets else None,
                     sum((r.actual for r in rows), ZERO), sum((r.last_year for r in rows), ZERO), month)


def budget_year(year: int) -> dict[int, dict[date, Decimal]]:
    """{trade id: {month: amount}} for the budget editing grid."""
    grid: dict[int, dict[date, Decimal]] = {}
    for trade_id, month, amount in db.session.execute(
            select(TradeBudget.trade_id, TradeBudget.month, TradeBudget.amount)
            .where(TradeBudget.month >= date(year, 1, 1), TradeBudget.month <= date(year, 12, 1))):
        grid.setdefault(trade_id, {})[month] = to_money(amount)
    return grid


def set_budget(actor: User, trade_id: int, month: date, amount) -> TradeBudget | None:
    """Set (or with an empty amount, remove) a trade's budget for a month."""
    month = first_of_month(month)
    if not date(2000, 1, 1) <= month <= date(2100, 12, 1):
        raise ValidationError(_("Choose a month between 2000 and 2100."), field="month")
    value = None if amount in (None, "") else clean_money(amount, "amount")
    moment = clock_now()
    with write_transaction() as session:
        actor = session.get(User, actor.id)
        access.require_role(actor, BUDGET_EDITORS)
        if session.get(Trade, trade_id) is None:
            raise ValidationError(_("No such trade."), field="trade_id")
        budget = session.scalar(select(TradeBudget).where(TradeBudget.trade_id == trade_id,
                                                          TradeBudget.month == month).with_for_update())
        if value is None:
            if budget is not None:
                session.delete(budget)
            return None
        if budget is None:
            budget = TradeBudget(trade_id=trade_id, month=month)
            session.add(budget)
        budget.amount, budget.updated_at, budget.updated_by_id = value, moment, actor.id
    return budget


def labour_rates() -> dict[int, LabourRate]:
    return {rate.trade_id: rate for rate in db.session.scalars(select(LabourRate))}


def set_labour_rate(actor: User, trade_id: int, normal_rate, out_of_hours_rate) -> LabourRate:
    """A trade's hourly rates from now on (jobs already finished keep the rate they were priced at)."""
    normal = clean_money(normal_rate, "normal_rate")
    outside = clean_money(out_of_hours_rate, "out_of_hours_rate")
    moment = clock_now()
    with write_transaction() as session:
        actor = session.get(User, actor.id)
        access.require_role(actor, RATE_EDITORS)
        if session.get(Trade, trade_id) is None:
            raise ValidationError(_("No such trade."), field="trade_id")
        rate = session.scalar(select(LabourRate).where(LabourRate.trade_id == trade_id).with_for_update())
        if rate is None:
            rate = LabourRate(trade_id=trade_id)
            session.add(rate)
        rate.normal_rate, rate.out_of_hours_rate = normal, outside
        rate.updated_at, rate.updated_by_id = moment, actor.id
    return rate


def set_budgets(actor: User, year: int, cells: dict[tuple[int, int], str | None]) -> int:
    """A year's budget grid in one go: {(trade id, month number): amount or empty}. All cells or none; a bad
    cell raises ValidationError naming it (`b-<trade>-<month>`). Returns how many cells changed."""
    if not 2000 <= year <= 2100:
        raise ValidationError(_("Choose a year between 2000 and 2100."), field="year")
    values: dict[tuple[int, int], Decimal | None] = {}
    for (trade_id, number), raw in cells.items():
        if not 1 <= number <= 12:
            raise ValidationError(_("Choose a month between 2000 and 2100."), field=f"b-{trade_id}-{number}")
        try:
            values[(trade_id, number)] = None if (raw or "").strip() == "" else clean_money(raw, "amount")
        except ValidationError as error:
            raise ValidationError(error.message, field=f"b-{trade_id}-{number}") from None
    moment = clock_now()
    changed = 0
    with write_transaction() as session:
        actor = session.get(User, actor.id)
        access.require_role(actor, BUDGET_EDITORS)
        trades = set(session.scalars(select(Trade.id)))
        existing = {(b.trade_id, b.month): b for b in session.scalars(
            select(TradeBudget).where(TradeBudget.month >= date(year, 1, 1), TradeBudget.month <= date(year, 12, 1))
            .with_for_update())}
        for (trade_id, number), value in values.items():
            if trade_id not in trades:
                raise ValidationError(_("No such trade."), field=f"b-{trade_id}-{number}")
            month = date(year, number, 1)
            budget = existing.get((trade_id, month))
            if value is None:
                if budget is not None:
                    session.delete(budget)
                    changed += 1
                continue
            if budget is not None and budget.amount == value:
                continue
            if budget is None:
                budget = TradeBudget(trade_id=trade_id, month=month)
                session.add(budget)
            budget.amount, budget.updated_at, budget.updated_by_id = value, moment, actor.id
            changed += 1
    return changed


def set_labour_rates(actor: User, rates: dict[int, tuple[str, str]]) -> int:
    """Every trade's rates in one go ({trade id: (normal, out of hours)}); a trade with both empty has no
    rate (its labour is then not priced). A bad value raises ValidationError naming `rate-<trade>-normal`
    or `rate-<trade>-ooh`. Returns how many trades changed."""
    cleaned: dict[int, tuple[Decimal, Decimal] | None] = {}
    for trade_id, (normal, outside) in rates.items():
        if not (normal or "").strip() and not (outside or "").strip():
            cleaned[trade_id] = None
            continue
        pair = []
        for raw, suffix in ((normal, "normal"), (outside, "ooh")):
            try:
                pair.append(clean_money(raw, "amount"))
            except ValidationError as error:
                raise ValidationError(error.message, field=f"rate-{trade_id}-{suffix}") from None
        cleaned[trade_id] = (pair[0], pair[1])
    moment = clock_now()
    changed = 0
    with write_transaction() as session:
        actor = session.get(User, actor.id)
        access.require_role(actor, RATE_EDITORS)
        trades = set(session.scalars(select(Trade.id)))
        existing = {r.trade_id: r for r in session.scalars(select(LabourRate).with_for_update())}
        for trade_id, pair in cleaned.items():
            if trade_id not in trades:
                raise ValidationError(_("No such trade."), field=f"rate-{trade_id}-normal")
            rate = existing.get(trade_id)
            if pair is None:
                if rate is not None:
                    session.delete(rate)
                    changed += 1
                continue
            if rate is not None and (rate.normal_rate, rate.out_of_hours_rate) == pair:
                continue
            if rate is None:
                rate = LabourRate(trade_id=trade_id)
                session.add(rate)
            rate.normal_rate, rate.out_of_hours_rate = pair
            rate.updated_at, rate.updated_by_id = moment, actor.id
            changed += 1
    return changed


def on_finish(session: Session, made) -> None:
    """The hook while a job is resolved (engine.Move `made`): labour priced at the trade's rate and parts taken
    off the shelf in the finishing transaction, so if a part is short the job is not marked done either and
    the technician is told what is left."""
    ticket, data = made.ticket, made.data
    price_labour(session, ticket, data.get("labour_minutes") or 0, made.at)
    issued = [issue_to_ticket(session, ticket, line.part, line.quantity, made.actor, made.at, line.store_id)
              for line in made.details.get("parts") or []]
    if issued:
        data["parts"] = [[line.part.code, line.quantity, str(line.unit_cost)] for line in issued]
