"""Managers' pages: compliance, the tickets behind each figure, breaches and their causes, workload,
repeat faults and licences; each table also as CSV (and XLSX where a spreadsheet is expected)."""
from __future__ import annotations

from datetime import timedelta

from flask import Blueprint, Response, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import ngettext
from flask_login import current_user

from dispatch import charts
from dispatch.auth import roles_required
from dispatch.blueprints.auth.views import safe_next
from dispatch.blueprints.reports import tables
from dispatch.blueprints.reports.export import csv_response, xlsx_response
from dispatch.blueprints.reports.forms import (
    BreachCauseForm, CauseNameForm, CauseStateForm, parse_filter, parse_grouping, parse_page, parse_selection, parse_target,
)
from dispatch.clock import now
from dispatch.errors import refusals_return_to
from dispatch.i18n import local_date
from dispatch.services import access, sla
from dispatch.services import report_breaches as breaches
from dispatch.services.report_filters import describe, filter_choices
from dispatch.services.report_planned import planned_compliance
from dispatch.services.report_tickets import OUTCOMES, Selection, all_ticket_lines, ticket_page
from dispatch.services.report_workload import licences_to_renew, refusals_by_trade, repeat_faults, workload
from dispatch.services.reports import COMPLIANCE_GOAL, DIMENSIONS, attend_distribution, compliance, trend
from dispatch.services.timezone import hospital_date

bp = Blueprint("reports", __name__, url_prefix="/reports")
EXPORT = "<any(csv, xlsx):fmt>"
REPEATS_SHOWN = 25


def period_name(report) -> str:
    start, end = report.period()
    return f"{start.isoformat()}_{end.isoformat()}"


def bad_export(errors: list[str]) -> Response:
    return Response("\n".join(errors) + "\n", status=400, mimetype="text/plain")


def export_period(fmt: str, sheets: list, filename: str) -> Response:
    return csv_response(sheets[0], filename) if fmt == "csv" else xlsx_response(sheets, filename)


def page_context(parsed, **extra) -> dict:
    for message in parsed.errors:
        flash(message, "error")
    return {"report": parsed.report, "choices": filter_choices(), "described": describe(parsed.report),
            "COMPLIANCE_GOAL": COMPLIANCE_GOAL, "TARGET_NAMES": tables.target_names(),
            "BACKLOG_NAMES": tables.backlog_names(), **extra}


@bp.route("/")
@roles_required(*access.REVIEWERS)
def index():
    return redirect(url_for("reports.compliance"))


@bp.route("/compliance", endpoint="compliance")
@bp.route(f"/compliance.{EXPORT}", endpoint="compliance_export")
@roles_required(*access.REVIEWERS)
def compliance_page(fmt: str | None = None):
    moment = now()
    parsed = parse_filter(request.args, hospital_date(moment))
    by = parse_grouping(request.args, parsed.errors)
    trend_target = parse_target(request.args, "trend", parsed.errors)
    if fmt and parsed.errors:
        return bad_export(parsed.errors)
    result = compliance(parsed.report, moment, by)
    if fmt:
        return export_period(fmt, [tables.compliance_sheet(result)], f"compliance_{by}_{period_name(parsed.report)}")
    return render_template("reports/compliance.html", result=result, by=by, DIMENSIONS=DIMENSIONS,
                           trend_target=trend_target, trend_chart=_trend_chart(parsed.report, moment, trend_target),
                           attend_chart=_attend_chart(parsed.report, moment), **page_context(parsed))


def _trend_chart(report, moment, target: str):
    data = trend(report, moment, target)
    names = tables.target_names()
    floor, step = charts.percent_axis([v for _n, _p, points, _c in data.series for v in points], COMPLIANCE_GOAL)
    return charts.line_chart(
        [local_date(m, "month_year") for m in data.months],
        [(name, points, counted) for name, _p, points, counted in data.series],
        title=_("%(target)s within target, by month and trade (last 12 months)", target=names[target]),
        y_label=_("% within target"), y_min=floor, y_step=step, guide=COMPLIANCE_GOAL,
        guide_label=_("goal %(pct)d%%", pct=COMPLIANCE_GOAL),
        min_count=current_app.config["CHART_MIN_TICKETS"],
        count_label=lambda n: ngettext("%(num)d ticket", "%(num)d tickets", n),
    )


def _attend_chart(report, moment):
    data = attend_distribution(report, moment)
    chart = charts.bar_chart(
        data.bands, title=_("Time to get on site, as a share of each ticket's own target"),
        y_label=_("tickets"), x_label=_("time to get on site ÷ target"), marker_after=3, marker_label=_("target"),
        ok_label=_("on site within target"), late_label=_("on site late"),
    )
    return chart, data.waiting_late


