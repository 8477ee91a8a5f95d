"""The scheduler's rounds: timers live in the database, so a restart loses nothing."""
from __future__ import annotations

import logging
from datetime import datetime, timedelta

from dispatch.services import heartbeats, notify, sla

log = logging.getLogger(__name__)
WORKER_PING_EVERY = timedelta(seconds=30)


class Rounds:
    """One scheduler process. `tick` does whatever is due at `now` and never raises for one bad round."""

    def __init__(self) -> None:
        self.last_worker_ping: datetime | None = None

    def tick(self, now: datetime) -> None:
        sla.sweep_breaches(now)
        notify.sweep(now)
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
