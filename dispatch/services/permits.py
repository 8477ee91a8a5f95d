"""Permits to work (HTM 02-01 medical gas, HTM 06-02 high voltage, lifts): drafted for a ticket, issued by an
Authorised Person (AP) for the trade, accepted by the Competent Person (CP) who goes on site, cancelled when
supply is restored. The wards affected are told by SMS when the permit is issued (before the isolation) and
when it is cancelled (supply restored).

Who may issue and who may accept is defined once, as SQL (`may_hold_clause`), built on the licence rule's own
validity conditions (`licences.valid_licence_conditions`): the lists of people offered filter with it, and the
check at issuing and accepting asks the database the same question for one person.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import exists, literal, select
from sqlalchemy.orm import aliased
from sqlalchemy.sql.elements import ColumnElement

from dispatch.clock import now as clock_now
from dispatch.errors import IllegalTransitionError, NotFoundError, NotLicensedError, PermissionDeniedError, ValidationError
from dispatch.i18n import short_datetime
from dispatch.services import access, licences, ward_notices
from dispatch.services.binder_section import BinderSection
from dispatch.services.engine import Move
from dispatch.services.timezone import hospital_date, hospital_zone
from dispatch.services.unit_of_work import write_transaction
from dispatch.sms import permit_text
from models import LIVE_PERMIT_STATES, Licence, Permit, PermitRequirement, Ticket, User, Ward, db

# issue: an Authorised Person's licence for the trade; accept: a Competent Person's (and the trade's own).
PERMIT_ROLES = ("issue", "accept")
STATE_LABELS = {"draft": _l("draft"), "issued": _l("issued"), "accepted": _l("accepted (work may start)"),
                "cancelled": _l("cancelled (supply restored)")}
MAX_TEXT = 4000


def may_hold_clause(role: str, user_id, trade_id, at: datetime) -> ColumnElement[bool]:
    """SQL: person `user_id` may `role` ('issue' or 'accept') a permit for trade `trade_id` at moment `at`.
    Issue: an active account holding, valid at `at`, the licence type the trade's permit rule names for its
    Authorised Persons. Accept: an active account holding the Competent Person's type, who may also take the
    trade's work (`licences.may_work_clause`: an active technician with the trade's licence). Either id may
    be a column or a value."""
    person = aliased(User)
    licence = aliased(Licence)
    rule = aliased(PermitRequirement)
    wanted = rule.authorised_type_id if role == "issue" else rule.competent_type_id
    holds = exists(select(licence.id).join(rule, wanted == licence.licence_type_id).where(
        rule.trade_id == trade_id, licence.technician_id == person.id, *licences.valid_licence_conditions(licence, at)))
    conditions = [person.id == user_id, person.active.is_(True), holds]
    if role == "accept":
        conditions.append(licences.may_work_clause(person.id, trade_id, at))
    return exists(select(person.id).where(*conditions))


def may_hold(role: str, user_id: int, trade_id: int, at: datetime) -> bool:
    """The same question for one person, asked of the database."""
    return bool(db.session.scalar(select(may_hold_clause(role, literal(user_id), literal(trade_id), at))))


def people_who_may(role: str, trade_id: int, at: datetime) -> list[User]:
    """Everyone who may issue (or accept) a permit for the trade at `at`, by name: the lists the pages offer."""
    return list(db.session.scalars(select(User).where(may_hold_clause(role, User.id, trade_id, at))
                                   .order_by(User.full_name)))


def why_may_not(role: str, person: User, rule: PermitRequirement, at: datetime) -> str:
    """Why `person` may not issue / accept now (asked after `may_hold` said no): the licence that lapsed
    last, or that they hold none of the type."""
    licence_type = rule.authorised_type if role == "issue" else rule.competent_type
    if not person.active:
        return _("%(name)s's account is not active.", name=person.full_name)
    held = [lic for lic in person.licences if lic.licence_type_id == licence_type.id]
    day = hospital_date(at)
    revoked = [lic for lic in held if lic.revoked_at is not None and lic.revoked_at <= at]
    expired = [lic for lic in held if lic.expires_on < day and lic not in revoked]
    if role == "issue":
        what = _("issue permits for %(trade)s", trade=rule.trade.name)
    else:
        what = _("accept permits for %(trade)s", trade=rule.trade.name)
    if revoked:
        lic = max(revoked, key=lambda entry: entry.revoked_at)
        return _("%(name)s may not %(what)s: licence %(number)s was revoked on %(date)s.", name=person.full_name,
                 what=what, number=lic.number, date=hospital_date(lic.revoked_at).isoformat())
    if expired:
        lic = max(expired, key=lambda entry: entry.expires_on)
        return _("%(name)s may not %(what)s: licence %(number)s expired on %(date)s.", name=person.full_name,
                 what=what, number=lic.number, date=lic.expires_on.isoformat())
    if held:
        return _("%(name)s may not %(what)s: licence %(number)s is not valid yet.", name=person.full_name, what=what,
                 number=held[0].number)
    if role == "accept" and not licences.may_work(person.id, rule.trade_id, at):
        return licences.why_not_licensed(person, rule.trade, at) if person.role == "technician" else _(
            "%(name)s is not an active technician.", name=person.full_name)
    return _("%(name)s may not %(what)s: holds no %(licence)s licence.", name=person.full_name, what=what,
             licence=licence_type.name)


def requirement_for(ticket: Ticket) -> PermitRequirement | None:
    """The permit rule this ticket's work falls under, or None: its trade's rule, when the rule names no work
    types or one of them appears in the fault's description."""
    rule = db.session.scalar(select(PermitRequirement).where(PermitRequirement.trade_id == ticket.trade_id))
    if rule is None:
        return None
    words = rule.keyword_list
    if words and not any(word in (ticket.description or "").lower() for word in words):
        return None
    return rule


