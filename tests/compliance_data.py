"""Building blocks for the compliance tests: a registered lift with a certificate, required schedules, and a
planned ticket worked to its end at a chosen moment."""
from __future__ import annotations

import io
from datetime import date, datetime

from sqlalchemy import select

from dispatch.services import certificates, planned, required_activities
from dispatch.services.assignment import assign_ticket
from dispatch.services.planned import ScheduleValues, save_schedule
from dispatch.services.tickets import transition
from models import Asset, PlannedOccurrence, RequiredOccurrence, db


def make_asset(hospital, tag: str = "LIFT-1", name: str = "Passenger lift 1", trade: str = "power") -> Asset:
    asset = Asset(tag=tag, name=name, ward_id=hospital.icu.id, trade_id=hospital.trades[trade].id)
    db.session.add(asset)
    db.session.commit()
    return asset


def statutory_lift(hospital, valid_until: date, inspected_on: date = date(2025, 4, 1), tag: str = "LIFT-1"):
    """A registered lift with one certificate (no report file)."""
    asset = make_asset(hospital, tag=tag)
    manager = hospital.user("manager")
    certificates.register_asset(manager, asset.id, kind="lift", high_risk=True,
                                registration_number=f"31104403{asset.id:04d}", authority="Shanghai market regulator")
    certificate = certificates.add_certificate(manager, asset.id, certificates.CertificateValues(
        f"TJ-{tag}-2025", inspected_on, valid_until), None)
    return asset, certificate


def required_schedule(hospital, standard: str = "JC EC.02.05.01", asset: Asset | None = None,
                      since: date | None = None, **overrides):
    values = dict(title="Monthly generator load test", ward_id=hospital.icu.id, trade_id=hospital.trades["power"].id,
                  start_date=date(2026, 3, 20), interval_unit="month", interval_count=1, lead_days=7,
                  asset_id=asset.id if asset else None)
    values.update(overrides)
    schedule = save_schedule(hospital.user("supervisor"), ScheduleValues(**values))
    required_activities.mark_required(hospital.user("manager"), schedule.id, standard=standard,
                                      since=since or values["start_date"])
    return schedule


def open_and_resolve(hospital, clock, schedule_id: int, due: date, resolve_at: datetime | None):
    """Open the occurrence's ticket (now), and, when given, work it to resolved at `resolve_at`."""
    planned.open_occurrence(schedule_id, due, clock.now())
    db.session.rollback()
    occurrence = db.session.scalar(select(PlannedOccurrence).where(PlannedOccurrence.schedule_id == schedule_id,
                                                                   PlannedOccurrence.due_date == due))
    if resolve_at is None:
        return occurrence.ticket
    assign_ticket(occurrence.ticket_id, hospital.users["sparky"].id, hospital.user("dispatcher"))
    sparky = hospital.user("sparky")
    transition(occurrence.ticket_id, "acknowledge", sparky)
    transition(occurrence.ticket_id, "attend", sparky)
    clock.set(resolve_at)
    transition(occurrence.ticket_id, "resolve", sparky, note="Done")
    db.session.rollback()
    return occurrence.ticket


def plain_pdf(text: str = "Inspection report") -> bytes:
    from reportlab.pdfgen import canvas

    out = io.BytesIO()
    page = canvas.Canvas(out)
    page.drawString(72, 720, text)
    page.save()
    return out.getvalue()


def furnish_compliance(hospital, asset: Asset, schedule) -> dict:
    """For the access matrix: the asset registered with a valid certificate and its report, a request-the-
    inspection task, and the schedule marked required (its March date recorded). No SMS is owed."""
    from datetime import timedelta

    from dispatch.clock import now
    from models import CertificateNotice

    manager = hospital.user("manager")
    certificates.register_asset(manager, asset.id, kind="electrical", high_risk=True, registration_number="REG-1",
                                authority="Test authority")
    certificate = certificates.add_certificate(manager, asset.id, certificates.CertificateValues(
        "CERT-1", date(2025, 6, 1), date(2026, 5, 31)), certificates.check_report(plain_pdf(), "report.pdf"))
    notice = CertificateNotice(certificate_id=certificate.id, kind="request_inspection", due_on=date(2026, 4, 30),
                               created_at=now() - timedelta(hours=1))
    db.session.add(notice)
    db.session.commit()
    required_activities.mark_required(manager, schedule.id, standard="JC EC.02.05.01")
    occurrence = db.session.scalar(select(RequiredOccurrence).where(RequiredOccurrence.schedule_id == schedule.id))
    # A generator test whose February date was missed: the compliance page offers its cause form.
    generator = save_schedule(hospital.user("supervisor"), ScheduleValues(
        title="Monthly generator load test", ward_id=hospital.icu.id, trade_id=hospital.trades["power"].id,
        start_date=date(2026, 2, 10), lead_days=0))
    required_activities.mark_required(manager, generator.id, standard="NFPA 110", since=date(2026, 2, 1))
    return {"asset": asset.id, "certificate_report": certificate.report_id, "notice": notice.id,
            "required_occurrence": occurrence.id}
