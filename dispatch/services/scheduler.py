"""The scheduler's rounds: timers live in the database, so a restart loses nothing."""
from __future__ import annotations

import logging
from datetime import datetime, timedelta

from flask import current_app

from dispatch.services import escalation, heartbeats, notify, sla

log = logging.getLogger(__name__)
WORKER_PING_EVERY = timedelta(seconds=30)


class Rounds:
    """One scheduler process. `tick` does whatever is due at `now`."""

    def __init__(self) -> None:
        self.last_worker_ping: datetime | None = None

    def tick(self, now: datetime) -> None:
        escalation.run_due(now)
        sla.sweep_breaches(now)
        notify.sweep(now)
        send_coverage_report_if_due(now)
        heartbeats.beat("scheduler")
        if self.last_worker_ping is None or now - self.last_worker_ping >= WORKER_PING_EVERY:
            self._ping_worker()
            self.last_worker_ping = now

    @staticmethod
    def _ping_worker() -> None:
        from dispatch.queue import get_queue

        try:
            get_queue().enqueue("workers.jobs.heartbeat", job_timeout=30, result_ttl=60, failure_ttl=3600)
        except Exception:  # Redis down: the board shows the worker going silent; keep doing the rounds
            log.warning("could not enqueue the worker heartbeat; is Redis running?", exc_info=True)


class Watchdog:
    """A second process that fires any escalation step overdue by more than 30 seconds (the
    scheduler is dead or stuck) and records that it did."""

    def tick(self, now: datetime) -> None:
        fired = escalation.run_due(now, by="watchdog", grace=escalation.WATCHDOG_GRACE)
        if fired:
            log.warning("watchdog fired %d overdue escalation step(s)", fired)
        heartbeats.beat("watchdog", f"fired {fired}" if fired else None)


def send_coverage_report_if_due(now: datetime) -> bool:
    """Once a day, at COVERAGE_REPORT_HOUR hospital time, SMS the duty manager the coverage gaps."""
    from dispatch.services import oncall_reports

    hour = current_app.config.get("COVERAGE_REPORT_HOUR", 8)
    return oncall_reports.daily_coverage_sms(now, hour)
