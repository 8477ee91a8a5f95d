"""Statutory equipment (特种设备: lifts, boilers, pressure vessels) and its inspection certificates.

A certificate is valid through its last day in hospital time, like a licence. "Must not be used" is defined
once, as SQL (`must_not_use_clause`): a statutory asset (one with a registration number) with no certificate
valid at that moment. The asset's page, its QR label's report page, the board and the reports all ask it, so
they turn at the same instant: the hospital midnight after the last valid day (`lapse_moment`).

Before a certificate expires the scheduler (`send_notices`) owes the estates managers an SMS 60 and 30 days
ahead and opens the task of asking the authority for the next inspection a month ahead. That task is a line
on the compliance page, not a planned ticket: asking the authority is the estates manager's paperwork, not a
trade's job, and a ticket would enter the board, the technicians' service targets and their workload.
"""
from __future__ import annotations

import io
import logging
import secrets
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from flask import current_app
from flask_babel import gettext as _
from sqlalchemy import and_, exists, literal, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import aliased, selectinload
from sqlalchemy.sql.elements import ColumnElement

from dispatch.clock import now as clock_now
from dispatch.errors import NotFoundError, ValidationError
from dispatch.services import access, notify, photos
from dispatch.services.binder_section import BinderSection
from dispatch.services.recurrence import add_months
from dispatch.services.timezone import hospital_date, start_of_day
from dispatch.services.unit_of_work import write_transaction
from dispatch.sms import compliance_text as sms_text
from models import (
    EQUIPMENT_KINDS, Asset, AssetRegister, Certificate, CertificateNotice, MaintenanceSchedule, RequiredActivity, User,
    db,
)

log = logging.getLogger(__name__)

REMINDER_DAYS = {"remind_60": 60, "remind_30": 30}
MAX_NUMBER = 60
MAX_AUTHORITY = 120
MAX_NOTE = 200
PDF_TYPE = "application/pdf"
# Names in a PDF that run something or carry something: a certificate report needs none of them.
PDF_ACTIVE_NAMES = (b"/JavaScript", b"/JS", b"/Launch", b"/EmbeddedFile", b"/RichMedia", b"/XFA", b"/SubmitForm",
                    b"/ImportData", b"/GoToR")


# ---- the one rule --------------------------------------------------------------------------------

def valid_certificate_conditions(certificate, at: datetime) -> list[ColumnElement[bool]]:
    """A certificate is valid at `at`: inspected on or before that hospital day and valid through it."""
    day = hospital_date(at)
    return [certificate.inspected_on <= day, certificate.valid_until >= day]


def must_not_use_clause(asset_id, at: datetime) -> ColumnElement[bool]:
    """SQL: the asset (a column or a value) is statutory and has no certificate valid at `at`."""
    register = aliased(AssetRegister)
    certificate = aliased(Certificate)
    return and_(
        exists(select(register.asset_id).where(register.asset_id == asset_id, register.registration_number.is_not(None),
                                               register.registration_number != "")),
        ~exists(select(certificate.id).where(certificate.asset_id == asset_id,
                                             *valid_certificate_conditions(certificate, at))))


def must_not_use(asset_id: int | None, at: datetime) -> bool:
    """The same question for one asset, asked of the database."""
    if not asset_id:
        return False
    return bool(db.session.scalar(select(must_not_use_clause(literal(asset_id), at))))


def out_of_use_assets(asset_ids, at: datetime) -> set[int]:
    """Which of these assets must not be used at `at` (the board's mark)."""
    ids = {i for i in asset_ids if i}
    if not ids:
        return set()
    return set(db.session.scalars(select(Asset.id).where(Asset.id.in_(ids), must_not_use_clause(Asset.id, at))))


def lapse_moment(valid_until: date) -> datetime:
    """When a certificate valid through `valid_until` stops being valid: the next hospital midnight."""
    return start_of_day(valid_until + timedelta(days=1))


# ---- the register --------------------------------------------------------------------------------

