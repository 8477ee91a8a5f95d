"""The log of utility interruptions (Joint Commission EC.02.05.07's record of utility disruptions): power, water,
medical gas, HVAC and lifts, planned or not, with the wards affected, the emergency plan used, the clinical
actions taken and the tickets and incident behind them. A planned interruption is announced to its wards by SMS
`notice_hours` before it starts, by the scheduler, once."""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import select, update

from dispatch.clock import now as clock_now
from dispatch.errors import NotFoundError, ValidationError
from dispatch.i18n import short_datetime
from dispatch.services import access, ward_notices
from dispatch.services.binder_section import BinderSection
from dispatch.services.report_filters import check_period
from dispatch.services.timezone import hospital_date, hospital_zone
from dispatch.services.unit_of_work import write_transaction
from dispatch.sms import permit_text
from models import UTILITIES, EmergencyPlanVersion, Incident, Ticket, User, UtilityInterruption, Ward, db

UTILITY_LABELS = {"power": _l("Power"), "water": _l("Water"), "medical_gas": _l("Medical gas"),
                  "hvac": _l("HVAC"), "lift": _l("Lifts")}
# The trade a fault is reported under -> the utility it interrupts (for an incident's prefilled entry).
TRADE_UTILITY = {"power": "power", "water": "water", "gas": "medical_gas", "hvac": "hvac", "lift": "lift"}
DEFAULT_NOTICE_HOURS = 48
MAX_NOTICE_HOURS = 24 * 30
MAX_TEXT = 2000


@dataclass
class InterruptionValues:
    utility: str
    planned: bool
    starts_at: datetime
    cause: str
    ends_at: datetime | None = None
    clinical_actions: str | None = None
    ward_ids: list[int] = field(default_factory=list)
    ticket_ids: list[int] = field(default_factory=list)
    incident_id: int | None = None
    plan_version_id: int | None = None
    notice_hours: int = DEFAULT_NOTICE_HOURS


def _validated(values: InterruptionValues) -> None:
    if values.utility not in UTILITIES:
        raise ValidationError(_("Choose a utility."), field="utility")
    for name in ("starts_at", "ends_at"):
        moment = getattr(values, name)
        if moment is not None and not 2000 <= moment.year <= 2100:  # a typo, and past what timedelta can move
            raise ValidationError(_("Give a time between 2000 and 2100."), field=name)
    if values.ends_at is not None and values.ends_at <= values.starts_at:
        raise ValidationError(_("The interruption must end after it starts."), field="ends_at")
    if not (values.cause or "").strip():
        raise ValidationError(_("This field is required."), field="cause")
    for name in ("cause", "clinical_actions"):
        if len(getattr(values, name) or "") > MAX_TEXT:
            raise ValidationError(_("At most %(n)d characters.", n=MAX_TEXT), field=name)
    if not values.ward_ids:
        raise ValidationError(_("Name at least one ward affected."), field="ward_ids")
    if not 0 <= values.notice_hours <= MAX_NOTICE_HOURS:
        raise ValidationError(_("Between 0 and %(n)d hours.", n=MAX_NOTICE_HOURS), field="notice_hours")


def _rows(model, ids: list[int], name: str) -> list:
    rows = list(db.session.scalars(select(model).where(model.id.in_(ids)))) if ids else []
    if len(rows) != len(set(ids)):
        raise ValidationError(_("Unknown entry."), field=name)
    return rows


def save_interruption(actor: User, interruption_id: int | None, values: InterruptionValues) -> UtilityInterruption:
    """Log a new interruption or correct one (its end, the clinical actions). A planned one not yet announced
    is announced `notice_hours` before its (possibly moved) start. Raises ValidationError naming the field."""
    access.require_role(actor, access.PERMIT_EDITORS)
    _validated(values)
    wards = _rows(Ward, values.ward_ids, "ward_ids")
    tickets = _rows(Ticket, values.ticket_ids, "ticket_ids")
    if values.incident_id is not None and db.session.get(Incident, values.incident_id) is None:
        raise ValidationError(_("Unknown entry."), field="incident_id")
    if values.plan_version_id is not None and db.session.get(EmergencyPlanVersion, values.plan_version_id) is None:
        raise ValidationError(_("Unknown entry."), field="plan_version_id")
    with write_transaction() as session:
        if interruption_id is None:
            entry = UtilityInterruption(created_by_id=actor.id, created_at=clock_now())
            session.add(entry)
        else:
            entry = session.get(UtilityInterruption, interruption_id)
            if entry is None:
                raise NotFoundError(_("Interruption %(number)s not found.", number=interruption_id))
        for name in ("utility", "planned", "starts_at", "ends_at", "incident_id", "plan_version_id", "notice_hours"):
            setattr(entry, name, getattr(values, name))
        entry.cause = values.cause.strip()
        entry.clinical_actions = (values.clinical_actions or "").strip() or None
        entry.wards = [session.get(Ward, w.id) for w in wards]
        entry.tickets = [session.get(Ticket, t.id) for t in tickets]
        if entry.announced_at is None:
            entry.announce_at = values.starts_at - timedelta(hours=values.notice_hours) if values.planned else None
    return entry


def values_of(entry: UtilityInterruption) -> InterruptionValues:
    """An entry's values, for its form."""
    return InterruptionValues(
        utility=entry.utility, planned=entry.planned, starts_at=entry.starts_at, ends_at=entry.ends_at,
        cause=entry.cause, clinical_actions=entry.clinical_actions, ward_ids=[w.id for w in entry.wards],
        ticket_ids=[t.id for t in entry.tickets], incident_id=entry.incident_id,
        plan_version_id=entry.plan_version_id, notice_hours=entry.notice_hours)


