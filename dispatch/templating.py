"""Jinja filters and globals: times in hospital time, durations, labels."""
from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime

from flask import Flask, current_app, url_for
from flask_babel import format_currency, format_decimal, get_locale
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from dispatch.clock import now
from dispatch.i18n import local_date, local_datetime, month_label
from dispatch.services import sla
from dispatch.services.emergency_plans import tel_href
from dispatch.services.tickets import STATUS_LABELS
from models.names import Bilingual

PRIORITY_LABELS = {1: _l("P1 emergency"), 2: _l("P2 urgent"), 3: _l("P3 routine"), 4: _l("P4 planned")}
ROLE_LABELS = {
    "nurse": _l("Nurse"), "dispatcher": _l("Dispatcher"), "technician": _l("Technician"),
    "supervisor": _l("Supervisor"), "manager": _l("Manager"), "admin": _l("Administrator"),
    "integration": _l("Alarm panel (integration)"),
}
EVENT_LABELS = {
    "reported": _l("Reported"), "assigned": _l("Assigned"), "reassigned": _l("Reassigned"),
    "acknowledge": _l("Acknowledged"), "refuse": _l("Refused"), "attend": _l("On site"),
    "hold": _l("On hold"), "resume": _l("Resumed"), "make_safe": _l("Made safe"), "resolve": _l("Resolved"),
    "confirm": _l("Confirmed by ward"), "reopen": _l("Reopened"), "cancel": _l("Cancelled"),
    "breach": _l("Target missed"), "breach_cause": _l("Breach cause recorded"), "sms_failed": _l("SMS not delivered"),
    "call_unanswered": _l("Call not answered"), "call_failed": _l("Call failed"),
    "escalated": _l("Escalated"), "escalation_skipped": _l("Escalation step skipped"),
    "escalation_exhausted": _l("Escalation exhausted"), "watchdog": _l("Watchdog"),
    "page_taken": _l("Told who took the job"),
    "auto_dispatch_none": _l("No one to auto-dispatch"), "reprioritised": _l("Priority changed"), "comment": _l("Comment"),
    "grouped": _l("Grouped into an incident"), "ungrouped": _l("Taken out of an incident"),
    "incident_opened": _l("Incident opened"), "incident_resolved": _l("Incident resolved"),
    "parts": _l("Parts used"),
    "alarm_repeat": _l("Alarm repeated"), "alarm_cleared": _l("Alarm cleared"),
    "checklist_ticked": _l("Checklist step ticked"), "checklist_unticked": _l("Checklist step unticked"),
    "plan_attached": _l("Emergency plan attached"), "plan_removed": _l("Emergency plan taken off"),
    "plan_step": _l("Plan step done"),
    "photos": _l("Photos added"), "false_report": _l("False report"),
}
PHOTO_STAGE_LABELS = {"report": _l("With the report"), "comment": _l("Added later"), "before": _l("Before the work"),
                      "after": _l("After the work")}
TARGET_LABELS = {"acknowledge": _l("acknowledge"), "attend": _l("attend"), "resolve": _l("resolve")}
# How a history line came in (shown after the person; the web is the default and not named).
CHANNEL_LABELS = {"sms": _l("by SMS"), "api": _l("by API"), "voice": _l("by phone call"), "system": _l("automatic"),
                  "alarm": _l("from an alarm panel"), "qr": _l("from a QR label"), "watchdog": _l("by the watchdog")}
SMS_STATE_LABELS = {
    "pending": _l("SMS queued"), "sending": _l("SMS sending"), "sent": _l("SMS sent"),
    "delivered": _l("SMS delivered"), "undelivered": _l("SMS undelivered"), "failed": _l("SMS failed"),
    "not_needed": _l("SMS no longer needed"),
}
MOVEMENT_LABELS = {"receipt": _l("Received"), "issue": _l("Used on a job"), "adjustment": _l("Count correction"),
                   "return": _l("Returned from a job")}
CRITICALITY_LABELS = {
    "icu": _l("ICU"), "theatre": _l("Theatre"), "ed": _l("Emergency department"),
    "isolation": _l("Isolation"), "general": _l("General"),
}


def local_time(value: datetime | None, fmt: str = "short") -> str:
    """|localtime: a moment in hospital time, in a shape of dispatch.i18n.SHAPES ('iso' for machines only:
    data attributes and <time datetime>, never for reading)."""
    if value is None:
        return ""
    if fmt == "iso":
        return value.isoformat()
    return local_datetime(value, fmt)


def local_day(value: date | datetime | None, fmt: str = "date") -> str:
    """|localdate: a calendar day (a licence's expiry, a due date) in a shape of dispatch.i18n.SHAPES."""
    if value is None:
        return ""
    if isinstance(value, datetime):
        return local_datetime(value, fmt)
    return local_date(value, fmt)


