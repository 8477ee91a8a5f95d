"""Licence eligibility (依法持证上岗): only a technician with a valid licence the trade requires may take its jobs."""
from __future__ import annotations

from datetime import date, datetime

from flask_babel import gettext as _
from sqlalchemy import and_, exists, func, select
from sqlalchemy.orm import aliased

from dispatch.errors import NotLicensedError, ValidationError
from dispatch.services.timezone import hospital_date
from models import OPEN_STATUSES, Licence, Ticket, Trade, User, db, trade_licence_type


def licence_valid_on(licence: Licence, day: date) -> bool:
    """Valid from its issue day through its expiry day, both in hospital time."""
    return licence.issued_on <= day <= licence.expires_on


def _licensed_clause(trade: Trade, day: date):
    """SQL: the user holds a licence of a type the trade accepts, valid on that day."""
    return exists(
        select(Licence.id)
        .join(trade_licence_type, trade_licence_type.c.licence_type_id == Licence.licence_type_id)
        .where(
            Licence.technician_id == User.id,
            trade_licence_type.c.trade_id == trade.id,
            Licence.issued_on <= day,
            Licence.expires_on >= day,
        )
    )


def trade_requires_licence(trade: Trade) -> bool:
    return bool(trade.licence_types)


def eligible_technicians(trade: Trade, now: datetime) -> list[User]:
    """Active technicians who may take this trade's jobs right now, by name."""
    query = select(User).where(User.role == "technician", User.active.is_(True))
    if trade_requires_licence(trade):
        query = query.where(_licensed_clause(trade, hospital_date(now)))
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
    """Raise NotLicensedError unless the technician may work this trade at this moment."""
    if technician.role != "technician" or not technician.active:
        raise ValidationError(_("%(name)s is not an active technician.", name=technician.full_name), field="technician_id")
    if not trade_requires_licence(trade):
        return
    today = hospital_date(now)
    accepted = {lt.id for lt in trade.licence_types}
    relevant = [lic for lic in technician.licences if lic.licence_type_id in accepted]
    if any(licence_valid_on(lic, today) for lic in relevant):
        return
    needs = ", ".join(lt.name for lt in trade.licence_types)
    expired = [lic for lic in relevant if lic.expires_on < today]
    if expired:
        last = max(expired, key=lambda lic: lic.expires_on)
        message = _(
            "%(name)s cannot take %(trade)s jobs: licence %(number)s expired on %(date)s.",
            name=technician.full_name, trade=trade.name, number=last.number, date=last.expires_on.isoformat(),
        )
    else:
        message = _(
            "%(name)s holds no valid licence for %(trade)s (needs one of: %(needs)s).",
            name=technician.full_name, trade=trade.name, needs=needs,
        )
    raise NotLicensedError(message, field="technician_id")


def expiring_licences(now: datetime, within_days: int = 30) -> list[Licence]:
    """Licences already expired or expiring within the window, soonest first."""
    from datetime import timedelta

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
            select(Licence).join(User).where(User.active.is_(True), Licence.expires_on <= horizon, ~renewed)
            .order_by(Licence.expires_on)
        )
    )
