"""Shift swaps between technicians: one asks a colleague to take a shift; accepted, it becomes a
swap override on the rota and the asker is told by SMS. Declined or withdrawn, nothing changes."""
from __future__ import annotations

from datetime import datetime, timedelta

from flask_babel import gettext as _
from sqlalchemy import select, update

from dispatch.clock import now as clock_now
from dispatch.errors import ConflictError, NotFoundError, ValidationError
from dispatch.i18n import short_datetime
from dispatch.services import licences, notify, rota
from dispatch.services.timezone import hospital_zone
from dispatch.services.unit_of_work import write_transaction
from dispatch.sms import segments
from dispatch.sms import text as sms_text
from models import ShiftOverride, SwapRequest, Trade, User, db

PENDING, ACCEPTED, DECLINED, WITHDRAWN = "pending", "accepted", "declined", "withdrawn"


def _find_duty(user_id: int, trade_id: int | None, role: str, starts_at: datetime, ends_at: datetime) -> rota.Duty | None:
    for duty in rota.shifts_of(user_id, starts_at, ends_at):
        if (duty.trade_id, duty.role, duty.starts_at, duty.ends_at) == (trade_id, role, starts_at, ends_at):
            return duty
    return None


def _check_colleague(colleague: User | None, requester_id: int, trade: Trade, starts_at: datetime,
                     ends_at: datetime) -> User:
    """An active technician, licensed for the trade for the whole window, and free then."""
    if colleague is None or colleague.role != "technician" or not colleague.active:
        raise ValidationError(_("Choose an active technician."), field="colleague_id")
    if colleague.id == requester_id:
        raise ValidationError(_("Choose someone other than yourself."), field="colleague_id")
    for moment in (starts_at, ends_at - timedelta(seconds=1)):
        licences.ensure_licensed(colleague, trade, moment)
    if rota.shifts_of(colleague.id, starts_at, ends_at):
        raise ValidationError(_("%(name)s is already on call during that shift.", name=colleague.full_name),
                              field="colleague_id")
    return colleague


def colleagues_for(trade_id: int, requester_id: int, now: datetime) -> list[User]:
    """Who can be asked: active technicians licensed for the trade today (checked again for the shift itself)."""
    trade = db.session.get(Trade, trade_id)
    if trade is None:
        return []
    return [u for u in licences.eligible_technicians(trade, now) if u.id != requester_id]


def request_swap(*, requester_id: int, colleague_id: int, trade_id: int | None, role: str, starts_at: datetime,
                 ends_at: datetime, note: str | None = None) -> SwapRequest:
    """Ask a colleague to take one of the requester's own shifts that has not started yet."""
    moment = clock_now()
    if role not in rota.TECHNICIAN_ROLES or trade_id is None:
        raise ValidationError(_("Only technicians' shifts are swapped here; ask the supervisor."), field="shift")
    if starts_at <= moment:
        raise ValidationError(_("This shift has already started; ask the supervisor to arrange cover."), field="shift")
    with write_transaction() as session:
        if _find_duty(requester_id, trade_id, role, starts_at, ends_at) is None:
            raise ValidationError(_("That is not one of your shifts."), field="shift")
        trade = session.get(Trade, trade_id)
        _check_colleague(session.get(User, colleague_id), requester_id, trade, starts_at, ends_at)
        already = session.scalar(select(SwapRequest.id).where(
            SwapRequest.requester_id == requester_id, SwapRequest.trade_id == trade_id, SwapRequest.role == role,
            SwapRequest.starts_at == starts_at, SwapRequest.state == PENDING))
        if already is not None:
            raise ValidationError(_("You have already asked someone to take this shift; withdraw that first."),
                                  field="shift")
        swap = SwapRequest(requester_id=requester_id, colleague_id=colleague_id, trade_id=trade_id, role=role,
                              starts_at=starts_at, ends_at=ends_at, note=(note or "").strip()[:200] or None,
                              state=PENDING, created_at=moment)
        session.add(swap)
    return swap