def prefill_from_incident(incident_id: int) -> InterruptionValues:
    """An unplanned interruption as a major incident suggests it: its utility, wards, tickets, start and the
    emergency plan its lead ticket is handled under."""
    incident = db.session.get(Incident, incident_id)
    if incident is None:
        raise NotFoundError(_("Incident %(number)s not found.", number=incident_id))
    tickets = [m.ticket for m in incident.members if m.ungrouped_at is None]
    return InterruptionValues(
        utility=TRADE_UTILITY.get(incident.trade.code, "power"), planned=False, starts_at=incident.opened_at,
        cause=incident.lead_ticket.description, ward_ids=sorted({t.ward_id for t in tickets}),
        ticket_ids=[t.id for t in tickets], incident_id=incident.id,
        plan_version_id=incident.lead_ticket.plan_version_id, notice_hours=0)


def announce_due(now: datetime) -> int:
    """Announce every planned interruption whose notice time has come and that has not ended: one SMS per ward
    contact, once. The conditional UPDATE claims it, so two schedulers cannot both announce it."""
    due = list(db.session.scalars(select(UtilityInterruption.id).where(
        UtilityInterruption.planned.is_(True), UtilityInterruption.announced_at.is_(None),
        UtilityInterruption.announce_at <= now,
        UtilityInterruption.ends_at.is_(None) | (UtilityInterruption.ends_at > now))))
    db.session.rollback()  # end the read before each write transaction
    told = 0
    for interruption_id in due:
        with write_transaction() as session:
            claimed = session.execute(update(UtilityInterruption).where(
                UtilityInterruption.id == interruption_id, UtilityInterruption.announced_at.is_(None))
                .values(announced_at=now)).rowcount
            if claimed != 1:
                continue
            entry = session.get(UtilityInterruption, interruption_id)
            told += _announce(session, entry)
    return told


def _announce(session, entry: UtilityInterruption) -> int:
    ends = short_datetime(entry.ends_at) if entry.ends_at else "?"
    return ward_notices.tell_wards(session, entry.wards, lambda ward: permit_text.interruption_notice(
        str(UTILITY_LABELS[entry.utility]), ward.name, short_datetime(entry.starts_at), ends, entry.cause))


def period(start: date | None, end: date | None) -> tuple[date, date]:
    """A period of hospital days for the log and the permits' figures: this month so far unless given. Raises
    ValidationError naming the field."""
    today = hospital_date(clock_now())
    start, end = start or today.replace(day=1), end or today
    check_period(start, end)
    return start, end


def interruptions_between(start: date, end: date) -> list[UtilityInterruption]:
    """Interruptions that started in the hospital days start..end (inclusive), latest first."""
    zone = hospital_zone()
    first = datetime.combine(start, time.min, zone)
    after = datetime.combine(end + timedelta(days=1), time.min, zone)
    return list(db.session.scalars(select(UtilityInterruption).where(
        UtilityInterruption.starts_at >= first, UtilityInterruption.starts_at < after)
        .order_by(UtilityInterruption.starts_at.desc())))


def upcoming(now: datetime) -> list[UtilityInterruption]:
    """Planned interruptions not yet started, soonest first."""
    return list(db.session.scalars(select(UtilityInterruption).where(
        UtilityInterruption.planned.is_(True), UtilityInterruption.starts_at > now)
        .order_by(UtilityInterruption.starts_at)))


def summary_counts(entries: list[UtilityInterruption]) -> dict[str, int]:
    """The figures the page and the binder both show."""
    return {"total": len(entries), "planned": sum(1 for e in entries if e.planned),
            "unplanned": sum(1 for e in entries if not e.planned),
            "minutes": sum(e.minutes or 0 for e in entries)}


def binder_sections(start: date, end: date, standard: str | None, locale: str) -> list[BinderSection]:
    """The interruption log for the inspector's binder (EC.02.05.07: a log of utility disruptions). Every
    standard reads it; the texts are already in the reader's language (the caller sets the locale)."""
    entries = interruptions_between(start, end)
    counts = summary_counts(entries)
    rows = [[short_datetime(e.starts_at), short_datetime(e.ends_at) if e.ends_at else "—",
             str(UTILITY_LABELS[e.utility]), _("planned") if e.planned else _("unplanned"),
             ", ".join(w.name for w in e.wards), e.cause, e.plan_version.title if e.plan_version else "—",
             e.clinical_actions or "—", ", ".join(f"#{t.id}" for t in e.tickets) or "—"] for e in entries]
    deficiencies = [[short_datetime(e.starts_at), str(UTILITY_LABELS[e.utility]), ", ".join(w.name for w in e.wards),
                     _("planned, never announced to the wards")] for e in entries
                    if e.planned and e.announced_at is None and e.starts_at <= clock_now()]
    return [BinderSection(
        title=_("Utility interruptions"),
        columns=[_("Started"), _("Ended"), _("Utility"), _("Kind"), _("Wards affected"), _("Cause"),
                 _("Emergency plan used"), _("Clinical actions"), _("Tickets")],
        rows=rows, deficiencies=deficiencies,
        deficiency_columns=[_("Started"), _("Utility"), _("Wards affected"), _("Deficiency")],
        summary=_("%(total)d interruptions (%(planned)d planned, %(unplanned)d unplanned), %(minutes)d minutes",
                  **counts))]
