"""Check forms, one model for inspection rounds (巡检) and test records (the generator's monthly test):
defining a form's items, and filling it in, each failed item opening exactly one corrective ticket.

A form is a list of items in route order; each is a check (passed or failed by the technician) or a
reading with limits (a reading outside them has failed; a reading equal to a limit passes). A record
answers one due date of the form: the first of its schedule's due dates on or after the day it is done
(hospital calendar). The record is unique per (form, due date) and its failed answers' tickets are
opened in the same transaction, so a page sent twice, an SMS delivered twice or two technicians at the
same moment make one record and one ticket per failed item.
"""
from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from flask_babel import gettext as _
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import selectinload

from dispatch.clock import now as clock_now
from dispatch.errors import NotFoundError, ValidationError
from dispatch.services import access, recurrence, tickets
from dispatch.services.timezone import hospital_date
from dispatch.services.unit_of_work import write_transaction
from models import (
    FORM_KINDS, Asset, CheckForm, CheckItem, CheckRecord, CheckResult, Location, MaintenanceSchedule, Trade, User,
    Ward, db,
)

MAX_TITLE = 160
MAX_LABEL = 160
MAX_UNIT = 20
MAX_NOTE = 200
MAX_ITEMS = 40
MAX_STANDARD = 60
# How far ahead a record looks for the due date it answers (a yearly test done early still finds its date).
DUE_HORIZON_DAYS = 400


# ---- the rule ----------------------------------------------------------------------------------

def reading_passes(reading: float, min_value: float | None, max_value: float | None) -> bool:
    """Within the limits, the limits included: NFPA 110 asks for "at least 30 minutes" and a transfer
    "within 10 seconds", so 30 and 10 pass."""
    return (min_value is None or reading >= min_value) and (max_value is None or reading <= max_value)


def limits_text(unit: str | None, min_value: float | None, max_value: float | None) -> str:
    """"≥ 30 min", "≤ 10 s", "1.5–4.5 bar": how the page, the SMS and the binder show an item's limits."""
    unit = f" {unit}" if unit else ""
    if min_value is not None and max_value is not None:
        return f"{number_text(min_value)}–{number_text(max_value)}{unit}"
    if min_value is not None:
        return f"≥ {number_text(min_value)}{unit}"
    if max_value is not None:
        return f"≤ {number_text(max_value)}{unit}"
    return unit.strip()


def number_text(value: float | None) -> str:
    if value is None:
        return ""
    return f"{value:g}"


# ---- defining a form ---------------------------------------------------------------------------------

@dataclass
class ItemValues:
    label: str
    kind: str = "check"
    unit: str | None = None
    min_value: float | None = None
    max_value: float | None = None
    asset_id: int | None = None
    location_id: int | None = None


@dataclass
class FormValues:
    kind: str
    title: str
    ward_id: int | None
    trade_id: int | None
    items: list[ItemValues]
    standard: str | None = None
    schedule_id: int | None = None
    active: bool = True


_LIMIT = re.compile(r"^(min|max|unit|最小|最大|单位)\s*[:=]?\s*(.+)$", re.IGNORECASE)


def parse_item_lines(text: str) -> list[ItemValues]:
    """The form editor's items, one a line: `[asset tag or room @] label [; min N] [; max N] [; unit U]`.
    A line with a limit or a unit is a reading; one without is a pass/fail check. Raises ValidationError
    naming the line (field "items")."""
    items = []
    for number, line in enumerate((text or "").splitlines(), start=1):
        line = line.strip()
        if not line:
            continue
        place, _sep, rest = line.rpartition("@") if "@" in line.split(";")[0] else ("", "", line)
        pieces = [p.strip() for p in rest.split(";")]
        item = ItemValues(label=pieces[0])
        for piece in pieces[1:]:
            if not piece:
                continue
            found = _LIMIT.match(piece)
            if not found:
                raise ValidationError(_("Line %(n)d: write \"min 30\", \"max 10\" or \"unit bar\", not \"%(text)s\".",
                                        n=number, text=piece[:40]), field="items")
            word, value = found.group(1).lower(), found.group(2).strip()
            if word in ("unit", "单位"):
                item.unit = value
                continue
            try:
                limit = float(value)
            except ValueError:
                raise ValidationError(_("Line %(n)d: the limit \"%(text)s\" is not a number.", n=number,
                                        text=value[:20]), field="items") from None
            if not math.isfinite(limit):
                raise ValidationError(_("Line %(n)d: the limit \"%(text)s\" is not a number.", n=number,
                                        text=value[:20]), field="items")
            if word in ("min", "最小"):
                item.min_value = limit
            else:
                item.max_value = limit
        if item.unit is not None or item.min_value is not None or item.max_value is not None:
            item.kind = "reading"
        place = place.strip()
        if place:
            item.asset_id, item.location_id = _place_named(place, number)
        items.append(item)
    return items


