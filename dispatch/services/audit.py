"""The security audit trail: logins, role changes and API tokens, each with the client's address.

Events that record a change are added to the session of that change's own write transaction, so the
trail and the change commit (or roll back) together; a login attempt, which changes nothing else, is
written on its own."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from flask import has_request_context, request
from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session, selectinload

from dispatch.clock import now as clock_now
from dispatch.services.timezone import hospital_zone
from dispatch.services.unit_of_work import write_transaction
from models import AUDIT_KINDS, AuditEvent

PAGE_SIZE = 50


def client_address() -> str | None:
    """The client's address as the app sees it (behind TRUSTED_PROXIES, ProxyFix has already put the
    client's own address here); None outside a request (the command line, a worker)."""
    if not has_request_context():
        return None
    return (request.remote_addr or "")[:45] or None


def add(session: Session, kind: str, *, actor_id: int | None = None, subject_id: int | None = None,
        subject: str | None = None, detail: dict | None = None) -> AuditEvent:
    """Add one event to `session`, inside the caller's write transaction."""
    if kind not in AUDIT_KINDS:
        raise ValueError(f"unknown audit kind {kind!r}")
    event = AuditEvent(at=clock_now(), kind=kind, actor_id=actor_id, subject_id=subject_id,
                       subject=subject[:120] if subject else None, address=client_address(), detail=detail or None)
    session.add(event)
    return event


def record(kind: str, **fields) -> None:
    """Write one event in a transaction of its own (a login attempt, a logout)."""
    with write_transaction() as session:
        add(session, kind, **fields)


@dataclass(frozen=True)
class AuditFilter:
    kind: str | None = None
    person_id: int | None = None  # as the one who acted or the one acted upon
    start: date | None = None  # hospital days, inclusive
    end: date | None = None
    page: int = 1


@dataclass(frozen=True)
class AuditPage:
    events: list[AuditEvent]
    total: int
    page: int
    pages: int


def _day_start(day: date) -> datetime:
    return datetime.combine(day, time(0), tzinfo=hospital_zone())


def search(session: Session, wanted: AuditFilter) -> AuditPage:
    """Newest first, PAGE_SIZE a page; a page past the end shows the last one."""
    query = select(AuditEvent)
    if wanted.kind:
        query = query.where(AuditEvent.kind == wanted.kind)
    if wanted.person_id:
        query = query.where(or_(AuditEvent.actor_id == wanted.person_id, AuditEvent.subject_id == wanted.person_id))
    if wanted.start:
        query = query.where(AuditEvent.at >= _day_start(wanted.start))
    if wanted.end:
        query = query.where(AuditEvent.at < _day_start(wanted.end + timedelta(days=1)))
    total = session.scalar(select(func.count()).select_from(query.subquery())) or 0
    pages = max(1, -(-total // PAGE_SIZE))
    page = min(max(1, wanted.page), pages)
    events = session.scalars(query.options(selectinload(AuditEvent.actor), selectinload(AuditEvent.subject_user))
                             .order_by(AuditEvent.at.desc(), AuditEvent.id.desc())
                             .offset((page - 1) * PAGE_SIZE).limit(PAGE_SIZE)).all()
    return AuditPage(events=list(events), total=total, page=page, pages=pages)
