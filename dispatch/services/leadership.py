"""The monthly report for the hospital's leadership (督办): last month's figures from the managers' report
services, frozen as a snapshot with its PDF, made once on the 1st by whichever scheduler gets there first."""
from __future__ import annotations

import logging
from datetime import date, datetime, timedelta

from flask import current_app
from flask_babel import gettext as _
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from dispatch.errors import ConflictError, NotFoundError, ValidationError
from dispatch.services import access, certificates, required_activities
from dispatch.services.costs import budget_total, cost_against_budget
from dispatch.services.leadership_pdf import render_pdf
from dispatch.services.report_breaches import breaches_by_cause
from dispatch.services.report_filters import TARGETS, ReportFilter
from dispatch.services.report_tickets import Selection, all_ticket_lines
from dispatch.services.report_workload import licences_to_renew, repeat_faults
from dispatch.services.reports import COMPLIANCE_GOAL, ComplianceRow, compliance
from dispatch.services.timezone import hospital_date
from dispatch.services.unit_of_work import write_transaction
from models import OPEN_STATUSES, LeadershipReport, OnCallShift, Ticket, User, db, trade_licence_type

log = logging.getLogger(__name__)

# Kept in each snapshot, so that a later change to its shape can still tell the older ones apart.
SNAPSHOT_VERSION = 1
# Breaches listed one by one (the most urgent first); the counts by cause always cover them all.
BREACHES_LISTED = 100
REPEATS_LISTED = 10
# Who reads the kept reports, and who may generate one on demand.
READERS = ("supervisor", "manager", "admin")
GENERATORS = access.REVIEWERS
# The oldest month anyone may ask for: the reports compute at most ten years.
OLDEST_YEARS = 10


# --- months ---------------------------------------------------------------------------------------

def first_of(day: date) -> date:
    return day.replace(day=1)


def previous_month(month: date) -> date:
    return (first_of(month) - timedelta(days=1)).replace(day=1)


def next_month(month: date) -> date:
    return (first_of(month).replace(day=28) + timedelta(days=4)).replace(day=1)


def month_due(now: datetime) -> date:
    """The month whose report is due at `now`: the one before today's, in hospital time."""
    return previous_month(hospital_date(now))


def check_month(month: date, now: datetime) -> date:
    """A whole month that has ended; raises ValidationError naming the field otherwise."""
    month = first_of(month)
    this_month = first_of(hospital_date(now))
    if month >= this_month:
        raise ValidationError(_("Choose a month that has ended."), field="month")
    if month < this_month.replace(year=this_month.year - OLDEST_YEARS):
        raise ValidationError(_("Choose a month in the last ten years."), field="month")
    return month


# --- the figures ----------------------------------------------------------------------------------

def _target_figures(row: ComplianceRow) -> dict:
    return {t: {"met": f.met, "missed": f.missed, "pct": f.pct, "p50": f.p50, "p90": f.p90}
            for t, f in row.targets.items()}


def _compliance_rows(month: date, previous: date, now: datetime, by: str, key: str) -> list[dict]:
    """Per trade (or priority): the month's figures, last month's % within target and the change in points."""
    this = compliance(_month_filter(month), now, by)
    last = compliance(_month_filter(previous), now, by)
    before = {row.params[key]: row for row in last.rows}
    rows = []
    for row in [*this.rows, this.totals]:
        # The total line is compared with last month's total.
        earlier = before.get(row.params[key]) if row.params else last.totals
        targets = _target_figures(row)
        for target in TARGETS:
            was = earlier.targets[target].pct if earlier is not None else None
            now_pct = targets[target]["pct"]
            targets[target]["previous_pct"] = was
            targets[target]["change"] = None if was is None or now_pct is None else round(now_pct - was, 1)
        # The total line's label is the page's own word ("All"), said in the reader's language when shown.
        rows.append({"key": row.params.get(key), "label": row.labels[0] if row.params else None,
                     "tickets": row.tickets, "targets": targets, "total": not row.params})
    return rows


def _month_filter(month: date) -> ReportFilter:
    return ReportFilter(start=month, end=next_month(month) - timedelta(days=1))