@bp.route("/tickets", endpoint="tickets")
@bp.route(f"/tickets.{EXPORT}", endpoint="tickets_export")
@roles_required(*access.REVIEWERS)
def tickets_page(fmt: str | None = None):
    moment = now()
    parsed = parse_filter(request.args, hospital_date(moment))
    selection = parse_selection(request.args, parsed.errors)
    page = parse_page(request.args, parsed.errors)
    if fmt and parsed.errors:
        return bad_export(parsed.errors)
    if fmt:
        sheet = tables.ticket_sheet(all_ticket_lines(parsed.report, selection, moment))
        return export_period(fmt, [sheet], f"tickets_{period_name(parsed.report)}")
    listing = ticket_page(parsed.report, selection, moment, page)
    return render_template("reports/tickets.html", listing=listing, selection=selection,
                           selection_words=_selection_words(selection), moment=moment, **page_context(parsed))


def _selection_words(selection: Selection) -> list[str]:
    names = tables.target_names()
    words = []
    if selection.target:
        words.append(f"{names[selection.target]}: {OUTCOMES[selection.outcome]}")
    if selection.backlog:
        words.append(tables.backlog_names()[selection.backlog])
    flags = {"breached": _("missed a target"), "out_of_hours": _("on site out of hours"),
             "refused": _("refused at least once"), "reassigned": _("reassigned at least once")}
    words += [label for name, label in flags.items() if getattr(selection, name)]
    if selection.first_time_fix is not None:
        words.append(_("fixed first time") if selection.first_time_fix else _("not fixed first time"))
    if selection.refused_by is not None:
        words.append(_("refused by technician %(id)s", id=selection.refused_by))
    if selection.reassigned_from is not None:
        words.append(_("reassigned away from technician %(id)s", id=selection.reassigned_from))
    if selection.repeat:
        words.append(_("repeat faults (same asset within 30 days)") if selection.repeat == "asset"
                     else _("repeat faults (same place and trade within 30 days)"))
    if selection.cause_id is not None:
        words.append(_("no cause recorded yet") if selection.cause_id == 0 else _("breach cause %(id)s", id=selection.cause_id))
    return words


@bp.route("/breaches", endpoint="breaches")
@bp.route(f"/breaches.{EXPORT}", endpoint="breaches_export")
@roles_required(*access.REVIEWERS)
def breaches_page(fmt: str | None = None):
    moment = now()
    parsed = parse_filter(request.args, hospital_date(moment))
    selection = parse_selection(request.args, parsed.errors)
    selection = Selection(breached=True, cause_id=selection.cause_id)
    page = parse_page(request.args, parsed.errors)
    if fmt and parsed.errors:
        return bad_export(parsed.errors)
    by_cause = breaches.breaches_by_cause(parsed.report, moment)
    if fmt:
        # The workbook has both tables; a CSV file holds one: the breach list, or (table=causes) the counts.
        listing = tables.ticket_sheet(all_ticket_lines(parsed.report, selection, moment), _("Breaches"))
        counts = tables.causes_sheet(by_cause)
        sheets = [counts, listing] if fmt == "xlsx" else [counts if request.args.get("table") == "causes" else listing]
        return export_period(fmt, sheets, f"breaches_{period_name(parsed.report)}")
    listing = ticket_page(parsed.report, selection, moment, page)
    return render_template("reports/breaches.html", listing=listing, selection=selection, by_cause=by_cause,
                           causes=breaches.causes(), form=BreachCauseForm(), moment=moment, **page_context(parsed))


@bp.route("/breaches/<int:ticket_id>/cause", methods=["POST"], endpoint="record_cause")
@roles_required(*breaches.CAUSE_RECORDERS)
def record_cause(ticket_id: int):
    form = BreachCauseForm()
    back = safe_next(form.next.data) or url_for("tickets.detail", ticket_id=ticket_id)
    if not form.validate_on_submit():
        flash(_("Choose a cause from the list (and keep the note under 500 characters)."), "error")
        return redirect(back)
    refusals_return_to(back, missing_is_a_message=True)
    breaches.record_breach_cause(ticket_id, form.cause_id.data, form.note.data, current_user, now())
    flash(_("Cause recorded for ticket %(number)s.", number=ticket_id), "success")
    return redirect(back)


@bp.app_template_global("breach_prompt")
def breach_prompt(ticket):
    """For the ticket page: the cause form when the ticket has missed a target and the viewer may say why."""
    if not current_user.is_authenticated or current_user.role not in breaches.CAUSE_RECORDERS:
        return None
    if ticket.status == "cancelled" or not any(sla.live_breaches(ticket, now()).values()):
        return None
    return {"record": breaches.cause_of(ticket.id), "causes": breaches.causes(), "form": BreachCauseForm()}


@bp.route("/causes", methods=["GET", "POST"], endpoint="causes")
@roles_required(*breaches.CAUSE_KEEPERS)
def causes_page():
    form = CauseNameForm()
    if request.method == "POST":
        if form.validate_on_submit():
            refusals_return_to(url_for("reports.causes"), missing_is_a_message=True)
            cause = breaches.add_cause(form.name.data, current_user, name_zh=form.name_zh.data)
            flash(_("“%(name)s” added to the list.", name=cause.display_name), "success")
        else:
            flash(_("Name the cause in 3 to 120 characters."), "error")
        return redirect(url_for("reports.causes"))
    return render_template("reports/causes.html", causes=breaches.causes(include_retired=True), form=form)


