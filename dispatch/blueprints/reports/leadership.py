"""The monthly leadership report: the kept months, one month's page (it prints on A4), its PDF, and generating
a month again on demand."""
from __future__ import annotations

from datetime import date

from flask import Response, abort, flash, redirect, render_template, request, url_for
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_login import current_user
from flask_wtf import FlaskForm
from wtforms import StringField
from wtforms.validators import DataRequired

from dispatch import charts
from dispatch.auth import roles_required
from dispatch.blueprints.reports.views import bp
from dispatch.clock import now
from dispatch.errors import refusals_return_to
from dispatch.services import leadership
from dispatch.services.leadership_pdf import month_title, target_names
from dispatch.services.report_filters import TARGETS
from dispatch.services.timezone import hospital_date


class GenerateForm(FlaskForm):
    month = StringField(validators=[DataRequired()])  # YYYY-MM, from <input type="month">


def _month(raw: str | None) -> date | None:
    try:
        year, month = (raw or "").strip().split("-")
        return date(int(year), int(month), 1)
    except ValueError:
        return None


@bp.route("/leadership", methods=["GET", "POST"], endpoint="leadership")
@roles_required(*leadership.READERS)
def leadership_list():
    form = GenerateForm()
    if request.method == "POST":
        if current_user.role not in leadership.GENERATORS:
            abort(403)
        month = _month(form.month.data) if form.validate_on_submit() else None
        if month is None:
            flash(_("Choose a month (YYYY-MM)."), "error")
            return redirect(url_for("reports.leadership"))
        refusals_return_to(url_for("reports.leadership"), missing_is_a_message=True)
        report = leadership.generate(month, now(), current_user)
        flash(_("The report for %(month)s was generated (version %(version)d).", month=month_title(report.month),
                version=report.version), "success")
        return redirect(url_for("reports.leadership_report", report_id=report.id))
    reports = leadership.kept_reports()
    months: dict[date, list] = {}
    for report in reports:
        months.setdefault(report.month, []).append(report)
    default = leadership.month_due(now())
    return render_template("reports/leadership_list.html", months=months, form=form,
                           may_generate=current_user.role in leadership.GENERATORS,
                           default_month=default.strftime("%Y-%m"),
                           month_title=month_title,
                           generated_label=leadership.generated_label)


@bp.route("/leadership/<int:report_id>", endpoint="leadership_report")
@roles_required(*leadership.READERS)
def leadership_page(report_id: int):
    report = _kept(report_id)
    figures = report.figures
    by_trade = [r for r in figures["compliance"]["by_trade"] if not r["total"]]
    names = target_names()
    chart = charts.grouped_percent_chart(
        [r["label"] for r in by_trade], [(names[t], [r["targets"][t]["pct"] for r in by_trade]) for t in TARGETS],
        title=_("Within target by trade"), goal=figures["goal"], goal_label=_("goal %(pct)d%%", pct=figures["goal"]))
    others = [r for r in leadership.kept_reports() if r.month == report.month and r.id != report.id]
    return render_template("reports/leadership.html", report=report, figures=figures, chart=chart, others=others,
                           TARGETS=TARGETS, TARGET_NAMES=names, month_title=month_title,
                           generated_label=leadership.generated_label, today=hospital_date(now()))


@bp.route("/leadership/<int:report_id>.pdf", endpoint="leadership_pdf")
@roles_required(*leadership.READERS)
def leadership_pdf(report_id: int):
    report = _kept(report_id)
    locale = str(get_locale() or report.pdf_locale)
    data = leadership.pdf_of(report, locale)
    filename = f"leadership-report_{report.month.strftime('%Y-%m')}_v{report.version}.pdf"
    return Response(data, mimetype="application/pdf",
                    headers={"Content-Disposition": f'attachment; filename="{filename}"'})


def _kept(report_id: int):
    return leadership.kept_report(report_id)  # none such: the page handler answers 404
