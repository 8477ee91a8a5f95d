"""A control room in a bad hour, for the board benchmark: the demo hospital with 1,000 open jobs.

The jobs are filed the way reports are (dispatch.services.tickets.report_fault: the proposed priority,
auto-dispatch, escalation timers, grouping into incidents), spread over the last hours so that some are
fresh, some close to their targets and some already late, across every ward and trade.
"""
from __future__ import annotations

import random
from datetime import datetime, timedelta, timezone

from sqlalchemy import func, select

from dispatch.clock import FrozenClock

DESCRIPTIONS = ("No power to the sockets by bed {n}", "Water leaking under the sink, bay {n}",
                "Air conditioning blowing warm in room {n}", "Lift stuck between floors, car {n}",
                "Door closer broken, side room {n}", "Oxygen outlet hissing at bed {n}")


def file_open_jobs(app, count: int, *, hours: float = 8.0, seed: int = 17) -> int:
    """File `count` reports over the `hours` before now, as the control room would (any ward). Returns how
    many jobs are open afterwards."""
    from dispatch.services.tickets import report_fault
    from models import OPEN_STATUSES, Ticket, Trade, User, Ward, db

    rng = random.Random(seed)
    end = datetime.now(timezone.utc)
    clock = FrozenClock(end - timedelta(hours=hours))
    previous = app.extensions["dispatch.clock"]
    app.extensions["dispatch.clock"] = clock
    try:
        with app.app_context():
            reporter = db.session.scalars(select(User).where(User.username == "dispatcher")).one()
            wards = list(db.session.scalars(select(Ward.id)))
            trades = list(db.session.scalars(select(Trade.id)))
            step = hours * 3600 / count
            for n in range(count):
                clock.advance(seconds=step)
                report_fault(reporter, ward_id=rng.choice(wards), trade_id=rng.choice(trades),
                             description=rng.choice(DESCRIPTIONS).format(n=n + 1),
                             patient_at_risk=rng.random() < 0.1, whole_area=rng.random() < 0.3)
            db.session.remove()
            return db.session.scalar(select(func.count(Ticket.id)).where(Ticket.status.in_(OPEN_STATUSES)))
    finally:
        app.extensions["dispatch.clock"] = previous
