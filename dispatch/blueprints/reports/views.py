"""Managers' pages: compliance with service targets."""
from __future__ import annotations

from datetime import date, timedelta

from flask import Blueprint, render_template, request
from flask_babel import gettext as _

from dispatch.auth import roles_required
from dispatch.clock import now
from dispatch.services import access
from dispatch.services.reports import ComplianceRow, compliance
from dispatch.services.timezone import hospital_date

bp = Blueprint("reports", __name__, url_prefix="/reports")


def _date_arg(name: str, default: date, errors: list[str]) -> date:
    raw = request.args.get(name)
    if not raw:
        return default
    try:
        return date.fromisoformat(raw)
    except ValueError:
        errors.append(_("%(field)s is not a date (YYYY-MM-DD).", field=name))
        return default


@bp.route("/compliance", endpoint="compliance")
@roles_required(*access.REVIEWERS)
def compliance_page():
    moment = now()
    today = hospital_date(moment)
    errors: list[str] = []
    start = _date_arg("start", today.replace(day=1), errors)
    end = _date_arg("end", today, errors)
    if start > end:
        errors.append(_("The start date is after the end date."))
        start, end = end, start
    if (end - start) > timedelta(days=3660):
        errors.append(_("Choose at most ten years."))
        start = end - timedelta(days=3660)
    rows = compliance(start, end, moment)
    totals = ComplianceRow(_("All"), 0, *(sum(getattr(r, f) for r in rows) for f in (
        "tickets", "acknowledge_met", "acknowledge_missed", "attend_met", "attend_missed", "resolve_met", "resolve_missed")))
    return render_template("reports/compliance.html", rows=rows, totals=totals, start=start, end=end, errors=errors)


