"""The scheduler's rounds: timers live in the database, so a restart loses nothing."""
from __future__ import annotations

import logging
import threading
from datetime import datetime, timedelta

from flask import current_app

from dispatch.errors import DispatchError
from dispatch.queue import get_queue
from dispatch.services import (
    certificates, escalation, heartbeats, interruptions, leadership, licence_lapses, notify, oncall_reports, planned,
    required_activities, sla,
)
from dispatch.services.directory import nightly
from models import db

log = logging.getLogger(__name__)
WORKER_PING_EVERY = timedelta(seconds=30)
# Planned tickets open days ahead of their date: a look once a minute is plenty.
PLANNED_EVERY = timedelta(seconds=60)
# Licences lapse at a hospital midnight or at a revocation: a look once a minute is prompt enough.
LAPSES_EVERY = timedelta(seconds=60)
# After a failed attempt at the monthly leadership report, wait this long before trying again.
LEADERSHIP_RETRY_EVERY = timedelta(minutes=10)
# The nightly directory sync: after the directory could not be read, try again this much later.
DIRECTORY_RETRY_EVERY = timedelta(minutes=10)


class Rounds:
    """One scheduler process. `tick` does whatever is due at `now`."""

    def __init__(self, reports_in_background: bool = False) -> None:
        self.last_worker_ping: datetime | None = None
        self.last_planned_run: datetime | None = None
        self.last_lapse_run: datetime | None = None
        # The monthly leadership report takes seconds on a large history: the scheduler process makes it
        # on a thread of its own so escalations keep firing on time meanwhile (tests make it in line).
        self.reports_in_background = reports_in_background
        self.leadership_thread: threading.Thread | None = None
        self.leadership_month_done = None  # the month whose report this process knows is kept
        self.leadership_failed_at: datetime | None = None
        self.directory_failed_at: datetime | None = None
        self.directory_day_done: str | None = None  # the hospital day this process knows is synced

    def tick(self, now: datetime) -> None:
        escalation.run_due(now)
        sla.sweep_breaches(now)
        notify.sweep(now)
        send_coverage_report_if_due(now)
        if self.last_planned_run is None or now - self.last_planned_run >= PLANNED_EVERY:
            planned.open_due(now)
            interruptions.announce_due(now)  # planned interruptions told to their wards, once
            self.last_planned_run = now
        if self.last_lapse_run is None or now - self.last_lapse_run >= LAPSES_EVERY:
            licence_lapses.notice_lapses(now)
            # Certificates' reminders and tasks, and required activities' due dates: days ahead, so once a minute.
            certificates.send_notices(now)
            required_activities.record_occurrences(now)
            self.last_lapse_run = now
        heartbeats.beat("scheduler")
        self._directory_sync(now)
        self._leadership_report(now)
        if self.last_worker_ping is None or now - self.last_worker_ping >= WORKER_PING_EVERY:
            self._ping_worker()
            self.last_worker_ping = now

    def _leadership_report(self, now: datetime) -> None:
        """Last month's leadership report, once (the database's unique month and version decide between two
        schedulers). After the month is known to be kept this costs nothing until the next month; a failure
        is logged and retried ten minutes later rather than stopping the rounds."""

        month = leadership.month_due(now)
        if self.leadership_month_done == month:
            return
        if self.leadership_thread is not None and self.leadership_thread.is_alive():
            return
        if self.leadership_failed_at is not None and now - self.leadership_failed_at < LEADERSHIP_RETRY_EVERY:
            return
        if not self.reports_in_background:
            self._make_leadership_report(now, month)
            return
        app = current_app._get_current_object()

        def in_its_own_context() -> None:
            with app.app_context():
                try:
                    self._make_leadership_report(now, month)
                finally:
                    db.session.remove()

        # A daemon: stopping the scheduler mid-report commits nothing, and the next start makes it again.
        self.leadership_thread = threading.Thread(target=in_its_own_context, name="leadership-report", daemon=True)
        self.leadership_thread.start()

    def _make_leadership_report(self, now: datetime, month) -> None:

        try:
            leadership.generate_due(now)
        except Exception:
            log.exception("could not make the leadership report for %s", month.strftime("%Y-%m"))
            db.session.rollback()
            self.leadership_failed_at = now
            return
        self.leadership_month_done, self.leadership_failed_at = month, None

    def _directory_sync(self, now: datetime) -> None:
        """The nightly LDAP sync; a directory that cannot be read is logged and tried again ten minutes later,
        and the rounds go on (nothing is switched off on a failed read)."""
        day = nightly.day_due(now)
        if day is None or day == self.directory_day_done:
            return  # no database read at all in the rounds of the rest of the day
        if self.directory_failed_at is not None and now - self.directory_failed_at < DIRECTORY_RETRY_EVERY:
            return
        try:
            nightly.sync_if_due(now)
        except DispatchError as error:
            log.warning("nightly directory sync failed: %s", error.message)
            self.directory_failed_at = now
        else:
            self.directory_failed_at, self.directory_day_done = None, day

    @staticmethod
    def _ping_worker() -> None:

        try:
            get_queue().enqueue("workers.jobs.heartbeat", job_timeout=30, result_ttl=60, failure_ttl=3600)
        except Exception:  # Redis down: the board shows the worker going silent; keep doing the rounds
            log.warning("could not enqueue the worker heartbeat; is Redis running?", exc_info=True)


class Watchdog:
    """A second process that fires any escalation step overdue by more than 30 seconds (the
    scheduler is dead or stuck) and records that it did. While the scheduler is silent it also
    does the SMS sweep, so retries during a Twilio outage and messages whose job Redis lost still go
    out (a sweep run by both at once is harmless: a worker claims its row before sending)."""

    def tick(self, now: datetime) -> None:
        fired = escalation.run_due(now, by="watchdog", grace=escalation.WATCHDOG_GRACE)
        if fired:
            log.warning("watchdog fired %d overdue escalation step(s)", fired)
        swept = None
        if heartbeats.silent("scheduler", now):
            swept = notify.sweep(now)
            if any(swept.values()):
                log.warning("scheduler silent: the watchdog queued %d SMS again and looked up %d stuck mid-send",
                            swept["enqueued"], swept["reconciled"])
        details = ([f"fired {fired}"] if fired else []) + (
            [f"swept SMS (queued {swept['enqueued']}, looked up {swept['reconciled']})"] if swept else [])
        heartbeats.beat("watchdog", "; ".join(details) or None)


def send_coverage_report_if_due(now: datetime) -> bool:
    """Once a day, at COVERAGE_REPORT_HOUR hospital time, SMS the duty manager the coverage gaps."""

    hour = current_app.config.get("COVERAGE_REPORT_HOUR", 8)
    return oncall_reports.daily_coverage_sms(now, hour)
