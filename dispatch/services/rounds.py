"""How inspection rounds and test records stand for a period: each scheduled due date done, missed or
skipped, and the failed items with their corrective tickets. The reports page and the inspector's
binder read the same figures from here.

The rule (README, "Inspection rounds and test records"): a record answers the first due date on or
after the day it was done, so a due date with a record was met on time; a due date that has passed
(hospital calendar) without one is missed; a date the planned-work schedule skipped, with its reason,
counts neither way; dates before the form was made are not counted, and today's and later dates only once
they have their record.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime

from flask_babel import force_locale
from flask_babel import gettext as _
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from dispatch.clock import now as clock_now
from dispatch.i18n import local_date
from dispatch.services import recurrence, tickets
from dispatch.services.binder_section import BinderSection
from dispatch.services.check_forms import limits_text, number_text
from dispatch.services.timezone import hospital_date
from models import CheckForm, CheckRecord, CheckResult, PlannedOccurrence, db


@dataclass
class FormCompliance:
    form: CheckForm
    due: int = 0  # due dates passed in the period (met + missed)
    met: int = 0
    missed_dates: list[date] = field(default_factory=list)
    skipped: int = 0
    records: int = 0  # all records made for due dates in the period, scheduled or not
    failed_items: int = 0

    @property
    def missed(self) -> int:
        return len(self.missed_dates)

    @property
    def percent(self) -> int | None:
        return round(100 * self.met / self.due) if self.due else None


@dataclass
class Deficiency:
    form: CheckForm
    record: CheckRecord
    result: CheckResult


@dataclass
class Compliance:
    start: date
    end: date
    forms: list[FormCompliance]
    deficiencies: list[Deficiency]

    @property
    def due(self) -> int:
        return sum(f.due for f in self.forms)

    @property
    def met(self) -> int:
        return sum(f.met for f in self.forms)

    @property
    def percent(self) -> int | None:
        return round(100 * self.met / self.due) if self.due else None


def compliance(start: date, end: date, kind: str | None = None, now: datetime | None = None) -> Compliance:
    """Each form's due dates from `start` to `end` (inclusive) against its records, and the failed answers
    of the records in the period, oldest first."""
    today = hospital_date(now or clock_now())
    query = select(CheckForm).options(selectinload(CheckForm.schedule)).order_by(CheckForm.kind, CheckForm.title)
    if kind:
        query = query.where(CheckForm.kind == kind)
    forms = list(db.session.scalars(query))
    ids = [f.id for f in forms]
    records = list(db.session.scalars(
        select(CheckRecord).where(CheckRecord.form_id.in_(ids), CheckRecord.due_date >= start,
                                  CheckRecord.due_date <= end)
        .options(selectinload(CheckRecord.results).selectinload(CheckResult.ticket),
                 selectinload(CheckRecord.done_by)).order_by(CheckRecord.due_date, CheckRecord.id)))
    recorded = {(r.form_id, r.due_date) for r in records}
    skipped = set(db.session.execute(select(PlannedOccurrence.schedule_id, PlannedOccurrence.due_date).where(
        PlannedOccurrence.state == "skipped", PlannedOccurrence.due_date >= start,
        PlannedOccurrence.due_date <= end)).all())
    lines = {f.id: FormCompliance(f) for f in forms}
    for record in records:
        line = lines[record.form_id]
        line.records += 1
        line.failed_items += record.failed_count
    for form in forms:
        schedule, line = form.schedule, lines[form.id]
        if schedule is None:
            continue
        # Counted from the day the form was made: a round is not missed before it existed.
        first = max(start, hospital_date(form.created_at))
        for due in recurrence.due_dates(schedule, first, end):
            if (schedule.id, due) in skipped:
                line.skipped += 1
            elif (form.id, due) in recorded:
                line.met += 1
                line.due += 1
            elif due < today:
                line.missed_dates.append(due)
                line.due += 1
    by_form = {f.id: f for f in forms}
    deficiencies = [Deficiency(by_form[r.form_id], r, result) for r in records for result in r.results
                    if not result.passed]
    return Compliance(start, end, [lines[f.id] for f in forms], deficiencies)


def result_text(result: CheckResult) -> str:
    """What was found: the reading with its unit, or passed / failed."""
    if result.reading is not None:
        return f"{number_text(result.reading)} {result.unit or ''}".strip()
    return _("Passed") if result.passed else _("Failed")


def ticket_outcome(result: CheckResult) -> str:
    ticket = result.ticket
    if ticket is None:
        return ""
    return f"#{ticket.number} {tickets.status_label(ticket.status)}"


# ---- the inspector's binder ------------------------------------------------------------------------



def binder_sections(start: date, end: date, standard: str | None, locale: str) -> list:
    """Two parts of the binder, rounds then test records, from the same figures as the reports page;
    `standard` keeps the forms answering to it (their standard field starts with it)."""
    sections = []
    with force_locale(locale):
        for kind in ("round", "test"):
            figures = compliance(start, end, kind)
            forms = [f for f in figures.forms if _answers_to(f.form, standard)]
            kept = {f.form.id for f in forms}
            deficiencies = [d for d in figures.deficiencies if d.form.id in kept]
            due, met = sum(f.due for f in forms), sum(f.met for f in forms)
            title = _("Inspection rounds") if kind == "round" else _("Test records")
            sections.append(BinderSection(
                title=title,
                columns=[_("Form"), _("Standard"), _("Due"), _("Done on time"), _("Missed"), _("Skipped"),
                         _("Failed items"), _("Missed dates")],
                rows=[[f.form.title, f.form.standard or "", f.due, f.met, f.missed, f.skipped, f.failed_items,
                       ", ".join(local_date(d) for d in f.missed_dates)] for f in forms],
                deficiency_columns=[_("Date"), _("Form"), _("Item"), _("Limits"), _("Found"), _("Note"),
                                    _("Corrective ticket")],
                deficiencies=[[local_date(d.record.due_date), d.form.title, d.result.label,
                               limits_text(d.result.unit, d.result.min_value, d.result.max_value),
                               result_text(d.result), d.result.note or "", ticket_outcome(d.result)]
                              for d in deficiencies],
                summary=summary_text(met, due)))
    return sections


def summary_text(met: int, due: int) -> str:
    if not due:
        return _("Nothing was due in the period.")
    return _("%(met)d of %(due)d on time (%(percent)d%%)", met=met, due=due, percent=round(100 * met / due))


def _answers_to(form: CheckForm, standard: str | None) -> bool:
    return not standard or (form.standard or "").lower().startswith(standard.lower())
