"""The demo hospital's preventive maintenance: a dozen schedules with a few months of planned tickets
behind them (mostly done on time, some late, one date skipped) and this week's opened by the schedule
itself, so the planned-work calendar and its compliance figures have something to show."""
from __future__ import annotations

import random
from datetime import date, datetime, time, timedelta, timezone

from sqlalchemy import select

from dispatch.services import engine, planned, recurrence
from dispatch.services.engine import Past
from dispatch.services.timezone import hospital_date, hospital_zone
from models import (
    Asset, MaintenanceSchedule, PlannedOccurrence, Ticket, TicketChecklistItem, TicketEvent, Trade, User, Ward, db,
)

LIFT_STEPS = ["Check landing and car door locks", "Test the alarm and intercom", "Check levelling at each floor",
              "Inspect ropes and sheaves", "Record in the lift log book"]
GAS_STEPS = ["Test the area alarm panel (high and low pressure)", "Read line pressures (O2, air, vacuum)",
             "Check the zone valve box seals", "Record readings"]
AC_STEPS = ["Isolate the unit", "Replace the filters", "Clean the drip tray and drain", "Check the supply temperature"]
ELECTRICAL_STEPS = ["Visual inspection of the distribution board", "Thermal scan under load", "Test RCD trip times",
                    "Insulation resistance tests", "Update the circuit chart"]
LIGHTING_STEPS = ["Switch to emergency test mode", "Check every fitting lights", "Note failed fittings", "Restore mains"]
WATER_STEPS = ["Run each little-used outlet for 2 minutes", "Record hot and cold temperatures", "Sign the flushing log"]

# (title, ward index in WARDS, asset tag prefix or None, trade code, unit, count, days since first due, lead, minutes, steps)
SCHEDULES = [
    ("Monthly lift inspection, bed lift A1", 4, "LIFT-A1", "lift", "month", 1, 92, 7, 90, LIFT_STEPS),
    ("Monthly lift inspection, bed lift A2", 4, "LIFT-A2", "lift", "month", 1, 78, 7, 90, LIFT_STEPS),
    ("Weekly medical gas alarm test, ICU", 0, None, "gas", "week", 1, 61, 2, 30, GAS_STEPS),
    ("Weekly medical gas alarm test, Theatres", 1, None, "gas", "week", 1, 59, 2, 30, GAS_STEPS),
    ("Quarterly AC filter change, ICU", 0, "AC", "hvac", "month", 3, 80, 14, 60, AC_STEPS),
    ("Quarterly AC filter change, Theatres", 1, "AC", "hvac", "month", 3, 85, 14, 60, AC_STEPS),
    ("Fortnightly ventilation check, Isolation Ward 5", 3, "AC", "hvac", "week", 2, 70, 3, 45,
     ["Check room pressure differential", "Check the air change indicator", "Inspect door seals"]),
    ("Monthly emergency lighting test, Ward 7", 5, None, "power", "month", 1, 66, 5, 40, LIGHTING_STEPS),
    ("Six-monthly UPS battery test, Theatres", 1, "DB", "power", "month", 6, 150, 10, 120,
     ["Check battery cabinet temperature", "Run a 10-minute discharge test", "Record cell voltages"]),
    ("Weekly flushing of little-used outlets, Isolation Ward 5", 3, None, "water", "week", 1, 58, 1, 25, WATER_STEPS),
    ("Monthly thermostatic mixing valve check, Maternity", 7, None, "water", "month", 1, 64, 5, 50,
     ["Check the outlet temperature (max 43 °C)", "Fail-safe test (isolate cold)", "Clean the strainer"]),
]
# The annual electrical inspection is on fixed dates: the ED's distribution board, 12 days from today.
ANNUAL = ("Annual electrical inspection, Emergency Department", 2, "DB", "power", 21, 240, ELECTRICAL_STEPS)


def _at(day: date, hour: int, minute: int = 0) -> datetime:
    return datetime.combine(day, time(hour, minute), tzinfo=hospital_zone()).astimezone(timezone.utc)


def seed_planned_work(rng: random.Random, moment: datetime, wards: list[Ward], trades: dict[str, Trade],
                      by_trade: dict[str, list[User]]) -> tuple[int, int]:
    """(schedules, planned tickets). Call after staff, wards and assets exist."""
    today = hospital_date(moment)
    supervisor = db.session.scalar(select(User).where(User.username == "supervisor"))
    dispatcher = db.session.scalar(select(User).where(User.username == "dispatcher"))
    schedules = []
    for title, ward_index, tag, code, unit, count, back, lead, minutes, steps in SCHEDULES:
        ward = wards[ward_index]
        asset = _asset(ward, tag)
        schedules.append(MaintenanceSchedule(
            title=title, ward=ward, asset=asset, location=asset.location if asset else None, trade=trades[code],
            checklist=steps, estimated_minutes=minutes, recurrence="interval", interval_unit=unit, interval_count=count,
            start_date=today - timedelta(days=back), lead_days=lead, active=True, opens_from=today - timedelta(days=back),
            created_at=moment - timedelta(days=back + 30), updated_at=moment - timedelta(days=back + 30),
            created_by_id=supervisor.id))
    title, ward_index, tag, code, lead, minutes, steps = ANNUAL
    ward = wards[ward_index]
    asset = _asset(ward, tag)
    first = today - timedelta(days=365 - 12)
    fixed = [first, today + timedelta(days=12), today + timedelta(days=12 + 365)]
    schedules.append(MaintenanceSchedule(
        title=title, ward=ward, asset=asset, location=asset.location if asset else None, trade=trades[code],
        checklist=steps, estimated_minutes=minutes, recurrence="dates", fixed_dates=[d.isoformat() for d in fixed],
        start_date=fixed[0], lead_days=lead, active=True, opens_from=today - timedelta(days=60),
        created_at=moment - timedelta(days=400), updated_at=moment - timedelta(days=400), created_by_id=supervisor.id))
    db.session.add_all(schedules)
    db.session.flush()

    count = 0
    skipped_one = False
    for schedule in schedules:
        for due in recurrence.due_dates(schedule, schedule.opens_from, today - timedelta(days=1)):
            if planned.opens_on(schedule, due) > today:
                continue
            if not skipped_one and schedule.interval_unit == "week" and due < today - timedelta(days=20):
                db.session.add(PlannedOccurrence(schedule=schedule, due_date=due, trade_id=schedule.trade_id,
                                                 state="skipped", skipped_at=_at(due - timedelta(days=3), 9),
                                                 skipped_by_id=supervisor.id,
                                                 skip_reason="Ward closed for deep clean; test done by the contractor"))
                skipped_one = True
                continue
            _past_ticket(rng, schedule, due, moment, by_trade[schedule.trade.code], dispatcher)
            count += 1
    db.session.commit()
    # This week's and the coming days' tickets: opened by the schedules themselves, as the scheduler would.
    count += planned.open_due(moment)
    _assign_some(moment, dispatcher, by_trade)
    return len(schedules), count