def permits_for(ticket_id: int) -> list[Permit]:
    return list(db.session.scalars(select(Permit).where(Permit.ticket_id == ticket_id).order_by(Permit.id)))


def live_permit(ticket_id: int) -> Permit | None:
    return db.session.scalar(select(Permit).where(Permit.ticket_id == ticket_id,
                                                  Permit.state.in_(LIVE_PERMIT_STATES)).order_by(Permit.id.desc()))


# ---- the two guards on a ticket's moves (registered in policies.register_policies) -------------------

def attend_refusal(session, made: Move) -> str | None:
    """The engine's guard on "attend": going on site at a job that needs a permit needs one accepted, within
    its time window. An incident's follower moves with its lead, whose own permit is what counts."""
    ticket, now = made.ticket, made.at
    if made.follower or requirement_for(ticket) is None:
        return None
    permit = live_permit(ticket.id)
    if permit is None:
        return _("Ticket %(number)s needs a permit to work before anyone goes on site: "
                 "ask an Authorised Person for %(trade)s to issue one.", number=ticket.number, trade=ticket.trade.name)
    if permit.state != "accepted":
        return _("Permit %(permit)d for ticket %(number)s is issued but not yet accepted by "
                 "the Competent Person.", permit=permit.id, number=ticket.number)
    if not permit.valid_from <= now <= permit.valid_until:
        return _("Permit %(permit)d is valid from %(starts)s to %(ends)s, not now.", permit=permit.id,
                 starts=short_datetime(permit.valid_from), ends=short_datetime(permit.valid_until))
    return None


def resolve_refusal(session, made: Move) -> str | None:
    """The engine's guard on "resolve": a ticket whose permit is live (the isolation may still be in place)
    cannot be resolved: the permit is cancelled first, recording that supply is restored."""
    permit = live_permit(made.ticket.id)
    if permit is not None:
        return _("Permit %(permit)d for ticket %(number)s is still live: cancel it, recording "
                 "what was restored, before resolving.", permit=permit.id, number=made.ticket.number)
    return None


# ---- drafting, issuing, accepting, cancelling --------------------------------------------------------

@dataclass
class PermitValues:
    work: str
    isolation_points: str
    precautions: str
    ward_ids: list[int]
    valid_from: datetime
    valid_until: datetime


def _text(value: str | None, field: str) -> str:
    value = (value or "").strip()
    if not value:
        raise ValidationError(_("This field is required."), field=field)
    if len(value) > MAX_TEXT:
        raise ValidationError(_("At most %(n)d characters.", n=MAX_TEXT), field=field)
    return value


