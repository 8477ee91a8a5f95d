"""Managers' cost pages: what the work cost per ticket, asset, ward, trade and month; each trade's month
against its budget and the same month last year; the budgets and labour rates themselves."""
from __future__ import annotations

from datetime import date, datetime

from flask import flash, redirect, render_template, request, url_for
from babel.numbers import get_currency_symbol
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_login import current_user
from flask_wtf import FlaskForm
from sqlalchemy import select

from dispatch import charts
from dispatch.auth import roles_required
from dispatch.blueprints.reports.export import Column, Sheet
from dispatch.blueprints.reports.forms import parse_filter
from dispatch.blueprints.reports.views import EXPORT, bad_export, export_period, page_context, period_name, bp
from dispatch.clock import now
from dispatch.i18n import month_label
from dispatch.blueprints.form_errors import shown_on
from dispatch.numbers import whole_number
from dispatch.services import access, costs
from dispatch.services.timezone import hospital_date
from models import Trade, db

COST_ROWS_SHOWN = 200


def dimension_names() -> dict[str, str]:
    return {"ticket": _("Ticket"), "asset": _("Asset"), "ward": _("Ward"), "trade": _("Trade"), "month": _("Month")}


def _cost_sheet(rows, total, by: str) -> Sheet:
    currency = costs.current_currency()
    head = [Column(dimension_names()[by])]
    if by == "ticket":
        head += [Column(_("Reported"), "datetime"), Column(_("Trade")), Column(_("Ward")), Column(_("Status"))]
    columns = [*head, Column(_("Tickets"), "int"), Column(_("Parts (%(c)s)", c=currency), "money"),
               Column(_("Labour (%(c)s)", c=currency), "money"), Column(_("Total (%(c)s)", c=currency), "money"),
               Column(_("Labour hours"), "hours"), Column(_("Of which out of hours"), "hours")]

    def values(row, extra):
        return [row.label, *extra, row.tickets, row.parts, row.labour, row.total, row.labour_minutes / 60.0,
                row.out_of_hours_minutes / 60.0]

    def lines():
        from dispatch.services.tickets import status_label

        for row in rows:
            extra = ([row.extra["created_at"], row.extra["trade"], row.extra["ward"], status_label(row.extra["status"])]
                     if by == "ticket" else [])
            yield values(row, extra)
        yield values(total, ["", "", "", ""] if by == "ticket" else [])

    return Sheet(_("Cost"), columns, lines())


@bp.route("/cost", endpoint="costs")
@bp.route(f"/cost.{EXPORT}", endpoint="costs_export")
@roles_required(*access.REVIEWERS)
def costs_page(fmt: str | None = None):
    parsed = parse_filter(request.args, hospital_date(now()))
    by = request.args.get("by") or "trade"
    if by not in costs.COST_DIMENSIONS:
        parsed.errors.append(_("Unknown grouping."))
        by = "trade"
    if fmt and parsed.errors:
        return bad_export(parsed.errors)
    rows, total = costs.costs(parsed.report, by)
    if fmt:
        return export_period(fmt, [_cost_sheet(rows, total, by)], f"cost_{by}_{period_name(parsed.report)}")
    return render_template("reports/costs.html", rows=rows[:COST_ROWS_SHOWN], row_count=len(rows), total=total, by=by,
                           DIMENSION_NAMES=dimension_names(), **page_context(parsed))


def _month_arg(errors: list[str]) -> date:
    raw = (request.args.get("month") or "").strip()
    today = hospital_date(now())
    if raw:
        try:
            month = datetime.strptime(raw, "%Y-%m").date()
            if 2000 <= month.year <= 2100:
                return month
        except ValueError:
            pass
        errors.append(_("month is not a month (YYYY-MM)."))
    return today.replace(day=1)