def _asset(ward: Ward, tag: str | None) -> Asset | None:
    if tag is None:
        return None
    assets = db.session.scalars(select(Asset).where(Asset.tag.like(f"{tag}%"))).all()
    return next((a for a in assets if a.ward_id == ward.id), None) or (assets[0] if tag.startswith("LIFT") else None)


def _past_ticket(rng, schedule: MaintenanceSchedule, due: date, moment: datetime, people: list[User],
                 dispatcher: User) -> None:
    """A planned ticket from the past: opened on its opening day, done on time nine times in ten."""
    created = _at(planned.opens_on(schedule, due), 0, 1)
    tech = rng.choice(people)
    description = f"Planned: {schedule.title}, due {due.isoformat()}."
    late = rng.random() < 0.12
    work_day = due + timedelta(days=rng.randint(1, 4)) if late else max(
        planned.opens_on(schedule, due), due - timedelta(days=rng.randint(0, min(schedule.lead_days, 4))))
    attended = _at(work_day, rng.randint(8, 13), rng.randint(0, 59))
    assigned = min(created + timedelta(hours=rng.uniform(1, 8)), attended - timedelta(hours=1))
    resolved = attended + timedelta(minutes=(schedule.estimated_minutes or 60) * rng.uniform(0.7, 1.5))
    still_open = late and resolved > moment
    fields = dict(ward=schedule.ward, location=schedule.location, asset=schedule.asset, trade=schedule.trade,
                  trade_id=schedule.trade.id, priority=4, whole_area=False, patient_at_risk=False,
                  description=description)
    history = [Past(assigned, "assign", dispatcher.id, note=tech.full_name, technician_id=tech.id),
               Past(assigned + timedelta(minutes=rng.randint(5, 90)), "acknowledge", tech.id)]
    if not still_open:
        fields["labour_minutes"] = int((resolved - attended).total_seconds() // 60)
        fields["resolution_note"] = "Planned maintenance done; no defects" if rng.random() < 0.8 else \
            "Done; one defect found and reported separately"
        history += [Past(attended, "attend", tech.id), Past(resolved, "resolve", tech.id)]
    # Opened by the schedule and moved through its past by the engine's table (engine.replay).
    ticket = engine.replay(db.session, fields, history, moment, reported=Past(
        created, "report", None, "system", description,
        data={"priority": 4, "planned": True, "schedule_id": schedule.id, "due_date": due.isoformat()}))
    db.session.flush()
    skip_last = not still_open and rng.random() < 0.1  # now and then a step is left unticked
    for position, text in enumerate(schedule.checklist, 1):
        ticked = not still_open and not (skip_last and position == len(schedule.checklist))
        done_at = attended + timedelta(minutes=5 * position) if ticked else None
        db.session.add(TicketChecklistItem(ticket_id=ticket.id, position=position, text=text, done_at=done_at,
                                           done_by_id=tech.id if ticked else None))
        if ticked:
            db.session.add(TicketEvent(ticket_id=ticket.id, at=done_at, actor_id=tech.id, kind="checklist_ticked",
                                       channel="web", note=f"{position}. {text}", data={"position": position}))
    db.session.add(PlannedOccurrence(schedule=schedule, due_date=due, trade_id=schedule.trade_id, state="opened",
                                     ticket_id=ticket.id, opened_at=created))


def _assign_some(moment: datetime, dispatcher: User, by_trade: dict[str, list[User]]) -> None:
    """Give the open planned power and lift jobs to a technician (the power ones to wang.electric, the demo
    technician login), so the job page shows a checklist to tick."""
    from dispatch.errors import DispatchError
    from dispatch.services.assignment import assign_ticket

    wang = db.session.scalar(select(User).where(User.username == "wang.electric"))
    rows = db.session.execute(select(Ticket.id, Trade.code).join(PlannedOccurrence, PlannedOccurrence.ticket_id == Ticket.id)
                              .join(Trade, Trade.id == Ticket.trade_id).where(Ticket.status == "new")).all()
    for ticket_id, code in rows:
        person = wang if code == "power" and wang is not None else (by_trade.get(code) or [None])[0]
        if person is None or code not in ("power", "lift", "gas"):
            continue
        try:
            assign_ticket(ticket_id, person.id, dispatcher)
        except DispatchError:
            continue