def draft_permit(actor: User, ticket_id: int, values: PermitValues) -> Permit:
    """A permit drafted for a ticket whose work needs one. Raises ValidationError naming the field."""
    access.require_role(actor, access.PERMIT_EDITORS)
    ticket = access.ticket_for(actor, ticket_id)
    rule = requirement_for(ticket)
    if rule is None:
        raise ValidationError(_("Ticket %(number)s's work does not need a permit.", number=ticket.number),
                              field="ticket_id")
    if not ticket.is_open:
        raise ValidationError(_("Ticket %(number)s is closed.", number=ticket.number), field="ticket_id")
    for name in ("valid_from", "valid_until"):
        if not 2000 <= getattr(values, name).year <= 2100:
            raise ValidationError(_("Give a time between 2000 and 2100."), field=name)
    if values.valid_until <= values.valid_from:
        raise ValidationError(_("The permit must end after it starts."), field="valid_until")
    if not values.ward_ids:
        raise ValidationError(_("Name at least one ward affected."), field="ward_ids")
    wards = list(db.session.scalars(select(Ward).where(Ward.id.in_(values.ward_ids))))
    if len(wards) != len(set(values.ward_ids)):
        raise ValidationError(_("Unknown ward."), field="ward_ids")
    with write_transaction() as session:
        permit = Permit(ticket_id=ticket.id, trade_id=ticket.trade_id, state="draft", work=_text(values.work, "work"),
                        isolation_points=_text(values.isolation_points, "isolation_points"),
                        precautions=_text(values.precautions, "precautions"), valid_from=values.valid_from,
                        valid_until=values.valid_until, created_by_id=actor.id, created_at=clock_now())
        permit.wards = [session.get(Ward, ward.id) for ward in wards]
        session.add(permit)
    return permit


def permit_for(user: User, permit_id: int) -> Permit:
    """The permit if this person may see it (its readers, or the technician of its ticket)."""
    permit = db.session.get(Permit, permit_id)
    if permit is None or not (user.role in access.PERMIT_READERS or access.can_view(user, permit.ticket)):
        raise NotFoundError(_("Permit %(number)s not found.", number=permit_id))
    return permit


def _load(session, permit_id: int) -> Permit:
    permit = session.scalars(select(Permit).where(Permit.id == permit_id).with_for_update()).one_or_none()
    if permit is None:
        raise NotFoundError(_("Permit %(number)s not found.", number=permit_id))
    return permit


def _ensure_may(role: str, person: User, permit: Permit, now: datetime) -> None:
    if not may_hold(role, person.id, permit.trade_id, now):
        rule = db.session.scalar(select(PermitRequirement).where(PermitRequirement.trade_id == permit.trade_id))
        raise NotLicensedError(why_may_not(role, person, rule, now), field="actor")


def _in_state(permit: Permit, *states: str) -> None:
    if permit.state not in states:
        raise IllegalTransitionError(_("Permit %(number)d is %(state)s.", number=permit.id,
                                       state=STATE_LABELS[permit.state]))


def issue_permit(permit_id: int, actor: User, channel: str = "web") -> Permit:
    """The Authorised Person issues the permit: the wards are told of the isolation. Raises NotLicensedError
    (with the reason) for anyone else."""
    now = clock_now()
    with write_transaction() as session:
        permit = _load(session, permit_id)
        _in_state(permit, "draft")
        _ensure_may("issue", actor, permit, now)
        if permit.valid_until <= now:
            raise IllegalTransitionError(_("Permit %(number)d's time window has passed; draft a new one.",
                                           number=permit.id))
        permit.state, permit.issued_by_id, permit.issued_at = "issued", actor.id, now
        points = "; ".join(permit.isolation_list)
        ward_notices.tell_wards(session, permit.wards, lambda ward: permit_text.isolation_notice(
            permit.id, permit.trade.name, ward.name, short_datetime(permit.valid_from),
            short_datetime(permit.valid_until), points))
    return permit


def accept_permit(permit_id: int, actor: User, channel: str = "web") -> Permit:
    """The Competent Person who goes on site (the ticket's technician) accepts it; then they may attend."""
    now = clock_now()
    with write_transaction() as session:
        permit = _load(session, permit_id)
        _in_state(permit, "issued")
        if permit.ticket.assignee_id != actor.id:
            raise PermissionDeniedError(_("Permit %(number)d is for ticket %(ticket)d, which is not assigned to you.",
                                          number=permit.id, ticket=permit.ticket_id))
        _ensure_may("accept", actor, permit, now)
        permit.state, permit.accepted_by_id, permit.accepted_at = "accepted", actor.id, now
    return permit


def cancel_permit(permit_id: int, actor: User, restored: str | None, channel: str = "web") -> Permit:
    """An Authorised Person cancels the permit, recording what was restored; the wards are told supply is back.
    A draft is withdrawn without notices."""
    now = clock_now()
    with write_transaction() as session:
        permit = _load(session, permit_id)
        _in_state(permit, "draft", "issued", "accepted")
        was_live = permit.is_live
        if was_live:
            _ensure_may("issue", actor, permit, now)
            restored = _text(restored, "restored")
        elif actor.role not in access.PERMIT_EDITORS and not may_hold("issue", actor.id, permit.trade_id, now):
            raise PermissionDeniedError(_("Your role may not do this."))
        permit.state, permit.cancelled_by_id, permit.cancelled_at = "cancelled", actor.id, now
        permit.restored = (restored or "").strip() or None
        if was_live:
            ward_notices.tell_wards(session, permit.wards, lambda ward: permit_text.restored_notice(
                permit.id, permit.trade.name, ward.name, permit.restored))
    return permit


