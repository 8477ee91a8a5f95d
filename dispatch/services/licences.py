"""Licence eligibility (依法持证上岗): only a technician with a valid licence the trade requires may take its jobs.

The rule is defined once, as SQL (`may_work_clause`): every list (the board's drop-down, auto-dispatch, the
rota, coverage warnings, reports) filters with it, and the check at assignment and acknowledgement
(`ensure_licensed`) asks the database the same question for one person, so the two cannot disagree. Python
only explains a "no" afterwards (expired on D, revoked on D, holds none).
"""
from __future__ import annotations

from datetime import date, datetime, timedelta

from flask_babel import gettext as _
from sqlalchemy import and_, exists, func, literal, or_, select
from sqlalchemy.orm import aliased
from sqlalchemy.sql.elements import ColumnElement

from dispatch.errors import NotLicensedError, ValidationError
from dispatch.services.timezone import hospital_date
from models import OPEN_STATUSES, Licence, Ticket, Trade, User, db, trade_licence_type


def valid_licence_conditions(licence, at: datetime) -> list[ColumnElement[bool]]:
    """A licence is valid at moment `at`: issued on or before that hospital day, not expired before it (valid
    through its expiry day) and not revoked at or before `at` (a revocation takes effect when recorded)."""
    day = hospital_date(at)
    return [licence.issued_on <= day, licence.expires_on >= day,
            or_(licence.revoked_at.is_(None), licence.revoked_at > at)]


def may_work_clause(user_id, trade_id, at: datetime) -> ColumnElement[bool]:
    """SQL: the person `user_id` may take trade `trade_id`'s work at moment `at`. Either may be a column (the
    ticket's assignee and trade, the rota line's person) or a value. An active technician, and, when the
    trade names licence types, one of those types held and valid at `at`."""
    person = aliased(User)
    licence = aliased(Licence)
    accepts = aliased(trade_licence_type)
    requires_none = ~exists(select(accepts.c.licence_type_id).where(accepts.c.trade_id == trade_id))
    holds_one = exists(
        select(licence.id)
        .join(accepts, accepts.c.licence_type_id == licence.licence_type_id)
        .where(licence.technician_id == person.id, accepts.c.trade_id == trade_id,
               *valid_licence_conditions(licence, at))
    )
    return exists(select(person.id).where(person.id == user_id, person.active.is_(True),
                                          person.role == "technician", or_(requires_none, holds_one)))


def may_work(user_id: int, trade_id: int, at: datetime) -> bool:
    """The same question for one person, asked of the database."""
    return bool(db.session.scalar(select(may_work_clause(literal(user_id), literal(trade_id), at))))


def licence_valid_at(licence: Licence, at: datetime) -> bool:
    """One licence, for display and explanation; the same conditions as the SQL, asked of the database."""
    copy = aliased(Licence)
    return bool(db.session.scalar(select(exists(select(copy.id).where(copy.id == licence.id,
                                                                     *valid_licence_conditions(copy, at))))))


def licence_valid_on(licence: Licence, day: date) -> bool:
    """Valid through the whole hospital day `day` as far as dates go (a revocation is a moment: see
    `licence_valid_at`). For the staff pages' status badges."""
    return licence.issued_on <= day <= licence.expires_on


def trade_requires_licence(trade: Trade) -> bool:
    return bool(trade.licence_types)


def eligible_technicians(trade: Trade, now: datetime) -> list[User]:
    """Active technicians who may take this trade's jobs right now, by name."""
    query = select(User).where(may_work_clause(User.id, trade.id, now))
    return list(db.session.scalars(query.order_by(User.full_name)))


def open_load(technician_ids: list[int]) -> dict[int, int]:
    """Open jobs per technician, for the board's 'who has capacity' column."""
    if not technician_ids:
        return {}
    rows = db.session.execute(
        select(Ticket.assignee_id, func.count())
        .where(and_(Ticket.assignee_id.in_(technician_ids), Ticket.status.in_(OPEN_STATUSES)))
        .group_by(Ticket.assignee_id)
    )
    return {assignee: count for assignee, count in rows}


def ensure_licensed(technician: User, trade: Trade, now: datetime) -> None:
    """Raise unless the technician may work this trade at this moment (the database answers, with the same
    clause the lists use); the message says why not."""
    if may_work(technician.id, trade.id, now):
        return
    if technician.role != "technician" or not technician.active:
        raise ValidationError(_("%(name)s is not an active technician.", name=technician.full_name), field="technician_id")
    raise NotLicensedError(why_not_licensed(technician, trade, now), field="technician_id")


def last_lapse(technician: User, trade: Trade, now: datetime) -> tuple[Licence, str, date] | None:
    """Of the technician's licences the trade accepts, the one that stopped being valid last by `now`: (the
    licence, "revoked" or "expired", the hospital day it happened), or None if none has lapsed."""
    today = hospital_date(now)
    accepted = {lt.id for lt in trade.licence_types}
    lapsed = []
    for lic in technician.licences:
        if lic.licence_type_id not in accepted:
            continue
        if lic.revoked_at is not None and lic.revoked_at <= now:
            lapsed.append((hospital_date(lic.revoked_at), "revoked", lic))
        elif lic.expires_on < today:
            lapsed.append((lic.expires_on, "expired", lic))
    if not lapsed:
        return None
    day, how, licence = max(lapsed, key=lambda entry: (entry[0], entry[2].id))
    return licence, how, day


def why_not_licensed(technician: User, trade: Trade, now: datetime) -> str:
    """Why an active technician may not work the trade now: the licence that lapsed last (revoked on D or
    expired on D), else that they hold none of the types it needs."""
    lapse = last_lapse(technician, trade, now)
    if lapse is not None:
        licence, how, day = lapse
        if how == "revoked":
            return _("%(name)s cannot take %(trade)s jobs: licence %(number)s was revoked on %(date)s.",
                     name=technician.full_name, trade=trade.display_name, number=licence.number, date=day.isoformat())
        return _("%(name)s cannot take %(trade)s jobs: licence %(number)s expired on %(date)s.",
                 name=technician.full_name, trade=trade.display_name, number=licence.number, date=day.isoformat())
    needs = ", ".join(lt.display_name for lt in trade.licence_types)
    return _("%(name)s holds no valid licence for %(trade)s (needs one of: %(needs)s).",
             name=technician.full_name, trade=trade.display_name, needs=needs)


def expiring_licences(now: datetime, within_days: int = 30) -> list[Licence]:
    """Licences already expired or expiring within the window, soonest first."""
    horizon = hospital_date(now) + timedelta(days=within_days)
    renewal = aliased(Licence)
    # A licence already renewed (a later one of the same type) is history, not a warning.
    renewed = exists(
        select(renewal.id).where(
            renewal.technician_id == Licence.technician_id,
            renewal.licence_type_id == Licence.licence_type_id,
            renewal.expires_on > Licence.expires_on,
        )
    )
    return list(
        db.session.scalars(
            select(Licence).join(User, User.id == Licence.technician_id)
            .where(User.active.is_(True), Licence.expires_on <= horizon, ~renewed)
            .order_by(Licence.expires_on)
        )
    )
