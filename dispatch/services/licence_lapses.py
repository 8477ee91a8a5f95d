"""A licence that expires or is revoked while its holder still has open jobs of a trade it covered: the board
marks those jobs, and the supervisors are told once per lapse. The jobs are found with the one licence rule
(`licences.may_work_clause`), so the board's mark and the refusal at acknowledgement cannot disagree."""
from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from dispatch.services import licences, notify
from dispatch.services.unit_of_work import write_transaction
from dispatch.sms import text as sms_text
from models import OPEN_STATUSES, Licence, LicenceLapse, Ticket, User, db


def _lapsed_jobs(now: datetime):
    """Open tickets whose technician may no longer take their trade's work."""
    return select(Ticket).where(Ticket.status.in_(OPEN_STATUSES), Ticket.assignee_id.is_not(None),
                                ~licences.may_work_clause(Ticket.assignee_id, Ticket.trade_id, now))


def lapsed_ticket_ids(ticket_ids: Iterable[int], now: datetime) -> set[int]:
    """Which of these open tickets the board marks "licence lapsed"."""
    ids = list(ticket_ids)
    if not ids:
        return set()
    return set(db.session.scalars(_lapsed_jobs(now).where(Ticket.id.in_(ids)).with_only_columns(Ticket.id)))


def notice_lapses(now: datetime) -> int:
    """The scheduler's pass: record each licence that lapsed under open jobs once (the unique licence id
    decides between two schedulers and between passes) and, in the same transaction, owe each active
    supervisor one SMS naming the technician, the licence and the jobs. Returns how many lapses were new."""
    by_licence: dict[int, tuple] = {}
    for ticket in db.session.scalars(_lapsed_jobs(now).order_by(Ticket.id)):
        lapse = licences.last_lapse(ticket.assignee, ticket.trade, now)
        if lapse is None:  # never held one (the trade's licence types changed): not a lapse to report
            continue
        licence, how, day = lapse
        by_licence.setdefault(licence.id, (licence, how, day, []))[3].append(ticket)
    if not by_licence:
        return 0
    known = set(db.session.scalars(select(LicenceLapse.licence_id).where(LicenceLapse.licence_id.in_(by_licence))))
    noticed = 0
    for licence_id, (licence, how, day, tickets) in by_licence.items():
        if licence_id in known:
            continue
        try:
            noticed += _record(licence_id, how, day, [t.id for t in tickets], now)
        except IntegrityError:
            pass  # the other scheduler recorded this lapse first, and told the supervisors
    return noticed


def _record(licence_id: int, how: str, day, ticket_ids: list[int], now: datetime) -> int:
    with write_transaction() as session:
        if session.scalar(select(LicenceLapse.id).where(LicenceLapse.licence_id == licence_id)) is not None:
            return 0
        licence = session.get(Licence, licence_id)
        session.add(LicenceLapse(licence_id=licence_id, technician_id=licence.technician_id, reason=how,
                                 noticed_at=now, open_jobs=len(ticket_ids)))
        session.flush()  # the unique licence id: a second scheduler stops here, before any SMS is owed
        tickets = list(session.scalars(select(Ticket).where(Ticket.id.in_(ticket_ids)).order_by(Ticket.id)))
        holder = licence.technician
        for supervisor in session.scalars(select(User).where(User.role == "supervisor", User.active.is_(True),
                                                             User.phone.is_not(None)).order_by(User.id)):
            body = sms_text.for_user(supervisor, sms_text.licence_lapsed, holder.full_name, licence.number, how,
                                     day, [t.number for t in tickets])
            notify.owe_sms(session, recipient=supervisor, body=body, kind="licence_lapsed",
                           ticket=tickets[0] if len(tickets) == 1 else None)
    return 1
