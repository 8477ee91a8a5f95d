"""Two schedulers at once (one on each machine, for resilience) do each round's work once: every missed
target is one breach line in the ticket's history, and the duty manager gets one coverage SMS a day.
Real threads, each with its own app context and database session, released together."""
from __future__ import annotations

from collections import Counter

from sqlalchemy import select

from dispatch.services import oncall_reports, sla
from dispatch.services.tickets import report_fault
from models import Heartbeat, TicketEvent, User, db
from tests.test_concurrency import run_together

ROUNDS = 8


def test_two_schedulers_sweeping_breaches_at_once_record_each_breach_once(app, hospital, clock):
    ward_id, trade_id, dispatcher_id = hospital.ward3.id, hospital.trades["power"].id, hospital.users["dispatcher"].id
    for round_number in range(ROUNDS):
        for n in range(5):
            report_fault(db.session.get(User, dispatcher_id), ward_id=ward_id, trade_id=trade_id,
                         description=f"Light out, round {round_number} bay {n}", priority=4)
        clock.advance(days=30)  # every target of those tickets has passed
        moment = clock.now()
        db.session.remove()
        results = run_together(app, [(lambda: None, lambda _seen: sla.sweep_breaches(moment))] * 2)
        assert all(kind == "ok" for kind, _value in results), results
    db.session.expire_all()
    lines = Counter((e.ticket_id, e.note) for e in db.session.scalars(select(TicketEvent).where(TicketEvent.kind == "breach")))
    assert len(lines) == ROUNDS * 5 * 3
    assert set(lines.values()) == {1}, [k for k, v in lines.items() if v > 1][:5]


def test_two_schedulers_at_the_report_hour_claim_the_day_once(app, hospital, clock):
    """Whichever claims the day sends the duty manager's SMS; the other sees the claim and sends nothing."""
    from datetime import datetime, timezone

    # The first day there is no marker row yet: both insert one, the database lets one through.
    assert db.session.get(Heartbeat, oncall_reports.MARKER) is None
    for day in range(ROUNDS):
        moment = datetime(2026, 3, 11 + day, 0, 0, tzinfo=timezone.utc)  # 08:00 in Shanghai, day after day
        clock.set(moment)
        db.session.remove()
        results = run_together(app, [(lambda: None, lambda _seen: oncall_reports.daily_coverage_sms(moment, 8))] * 2)
        assert sorted(str(value) for kind, value in results if kind == "ok") == ["False", "True"], results
