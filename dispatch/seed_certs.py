"""The demo hospital's statutory equipment and required activities: the bed lifts registered with their
certificates (one running out at the end of this month, its reminders sent and the inspection still to be
requested), a medical air receiver whose certificate lapsed last week (it must not be used), a boiler, the
standby generator in the inventory, and the maintenance schedules the standards require, counted from the
start of their planned history."""
from __future__ import annotations

from datetime import date, datetime, timedelta

from sqlalchemy import func, select

from dispatch.services import recurrence, required_activities
from dispatch.services.timezone import hospital_date
from models import (
    Asset, AssetRegister, Certificate, CertificateNotice, MaintenanceSchedule, PlannedOccurrence, RequiredActivity, Trade,
    Ward, db,
)

AUTHORITY = "Municipal Special Equipment Inspection Institute (特种设备检验研究院)"
# Schedule titles from dispatch/seed_planned.py and the standard that requires each.
REQUIRED = {
    "Monthly lift inspection, bed lift A1": "TSG T5001",
    "Monthly lift inspection, bed lift A2": "TSG T5001",
    "Weekly medical gas alarm test, ICU": "HTM 02-01",
    "Weekly medical gas alarm test, Theatres": "HTM 02-01",
    "Quarterly AC filter change, ICU": "JC EC.02.05.01",
    "Quarterly AC filter change, Theatres": "JC EC.02.05.01",
    "Monthly emergency lighting test, Ward 7": "JC EC.02.05.07",
    "Six-monthly UPS battery test, Theatres": "NFPA 99",
}


def seed_compliance(moment: datetime) -> int:
    """Registers the equipment, records the certificates and marks the schedules required. Returns how many
    required schedules there are."""
    today = hospital_date(moment)
    month_end = recurrence.add_months(today.replace(day=1), 1) - timedelta(days=1)
    lifts = {a.tag: a for a in db.session.scalars(select(Asset).where(Asset.tag.like("LIFT-A%")))}
    plant_ward = next(iter(lifts.values())).ward if lifts else db.session.scalars(select(Ward)).first()
    trades = {t.code: t for t in db.session.scalars(select(Trade))}
    extra = [Asset(tag="PV-AIR-1", name="Medical air receiver", ward=plant_ward, trade=trades.get("gas")),
             Asset(tag="BOILER-1", name="Steam boiler 1", ward=plant_ward, trade=trades.get("water")),
             Asset(tag="GEN-1", name="Standby generator 1", ward=plant_ward, trade=trades.get("power"))]
    db.session.add_all(extra)
    db.session.flush()
    registered = [(lifts.get("LIFT-A1"), "lift", "31103101200012", today - timedelta(days=200), today + timedelta(days=165)),
                  (lifts.get("LIFT-A2"), "lift", "31103101200013", today.replace(day=1) - timedelta(days=330), month_end),
                  (extra[0], "pressure_vessel", "21103101200007", today - timedelta(days=372), today - timedelta(days=7)),
                  (extra[1], "boiler", "11103101200002", today - timedelta(days=90), today + timedelta(days=275))]
    for asset, kind, number, inspected, valid_until in registered:
        if asset is None:
            continue
        db.session.add(AssetRegister(asset_id=asset.id, kind=kind, high_risk=True, registration_number=number,
                                     authority=AUTHORITY, updated_at=moment))
        db.session.add(Certificate(asset_id=asset.id, number=f"TJ{inspected:%Y}-{number[-5:]}", inspected_on=inspected,
                                   valid_until=valid_until, recorded_at=moment - timedelta(days=(today - inspected).days),
                                   recorded_by_id=None))
    db.session.add(AssetRegister(asset_id=extra[2].id, kind="generator", high_risk=True, updated_at=moment))
    db.session.flush()
    # The certificate running out this month: its reminders went out, the inspection is still to be requested.
    expiring = db.session.scalar(select(Certificate).where(Certificate.valid_until == month_end))
    if expiring is not None and month_end - today <= timedelta(days=30):
        for kind, days in (("remind_60", 60), ("remind_30", 30)):
            sent = datetime.combine(month_end - timedelta(days=days), moment.timetz())
            db.session.add(CertificateNotice(certificate_id=expiring.id, kind=kind, due_on=sent.date(),
                                             created_at=min(sent, moment), done_at=min(sent, moment)))
        db.session.add(CertificateNotice(certificate_id=expiring.id, kind="request_inspection",
                                         due_on=recurrence.add_months(month_end, -1), created_at=moment))
    marked = 0
    for schedule in db.session.scalars(select(MaintenanceSchedule).where(MaintenanceSchedule.title.in_(REQUIRED))):
        first = db.session.scalar(select(func.min(PlannedOccurrence.due_date))
                                  .where(PlannedOccurrence.schedule_id == schedule.id)) or schedule.start_date
        first = date.fromisoformat(first) if isinstance(first, str) else first
        db.session.add(RequiredActivity(schedule_id=schedule.id, standard=REQUIRED[schedule.title],
                                        required_since=first, updated_at=moment))
        marked += 1
    db.session.commit()
    required_activities.record_occurrences(moment)
    return marked