def _budget_sheet(rows, total) -> Sheet:
    currency = costs.current_currency()
    columns = [Column(_("Trade")), Column(_("Budget (%(c)s)", c=currency), "money"),
               Column(_("Actual (%(c)s)", c=currency), "money"), Column(_("Used (%)"), "pct"),
               Column(_("Variance: actual − budget (%(c)s)", c=currency), "money"),
               Column(_("Same month last year (%(c)s)", c=currency), "money"),
               Column(_("Change on last year (%(c)s)", c=currency), "money")]
    return Sheet(_("Budget"), columns, (
        [r.trade, r.budget, r.actual, r.used_pct, r.variance, r.last_year, r.change_on_last_year]
        for r in [*rows, total]))


@bp.route("/budget", endpoint="budget")
@bp.route(f"/budget.{EXPORT}", endpoint="budget_export")
@roles_required(*access.REVIEWERS)
def budget_page(fmt: str | None = None):
    errors: list[str] = []
    month = _month_arg(errors)
    if fmt and errors:
        return bad_export(errors)
    rows = costs.cost_against_budget(month)
    total = costs.budget_total(rows)
    if fmt:
        return export_period(fmt, [_budget_sheet(rows, total)], f"budget_{month.strftime('%Y-%m')}")
    for message in errors:
        flash(message, "error")
    chart = charts.budget_chart(
        [(r.trade, float(r.budget) if r.budget is not None else None, float(r.actual), float(r.last_year)) for r in rows],
        title=_("Cost by trade, %(month)s (%(currency)s)", month=month_label(month),
                currency=get_currency_symbol(costs.current_currency(), str(get_locale() or "en"))),
        budget_label=_("budget"), actual_label=_("actual, within budget"), over_label=_("actual, over budget"),
        last_year_label=_("same month last year"))
    start = month
    end = costs.month_end(month)
    return render_template("reports/budget.html", rows=rows, total=total, month=month, chart=chart,
                           period={"start": start.isoformat(), "end": end.isoformat()},
                           may_edit=current_user.role in costs.BUDGET_EDITORS)


class BudgetGridForm(FlaskForm):
    """The grid's cells are read by the view (`b-<trade>-<month>`), checked by the cost service."""


def _year_arg() -> int:
    year = whole_number(request.values.get("year"), max_digits=4)
    return year if year is not None and 2000 <= year <= 2100 else hospital_date(now()).year


@bp.route("/budget/edit", methods=["GET", "POST"], endpoint="budget_edit")
@roles_required(*costs.BUDGET_EDITORS)
def budget_edit():
    year = _year_arg()
    form = BudgetGridForm()
    trades = list(db.session.scalars(select(Trade).order_by(Trade.sort_order, Trade.display_name)))
    posted: dict[str, str] = {}
    error_field = None
    status = 200
    if request.method == "POST":
        posted = {k: v[:20] for k, v in request.form.items() if k.startswith(("b-", "rate-"))}
        if not form.validate_on_submit():
            flash(_("The form had expired; try again."), "error")
            status = 422
        else:
            # The grid's cells are not form fields: the message is flashed and the cell it names is marked.
            with shown_on(form) as outcome:
                if request.form.get("what") == "rates":
                    changed = costs.set_labour_rates(current_user, {
                        t.id: (posted.get(f"rate-{t.id}-normal", ""), posted.get(f"rate-{t.id}-ooh", "")) for t in trades})
                    flash(_("Labour rates saved (%(n)d changed). Jobs already finished keep the rate they were priced at.",
                            n=changed), "success")
                else:
                    changed = costs.set_budgets(current_user, year, {
                        (t.id, m): posted.get(f"b-{t.id}-{m}", "") for t in trades for m in range(1, 13)})
                    flash(_("Budgets for %(year)d saved (%(n)d changed).", year=year, n=changed), "success")
            if outcome.succeeded:
                return redirect(url_for("reports.budget_edit", year=year))
            error_field, status = outcome.error.field, 422
    grid = costs.budget_year(year)
    rates = costs.labour_rates()
    return render_template("reports/budget_edit.html", form=form, year=year, trades=trades, grid=grid, rates=rates,
                           posted=posted, error_field=error_field, months=[date(year, m, 1) for m in range(1, 13)],
                           normal_hours=(costs.normal_hours())), status