def _clean(value: str | None, limit: int, field: str) -> str | None:
    text = " ".join((value or "").split())
    if len(text) > limit:
        raise ValidationError(_("At most %(n)d characters.", n=limit), field=field)
    return text or None


def register_asset(actor: User, asset_id: int, *, kind: str, high_risk: bool, registration_number: str | None,
                   authority: str | None) -> AssetRegister:
    """Put an asset in the inventory, or change its line. Estates managers and admins."""
    access.require_role(actor, access.COMPLIANCE_EDITORS)
    if kind not in EQUIPMENT_KINDS:
        raise ValidationError(_("Choose the kind of equipment."), field="kind")
    number = _clean(registration_number, MAX_NUMBER, "registration_number")
    body = _clean(authority, MAX_AUTHORITY, "authority")
    if number and not body:
        raise ValidationError(_("Name the authority that registered it."), field="authority")
    now = clock_now()
    with write_transaction() as session:
        if session.get(Asset, asset_id) is None:
            raise NotFoundError(_("Asset not found."))
        line = session.get(AssetRegister, asset_id) or AssetRegister(asset_id=asset_id)
        line.kind, line.high_risk, line.registration_number, line.authority = kind, bool(high_risk), number, body
        line.updated_at = now
        session.add(line)
    return line


def register_of(asset_id: int) -> AssetRegister | None:
    return db.session.get(AssetRegister, asset_id)


def unregistered_assets() -> list[Asset]:
    """Assets not yet in the inventory, for the estates manager to add."""
    return list(db.session.scalars(select(Asset).where(~exists(select(AssetRegister.asset_id).where(
        AssetRegister.asset_id == Asset.id))).order_by(Asset.tag)))


def asset_for(asset_id: int) -> Asset:
    asset = db.session.get(Asset, asset_id)
    if asset is None:
        raise NotFoundError(_("Asset not found."))
    return asset


# ---- the report file -----------------------------------------------------------------------------

@dataclass(frozen=True)
class ReportFile:
    data: bytes
    content_type: str
    name: str


def _refuse(field: str) -> ValidationError:
    return ValidationError(_("That file is not a report we can keep. Send a plain PDF (no scripts, forms or "
                             "attached files), or a photo of the certificate."), field=field)


def check_report(raw: bytes, filename: str | None, field: str = "report") -> ReportFile:
    """An uploaded report, checked: a PDF that opens, is not encrypted and carries nothing active; or a photo,
    redrawn as a JPEG by the photos service. Anything else raises ValidationError naming `field`."""
    if not raw:
        raise ValidationError(_("The file is empty."), field=field)
    limit = int(current_app.config["CERTIFICATE_MAX_BYTES"])
    if len(raw) > limit:
        raise ValidationError(_("A report may be at most %(mb)s MB.", mb=f"{limit / 1048576:.0f}"), field=field)
    name = _clean((filename or "").replace("/", "_").replace("\\", "_"), 200, field) or "report"
    name = name[-100:]
    if raw.lstrip()[:5] == b"%PDF-":
        _check_pdf(raw, field)
        return ReportFile(raw, PDF_TYPE, name if name.lower().endswith(".pdf") else name + ".pdf")
    try:
        processed = photos.process(raw, field)
    except ValidationError:
        raise _refuse(field) from None
    return ReportFile(processed.data, processed.content_type, name.rsplit(".", 1)[0] + ".jpg")


def _check_pdf(raw: bytes, field: str) -> None:
    from pypdf import PdfReader

    if any(token in raw for token in PDF_ACTIVE_NAMES):
        raise _refuse(field)
    try:
        reader = PdfReader(io.BytesIO(raw), strict=False)
        if reader.is_encrypted:
            raise _refuse(field)
        if not reader.pages:
            raise _refuse(field)
        # Compressed object streams hide names from the byte scan: read every object's keys too.
        root = reader.trailer["/Root"]
        if any(key in root for key in ("/OpenAction", "/AA", "/AcroForm")) or "/EmbeddedFiles" in root.get("/Names", {}):
            raise _refuse(field)
        for page in reader.pages:
            if "/AA" in page:
                raise _refuse(field)
            for annotation in page.get("/Annots") or []:
                action = annotation.get_object().get("/A")
                if action is not None and action.get_object().get("/S") not in (None, "/URI", "/GoTo"):
                    raise _refuse(field)
    except ValidationError:
        raise
    except Exception as error:  # noqa: BLE001  a PDF pypdf cannot read is not one we keep
        log.info("certificate report refused: %s: %s", type(error).__name__, error)
        raise _refuse(field) from None


