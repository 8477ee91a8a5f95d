"""Who is on call when. Weekly shifts are wall-clock times in the hospital's zone, turned into
concrete UTC intervals day by day (so a 08:00 shift stays 08:00 across a DST change), then
overrides are applied: covers and swaps replace people, leave removes them."""
from __future__ import annotations

import csv
import io
from dataclasses import dataclass, replace
from datetime import date, datetime, time, timedelta, timezone

from flask_babel import gettext as _
from sqlalchemy import and_, select

from dispatch.clock import now as clock_now
from dispatch.errors import ValidationError
from dispatch.numbers import whole_number
from dispatch.services import licences
from dispatch.services.timezone import hospital_zone
from dispatch.services.unit_of_work import write_transaction
from models import (
    OVERRIDE_KINDS, ROTA_ROLES, Licence, OnCallShift, ShiftOverride, SwapRequest, Trade, User, db,
)

ROLE_ORDER = {role: i for i, role in enumerate(ROTA_ROLES)}
TECHNICIAN_ROLES = ("primary", "secondary")


@dataclass(frozen=True)
class Duty:
    """One person on call for one stretch of time."""

    trade_id: int | None
    role: str
    user_id: int
    starts_at: datetime
    ends_at: datetime
    source: str = "rota"  # rota, cover, swap


def _utc(day: date, at: time) -> datetime:
    # zoneinfo resolves a wall time in a DST gap or overlap by its fold rule; the shift keeps its wall clock.
    return datetime.combine(day, at, hospital_zone()).astimezone(timezone.utc)


def _weekly(start: datetime, end: datetime) -> list[Duty]:
    zone = hospital_zone()
    first = start.astimezone(zone).date() - timedelta(days=1)  # yesterday's overnight shift may still run
    last = end.astimezone(zone).date()
    # Only the weekdays the window touches: "who is on call now" reads two days' lines, not seven.
    weekdays = {(first + timedelta(days=n)).weekday() for n in range(min(7, (last - first).days + 1))}
    shifts = db.session.scalars(select(OnCallShift).where(OnCallShift.weekday.in_(weekdays))).all()
    duties = []
    day = first
    while day <= last:
        for shift in shifts:
            if shift.weekday != day.weekday():
                continue
            if (shift.valid_from and day < shift.valid_from) or (shift.valid_until and day > shift.valid_until):
                continue
            begins = _utc(day, shift.starts)
            ends = _utc(day + timedelta(days=1) if shift.ends <= shift.starts else day, shift.ends)
            if begins < end and ends > start:
                duties.append(Duty(shift.trade_id, shift.role, shift.user_id, begins, ends))
        day += timedelta(days=1)
    return duties


def _cut(duty: Duty, start: datetime, end: datetime) -> list[Duty]:
    """The parts of a duty outside [start, end)."""
    if end <= duty.starts_at or start >= duty.ends_at:
        return [duty]
    parts = []
    if duty.starts_at < start:
        parts.append(replace(duty, ends_at=start))
    if duty.ends_at > end:
        parts.append(replace(duty, starts_at=end))
    return parts


def _same_post(duty: Duty, override: ShiftOverride) -> bool:
    return (override.trade_id is None or duty.trade_id == override.trade_id) and \
        (override.role is None or duty.role == override.role)


def duties_between(start: datetime, end: datetime) -> list[Duty]:
    """Everyone on call in [start, end), overrides applied."""
    duties = _weekly(start, end)
    overrides = db.session.scalars(
        select(ShiftOverride).where(ShiftOverride.starts_at < end, ShiftOverride.ends_at > start)
        .order_by(ShiftOverride.created_at, ShiftOverride.id)
    ).all()
    for override in (o for o in overrides if o.kind != "leave"):
        window = (override.starts_at, override.ends_at)
        if override.replaces_user_id:
            replaced = [d for d in duties if d.user_id == override.replaces_user_id and _same_post(d, override)]
            kept = [d for d in duties if d not in replaced]
            for duty in replaced:
                kept += _cut(duty, *window)
                begins, ends = max(duty.starts_at, window[0]), min(duty.ends_at, window[1])
                if begins < ends:
                    kept.append(Duty(duty.trade_id, duty.role, override.user_id, begins, ends, override.kind))
            duties = kept
        else:
            duties.append(Duty(override.trade_id, override.role or "primary", override.user_id, *window, override.kind))
    for leave in (o for o in overrides if o.kind == "leave"):
        duties = [part for d in duties for part in
                  (_cut(d, leave.starts_at, leave.ends_at) if d.user_id == leave.user_id else [d])]
    return sorted((d for d in duties if d.starts_at < end and d.ends_at > start),
                  key=lambda d: (d.starts_at, ROLE_ORDER.get(d.role, 9), d.user_id))