def _place_named(name: str, number: int) -> tuple[int | None, int | None]:
    asset = db.session.scalar(select(Asset).where(Asset.tag == name))
    if asset is not None:
        return asset.id, None
    rooms = list(db.session.scalars(select(Location).where(Location.name == name).limit(2)))
    if len(rooms) == 1:
        return None, rooms[0].id
    if rooms:
        raise ValidationError(_("Line %(n)d: several rooms are called \"%(name)s\"; use an asset tag.", n=number,
                                name=name[:40]), field="items")
    raise ValidationError(_("Line %(n)d: no asset tag or room is called \"%(name)s\".", n=number, name=name[:40]),
                          field="items")


def item_lines(form: CheckForm) -> str:
    """The form's items written back in the editor's shape (parse_item_lines reads it again)."""
    lines = []
    for item in form.items:
        place = item.asset.tag if item.asset else (item.location.name if item.location else "")
        text = (f"{place} @ " if place else "") + item.label
        if item.min_value is not None:
            text += f"; min {number_text(item.min_value)}"
        if item.max_value is not None:
            text += f"; max {number_text(item.max_value)}"
        if item.unit:
            text += f"; unit {item.unit}"
        lines.append(text)
    return "\n".join(lines)


def _validated(session, values: FormValues) -> dict:
    if values.kind not in FORM_KINDS:
        raise ValidationError(_("Choose a round or a test record."), field="kind")
    title = (values.title or "").strip()
    if len(title) < 3:
        raise ValidationError(_("Say in a few words what is checked."), field="title")
    if len(title) > MAX_TITLE:
        raise ValidationError(_("At most %(n)d characters.", n=MAX_TITLE), field="title")
    if session.get(Ward, values.ward_id or 0) is None:
        raise ValidationError(_("Choose a ward."), field="ward_id")
    if session.get(Trade, values.trade_id or 0) is None:
        raise ValidationError(_("Choose the trade that does the work."), field="trade_id")
    standard = (values.standard or "").strip() or None
    if standard and len(standard) > MAX_STANDARD:
        raise ValidationError(_("At most %(n)d characters.", n=MAX_STANDARD), field="standard")
    if values.schedule_id and session.get(MaintenanceSchedule, values.schedule_id) is None:
        raise ValidationError(_("Choose a planned-work schedule."), field="schedule_id")
    if not values.items:
        raise ValidationError(_("Give at least one item."), field="items")
    if len(values.items) > MAX_ITEMS:
        raise ValidationError(_("At most %(n)d items.", n=MAX_ITEMS), field="items")
    for number, item in enumerate(values.items, start=1):
        if not (item.label or "").strip():
            raise ValidationError(_("Line %(n)d: say what is checked.", n=number), field="items")
        if len(item.label.strip()) > MAX_LABEL or len(item.unit or "") > MAX_UNIT:
            raise ValidationError(_("Line %(n)d is too long.", n=number), field="items")
        if item.kind == "reading" and item.min_value is None and item.max_value is None:
            raise ValidationError(_("Line %(n)d: a reading needs a min or a max limit.", n=number), field="items")
        if item.min_value is not None and item.max_value is not None and item.min_value > item.max_value:
            raise ValidationError(_("Line %(n)d: the min is above the max.", n=number), field="items")
    return dict(kind=values.kind, title=title, ward_id=values.ward_id, trade_id=values.trade_id, standard=standard,
                schedule_id=values.schedule_id or None, active=bool(values.active))


def _item_key(item) -> tuple:
    return (item.label.strip(), item.kind, item.unit or None, item.min_value, item.max_value, item.asset_id or None,
            item.location_id or None)