# ---- certificates --------------------------------------------------------------------------------

@dataclass
class CertificateValues:
    number: str | None
    inspected_on: date | None
    valid_until: date | None


def add_certificate(actor: User, asset_id: int, values: CertificateValues, report: ReportFile | None) -> Certificate:
    """Record a certificate for a statutory asset. Estates managers and admins."""
    access.require_role(actor, access.COMPLIANCE_EDITORS)
    number = _clean(values.number, MAX_NUMBER, "number")
    if not number:
        raise ValidationError(_("Give the certificate's number."), field="number")
    if values.inspected_on is None:
        raise ValidationError(_("Give the date of the inspection."), field="inspected_on")
    if values.valid_until is None:
        raise ValidationError(_("Give the last day the certificate is valid."), field="valid_until")
    if values.valid_until < values.inspected_on:
        raise ValidationError(_("The certificate cannot expire before the inspection."), field="valid_until")
    now = clock_now()
    if values.inspected_on > hospital_date(now):
        raise ValidationError(_("The inspection cannot be in the future."), field="inspected_on")
    if values.valid_until > add_months(values.inspected_on, 120):
        raise ValidationError(_("A certificate is valid for at most ten years."), field="valid_until")
    with write_transaction() as session:
        register = session.get(AssetRegister, asset_id)
        if register is None or not register.statutory:
            raise ValidationError(_("Give the asset a registration number first: certificates are for statutory "
                                    "equipment."), field="number")
        certificate = Certificate(asset_id=asset_id, number=number, inspected_on=values.inspected_on,
                                  valid_until=values.valid_until, recorded_at=now, recorded_by_id=actor.id)
        if report is not None:
            certificate.report, certificate.report_type = report.data, report.content_type
            certificate.report_name, certificate.report_size = report.name, len(report.data)
            certificate.report_id = secrets.token_urlsafe(24)
        session.add(certificate)
    return certificate


def certificates_of(asset_id: int) -> list[Certificate]:
    return list(db.session.scalars(select(Certificate).where(Certificate.asset_id == asset_id)
                                   .order_by(Certificate.valid_until.desc(), Certificate.id.desc())))


def report_for(user: User, report_id: str) -> Certificate:
    """The certificate whose report this is, for a person who may read the compliance pages."""
    access.require_role(user, access.COMPLIANCE_READERS)
    certificate = db.session.scalar(select(Certificate).where(Certificate.report_id == (report_id or "")[:40])
                                    .options(selectinload(Certificate.asset)))
    if certificate is None or certificate.report is None:
        raise NotFoundError(_("Report not found."))
    return certificate


# ---- where each statutory asset stands -----------------------------------------------------------

CERTIFICATE_STATES = ("valid", "expiring", "lapsed", "none")


@dataclass
class AssetStanding:
    register: AssetRegister
    asset: Asset
    current: Certificate | None  # valid now
    latest: Certificate | None  # the one that runs longest
    state: str
    days_left: int | None
    out_of_use: bool

    @property
    def lapsed_on(self) -> date | None:
        """The first day it may not be used (a lapsed certificate's next day)."""
        return self.latest.valid_until + timedelta(days=1) if self.state == "lapsed" and self.latest else None