def actions_for(user: User, permit: Permit, now: datetime) -> dict[str, bool]:
    """Which buttons the permit page shows this person (the services check again)."""
    may_issue = permit.state in ("draft", "issued", "accepted") and may_hold("issue", user.id, permit.trade_id, now)
    return {
        "issue": permit.state == "draft" and may_issue,
        "accept": permit.state == "issued" and permit.ticket.assignee_id == user.id
        and may_hold("accept", user.id, permit.trade_id, now),
        "cancel": permit.is_live and may_issue,
        "withdraw": permit.state == "draft" and (user.role in access.PERMIT_EDITORS or may_issue),
    }


def panel_for(ticket: Ticket, user: User) -> dict | None:
    """What a ticket's page shows of its permits (None: its work needs none and it has none)."""
    if user.role not in access.PERMIT_READERS:
        return None
    existing = permits_for(ticket.id)
    needs = requirement_for(ticket) is not None
    if not needs and not existing:
        return None
    waiting = needs and ticket.is_open and not any(p.state == "accepted" for p in existing)
    return {"permits": existing, "labels": STATE_LABELS, "needs_one": waiting,
            "may_draft": needs and ticket.is_open and user.role in access.PERMIT_EDITORS
            and not any(p.state in ("draft", *LIVE_PERMIT_STATES) for p in existing)}


def recent_permits(limit: int = 100) -> list[Permit]:
    """Live permits first, then the latest others."""
    return list(db.session.scalars(select(Permit).order_by(Permit.state.in_(LIVE_PERMIT_STATES).desc(),
                                                           Permit.id.desc()).limit(limit)))


# ---- the period's permits: the page and the inspector's binder read the same figures -------------------

def permits_between(start: date, end: date) -> list[Permit]:
    """Permits issued in the hospital days start..end (inclusive), latest first; drafts never issued are left
    out (they authorised nothing)."""
    zone = hospital_zone()
    first = datetime.combine(start, time.min, zone)
    after = datetime.combine(end + timedelta(days=1), time.min, zone)
    return list(db.session.scalars(select(Permit).where(Permit.issued_at >= first, Permit.issued_at < after)
                                   .order_by(Permit.issued_at.desc())))


def overran(permit: Permit, now: datetime) -> bool:
    """Live past the end of its window, or cancelled after it: the isolation outlasted what was authorised."""
    ended = permit.cancelled_at if permit.cancelled_at is not None else (now if permit.is_live else None)
    return ended is not None and ended > permit.valid_until


def summary_counts(entries: list[Permit], now: datetime) -> dict[str, int]:
    return {"total": len(entries), "live": sum(1 for p in entries if p.is_live),
            "overran": sum(1 for p in entries if overran(p, now))}


def binder_sections(start: date, end: date, standard: str | None, locale: str) -> list[BinderSection]:
    """The permits to work issued in the period (HTM 02-01 / 06-02): who issued and accepted each, its window
    and when supply was restored; a permit that outlasted its window is a deficiency."""
    now = clock_now()
    entries = permits_between(start, end)
    counts = summary_counts(entries, now)

    def name(person: User | None) -> str:
        return person.full_name if person else "—"

    rows = [[p.id, f"#{p.ticket_id}", p.trade.name, ", ".join(w.name for w in p.wards), name(p.issued_by),
             name(p.accepted_by), f"{short_datetime(p.valid_from)} – {short_datetime(p.valid_until)}",
             short_datetime(p.cancelled_at) if p.cancelled_at else str(STATE_LABELS[p.state]), p.restored or "—"]
            for p in entries]
    deficiencies = [[p.id, f"#{p.ticket_id}", short_datetime(p.valid_until),
                     short_datetime(p.cancelled_at) if p.cancelled_at else _("still live"),
                     _("resolved %(when)s", when=short_datetime(p.ticket.resolved_at)) if p.ticket.resolved_at
                     else _("open")]
                    for p in entries if overran(p, now)]
    return [BinderSection(
        title=_("Permits to work"),
        columns=[_("Permit"), _("Ticket"), _("Trade"), _("Wards affected"), _("Issued by"), _("Accepted by"),
                 _("Valid"), _("Cancelled"), _("Restored")],
        rows=rows, deficiencies=deficiencies,
        deficiency_columns=[_("Permit"), _("Ticket"), _("Valid until"), _("Cancelled"), _("Ticket")],
        summary=_("%(total)d permits issued, %(live)d live, %(overran)d outlasted their window", **counts))]