def save_form(actor: User, values: FormValues, form_id: int | None = None) -> CheckForm:
    """Create or change a form (managers and admins). Changed items retire the old ones and add new ones,
    so the records already made keep what they answered. Raises ValidationError naming the field."""
    now = clock_now()
    with write_transaction() as session:
        actor = session.get(User, actor.id)
        access.require_role(actor, access.CHECK_FORM_EDITORS)
        fields = _validated(session, values)
        if form_id is None:
            form = CheckForm(**fields, created_at=now, updated_at=now)
            session.add(form)
            old = []
        else:
            form = session.scalars(select(CheckForm).where(CheckForm.id == form_id).with_for_update()).one_or_none()
            if form is None:
                raise NotFoundError(_("Form not found."))
            for name, value in fields.items():
                setattr(form, name, value)
            form.updated_at = now
            old = list(session.scalars(select(CheckItem).where(CheckItem.form_id == form.id,
                                                               CheckItem.retired_at.is_(None))
                                       .order_by(CheckItem.position)))
        try:
            with session.begin_nested():
                session.flush()
        except IntegrityError:
            raise ValidationError(_("That schedule already has a form."), field="schedule_id") from None
        if [_item_key(i) for i in old] != [_item_key(i) for i in values.items]:
            for item in old:
                item.retired_at = now
            for position, item in enumerate(values.items, start=1):
                session.add(CheckItem(form_id=form.id, position=position, label=item.label.strip(), kind=item.kind,
                                      unit=item.unit or None, min_value=item.min_value, max_value=item.max_value,
                                      asset_id=item.asset_id or None, location_id=item.location_id or None))
    return form


def list_forms(kind: str | None = None, active_only: bool = False) -> list[CheckForm]:
    query = (select(CheckForm).options(selectinload(CheckForm.items), selectinload(CheckForm.schedule),
                                       selectinload(CheckForm.ward), selectinload(CheckForm.trade))
             .order_by(CheckForm.kind, CheckForm.title))
    if kind:
        query = query.where(CheckForm.kind == kind)
    if active_only:
        query = query.where(CheckForm.active.is_(True))
    return list(db.session.scalars(query))


def get_form(form_id: int) -> CheckForm:
    form = db.session.get(CheckForm, form_id)
    if form is None:
        raise NotFoundError(_("Form not found."))
    return form


# ---- filling a form in -----------------------------------------------------------------------------

@dataclass
class Answer:
    """A check's passed (True/False), or a reading's value; a note says what was seen."""

    passed: bool | None = None
    reading: float | None = None
    note: str | None = None


@dataclass
class Submission:
    record: CheckRecord
    created: bool  # False: this due date was recorded already (a repeat); nothing new was written
    tickets: list = field(default_factory=list)


def due_for(form: CheckForm, day: date) -> date:
    """The due date a record made on `day` answers: the schedule's first due date on or after it, or the
    day itself (no schedule, or no date left in it)."""
    if form.schedule is None:
        return day
    return next(iter(recurrence.due_dates(form.schedule, day, day + timedelta(days=DUE_HORIZON_DAYS))), day)


def _checked_answers(items: list[CheckItem], answers: dict[int, Answer]) -> list[tuple[CheckItem, Answer, bool]]:
    unknown = sorted(set(answers) - {i.position for i in items})
    if unknown:
        raise ValidationError(_("The form has no item %(n)d.", n=unknown[0]), field=f"item_{unknown[0]}")
    checked = []
    for item in items:
        answer = answers.get(item.position)
        name = f"item_{item.position}"
        if answer is not None and item.kind == "check" and answer.reading is not None:
            raise ValidationError(_("Item %(n)d is passed or failed, not a reading.", n=item.position), field=name)
        if answer is None or (item.kind == "check" and answer.passed is None) or (
                item.kind == "reading" and answer.reading is None):
            raise ValidationError(_("Item %(n)d (%(label)s) is not answered.", n=item.position, label=item.label),
                                  field=name)
        if item.kind == "reading":
            if not math.isfinite(answer.reading):
                raise ValidationError(_("Item %(n)d: the reading is not a number.", n=item.position), field=name)
            passed = reading_passes(answer.reading, item.min_value, item.max_value)
        else:
            passed = bool(answer.passed)
        note = (answer.note or "").strip() or None
        if note and len(note) > MAX_NOTE:
            raise ValidationError(_("At most %(n)d characters.", n=MAX_NOTE), field=name)
        checked.append((item, Answer(answer.passed, answer.reading, note), passed))
    return checked