def standings(now: datetime, asset_ids: set[int] | None = None) -> list[AssetStanding]:
    """Every statutory asset with its certificates' state at `now`, soonest to expire first."""
    today = hospital_date(now)
    query = (select(AssetRegister).where(AssetRegister.registration_number.is_not(None))
             .options(selectinload(AssetRegister.asset).selectinload(Asset.ward)))
    if asset_ids is not None:
        query = query.where(AssetRegister.asset_id.in_(asset_ids))
    registers = list(db.session.scalars(query))
    ids = [r.asset_id for r in registers]
    by_asset: dict[int, list[Certificate]] = {}
    for certificate in db.session.scalars(select(Certificate).where(Certificate.asset_id.in_(ids))
                                          .order_by(Certificate.valid_until.desc(), Certificate.id.desc())):
        by_asset.setdefault(certificate.asset_id, []).append(certificate)
    out = out_of_use_assets(ids, now)
    rows = []
    for register in registers:
        held = by_asset.get(register.asset_id, [])
        current = next((c for c in held if c.inspected_on <= today <= c.valid_until), None)
        latest = held[0] if held else None
        if current is not None:
            days_left = (latest.valid_until - today).days
            state = "expiring" if days_left <= REMINDER_DAYS["remind_60"] else "valid"
        else:
            days_left = None
            state = "lapsed" if latest is not None else "none"
        rows.append(AssetStanding(register, register.asset, current, latest, state, days_left,
                                  register.asset_id in out))
    order = {"lapsed": 0, "none": 1, "expiring": 2, "valid": 3}
    rows.sort(key=lambda r: (order[r.state], r.latest.valid_until if r.latest else date.min, r.asset.tag))
    return rows


def counts(rows: list[AssetStanding]) -> dict[str, int]:
    """How many statutory assets stand in each state (the page's and the binder's summary)."""
    return {state: sum(1 for r in rows if r.state == state) for state in CERTIFICATE_STATES}


# ---- notices: reminders and the request-the-inspection task -------------------------------------

def notice_due_on(kind: str, valid_until: date) -> date:
    if kind == "request_inspection":
        return add_months(valid_until, -1)
    return valid_until - timedelta(days=REMINDER_DAYS[kind])


def _latest_certificates() -> list[Certificate]:
    """Each statutory asset's longest-running certificate (a renewed one owes nothing more)."""
    later = aliased(Certificate)
    return list(db.session.scalars(
        select(Certificate).join(AssetRegister, AssetRegister.asset_id == Certificate.asset_id)
        .where(AssetRegister.registration_number.is_not(None),
               ~exists(select(later.id).where(later.asset_id == Certificate.asset_id,
                                              or_(later.valid_until > Certificate.valid_until,
                                                  and_(later.valid_until == Certificate.valid_until,
                                                       later.id > Certificate.id)))))
        .options(selectinload(Certificate.asset))))


def send_notices(now: datetime) -> int:
    """The scheduler's pass: each notice whose day has come, once per certificate (the unique (certificate,
    kind) decides between two schedulers). A reminder owes each active estates manager an SMS in the same
    transaction; a reminder whose day passed while a later one is also due is left out (a certificate
    recorded 20 days before it expires gets the 30-day reminder, not both). Returns how many were made."""
    today = hospital_date(now)
    made = 0
    known = {(n.certificate_id, n.kind) for n in db.session.scalars(select(CertificateNotice))}
    for certificate in _latest_certificates():
        if certificate.valid_until < today:
            continue
        due = [kind for kind in ("remind_60", "remind_30", "request_inspection")
               if notice_due_on(kind, certificate.valid_until) <= today and (certificate.id, kind) not in known]
        if "remind_30" in due or (certificate.id, "remind_30") in known:
            due = [k for k in due if k != "remind_60"]
        for kind in due:
            try:
                made += _make_notice(certificate.id, kind, now)
            except IntegrityError:
                pass  # the other scheduler made it first
    return made


