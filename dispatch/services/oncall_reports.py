"""The daily coverage-gap SMS to the duty manager, sent once per day whichever scheduler gets there first."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from dispatch.services import notify, rota
from dispatch.services.timezone import hospital_zone
from dispatch.services.unit_of_work import write_transaction
from dispatch.sms import text as sms_text
from models import Heartbeat
from models import db

MARKER = "coverage-sms"


def gap_spans(now: datetime) -> list[tuple[str, datetime, datetime]]:
    """The next fortnight's coverage gaps as (trade, start, end) in hospital time, for the SMS to format."""
    zone = hospital_zone()
    return [(g.trade.display_name, g.starts_at.astimezone(zone), g.ends_at.astimezone(zone)) for g in rota.coverage_gaps(now)]


def daily_coverage_sms(now: datetime, hour: int) -> bool:
    local = now.astimezone(hospital_zone())
    if local.hour < hour:
        return False
    today = local.date().isoformat()
    try:
        with write_transaction() as session:
            # Locked (PostgreSQL; SQLite's BEGIN IMMEDIATE already serialises): a second scheduler at the
            # same moment waits here, then reads the day as claimed.
            marker = session.get(Heartbeat, MARKER, with_for_update=True, populate_existing=True)
            if marker is not None and marker.detail == today:
                return False
            # Claim the day in the same transaction as the SMS rows: a second scheduler sees the marker.
            if marker is None:
                session.add(Heartbeat(name=MARKER, beat_at=now, detail=today))
            else:
                marker.beat_at, marker.detail = now, today
            gaps = gap_spans(now)
            for manager in rota.on_call(None, ("duty_manager",), now):
                body = sms_text.for_user(manager, sms_text.coverage_gaps, gaps)
                notify.owe_sms(session, recipient=manager, body=body, kind="coverage")
    except IntegrityError:
        return False  # the very first day: the other scheduler inserted the marker first, and sends
    return True


def last_sent() -> Heartbeat | None:

    return db.session.scalar(select(Heartbeat).where(Heartbeat.name == MARKER))