def person_label(user) -> str:
    """'Li Mei · Nurse · ICU' in the header: name, role and ward, each said once. A ward's shared login is
    named for its role and ward already ('Nurse, Intensive Care Unit'), so those are not repeated after it."""
    name = user.full_name or user.username
    parts = [name]
    role = str(ROLE_LABELS.get(user.role, user.role))
    if user.role.lower() not in name.lower() and role.lower() not in name.lower():
        parts.append(role)
    if user.ward is not None and user.ward.display_name.lower() not in name.lower():
        parts.append(user.ward.display_name)
    return " · ".join(parts)


def named(thing) -> str:
    """|named: a ward's, trade's, part's... name in the reader's language, falling back to the other
    (models.names.Bilingual); plain text passes through."""
    if thing is None:
        return ""
    return thing.display_name if isinstance(thing, Bilingual) else str(thing)


def duration(seconds: float | None) -> str:
    """'3 min', '2 h 05 min', '4 d 3 h' — short enough for a board column."""
    if seconds is None:
        return ""
    seconds = int(abs(seconds))
    if seconds < 3600:
        return _("%(m)d min", m=max(seconds // 60, 0)) if seconds >= 60 else _("%(s)d s", s=seconds)
    if seconds < 86400:
        return _("%(h)d h %(m)02d min", h=seconds // 3600, m=(seconds % 3600) // 60)
    return _("%(d)d d %(h)d h", d=seconds // 86400, h=(seconds % 86400) // 3600)


def from_iso(value: str | None) -> datetime | None:
    """An ISO time kept as text (a kept report's snapshot) back as a datetime, for |localtime."""
    return None if not value else datetime.fromisoformat(value)


def minutes_label(minutes: int) -> str:
    return duration(minutes * 60)


def money(value) -> str:
    """An amount with the hospital's currency: CN¥1,234.50 (¥1,234.50 in Chinese)."""
    if value is None:
        return ""
    return format_currency(value, current_app.config["CURRENCY"])


def amount(value) -> str:
    """An amount in a table whose heading names the currency: 1,234.50."""
    if value is None:
        return ""
    return format_decimal(value, "#,##0.00")


def id_url(endpoint: str, name: str = "ticket_id") -> Callable[[int], str]:
    """url_for for one endpoint and one id, built once and filled in per row: a board with hundreds of jobs
    draws several links a job, and url_for costs tens of microseconds each."""
    marker = "987654321"
    before, after = url_for(endpoint, **{name: int(marker)}).split(marker)
    return lambda value: f"{before}{int(value)}{after}"


def said(labels: dict) -> dict:
    """A dict of lazy labels translated once (each lookup of a lazy string translates it again)."""
    return {key: str(label) for key, label in labels.items()}


def _part_choices():
    from dispatch.services.stock import active_parts

    return active_parts()


def init_app(app: Flask) -> None:
    app.jinja_env.filters["localtime"] = local_time
    app.jinja_env.filters["localdate"] = local_day
    app.jinja_env.filters["duration"] = duration
    app.jinja_env.filters["minutes"] = minutes_label
    app.jinja_env.filters["fromiso"] = from_iso
    app.jinja_env.filters["fromisodate"] = lambda value: date.fromisoformat(value) if value else None
    app.jinja_env.filters["money"] = money
    app.jinja_env.filters["amount"] = amount
    app.jinja_env.filters["person"] = person_label
    app.jinja_env.filters["named"] = named
    app.jinja_env.globals.update(
        now=now,
        get_locale=get_locale,
        STATUS_LABELS=STATUS_LABELS,
        PRIORITY_LABELS=PRIORITY_LABELS,
        ROLE_LABELS=ROLE_LABELS,
        EVENT_LABELS=EVENT_LABELS,
        TARGET_LABELS=TARGET_LABELS,
        CRITICALITY_LABELS=CRITICALITY_LABELS,
        SMS_STATE_LABELS=SMS_STATE_LABELS,
        CHANNEL_LABELS=CHANNEL_LABELS,
        MOVEMENT_LABELS=MOVEMENT_LABELS,
        PHOTO_STAGE_LABELS=PHOTO_STAGE_LABELS,
        part_choices=_part_choices,
        id_url=id_url,
        said=said,
        format_month=lambda day: local_date(day, "month"),
        month_label=month_label,
        next_due=sla.next_due,
        live_breaches=sla.live_breaches,
        tel_href=tel_href,
    )

    @app.context_processor
    def hospital():
        from babel.numbers import get_currency_symbol

        # The symbol in the reader's language (CN¥ in English, ¥ in Chinese); files use the ISO code.
        return {"hospital_name": app.config["HOSPITAL_NAME"],
                "CURRENCY": get_currency_symbol(app.config["CURRENCY"], str(get_locale() or "en"))}