def _make_notice(certificate_id: int, kind: str, now: datetime) -> int:
    with write_transaction() as session:
        certificate = session.get(Certificate, certificate_id)
        reminder = kind in REMINDER_DAYS
        notice = CertificateNotice(certificate_id=certificate_id, kind=kind, created_at=now,
                                   due_on=notice_due_on(kind, certificate.valid_until), done_at=now if reminder else None)
        session.add(notice)
        session.flush()  # the unique pair: a second scheduler stops here, before any SMS is owed
        if reminder:
            asset = certificate.asset
            for manager in session.scalars(select(User).where(User.role == "manager", User.active.is_(True))
                                           .order_by(User.id)):
                body = sms_text.for_user(manager, sms_text.certificate_expiring, asset.name, asset.tag,
                                                certificate.number, certificate.valid_until,
                                                (certificate.valid_until - hospital_date(now)).days)
                notify.owe_sms(session, recipient=manager, body=body, kind="certificate")
    return 1


def open_tasks() -> list[CertificateNotice]:
    """Requests for inspection not yet recorded as made, oldest first."""
    return list(db.session.scalars(
        select(CertificateNotice).where(CertificateNotice.kind == "request_inspection",
                                        CertificateNotice.done_at.is_(None))
        .options(selectinload(CertificateNotice.certificate).selectinload(Certificate.asset))
        .order_by(CertificateNotice.due_on, CertificateNotice.id)))


def recent_reminders(now: datetime, days: int = 60) -> list[CertificateNotice]:
    since = now - timedelta(days=days)
    return list(db.session.scalars(
        select(CertificateNotice).where(CertificateNotice.kind.in_(tuple(REMINDER_DAYS)),
                                        CertificateNotice.created_at >= since)
        .options(selectinload(CertificateNotice.certificate).selectinload(Certificate.asset))
        .order_by(CertificateNotice.created_at.desc())))


def complete_task(actor: User, notice_id: int, note: str | None) -> CertificateNotice:
    """Record that the inspection was requested (with the authority's reference, say)."""
    access.require_role(actor, access.COMPLIANCE_EDITORS)
    text = _clean(note, MAX_NOTE, "note")
    with write_transaction() as session:
        notice = session.get(CertificateNotice, notice_id)
        if notice is None or notice.kind != "request_inspection":
            raise NotFoundError(_("Task not found."))
        if notice.done_at is None:
            notice.done_at, notice.done_by_id, notice.note = clock_now(), actor.id, text
    return notice


# ---- lapses, for the leadership report and the binder -------------------------------------------

@dataclass
class Lapse:
    certificate: Certificate
    lapsed_on: date  # the first day without a valid certificate
    renewed_on: date | None  # the day a new certificate took over, if one has


def lapses_between(first: date, last: date) -> list[Lapse]:
    """Certificates whose validity ended with no other certificate of the asset carrying on, where the first day
    without one falls from `first` to `last` (hospital days)."""
    rows = []
    query = (select(Certificate).join(AssetRegister, AssetRegister.asset_id == Certificate.asset_id)
             .where(AssetRegister.registration_number.is_not(None),
                    Certificate.valid_until >= first - timedelta(days=1), Certificate.valid_until < last)
             .options(selectinload(Certificate.asset)).order_by(Certificate.valid_until, Certificate.id))
    for certificate in db.session.scalars(query):
        day = certificate.valid_until + timedelta(days=1)
        following = list(db.session.scalars(select(Certificate).where(
            Certificate.asset_id == certificate.asset_id, Certificate.id != certificate.id,
            Certificate.valid_until >= day).order_by(Certificate.inspected_on)))
        if any(c.inspected_on <= day for c in following):
            continue  # renewed in time: no day without a certificate
        rows.append(Lapse(certificate, day, following[0].inspected_on if following else None))
    return rows


def leadership_figures(month: date, last_day: date, now: datetime) -> dict:
    """For the monthly report: lapses in the month, and the assets out of use as the report is made."""
    lapses = [{"asset": lapse.certificate.asset.name, "tag": lapse.certificate.asset.tag,
               "number": lapse.certificate.number, "lapsed_on": lapse.lapsed_on.isoformat(),
               "renewed_on": lapse.renewed_on.isoformat() if lapse.renewed_on else None}
              for lapse in lapses_between(month, last_day)]
    out = [{"asset": r.asset.name, "tag": r.asset.tag, "since": r.lapsed_on.isoformat() if r.lapsed_on else None}
           for r in standings(now) if r.out_of_use]
    return {"lapsed": lapses, "out_of_use": out, "as_of": hospital_date(now).isoformat()}


