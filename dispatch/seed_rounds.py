"""The demo hospital's inspection rounds and test records: a daily plant-room round with four weeks of
records (two days missed) and today's round with a failed item and its corrective ticket; the standby
generator's monthly NFPA 110 test with six months of records, one failed on its transfer time."""
from __future__ import annotations

import random
from datetime import date, datetime, time, timedelta, timezone

from sqlalchemy import select

from dispatch.services import check_forms, engine, planned, recurrence
from dispatch.services.check_forms import Answer, FormValues, ItemValues
from dispatch.services.engine import Past
from dispatch.services.timezone import hospital_date, hospital_zone
from models import (
    CheckForm, CheckItem, CheckRecord, CheckResult, MaintenanceSchedule, Ticket, TicketEvent, Trade, User, Ward, db,
)

ROUND_ITEMS = [
    ItemValues("Plant room doors shut and locked"),
    ItemValues("No water on the floor, no leaks at valves"),
    ItemValues("Chilled water flow pressure", "reading", "bar", 1.5, 4.5),
    ItemValues("Room temperature", "reading", "°C", None, 30),
    ItemValues("Fire extinguishers present, gauges in green"),
]
GENERATOR_ITEMS = [  # NFPA 110 §8.4.2: monthly, at least 30 minutes at not less than 30 % of nameplate load
    ItemValues("Minutes run under load", "reading", "min", 30, None),
    ItemValues("Load, % of nameplate rating", "reading", "%", 30, None),
    ItemValues("Transfer time, mains lost to load on generator", "reading", "s", None, 10),
    ItemValues("No leaks, no alarms at the panel"),
]


def _at(day: date, hour: int, minute: int = 0) -> datetime:
    return datetime.combine(day, time(hour, minute), tzinfo=hospital_zone()).astimezone(timezone.utc)


def seed_rounds(rng: random.Random, moment: datetime) -> int:
    """Two forms with their history; returns the number of records. Call after planned work is seeded."""
    today = hospital_date(moment)
    admin = db.session.scalar(select(User).where(User.username == "admin"))
    supervisor = db.session.scalar(select(User).where(User.username == "supervisor"))
    power = db.session.scalar(select(Trade).where(Trade.code == "power"))
    hvac = db.session.scalar(select(Trade).where(Trade.code == "hvac"))
    icu = db.session.scalar(select(Ward).where(Ward.name == "Intensive Care Unit"))
    theatres = db.session.scalar(select(Ward).where(Ward.name == "Theatres"))
    people = {u.username: u for u in db.session.scalars(select(User).where(User.role == "technician"))}
    round_schedule = _schedule("Daily plant room round, Block A", icu, hvac, "day", today - timedelta(days=28),
                               moment, supervisor)
    generator_schedule = _schedule("Monthly generator 1 load test", theatres, power, "month",
                                   today - timedelta(days=150), moment, supervisor)
    round_form = check_forms.save_form(admin, FormValues(
        kind="round", title="Daily plant room round, Block A", ward_id=icu.id, trade_id=hvac.id,
        standard="HTM 03-01", schedule_id=round_schedule.id, items=ROUND_ITEMS))
    generator = check_forms.save_form(admin, FormValues(
        kind="test", title="Generator 1 monthly load test", ward_id=theatres.id, trade_id=power.id,
        standard="NFPA 110", schedule_id=generator_schedule.id, items=GENERATOR_ITEMS))
    _made(round_form, moment - timedelta(days=29))
    _made(generator, moment - timedelta(days=160))
    db.session.commit()

    records = 0
    lin = people.get("lin.hvac") or next(iter(people.values()))
    missed = {today - timedelta(days=9), today - timedelta(days=17)}
    for back in range(28, 0, -1):
        day = today - timedelta(days=back)
        if day not in missed:
            _past_record(round_form, day, _at(day, 7, rng.randint(30, 59)), lin,
                         [True, True, round(rng.uniform(2.2, 3.4), 1), round(rng.uniform(22, 27), 1), True], moment)
            records += 1
    chen = people.get("chen.electric") or lin
    failed_month = generator_schedule.start_date.replace(day=1)
    for due in list(recurrence.due_dates(generator_schedule, generator_schedule.start_date,
                                                 today - timedelta(days=1))):
        late_transfer = due == recurrence.add_months(failed_month, 2).replace(day=due.day)
        values = [rng.choice([30, 35, 40, 45]), rng.choice([32, 38, 45, 51]), 12.4 if late_transfer else
                  round(rng.uniform(6.0, 9.5), 1), True]
        _past_record(generator, due, _at(due - timedelta(days=rng.randint(0, 2)), 10, 15), chen, values, moment,
                     note="Automatic transfer switch slow to close; contactor worn" if late_transfer else None)
        records += 1
    db.session.commit()
    # Today's round, through the service: the valve leak found opens its corrective ticket, dispatched as any fault.
    check_forms.submit_record(lin, round_form.id, {
        1: Answer(passed=True), 2: Answer(passed=False, note="Leak at the chilled water valve CV-4, drip tray filling"),
        3: Answer(reading=4.2), 4: Answer(reading=26.5), 5: Answer(passed=True)}, channel="sms")
    planned.open_due(moment)  # today's round and the next generator test, as planned tickets
    return records + 1