@bp.route("/causes/<int:cause_id>", methods=["POST"], endpoint="change_cause")
@roles_required(*breaches.CAUSE_KEEPERS)
def change_cause(cause_id: int):
    action = request.form.get("action")
    form = CauseStateForm() if action in ("retire", "restore") else CauseNameForm()
    if not form.validate_on_submit():
        flash(_("Name the cause in 3 to 120 characters.") if action == "rename" else _("The form had expired; try again."),
              "error")
        return redirect(url_for("reports.causes"))
    refusals_return_to(url_for("reports.causes"), missing_is_a_message=True)
    if action == "rename":
        breaches.change_cause(cause_id, current_user, name=form.name.data, name_zh=form.name_zh.data)
        flash(_("Cause renamed."), "success")
    else:
        breaches.change_cause(cause_id, current_user, active=action == "restore")
        flash(_("List updated."), "success")
    return redirect(url_for("reports.causes"))


@bp.route("/workload", endpoint="workload")
@bp.route(f"/workload.{EXPORT}", endpoint="workload_export")
@roles_required(*access.REVIEWERS)
def workload_page(fmt: str | None = None):
    moment = now()
    parsed = parse_filter(request.args, hospital_date(moment))
    if fmt and parsed.errors:
        return bad_export(parsed.errors)
    rows, total = workload(parsed.report, moment)
    handovers = refusals_by_trade(parsed.report)
    if fmt:
        sheets = [tables.workload_sheet(rows, total), tables.handover_sheet(handovers)]
        if fmt == "csv" and request.args.get("table") == "handovers":
            sheets = sheets[1:]
        return export_period(fmt, sheets, f"workload_{period_name(parsed.report)}")
    return render_template("reports/workload.html", rows=rows, total=total, handovers=handovers,
                           **page_context(parsed))


@bp.route("/repeats", endpoint="repeats")
@bp.route(f"/repeats.{EXPORT}", endpoint="repeats_export")
@roles_required(*access.REVIEWERS)
def repeats_page(fmt: str | None = None):
    moment = now()
    today = hospital_date(moment)
    parsed = parse_filter(request.args, today, default_start=today - timedelta(days=89))
    if fmt and parsed.errors:
        return bad_export(parsed.errors)
    assets, places = repeat_faults(parsed.report, "asset"), repeat_faults(parsed.report, "location")
    if fmt:
        sheets = [tables.repeats_sheet(assets, "asset"), tables.repeats_sheet(places, "location")]
        if fmt == "csv" and request.args.get("table") == "places":
            sheets = sheets[1:]
        return export_period(fmt, sheets, f"repeat-faults_{period_name(parsed.report)}")
    # The page shows the worst; the files have every asset and place with a repeat.
    return render_template("reports/repeats.html", assets=assets[:REPEATS_SHOWN], places=places[:REPEATS_SHOWN],
                           asset_count=len(assets), place_count=len(places), **page_context(parsed))


@bp.route("/licences", endpoint="licences")
@bp.route(f"/licences.{EXPORT}", endpoint="licences_export")
@roles_required(*access.REVIEWERS)
def licences_page(fmt: str | None = None):
    moment = now()
    rows = licences_to_renew(moment)
    if fmt:
        return export_period(fmt, [tables.licences_sheet(rows)], f"licences_{hospital_date(moment).isoformat()}")
    return render_template("reports/licences.html", rows=rows, today=hospital_date(moment))


@bp.route("/planned", endpoint="planned")
@bp.route(f"/planned.{EXPORT}", endpoint="planned_export")
@roles_required(*access.REVIEWERS)
def planned_page(fmt: str | None = None):
    moment = now()
    today = hospital_date(moment)
    parsed = parse_filter(request.args, today, default_start=today.replace(day=1) - timedelta(days=150))
    if fmt and parsed.errors:
        return bad_export(parsed.errors)
    rows, total = planned_compliance(parsed.report, moment)
    if fmt:
        return export_period(fmt, [tables.planned_sheet(rows, total)], f"planned-work_{period_name(parsed.report)}")
    return render_template("reports/planned.html", rows=rows, total=total, **page_context(parsed))


@bp.app_template_global("report_url")
def report_url(endpoint: str, report, *extra: dict, **params) -> str:
    """A link to a report page or export carrying the filter, the extra parameters and any overrides."""
    args = dict(report.params())
    for more in extra:
        args.update(more)
    args.update({k: v for k, v in params.items() if v is not None})
    return url_for(endpoint, **args)



# The monthly leadership report's pages live beside the other reports, on the same blueprint.
from dispatch.blueprints.reports import leadership as leadership_pages  # noqa: E402,F401
from dispatch.blueprints.reports import costs as cost_pages  # noqa: E402,F401  (registers the cost pages on bp)