def _breaches(month: date, now: datetime) -> dict:
    report = _month_filter(month)
    counts = [{"cause_id": c.cause_id, "name": c.name if c.cause_id else None, "breaches": c.breaches}
              for c in breaches_by_cause(report, now)]
    lines = list(all_ticket_lines(report, Selection(breached=True), now))
    lines.sort(key=lambda line: (line.ticket.priority, line.ticket.created_at, line.ticket.id))
    listed = []
    for line in lines[:BREACHES_LISTED]:
        ticket, cause = line.ticket, line.cause
        listed.append({
            "number": ticket.number, "reported_at": ticket.created_at.isoformat(), "priority": ticket.priority,
            "trade": ticket.trade.display_name, "ward": ticket.ward.display_name, "place": ticket.location.display_name if ticket.location else None,
            "description": ticket.description, "missed": [t for t in TARGETS if line.late.get(t)],
            "cause": cause.cause.display_name if cause else None, "action": cause.note if cause else None,
            "recorded_by": cause.recorded_by.full_name if cause and cause.recorded_by else None,
        })
    return {"total": len(lines), "explained": sum(1 for line in lines if line.cause is not None),
            "by_cause": counts, "listed": listed}


def _repeats(month: date) -> dict:
    report = _month_filter(month)
    out = {}
    for kind in ("asset", "location"):
        rows = repeat_faults(report, kind)
        out[kind] = {"total": len(rows), "rows": [
            {"labels": list(r.labels), "faults": r.faults, "repeats": r.repeats,
             "last_fault": r.last_fault.isoformat() if r.last_fault else None} for r in rows[:REPEATS_LISTED]]}
    return out


def _licences(now: datetime) -> dict:
    """Expiring in the next 30 and 60 days, and expired (not renewed) while their holder still has the trade's
    open jobs or on-call shifts: as of the moment the report is made."""
    today = hospital_date(now)
    expiring_30, expiring_60, expired = [], [], []
    for row in licences_to_renew(now, within_days=60):
        licence = row.licence
        item = {"technician": licence.technician.full_name, "licence": licence.licence_type.name,
                "number": licence.number, "expires_on": licence.expires_on.isoformat(), "days_left": row.days_left}
        if row.expired:
            trades = select(trade_licence_type.c.trade_id).where(
                trade_licence_type.c.licence_type_id == licence.licence_type_id)
            item["open_jobs"] = db.session.scalar(select(func.count(Ticket.id)).where(
                Ticket.assignee_id == licence.technician_id, Ticket.status.in_(OPEN_STATUSES),
                Ticket.trade_id.in_(trades))) or 0
            item["shifts"] = db.session.scalar(select(func.count(OnCallShift.id)).where(
                OnCallShift.user_id == licence.technician_id, OnCallShift.trade_id.in_(trades),
                (OnCallShift.valid_until.is_(None)) | (OnCallShift.valid_until >= today))) or 0
            if item["open_jobs"] or item["shifts"]:
                expired.append(item)
        elif row.days_left <= 30:
            expiring_30.append(item)
        else:
            expiring_60.append(item)
    return {"as_of": today.isoformat(), "expired_assigned": expired, "within_30": expiring_30,
            "within_60": expiring_60}


def _costs(month: date) -> dict:
    """Cost against budget per trade (parts and labour) from the costs service, with the same month last year.
    Not available when the month has no budget, no cost and no cost a year before: the hospital does not
    record costs (yet), and a table of zeros would read as a month that cost nothing."""

    rows = cost_against_budget(month)
    if not any(r.budget is not None or r.actual or r.last_year for r in rows):
        return {"available": False, "rows": [], "total": None}

    def figures(row) -> dict:
        # The total line's label is said in the reader's language when shown.
        return {"trade": row.trade if row.trade_id is not None else None, "budget": _number(row.budget), "actual": _number(row.actual),
                "last_year": _number(row.last_year), "variance": _number(row.variance), "used_pct": row.used_pct}

    return {"available": True, "currency": current_app.config.get("CURRENCY", "CNY"),
            "rows": [figures(r) for r in rows], "total": figures(budget_total(rows))}


