"""The inspector's binder: for a period and (optionally) one standard, every compliance area's sections in one
PDF and one XLSX, in the reader's language. Each area gives its sections (`binder_sections` in its own module,
returning BinderSection); this module only collects them in order and writes the spreadsheet."""
from __future__ import annotations

import io
from dataclasses import dataclass
from datetime import date, datetime

import xlsxwriter
from flask import current_app, g
from flask_babel import force_locale
from flask_babel import gettext as _

from dispatch.clock import now as clock_now
from dispatch.errors import ValidationError
from dispatch.services import access, certificates, interruptions, permits, required_activities, rounds
from dispatch.services.binder_section import BinderSection
from dispatch.services.report_filters import LINE_BY_LINE_DAYS, check_period
from dispatch.services.timezone import hospital_date
from models import User

# Each area's sections, in the binder's order. Rounds and test records, permits and interruptions add theirs.
# Each compliance area's parts, in the order an inspector reads them.
PROVIDERS = [certificates.binder_sections, required_activities.binder_sections, rounds.binder_sections,
             permits.binder_sections, interruptions.binder_sections]
LOCALES = ("en", "zh_CN")


@dataclass
class Binder:
    start: date
    end: date
    standard: str | None
    locale: str
    made_at: datetime
    hospital: str
    title: str
    period: str
    sections: list[BinderSection]


def check_request(user: User, start: date | None, end: date | None, locale: str | None) -> tuple[date, date, str]:
    """The period and language asked for, or ValidationError naming the field; PermissionDeniedError for a role
    that may not read the binder."""
    access.require_role(user, access.BINDER_READERS)
    if start is None:
        raise ValidationError(_("Give the first day of the period."), field="start")
    if end is None:
        raise ValidationError(_("Give the last day of the period."), field="end")
    check_period(start, end, LINE_BY_LINE_DAYS)
    if end > hospital_date(clock_now()):
        raise ValidationError(_("The period cannot end after today."), field="end")
    if locale not in LOCALES:
        raise ValidationError(_("Choose English or Chinese."), field="lang")
    return start, end, locale


def assemble(user: User, start: date | None, end: date | None, standard: str | None, locale: str | None) -> Binder:
    """Every provider's sections for the period, in `locale`."""
    start, end, locale = check_request(user, start, end, locale)
    standard = " ".join((standard or "").split()) or None
    g.setdefault("dispatch_language", None)  # force_locale works outside a request too (see dispatch.i18n)
    with force_locale(locale):
        sections = [section for provider in PROVIDERS for section in provider(start, end, standard, locale)]
        title = _("Compliance binder") + (f" · {standard}" if standard else "")
        period = _("%(start)s to %(end)s", start=start.isoformat(), end=end.isoformat())
    return Binder(start, end, standard, locale, clock_now(), current_app.config["HOSPITAL_NAME"], title, period,
                  sections)


def file_name(binder: Binder, extension: str) -> str:
    standard = "".join(c if c.isalnum() else "-" for c in binder.standard or "all")
    return f"binder-{standard}-{binder.start.isoformat()}-{binder.end.isoformat()}-{binder.locale}.{extension}"


def xlsx(binder: Binder) -> bytes:
    """One sheet for the contents, then one per section: its table, then its deficiencies."""
    out = io.BytesIO()
    book = xlsxwriter.Workbook(out, {"in_memory": True, "strings_to_formulas": False, "strings_to_urls": False})
    bold = book.add_format({"bold": True})
    head = book.add_format({"bold": True, "bottom": 1, "text_wrap": True, "valign": "top"})
    with force_locale(binder.locale):
        cover = book.add_worksheet(_sheet_name(_("Contents"), set()))
        cover.write(0, 0, binder.hospital, bold)
        cover.write(1, 0, binder.title, bold)
        cover.write(2, 0, binder.period)
        cover.write(3, 0, _("Made %(when)s", when=binder.made_at.isoformat(timespec="seconds")))
        cover.set_column(0, 0, 40)
        cover.set_column(1, 1, 80)
        used = {cover.name}
        for index, section in enumerate(binder.sections):
            cover.write(5 + index, 0, section.title)
            cover.write(5 + index, 1, section.summary)
            sheet = book.add_worksheet(_sheet_name(section.title, used))
            used.add(sheet.name)
            sheet.write(0, 0, section.title, bold)
            sheet.write(1, 0, section.summary)
            row = _write_table(sheet, 3, section.columns, section.rows, head)
            if section.deficiency_columns:
                sheet.write(row + 1, 0, _("Deficiencies"), bold)
                row = _write_table(sheet, row + 2, section.deficiency_columns, section.deficiencies, head)
                if not section.deficiencies:
                    sheet.write(row, 0, _("None in this period."))
            sheet.set_column(0, max(len(section.columns), len(section.deficiency_columns)) - 1, 18)
    book.close()
    return out.getvalue()


def _write_table(sheet, row: int, columns: list[str], rows: list[list], head) -> int:
    for column, name in enumerate(columns):
        sheet.write(row, column, name, head)
    for values in rows:
        row += 1
        for column, value in enumerate(values):
            sheet.write(row, column, "" if value is None else value)
    return row + 1


def _sheet_name(title: str, used: set[str]) -> str:
    """Excel's rules: at most 31 characters, none of []:*?/\\, unique in the book."""
    name = "".join(" " if c in "[]:*?/\\" else c for c in title)[:28].strip() or "Sheet"
    candidate, n = name, 2
    while candidate in used:
        candidate, n = f"{name} {n}", n + 1
    return candidate