def _schedule(title: str, ward: Ward, trade: Trade, unit: str, start: date, moment: datetime,
              supervisor: User) -> MaintenanceSchedule:
    today = hospital_date(moment)
    schedule = MaintenanceSchedule(title=title, ward=ward, trade=trade, checklist=["Fill in the form on the phone page, "
                                                                                  "or reply C and the form's number"],
                                   estimated_minutes=30 if unit == "day" else 60, recurrence="interval",
                                   interval_unit=unit, interval_count=1, start_date=start, lead_days=0,
                                   active=True, opens_from=today, created_at=moment - timedelta(days=200),
                                   updated_at=moment - timedelta(days=200), created_by_id=supervisor.id)
    db.session.add(schedule)
    db.session.commit()
    return schedule


def _made(form: CheckForm, when: datetime) -> None:
    form.created_at = form.updated_at = when


def _past_record(form: CheckForm, due: date, done_at: datetime, tech: User, values: list, moment: datetime,
                 note: str | None = None):
    """A record from before today, written as it was then; a failed item gets its corrective ticket, resolved
    two days later."""
    items = list(db.session.scalars(select(CheckItem).where(CheckItem.form_id == form.id,
                                                            CheckItem.retired_at.is_(None))
                                    .order_by(CheckItem.position)))
    record = CheckRecord(form_id=form.id, due_date=due, done_at=done_at, done_by_id=tech.id, channel="web",
                         failed_count=0)
    db.session.add(record)
    db.session.flush()
    for item, value in zip(items, values):
        reading = None if item.kind == "check" else float(value)
        passed = bool(value) if item.kind == "check" else check_forms.reading_passes(reading, item.min_value,
                                                                                     item.max_value)
        result = CheckResult(record_id=record.id, item_id=item.id, position=item.position, label=item.label,
                             unit=item.unit, min_value=item.min_value, max_value=item.max_value, reading=reading,
                             passed=passed, note=None if passed else note)
        db.session.add(result)
        if not passed:
            record.failed_count += 1
            db.session.flush()
            result.ticket_id = _past_corrective(form, result, done_at, tech, moment).id


def _past_corrective(form: CheckForm, result: CheckResult, at: datetime, tech: User, moment: datetime) -> Ticket:
    """The failed item's corrective ticket from the past, moved through its life by the engine's table."""
    description = check_forms.failure_text(form, result)
    fixed = at + timedelta(days=2)
    fields = dict(ward=form.ward, trade=form.trade, trade_id=form.trade.id, priority=3, whole_area=False,
                  patient_at_risk=False, description=description, reporter_id=tech.id,
                  resolution_note="Contactor replaced; transfer re-tested at 7.8 s")
    history = [Past(at, "assign", tech.id, note=tech.full_name, technician_id=tech.id),
               Past(at + timedelta(minutes=10), "acknowledge", tech.id),
               Past(at + timedelta(hours=2), "attend", tech.id),
               Past(fixed, "resolve", tech.id, note=fields["resolution_note"]),
               Past(fixed + timedelta(hours=4), "confirm", tech.id)]
    ticket = engine.replay(db.session, fields, history, moment, reported=Past(
        at, "report", tech.id, "web", description,
        data={"priority": 3, "check_record_id": result.record_id, "check_result_id": result.id,
              "check_form_id": form.id}))
    db.session.flush()
    return ticket