# ---- the binder ------------------------------------------------------------------------------------

def assets_of_standard(standard: str | None) -> set[int] | None:
    """The assets a standard's required activities cover (None: every asset)."""
    if not standard:
        return None
    return set(db.session.scalars(
        select(MaintenanceSchedule.asset_id).join(RequiredActivity, RequiredActivity.schedule_id == MaintenanceSchedule.id)
        .where(RequiredActivity.standard == standard, MaintenanceSchedule.asset_id.is_not(None))))


def kind_label(kind: str | None) -> str:
    labels = {"lift": _("Lift"), "boiler": _("Boiler"), "pressure_vessel": _("Pressure vessel"),
              "generator": _("Generator"), "medical_gas": _("Medical gas"), "electrical": _("Electrical"),
              "hvac": _("Air conditioning and ventilation"), "fire": _("Fire safety"), "water": _("Water"),
              "other": _("Other")}
    return labels.get(kind or "", _("Not classified"))


def state_label(state: str) -> str:
    return {"valid": _("Valid"), "expiring": _("Expiring within 60 days"), "lapsed": _("Lapsed: must not be used"),
            "none": _("No certificate: must not be used")}[state]


def binder_sections(start: date, end: date, standard: str | None, locale: str) -> list[BinderSection]:
    """The certificates of the statutory assets (those the standard covers), each certificate valid at some
    time in the period with its validity as of the period's end; lapses in the period are the deficiencies.
    The caller sets the locale."""
    assets = assets_of_standard(standard)
    as_of = min(start_of_day(end + timedelta(days=1)) - timedelta(microseconds=1), clock_now())
    rows_of = standings(as_of, assets)
    query = (select(Certificate).join(AssetRegister, AssetRegister.asset_id == Certificate.asset_id)
             .where(AssetRegister.registration_number.is_not(None), Certificate.valid_until >= start,
                    Certificate.inspected_on <= end)
             .options(selectinload(Certificate.asset)).order_by(Certificate.asset_id, Certificate.valid_until))
    if assets is not None:
        query = query.where(Certificate.asset_id.in_(assets))
    registers = {r.asset.id: r.register for r in rows_of}
    day = hospital_date(as_of)
    rows = []
    for c in db.session.scalars(query):
        register = registers.get(c.asset_id)
        rows.append([c.asset.tag, c.asset.name, kind_label(register.kind if register else None),
                     register.registration_number if register else "", register.authority if register else "",
                     c.number, c.inspected_on.isoformat(), c.valid_until.isoformat(),
                     _("Valid") if c.inspected_on <= day <= c.valid_until else _("Expired")])
    lapses = [lapse for lapse in lapses_between(start, end) if assets is None or lapse.certificate.asset_id in assets]
    deficiencies = [[lapse.certificate.asset.tag, lapse.certificate.asset.name, lapse.certificate.number,
                     lapse.lapsed_on.isoformat(), lapse.renewed_on.isoformat() if lapse.renewed_on else _("Not renewed")]
                    for lapse in lapses]
    tally = counts(rows_of)
    summary = _("%(assets)d statutory assets: %(valid)d with a valid certificate, %(lapsed)d must not be used "
                "(as of %(day)s).", assets=len(rows_of), valid=tally["valid"] + tally["expiring"],
                lapsed=tally["lapsed"] + tally["none"], day=day.isoformat())
    return [BinderSection(
        title=_("Statutory equipment and certificates"),
        columns=[_("Asset tag"), _("Asset"), _("Kind"), _("Registration number"), _("Authority"), _("Certificate"),
                 _("Inspected on"), _("Valid until"), _("Validity")],
        rows=rows, deficiencies=deficiencies,
        deficiency_columns=[_("Asset tag"), _("Asset"), _("Certificate"), _("Lapsed on"), _("Renewed on")],
        summary=summary)]