def on_call(trade_id: int | None, roles: tuple[str, ...], at: datetime) -> list[User]:
    """Active people on call at `at` for the trade in these roles, in role order; technicians only
    while their licence for the trade is valid. Hospital-wide supervisor / duty-manager lines count for every trade."""
    people: list[User] = []
    duties = duties_between(at, at + timedelta(seconds=1))
    for duty in duties:
        if duty.role not in roles or not (duty.trade_id == trade_id or (duty.trade_id is None and duty.role not in TECHNICIAN_ROLES)):
            continue
        user = db.session.get(User, duty.user_id)
        if user is None or not user.active or user in people:
            continue
        if duty.role in TECHNICIAN_ROLES and trade_id is not None and not licences.may_work(user.id, trade_id, at):
            continue
        people.append(user)
    return sorted(people, key=lambda u: min(ROLE_ORDER.get(d.role, 9) for d in duties if d.user_id == u.id))


@dataclass
class Gap:
    trade: Trade
    starts_at: datetime
    ends_at: datetime


def coverage_gaps(start: datetime, days: int = 14) -> list[Gap]:
    """Stretches (whole hours) in the next `days` when a trade has nobody on call (primary or
    secondary) holding a licence valid at that hour."""
    zone = hospital_zone()
    start = start.astimezone(zone).replace(minute=0, second=0, microsecond=0).astimezone(timezone.utc)
    end = start + timedelta(days=days)
    duties = [d for d in duties_between(start, end) if d.role in TECHNICIAN_ROLES]
    gaps: list[Gap] = []
    # Licence validity changes by the day (and at a revocation's moment), activity not at all: ask once per
    # person, trade and day rather than once per hour (336 hours a fortnight), except on a day a licence of
    # theirs is revoked.
    revoked_days = {(user_id, when.astimezone(zone).date()) for user_id, when in db.session.execute(
        select(Licence.technician_id, Licence.revoked_at).where(Licence.revoked_at >= start, Licence.revoked_at < end))}
    seen: dict[tuple[int, int, object], bool] = {}

    def can_work(user_id: int, trade_id: int, hour: datetime) -> bool:
        day = hour.astimezone(zone).date()
        key = (user_id, trade_id, hour if (user_id, day) in revoked_days else day)
        if key not in seen:
            seen[key] = licences.may_work(user_id, trade_id, hour)
        return seen[key]

    for trade in db.session.scalars(select(Trade).order_by(Trade.sort_order)):
        mine = [d for d in duties if d.trade_id == trade.id]
        hour, open_gap = start, None
        while hour < end:
            covered = _covers(hour, hour + timedelta(hours=1), [
                d for d in mine if d.starts_at < hour + timedelta(hours=1) and d.ends_at > hour
                and can_work(d.user_id, trade.id, hour)])
            if not covered and open_gap is None:
                open_gap = Gap(trade, hour, hour + timedelta(hours=1))
                gaps.append(open_gap)
            elif not covered:
                open_gap.ends_at = hour + timedelta(hours=1)
            else:
                open_gap = None
            hour += timedelta(hours=1)
    return gaps