def submit_record(actor: User, form_id: int, answers: dict[int, Answer], channel: str = "web") -> Submission:
    """Record the form filled in now, and open one corrective ticket per failed item. A repeat for the same
    due date (a retry, a second SMS, a colleague at the same moment) returns the first record, created=False.
    Raises PermissionDeniedError, NotFoundError, ValidationError naming the item."""
    now = clock_now()
    with write_transaction() as session:
        actor = session.get(User, actor.id)
        access.require_role(actor, access.CHECK_RECORDERS)
        form = session.get(CheckForm, form_id)
        if form is None or not form.active:
            raise NotFoundError(_("Form %(n)d not found.", n=form_id))
        items = list(form.items)
        checked = _checked_answers(items, answers)
        due = due_for(form, hospital_date(now))
        earlier = _record_for(session, form.id, due)
        if earlier is not None:
            return Submission(earlier, False)
        record = CheckRecord(form_id=form.id, due_date=due, done_at=now, done_by_id=actor.id, channel=channel,
                             failed_count=sum(1 for *_rest, passed in checked if not passed))
        try:
            with session.begin_nested():
                session.add(record)
                session.flush()
        except IntegrityError:
            # Another submission for this due date committed while we waited on the unique index.
            return Submission(_record_for(session, form.id, due), False)
        opened = []
        for item, answer, passed in checked:
            result = CheckResult(record_id=record.id, item_id=item.id, position=item.position, label=item.label,
                                 unit=item.unit, min_value=item.min_value, max_value=item.max_value,
                                 reading=answer.reading, passed=passed, note=answer.note)
            session.add(result)
            if not passed:
                session.flush()
                result.ticket = _open_corrective(session, now, actor, form, item, result, channel)
                opened.append(result.ticket)
    return Submission(record, True, opened)


def _record_for(session, form_id: int, due: date) -> CheckRecord | None:
    return session.scalar(select(CheckRecord).where(CheckRecord.form_id == form_id, CheckRecord.due_date == due))


def _open_corrective(session, now: datetime, actor: User, form: CheckForm, item: CheckItem, result: CheckResult,
                     channel: str):
    asset, location = item.asset, item.location
    ward = asset.ward if asset else (location.ward if location else form.ward)
    return tickets.file_corrective(session, now, reporter=actor, ward=ward, location=location, asset=asset,
                                   trade=form.trade, description=failure_text(form, result), channel=channel,
                                   data={"check_record_id": result.record_id, "check_result_id": result.id,
                                         "check_form_id": form.id})


def failure_text(form: CheckForm, result: CheckResult) -> str:
    """The corrective ticket's description: which form, which item, what was found."""
    if result.reading is not None:
        found = _("%(label)s read %(reading)s (limits %(limits)s)", label=result.label,
                  reading=f"{number_text(result.reading)} {result.unit or ''}".strip(),
                  limits=limits_text(result.unit, result.min_value, result.max_value))
    else:
        found = _("%(label)s failed", label=result.label)
    text = _("%(form)s, item %(n)d: %(found)s.", form=form.title, n=result.position, found=found)
    if result.note:
        text += " " + result.note
    return text


def get_record(record_id: int) -> CheckRecord:
    record = db.session.scalar(select(CheckRecord).where(CheckRecord.id == record_id).options(
        selectinload(CheckRecord.results).selectinload(CheckResult.ticket), selectinload(CheckRecord.done_by),
        selectinload(CheckRecord.form)))
    if record is None:
        raise NotFoundError(_("Record not found."))
    return record


def records_of(form_id: int, limit: int = 50) -> list[CheckRecord]:
    return list(db.session.scalars(
        select(CheckRecord).where(CheckRecord.form_id == form_id)
        .options(selectinload(CheckRecord.results).selectinload(CheckResult.ticket), selectinload(CheckRecord.done_by))
        .order_by(CheckRecord.due_date.desc()).limit(limit)))
