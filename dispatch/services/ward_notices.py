"""Telling wards by SMS that a supply will be (or has been) interrupted or restored: a permit's isolation and
restoration, a planned interruption's announcement. One SMS per contact of each ward (its active nurses with a
mobile), each in that nurse's language; a ward with nobody to text gets one failed outbox row, so the page that
sent it says plainly the ward was not told."""
from __future__ import annotations

from collections.abc import Callable

from sqlalchemy import select
from sqlalchemy.orm import Session

from dispatch.services import notify
from dispatch.sms.text import for_user
from models import User, Ward, db


def ward_choices() -> list[Ward]:
    return list(db.session.scalars(select(Ward).order_by(Ward.name)))


def tell_wards(session: Session, wards: list[Ward], make: Callable[[Ward], str]) -> int:
    """Owe the SMS inside the caller's transaction; `make(ward)` formats the body. Returns the rows owed."""
    count = 0
    for ward in wards:
        nurses = list(session.scalars(select(User).where(User.ward_id == ward.id, User.role == "nurse",
                                                         User.active.is_(True), User.phone.is_not(None))
                                      .order_by(User.id)))
        for nurse in nurses or [None]:
            body = for_user(nurse, make, ward) if nurse is not None else make(ward)
            notify.owe_sms(session, recipient=nurse, body=body, kind="ward_notice")
            count += 1
    return count