def _covers(start: datetime, end: datetime, duties: list[Duty]) -> bool:
    """Whether these duties together leave no moment of [start, end) uncovered: a cover from 09:30
    hands over mid-hour, and the hour is still covered."""
    reached = start
    for duty in sorted(duties, key=lambda d: d.starts_at):
        if duty.starts_at > reached:
            return False
        reached = max(reached, duty.ends_at)
        if reached >= end:
            return True
    return reached >= end


# ---- editing the rota -------------------------------------------------------------------------

def _parse_time(raw: str, field: str) -> time:
    try:
        return time.fromisoformat(raw.strip())
    except (ValueError, AttributeError):
        raise ValidationError(_("Use a time like 08:00."), field=field) from None


def add_shift(*, trade_id: int | None, role: str, user_id: int, weekday: int, starts: str, ends: str,
              valid_from: date | None = None, valid_until: date | None = None) -> OnCallShift:
    if role not in ROTA_ROLES:
        raise ValidationError(_("Unknown rota role."), field="role")
    if weekday not in range(7):
        raise ValidationError(_("Choose a day of the week."), field="weekday")
    start_time, end_time = _parse_time(starts, "starts"), _parse_time(ends, "ends")
    with write_transaction() as session:
        user = session.get(User, user_id)
        if user is None or not user.active:
            raise ValidationError(_("No such person."), field="user_id")
        if role in TECHNICIAN_ROLES and user.role != "technician":
            raise ValidationError(_("Primary and secondary on call must be technicians."), field="user_id")
        if role in TECHNICIAN_ROLES and trade_id is None:
            raise ValidationError(_("Technicians are on call for a trade."), field="trade_id")
        if trade_id is not None and session.get(Trade, trade_id) is None:
            raise ValidationError(_("Unknown trade."), field="trade_id")
        shift = OnCallShift(trade_id=trade_id, role=role, user_id=user_id, weekday=weekday, starts=start_time,
                            ends=end_time, valid_from=valid_from, valid_until=valid_until)
        session.add(shift)
    return shift


def remove_shift(shift_id: int) -> None:
    with write_transaction() as session:
        shift = session.get(OnCallShift, shift_id)
        if shift is None:
            raise ValidationError(_("No such shift."), field="shift")
        session.delete(shift)


def add_override(*, kind: str, user_id: int, starts_at: datetime, ends_at: datetime, actor_id: int | None,
                 trade_id: int | None = None, role: str | None = None, replaces_user_id: int | None = None,
                 reason: str | None = None) -> ShiftOverride:
    if kind not in OVERRIDE_KINDS:
        raise ValidationError(_("Unknown kind of change."), field="kind")
    if ends_at <= starts_at:
        raise ValidationError(_("The end must be after the start."), field="ends_at")
    if role is not None and role not in ROTA_ROLES:
        raise ValidationError(_("Unknown rota role."), field="role")
    if kind != "leave" and replaces_user_id is None and trade_id is None:
        raise ValidationError(_("Say whom they replace, or for which trade they join the rota."), field="trade_id")
    if kind != "leave" and replaces_user_id == user_id:
        raise ValidationError(_("Someone cannot cover for themselves."), field="replaces_user_id")
    with write_transaction() as session:
        if session.get(User, user_id) is None:
            raise ValidationError(_("No such person."), field="user_id")
        if replaces_user_id is not None and session.get(User, replaces_user_id) is None:
            raise ValidationError(_("No such person."), field="replaces_user_id")
        if trade_id is not None and session.get(Trade, trade_id) is None:
            raise ValidationError(_("Unknown trade."), field="trade_id")
        override = ShiftOverride(kind=kind, user_id=user_id, starts_at=starts_at, ends_at=ends_at, trade_id=trade_id,
                                 role=role, replaces_user_id=replaces_user_id, reason=(reason or "")[:200] or None,
                                 created_by_id=actor_id, created_at=clock_now())
        session.add(override)
    return override


CSV_COLUMNS = ("trade", "role", "username", "weekday", "starts", "ends")
WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