def _decide(session, request_id: int, new_state: str, *, colleague_id: int | None = None,
            requester_id: int | None = None) -> SwapRequest:
    """Move a pending swap on with a conditional update, so two clicks cannot both win."""
    swap = session.get(SwapRequest, request_id)
    if swap is None or (colleague_id is not None and swap.colleague_id != colleague_id) or \
            (requester_id is not None and swap.requester_id != requester_id):
        raise NotFoundError(_("No such swap request."))
    moment = clock_now()
    claimed = session.execute(
        update(SwapRequest).where(SwapRequest.id == request_id, SwapRequest.state == PENDING)
        .values(state=new_state, decided_at=moment).execution_options(synchronize_session=False)
    ).rowcount
    if claimed != 1:
        raise ConflictError(_("This swap has already been answered or withdrawn."))
    session.refresh(swap)
    return swap


def accept_swap(request_id: int, colleague_id: int) -> SwapRequest:
    """The colleague takes the shift: a swap override replaces the requester, who gets an SMS."""
    with write_transaction() as session:
        swap = _decide(session, request_id, ACCEPTED, colleague_id=colleague_id)
        if swap.starts_at <= clock_now():
            raise ValidationError(_("This shift has already started; ask the supervisor."), field="shift")
        # The rota may have changed since the swap was made: check the shift and the colleague again.
        if _find_duty(swap.requester_id, swap.trade_id, swap.role, swap.starts_at, swap.ends_at) is None:
            raise ValidationError(_("%(name)s is no longer on call for that shift.", name=swap.requester.full_name),
                                  field="shift")
        colleague = _check_colleague(session.get(User, colleague_id), swap.requester_id, swap.trade,
                                     swap.starts_at, swap.ends_at)
        override = ShiftOverride(kind="swap", user_id=colleague.id, replaces_user_id=swap.requester_id,
                                 trade_id=swap.trade_id, role=swap.role, starts_at=swap.starts_at,
                                 ends_at=swap.ends_at, reason=_("Swap agreed by %(name)s", name=colleague.full_name),
                                 created_by_id=colleague.id, created_at=swap.decided_at)
        session.add(override)
        session.flush()
        swap.override_id = override.id
        notify.owe_sms(session, recipient=swap.requester, body=sms_text.for_user(swap.requester, swap_accepted_text, swap),
                       kind="rota")
    return swap


def decline_swap(request_id: int, colleague_id: int) -> SwapRequest:
    with write_transaction() as session:
        return _decide(session, request_id, DECLINED, colleague_id=colleague_id)


def withdraw_swap(request_id: int, requester_id: int) -> SwapRequest:
    with write_transaction() as session:
        return _decide(session, request_id, WITHDRAWN, requester_id=requester_id)


def swap_accepted_text(swap: SwapRequest) -> str:
    zone = hospital_zone()
    return segments.fit(_(
        "%(name)s will take your %(trade)s on-call shift %(start)s-%(end)s. You are off call then.",
        name=swap.colleague.full_name, trade=swap.trade.name if swap.trade else "",
        start=short_datetime(swap.starts_at.astimezone(zone)), end=short_datetime(swap.ends_at.astimezone(zone))), 2)


def asked_of(user_id: int) -> list[SwapRequest]:
    """Requests waiting for this person's answer, soonest shift first."""
    return list(db.session.scalars(select(SwapRequest).where(
        SwapRequest.colleague_id == user_id, SwapRequest.state == PENDING,
        SwapRequest.ends_at > clock_now()).order_by(SwapRequest.starts_at)))


def asked_by(user_id: int, since: datetime) -> list[SwapRequest]:
    """This person's own swaps for shifts not yet over, with their answers."""
    return list(db.session.scalars(select(SwapRequest).where(
        SwapRequest.requester_id == user_id, SwapRequest.ends_at > since).order_by(SwapRequest.starts_at)))