def _statutory(month: date, now: datetime) -> dict:
    """Certificates that lapsed in the month and assets out of use now; required activities' compliance."""
    last_day = next_month(month) - timedelta(days=1)
    return {"certificates": certificates.leadership_figures(month, last_day, now),
            "required": required_activities.leadership_figures(month, last_day, now)}


def _number(value) -> float | None:
    """Money as a JSON number (two places; the snapshot is read back, never summed again)."""
    return None if value is None else round(float(value), 2)


def build_figures(month: date, now: datetime) -> dict:
    """The month's snapshot: plain JSON (names as they were, times as ISO UTC), never recomputed once kept."""
    previous = previous_month(month)
    return {
        "snapshot": SNAPSHOT_VERSION,
        "month": month.isoformat(),
        "hospital": current_app.config["HOSPITAL_NAME"],
        "as_of": now.isoformat(),
        "goal": COMPLIANCE_GOAL,
        "compliance": {
            "previous_month": previous.isoformat(),
            "by_trade": _compliance_rows(month, previous, now, "trade", "trade"),
            "by_priority": _compliance_rows(month, previous, now, "priority", "priority"),
        },
        "breaches": _breaches(month, now),
        "costs": _costs(month),
        "repeats": _repeats(month),
        "licences": _licences(now),
        "statutory": _statutory(month, now),
    }


# --- keeping them ---------------------------------------------------------------------------------

def generate(month: date, now: datetime, actor: User | None = None) -> LeadershipReport | None:
    """Make and keep a month's report: the scheduler (actor None) makes version 1 only, and returns None when
    the month already has a report; a person makes the next version. Raises ValidationError for a month that
    has not ended, PermissionDeniedError for a role that may not, ConflictError when two people generate the
    same month at the same moment."""

    if actor is not None:
        access.require_role(db.session.get(User, actor.id), GENERATORS)
    month = check_month(month, now)
    if actor is None and _latest_version(month):
        return None
    figures = build_figures(month, now)
    locale = current_app.config.get("BABEL_DEFAULT_LOCALE", "en")
    pdf = render_pdf(figures, locale)
    try:
        with write_transaction() as session:
            version = _latest_version(month) + 1
            if actor is None and version > 1:
                return None  # another scheduler made it while this one was computing
            report = LeadershipReport(month=month, version=version, generated_at=now,
                                      generated_by_id=actor.id if actor else None, figures=figures,
                                      pdf_locale=locale, pdf=pdf)
            session.add(report)
    except IntegrityError:
        # The same (month, version) was inserted by someone else between our read and our commit.
        if actor is None:
            return None
        raise ConflictError(_("Someone generated this month's report at the same moment. Reload to see it.")) from None
    log.info("leadership report for %s kept (version %d)", month.strftime("%Y-%m"), report.version)
    return report


def _latest_version(month: date) -> int:
    return db.session.scalar(select(func.max(LeadershipReport.version)).where(LeadershipReport.month == month)) or 0


def generate_due(now: datetime) -> LeadershipReport | None:
    """The scheduler's part: from the 1st (hospital time), last month's report once. A scheduler that was down on
    the 1st makes it when it comes back, since the month still has none."""
    return generate(month_due(now), now)


def kept_reports() -> list[LeadershipReport]:
    """Every kept version, newest month first and its newest version first (PDFs not loaded)."""
    return list(db.session.scalars(select(LeadershipReport).order_by(LeadershipReport.month.desc(),
                                                                     LeadershipReport.version.desc())))


def kept_report(report_id: int) -> LeadershipReport:
    report = db.session.get(LeadershipReport, report_id)
    if report is None:
        raise NotFoundError(_("No such monthly report."))
    return report


def pdf_of(report: LeadershipReport, locale: str) -> bytes:
    """The PDF as kept; in another language, the same snapshot printed in that language."""
    if locale == report.pdf_locale:
        return report.pdf

    return render_pdf(report.figures, locale)


def generated_label(report: LeadershipReport) -> str:
    """'the scheduler' or the person, for the list and the page."""
    return report.generated_by.full_name if report.generated_by else _("the scheduler")
