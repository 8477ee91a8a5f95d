"""Reading the reports' query strings (and the small forms for breach causes) into service arguments.

Bad values never reach the services: each becomes a message for the page, and the value is dropped.
"""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from flask_babel import gettext as _
from flask_wtf import FlaskForm
from wtforms import HiddenField, StringField, TextAreaField
from wtforms.validators import DataRequired, Length, Optional

from dispatch.errors import ValidationError
from dispatch.numbers import WholeNumberField, an_id, whole_number
from dispatch.services.report_filters import MAX_DAYS, TARGETS, ReportFilter, check_filter
from dispatch.services.report_tickets import Selection
from dispatch.services.reports import DIMENSIONS


@dataclass
class Parsed:
    report: ReportFilter
    errors: list[str] = field(default_factory=list)


def _date(args: Mapping[str, str], name: str, default: date, errors: list[str]) -> date:
    raw = (args.get(name) or "").strip()
    if not raw:
        return default
    try:
        return date.fromisoformat(raw)
    except ValueError:
        errors.append(_("%(field)s is not a date (YYYY-MM-DD).", field=name))
        return default


def _int(args: Mapping[str, str], name: str, errors: list[str]) -> int | None:
    raw = (args.get(name) or "").strip()
    if not raw:
        return None
    number = whole_number(raw, max_digits=9)
    if number is None:
        errors.append(_("%(field)s must be a whole number.", field=name))
    return number


def parse_filter(args: Mapping[str, str], today: date, default_start: date | None = None) -> Parsed:
    """The period and the narrowing filters, with a message for each bad value (which is then ignored)."""
    errors: list[str] = []
    start = _date(args, "start", default_start or today.replace(day=1), errors)
    end = _date(args, "end", today, errors)
    if start > end:
        errors.append(_("The start date is after the end date."))
        start, end = end, start
    if (end - start).days > MAX_DAYS:
        errors.append(_("Choose at most ten years."))
        start = end - timedelta(days=MAX_DAYS)
    values = {name: _int(args, param, errors) for name, param in ReportFilter.PARAMS.items()}
    month = None
    raw_month = (args.get("month") or "").strip()
    if raw_month:
        try:
            month = datetime.strptime(raw_month, "%Y-%m").date()
        except ValueError:
            errors.append(_("month is not a month (YYYY-MM)."))
    report = ReportFilter(start=start, end=end, month=month, **values)
    # One narrowing filter at a time is checked and dropped, so every bad one gets its own message.
    for _attempt in range(len(values) + 1):
        try:
            check_filter(report)
            break
        except ValidationError as error:
            errors.append(error.message)
            name = next((n for n, p in ReportFilter.PARAMS.items() if p == error.field), None)
            if name is None:
                report = ReportFilter(start=report.start, end=report.end)
                break
            report = report.narrowed(**{name: None})
    return Parsed(report, errors)


def parse_grouping(args: Mapping[str, str], errors: list[str], default: str = "trade_priority") -> str:
    by = args.get("by") or default
    if by not in DIMENSIONS:
        errors.append(_("Unknown grouping."))
        return default
    return by


def parse_target(args: Mapping[str, str], name: str, errors: list[str], default: str = "attend") -> str:
    target = args.get(name) or default
    if target not in TARGETS:
        errors.append(_("Unknown target."))
        return default
    return target


def parse_page(args: Mapping[str, str], errors: list[str]) -> int:
    page = _int(args, "page", errors)
    return page if page and page > 0 else 1


def parse_selection(args: Mapping[str, str], errors: list[str]) -> Selection:
    """Which tickets behind a figure: target and outcome, age band, breached, and the workload's flags."""
    flags = {name: args.get(name) == "1" for name in ("breached", "out_of_hours", "refused", "reassigned")}
    ftf_raw = args.get("first_time_fix")
    first_time_fix = None if ftf_raw in (None, "") else ftf_raw == "1"
    selection = Selection(
        target=args.get("target") or None, outcome=args.get("outcome") or None, backlog=args.get("backlog") or None,
        first_time_fix=first_time_fix, refused_by=_int(args, "refused_by", errors),
        reassigned_from=_int(args, "reassigned_from", errors), repeat=args.get("repeat") or None,
        cause_id=_int(args, "cause", errors), **flags,
    )
    try:
        selection.check()
    except ValidationError as error:
        errors.append(error.message)
        return Selection(**flags)
    return selection


class BreachCauseForm(FlaskForm):
    """The cause is checked against the department's list by the service."""

    cause_id = WholeNumberField(validators=[DataRequired(), an_id()])
    note = TextAreaField(validators=[Optional(), Length(max=500)])
    next = HiddenField()


class CauseNameForm(FlaskForm):
    """A cause's name in English, Chinese or both (the service asks for one of them)."""
    name = StringField(validators=[Optional(), Length(max=120)])
    name_zh = StringField(validators=[Optional(), Length(max=120)])


class CauseStateForm(FlaskForm):
    """Retire or bring back a cause: nothing to fill in but the CSRF token."""
