"""Heartbeats of the background processes, stored in the database so every web process sees them."""
from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import select

from dispatch.clock import now as clock_now
from dispatch.services.unit_of_work import write_transaction
from models import Heartbeat, db

# How long each may stay silent before the board shows it in red.
SILENCE_LIMITS = {"scheduler": timedelta(seconds=30), "watchdog": timedelta(seconds=60), "worker": timedelta(seconds=120)}


def beat(name: str, detail: str | None = None) -> None:
    moment = clock_now()
    with write_transaction() as session:
        row = session.get(Heartbeat, name)
        if row is None:
            session.add(Heartbeat(name=name, beat_at=moment, detail=detail))
        else:
            row.beat_at = moment
            row.detail = detail


def status(now: datetime) -> dict[str, tuple[datetime | None, bool]]:
    """name -> (last beat, silent too long?)"""
    rows = {hb.name: hb.beat_at for hb in db.session.scalars(select(Heartbeat))}
    return {name: (rows.get(name), rows.get(name) is None or now - rows[name] > limit)
            for name, limit in SILENCE_LIMITS.items()}


def silent(name: str, now: datetime) -> bool:
    """Whether this process has been silent longer than its limit (or never beat)."""
    beat_at = db.session.scalar(select(Heartbeat.beat_at).where(Heartbeat.name == name))
    db.session.commit()  # end the read: the caller goes on to write
    return beat_at is None or now - beat_at > SILENCE_LIMITS[name]
