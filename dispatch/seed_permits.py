"""Demo data for permits to work and utility interruptions: which trades need permits and whose licences make
Authorised and Competent Persons, a live permit on a medical gas job, a planned water interruption next week,
and last month's unplanned ICU power loss (an incident) in the log."""
from __future__ import annotations

from datetime import date, datetime, timedelta

from sqlalchemy import select

from dispatch.services import interruptions, permits
from dispatch.services.assignment import assign_ticket
from dispatch.services.tickets import report_fault, transition
from dispatch.services.timezone import hospital_date
from models import (
    Incident, IncidentMember, Licence, LicenceType, PermitRequirement, Ticket, Trade, User, Ward, db,
)

# Authorised Person and Competent Person licence types per trade that needs permits (HTM 02-01: medical gas
# pipeline systems; HTM 06-02: high-voltage electrical; lifts: the hospital's own rule).
PERMIT_LICENCES = [
    ("gas", "ap-medical-gas", "Authorised Person, medical gas pipelines (HTM 02-01)",
     "cp-medical-gas", "Competent Person, medical gas pipelines (HTM 02-01)", None),
    ("power", "ap-hv", "Authorised Person, high voltage (HTM 06-02)",
     "cp-hv", "Competent Person, high voltage (HTM 06-02)", "high voltage, hv, 10kv, 高压"),
    ("lift", "ap-lift", "Authorised Person, lifts", "cp-lift", "Competent Person, lifts", None),
]


def _licence_type(code: str, name: str) -> LicenceType:
    found = db.session.scalar(select(LicenceType).where(LicenceType.code == code))
    if found is None:
        found = LicenceType(code=code, name=name)
        db.session.add(found)
        db.session.flush()
    return found


def seed_permit_rules() -> dict[str, PermitRequirement]:
    """The AP/CP licence types and the permit rule per trade (idempotent). Power needs a permit only for
    high-voltage work (its keywords); medical gas and lifts for every job."""
    rules = {}
    for trade_code, ap_code, ap_name, cp_code, cp_name, keywords in PERMIT_LICENCES:
        trade = db.session.scalar(select(Trade).where(Trade.code == trade_code))
        rule = db.session.scalar(select(PermitRequirement).where(PermitRequirement.trade_id == trade.id))
        if rule is None:
            rule = PermitRequirement(trade_id=trade.id, authorised_type_id=_licence_type(ap_code, ap_name).id,
                                     competent_type_id=_licence_type(cp_code, cp_name).id, keywords=keywords)
            db.session.add(rule)
        rules[trade_code] = rule
    db.session.commit()
    return rules


def give_permit_licence(person: User, code: str, issued: date, expires: date, number: str) -> Licence:
    licence = Licence(technician=person, licence_type=db.session.scalar(select(LicenceType).where(LicenceType.code == code)),
                      number=number, issuer="Hospital estates (permit-to-work scheme)", issued_on=issued, expires_on=expires)
    db.session.add(licence)
    return licence


def seed_permits_demo(moment: datetime, wards: list[Ward]) -> str:
    """The demo's permits and interruptions (after the tickets, plans and rota are seeded)."""
    seed_permit_rules()
    today = hospital_date(moment)
    supervisor = db.session.scalar(select(User).where(User.username == "supervisor"))
    gas_tech = db.session.scalar(select(User).where(User.username == "wu.gas"))
    for person, codes in ((supervisor, ("ap-medical-gas", "ap-hv", "ap-lift")), (gas_tech, ("cp-medical-gas",)),
                          (db.session.scalar(select(User).where(User.username == "ma.lift")), ("cp-lift",)),
                          (db.session.scalar(select(User).where(User.username == "wang.electric")), ("cp-hv",))):
        for code in codes:
            give_permit_licence(person, code, today - timedelta(days=200), today + timedelta(days=500),
                                f"PTW-{person.id:03d}-{code.upper()}")
    db.session.commit()
    by_name = {ward.name: ward for ward in wards}
    theatres, icu, ward7 = by_name["Theatres"], by_name["Intensive Care Unit"], by_name["Ward 7 Surgical"]
    gas = db.session.scalar(select(Trade).where(Trade.code == "gas"))
    dispatcher = db.session.scalar(select(User).where(User.username == "dispatcher"))
    ticket = report_fault(dispatcher, ward_id=theatres.id, trade_id=gas.id, priority=3, whole_area=False,
                          description="Replace leaking oxygen area valve service unit (AVSU) for Theatre 2")
    assign_ticket(ticket.id, gas_tech.id, dispatcher)
    transition(ticket.id, "acknowledge", gas_tech)
    permit = permits.draft_permit(dispatcher, ticket.id, permits.PermitValues(
        work="Replace the oxygen AVSU serving Theatre 2 (leaking gland)",
        isolation_points="Oxygen AVSU T2-O2, Theatres corridor, closed and tagged\nZone valve box ZVB-2 locked",
        precautions="Theatre 2 out of use; portable oxygen cylinders at the anaesthetic machine\n"
                    "No naked flames; purge and test for oxygen purity before returning to use",
        ward_ids=[theatres.id], valid_from=moment - timedelta(minutes=30), valid_until=moment + timedelta(hours=4)))
    permits.issue_permit(permit.id, supervisor)
    permits.accept_permit(permit.id, gas_tech)
    transition(ticket.id, "attend", gas_tech)

    manager = db.session.scalar(select(User).where(User.username == "manager"))
    week_on = moment + timedelta(days=7)
    interruptions.save_interruption(manager, None, interruptions.InterruptionValues(
        utility="water", planned=True, starts_at=week_on.replace(minute=0, second=0, microsecond=0),
        ends_at=week_on.replace(minute=0, second=0, microsecond=0) + timedelta(hours=3),
        cause="Cold water main valve replacement, Surgical Block riser 2", ward_ids=[ward7.id, theatres.id],
        clinical_actions="Bottled water and hand-rub stations; theatre list moved to the afternoon",
        notice_hours=48))
    past = _past_power_incident(icu)
    if past is not None:
        values = interruptions.prefill_from_incident(past.id)
        values.ends_at = past.resolved_at
        values.clinical_actions = "Ventilators ran on battery; portable suction brought from Ward 3; no patient harm"
        interruptions.save_interruption(manager, None, values)
    return f"permits: 1 live (ticket #{ticket.id}); interruptions: 1 planned next week, 1 past unplanned"


def _past_power_incident(icu: Ward) -> Incident | None:
    """Last month's ICU power loss (the seeded ticket handled under the plan's version 1) as the major incident
    it was, resolved; the seed writes it directly, as it does that ticket's history."""
    lead = db.session.scalar(select(Ticket).where(Ticket.ward_id == icu.id, Ticket.status == "closed",
                                                  Ticket.plan_version_id.is_not(None)).order_by(Ticket.created_at))
    if lead is None:
        return None
    incident = Incident(trade_id=lead.trade_id, building_id=icu.building_id, lead_ticket_id=lead.id, state="resolved",
                        opened_at=lead.created_at, resolved_at=lead.resolved_at, outcome=lead.resolution_note)
    db.session.add(incident)
    db.session.flush()
    db.session.add(IncidentMember(incident_id=incident.id, ticket_id=lead.id, is_lead=True, grouped_at=lead.created_at,
                                  own_status="assigned", own_assignee_id=lead.assignee_id))
    db.session.commit()
    return incident