def import_csv(text: str, replace_existing: bool = False) -> int:
    """Load weekly shifts from CSV (trade code or blank, role, username, weekday mon..sun or 0..6,
    starts HH:MM, ends HH:MM). All rows or none: the first bad row is named with its line number."""
    try:
        return _import_rows(csv.DictReader(io.StringIO(text, newline="")), replace_existing)
    except csv.Error:  # e.g. a stray carriage return or a NUL inside a cell
        raise ValidationError(_("The file could not be read as CSV: save it again from the spreadsheet as "
                                "“CSV UTF-8”."), field="file") from None


def _import_rows(reader: csv.DictReader, replace_existing: bool) -> int:
    missing = [c for c in CSV_COLUMNS if c not in (reader.fieldnames or [])]
    if missing:
        raise ValidationError(_("The CSV needs the columns: %(cols)s.", cols=", ".join(CSV_COLUMNS)), field="file")
    trades = {t.code: t.id for t in db.session.scalars(select(Trade))}
    users = {u.username: u for u in db.session.scalars(select(User))}
    rows = []
    for line, row in enumerate(reader, start=2):
        def bad(message: str):
            return ValidationError(_("Line %(line)d: %(message)s", line=line, message=message), field="file")

        code = (row["trade"] or "").strip()
        if code and code not in trades:
            raise bad(_("unknown trade %(code)s", code=code))
        role = (row["role"] or "").strip()
        if role not in ROTA_ROLES:
            raise bad(_("unknown role %(role)s", role=role))
        user = users.get((row["username"] or "").strip())
        if user is None:
            raise bad(_("unknown username"))
        day = (row["weekday"] or "").strip().lower()[:3]
        weekday = WEEKDAYS.index(day) if day in WEEKDAYS else whole_number(day, max_digits=1)
        if weekday is None or weekday > 6:
            raise bad(_("weekday must be mon..sun"))
        try:
            starts, ends = time.fromisoformat(row["starts"].strip()), time.fromisoformat(row["ends"].strip())
        except (ValueError, AttributeError):
            raise bad(_("times must look like 08:00")) from None
        if role in TECHNICIAN_ROLES and (not code or user.role != "technician"):
            raise bad(_("primary and secondary need a trade and a technician"))
        rows.append(OnCallShift(trade_id=trades.get(code), role=role, user_id=user.id, weekday=weekday, starts=starts,
                                ends=ends))
    with write_transaction() as session:
        if replace_existing:
            for shift in session.scalars(select(OnCallShift)):
                session.delete(shift)
        session.add_all(rows)
    return len(rows)


def shifts_of(user_id: int, start: datetime, end: datetime) -> list[Duty]:
    return [d for d in duties_between(start, end) if d.user_id == user_id]


def overrides_between(start: datetime, end: datetime) -> list[ShiftOverride]:
    return list(db.session.scalars(select(ShiftOverride).where(
        and_(ShiftOverride.starts_at < end, ShiftOverride.ends_at > start)).order_by(ShiftOverride.starts_at)))


def remove_override(override_id: int) -> None:
    """Delete an override; a swap request it came from keeps its answer but no longer points at it."""
    with write_transaction() as session:
        override = session.get(ShiftOverride, override_id)
        if override is None:
            raise ValidationError(_("No such change to the rota."), field="override")
        for request in session.scalars(select(SwapRequest).where(SwapRequest.override_id == override_id)):
            request.override_id = None
        session.flush()
        session.delete(override)


def export_csv() -> str:
    """The weekly pattern in import_csv's columns, so an export imports back unchanged.
    (valid_from / valid_until are not part of the CSV format.)"""
    trades = {t.id: t.code for t in db.session.scalars(select(Trade))}
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(CSV_COLUMNS)
    shifts = db.session.scalars(select(OnCallShift)).all()
    for shift in sorted(shifts, key=lambda s: (trades.get(s.trade_id, ""), s.weekday, s.starts,
                                               ROLE_ORDER.get(s.role, 9), s.user.username)):
        writer.writerow((trades.get(shift.trade_id, ""), shift.role, shift.user.username, WEEKDAYS[shift.weekday],
                         shift.starts.strftime("%H:%M"), shift.ends.strftime("%H:%M")))
    return out.getvalue()
