"""Faults during a burst of reports, with the real processes on the real clock: Redis restarted, an RQ worker
SIGKILLed mid-send, Twilio answering 503 then 429 for twenty seconds each, and the database refusing
connections. Reports are filed over real HTTP (the report form and the API) from several threads, so
"accepted" means what the person was told. Afterwards every accepted ticket exists and every SMS owed
was accepted by the fake Twilio exactly once; where a duplicate is possible in principle it is counted
(docs/operations.md, "What happens when...", explains the window). Two narrower cases follow: the database
going away just after a report's commit, and a scheduler round whose connection died mid-transaction.

The web app is served from this process (on the system clock); `flask worker` and `flask scheduler` run
as the service runs them, in process groups of their own, and are stopped whatever the outcome.
"""
from __future__ import annotations

import os
import sqlite3
import time
from collections import Counter
from datetime import date, time as clock_time, timedelta
from pathlib import Path

import pytest
from sqlalchemy import create_engine, func, select, text

from dispatch.clock import SystemClock
from models import Licence, OnCallShift, OutboundMessage, Ticket, TicketEvent, db
from tests.conftest import PASSWORD, POSTGRES_ADMIN_URL
from tests.fault_rig import (ApiReporter, Burst, Nurse, PrivateRedis, Processes, accepted_at_fake, create_answers,
                             running, wait_until)

# The sweep's timings for these runs, shorter than production's (30 s, 60 s, 10 s) so that a lost job
# is found within seconds; the stuck limit stays above the Twilio timeout, as config.check_sms_timings demands.
REQUEUE_AFTER, STUCK_AFTER, TWILIO_TIMEOUT = 3, 6, 4
SETTLED = ("sent", "delivered")


@pytest.fixture
def clock():
    """The system clock: the worker and the scheduler are processes of their own and keep real time."""
    return SystemClock()


class Rig:
    """The hospital on call, the app over HTTP, the fake Twilio, and the worker and scheduler processes."""

    def __init__(self, app, hospital, fake, base_url: str, database_url: str, processes: Processes) -> None:
        self.app, self.hospital, self.fake, self.base_url = app, hospital, fake, base_url
        self.database_url = database_url
        self.processes = processes

    # the processes
    def start(self) -> None:
        """A worker and a scheduler, and wait until both are at work."""
        from models import Heartbeat

        self.start_worker()
        process = self.processes.scheduler()

        def first_round():
            assert process.poll() is None, "the scheduler exited:\n" + self.processes.log_tail()
            db.session.rollback()
            beat = db.session.get(Heartbeat, "scheduler", populate_existing=True)
            return beat is not None and beat.beat_at >= started
        started = SystemClock().now() - timedelta(seconds=1)
        wait_until(first_round, 60, "the scheduler's first round", every=0.1)

    def start_worker(self) -> None:
        """`flask worker`, and wait until it listens on the queue (RQ gives up at once if Redis is down then)."""
        from redis import Redis
        from rq import Worker

        process = self.processes.worker()
        connection = Redis.from_url(self.processes.env["REDIS_URL"])

        def listening():
            assert process.poll() is None, "the worker exited:\n" + self.processes.log_tail()
            return any(w.pid == process.pid for w in Worker.all(connection=connection))
        try:
            wait_until(listening, 60, "the worker listening", every=0.1)
        finally:
            connection.close()

    # who files
    def nurse(self, language: str = "en") -> Nurse:
        return Nurse(self.base_url, "nurse.ward3", PASSWORD, self.hospital.ward3.id, self.hospital.trades["power"].id,
                     language)

    def panel(self) -> ApiReporter:
        from dispatch.services.tokens import create_token
        from models import User

        user = db.session.scalar(select(User).where(User.username == "nurse.ward3"))
        header = {"Authorization": f"Bearer {create_token(user.id, 'fault test')}"}
        return ApiReporter(self.base_url, header, self.hospital.ward3.id, "power")

    def reporters(self, nurses: int = 2, panels: int = 2) -> list:
        return [self.nurse() for _ in range(nurses)] + [self.panel() for _ in range(panels)]

    # what the database says
    @staticmethod
    def rows() -> list[OutboundMessage]:
        db.session.rollback()
        db.session.expire_all()
        return list(db.session.scalars(select(OutboundMessage).order_by(OutboundMessage.id)))

    @staticmethod
    def ticket_ids() -> set[int]:
        db.session.rollback()
        return set(db.session.scalars(select(Ticket.id)))

    def settle(self, timeout: float) -> list[OutboundMessage]:
        """Until every owed SMS is sent (or delivered) and the fake holds a message for each; fails early on a
        row given up as failed, naming it."""

        def settled():
            assert self.processes.alive("worker") and self.processes.alive("scheduler"), (
                "a process died:\n" + self.processes.log_tail())
            rows = self.rows()
            failed = [(r.id, r.state, r.last_error) for r in rows if r.state in ("failed", "undelivered")]
            assert not failed, f"SMS given up: {failed}"
            at_fake = accepted_at_fake(self.fake)
            return rows if all(r.state in SETTLED and at_fake[r.id] for r in rows) else None

        try:
            return wait_until(settled, timeout, "every owed SMS sent", every=0.2)
        except AssertionError as error:
            waiting = [(r.id, r.state, r.attempts, r.last_error) for r in self.rows() if r.state not in SETTLED]
            raise AssertionError(f"{error}; still owed: {waiting[:10]}\n{self.processes.log_tail()}") from None


@pytest.fixture
def rig(app, hospital, fake_twilio, live_app, database_url, redis_conn, tmp_path):
    """Sparky on call for power all week (licensed around today's real date); Ward 3's whole-area power
    faults are urgent (P2), so each report is auto-dispatched to him with one assignment SMS owed.
    Major incidents are off: forty reports from one building would otherwise become one incident and one SMS."""
    today = date.today()
    sparky = hospital.users["sparky"].id
    for licence in db.session.scalars(select(Licence).where(Licence.technician_id == sparky)):
        licence.issued_on, licence.expires_on = today - timedelta(days=30), today + timedelta(days=365)
    power = hospital.trades["power"].id
    for weekday in range(7):
        db.session.add(OnCallShift(trade_id=power, role="primary", user_id=sparky, weekday=weekday,
                                   starts=clock_time(0), ends=clock_time(0)))
    db.session.commit()
    app.config.update(MAJOR_INCIDENT_AUTO_THRESHOLD=0, SMS_REQUEUE_AFTER_SECONDS=REQUEUE_AFTER,
                      SMS_STUCK_AFTER_SECONDS=STUCK_AFTER, TWILIO_HTTP_TIMEOUT=TWILIO_TIMEOUT)
    logs = tmp_path / "logs"
    logs.mkdir()
    processes = Processes(_process_env(app, database_url, fake_twilio.url, live_app, tmp_path), logs)
    try:
        yield Rig(app, hospital, fake_twilio, live_app, database_url, processes)
    finally:
        processes.stop_all()


def _process_env(app, database_url: str, twilio_url: str, public_url: str, tmp_path: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("TWILIO_", "DATABASE_URL", "REDIS_URL", "RQ_", "SMS_", "FAKE_TWILIO_", "PUBLIC_URL"))}
    env.update({
        "FLASK_APP": "dispatch:create_app",
        "DISPATCH_ENV": "development",
        "DISPATCH_INSTANCE_DIR": str(tmp_path / "instance"),
        "SECRET_KEY": "fault-tests",
        "PYTHONUNBUFFERED": "1",
        "DATABASE_URL": database_url,
        "REDIS_URL": app.config["REDIS_URL"],
        "RQ_QUEUE": app.config["RQ_QUEUE"],
        "TWILIO_API_BASE_URL": twilio_url,
        "TWILIO_ACCOUNT_SID": app.config["TWILIO_ACCOUNT_SID"],
        "TWILIO_AUTH_TOKEN": app.config["TWILIO_AUTH_TOKEN"],
        "TWILIO_FROM_NUMBER": app.config["TWILIO_FROM_NUMBER"],
        "TWILIO_HTTP_TIMEOUT": str(TWILIO_TIMEOUT),
        "PUBLIC_URL": public_url,
        "MAJOR_INCIDENT_AUTO_THRESHOLD": "0",
        "SCHEDULER_INTERVAL_SECONDS": "0.5",
        "SMS_REQUEUE_AFTER_SECONDS": str(REQUEUE_AFTER),
        "SMS_STUCK_AFTER_SECONDS": str(STUCK_AFTER),
    })
    return env


# --- what every test checks at the end --------------------------------------------------------------

def assert_nothing_lost(answers, rows: list[OutboundMessage]) -> None:
    """Every ticket answered as filed exists with its one assignment SMS owed, and no ticket exists that
    nobody was told was filed."""
    accepted = {a.ticket_id for a in answers if a.accepted}
    assert len(accepted) == sum(1 for a in answers if a.accepted), "two answers named the same ticket"
    stored = Rig.ticket_ids()
    assert accepted <= stored, f"answered as filed but missing: {sorted(accepted - stored)}"
    assert stored <= accepted, f"tickets nobody was told were filed: {sorted(stored - accepted)}"
    owed = Counter(r.ticket_id for r in rows if r.kind == "assignment")
    assert all(owed[ticket_id] == 1 for ticket_id in accepted), {t: owed[t] for t in accepted if owed[t] != 1}
    assert all(r.to_number == "+8613900000001" for r in rows)


def tally(fake, rows: list[OutboundMessage]) -> int:
    """Duplicates at the fake: messages beyond the first for one outbox row. Messages for no row fail."""
    per_row = accepted_at_fake(fake)
    ids = {r.id for r in rows}
    assert set(per_row) == ids, f"messages for rows that do not exist: {sorted(set(per_row) - ids)}"
    return sum(count - 1 for count in per_row.values())


def no_server_errors(answers) -> None:
    bad = [(a.channel, a.status, a.body[:200]) for a in answers if a.status >= 500 and a.status != 503]
    assert not bad, bad


# --- 1. Redis restarted mid-burst ------------------------------------------------------------------

@pytest.fixture
def private_redis(tmp_path):
    """Set up before the rig, so it outlives the worker and scheduler at teardown."""
    server = PrivateRedis(tmp_path)
    server.start()
    yield server
    server.kill()


def test_redis_restarted_mid_burst_loses_no_report_and_no_sms(private_redis, rig, app):
    redis = private_redis
    app.config["REDIS_URL"] = rig.processes.env["REDIS_URL"] = redis.url
    rig.start()
    burst = Burst(rig.reporters(nurses=2, panels=2), "Redis burst")
    burst.file(40, pause=0.3)

    wait_until(lambda: burst.done >= 10, 60, "the first ten reports answered")
    redis.kill()  # appendonly off: every queued job is gone with it
    down_from, killed_at = burst.done, time.monotonic()
    # Down for at least two of the scheduler's rounds, and for ten reports.
    wait_until(lambda: burst.done >= down_from + 10 and time.monotonic() - killed_at >= 2, 60,
               "ten reports answered while Redis is down")
    down_until, down_for = burst.done, time.monotonic() - killed_at
    redis.start()  # empty
    answers = burst.wait()

    no_server_errors(answers)
    assert all(a.accepted for a in answers), [(a.status, a.body[:200]) for a in answers if not a.accepted]
    assert len(answers) == 40 and down_until - down_from >= 10 and down_until < 40, (down_from, down_until)
    rows = rig.settle(timeout=90)
    assert_nothing_lost(answers, rows)
    assert tally(rig.fake, rows) == 0
    assert rig.processes.started["worker"] == 1, "the worker had to be restarted"
    # The outage was real: the sweep could not queue what was filed while Redis was down, then did.
    assert "could not enqueue SMS" in rig.processes.log_text("scheduler")
    print(f"\nRedis down {down_for:.1f} s, {down_until - down_from} of 40 reports answered meanwhile, all accepted; "
          f"{len(rows)} SMS sent once each; the worker listened again "
          f"{rig.processes.log_text('worker').count('listening again')} time(s)")


# --- 2. a worker SIGKILLed mid-send ------------------------------------------------------------------

def test_a_worker_killed_mid_send_is_recovered_by_the_sweep_and_duplicates_are_counted(rig):
    # A slow Twilio (each message answered a second after it is accepted) so a send is surely in flight, and
    # no status callbacks (the app unreachable for Twilio, say), so only the sweep can find out what happened.
    rig.fake.state.configure(RESPONSE_DELAY_SECONDS=1.0, SEND_CALLBACKS=False)
    rig.start()
    answers = Burst(rig.reporters(nurses=1, panels=1), "Kill burst").file_and_wait(8)
    assert all(a.accepted for a in answers), [(a.status, a.body[:200]) for a in answers]

    kills, in_flight = 2, []
    for _ in range(kills):
        seen = len(rig.fake.state.requests)

        def a_send_in_flight():
            requests = rig.fake.state.requests
            return next((r for r in requests[seen:] if r.path.endswith("/Messages.json") and r.response_status is None),
                        None)

        request = wait_until(a_send_in_flight, 30, "a send held by the slow fake Twilio")
        worker = rig.processes.running["worker"].pid
        rig.processes.kill("worker")  # mid-request: the worker sends from its own process
        wait_until(lambda: not running(worker), 10, "the worker gone")
        in_flight.append(int(request.form["StatusCallback"].rsplit("/", 1)[1]))
        rig.start_worker()

    rows = rig.settle(timeout=90)
    assert_nothing_lost(answers, rows)
    duplicates = tally(rig.fake, rows)
    assert duplicates <= kills
    by_id = {r.id: r for r in rows}
    messages = {rig.fake.state.message_record(m["sid"]).status_callback.rsplit("/", 1)[1]: m["sid"]
                for m in rig.fake.state.messages()}
    for row_id in in_flight:
        # Twilio had the message; the worker died before storing its SID; the sweep looked it up and adopted it.
        row = by_id[row_id]
        assert row.twilio_sid == messages[str(row_id)] and row.attempts == 1
        assert row.sent_at - row.claimed_at >= timedelta(seconds=STUCK_AFTER)  # not before it counted as stuck
    print(f"\nworker kills: {kills}; messages in flight at the kill: {in_flight}; duplicates: {duplicates}")


# --- 3. Twilio 503 then 429 ----------------------------------------------------------------------------

def test_twilio_503_then_429_for_twenty_seconds_each_is_retried_with_backoff_and_sent_once(rig):
    rig.start()
    reporters = rig.reporters(nurses=1, panels=1)
    start = time.monotonic()
    rig.fake.state.fail_for(503, 20)
    burst = Burst(reporters, "Busy burst")
    wait_until(lambda: time.monotonic() - start >= 10, 15, "ten seconds into the 503s", every=0.1)
    burst.file(4, pause=3)  # two from each, 10 s to ~16 s in
    wait_until(lambda: time.monotonic() - start >= 20, 25, "the end of the 503s", every=0.05)
    rig.fake.state.fail_for(429, 20)
    wait_until(lambda: time.monotonic() - start >= 22, 5, "two seconds into the 429s", every=0.05)
    burst.file(4, pause=4)  # 22 s to ~30 s in
    answers = burst.wait()
    assert all(a.accepted for a in answers), [(a.status, a.body[:200]) for a in answers]

    rows = rig.settle(timeout=100)
    assert_nothing_lost(answers, rows)
    assert tally(rig.fake, rows) == 0
    answered = create_answers(rig.fake)
    assert answered[503] > 0 and answered[429] > 0 and answered[201] == len(rows), answered
    assert all(r.attempts > 1 for r in rows), [(r.id, r.attempts) for r in rows]
    assert all(r.last_error is None and r.last_error_code is None for r in rows)
    db.session.rollback()
    assert db.session.scalar(select(func.count()).select_from(TicketEvent).where(TicketEvent.kind == "sms_failed")) == 0
    print(f"\nTwilio answers: {dict(answered)}; attempts per SMS: {sorted(r.attempts for r in rows)}; "
          f"{time.monotonic() - start:.0f} s")


# --- 4. the database refusing connections ---------------------------------------------------------------

class DatabaseOutage:
    """PostgreSQL: the database stops accepting connections and every open one is terminated. SQLite: another
    connection holds the write lock (BEGIN EXCLUSIVE) past the app's 15 s busy timeout."""

    def __init__(self, backend: str, database_url: str) -> None:
        self.backend, self.database_url = backend, database_url
        self.lock: sqlite3.Connection | None = None
        self.admin = None
        self.name = database_url.rsplit("/", 1)[1]

    def begin(self) -> None:
        if self.backend == "sqlite":
            self.lock = sqlite3.connect(self.database_url.removeprefix("sqlite:///"), isolation_level=None, timeout=30,
                                        check_same_thread=False)
            self.lock.execute("BEGIN EXCLUSIVE")
            return
        self.admin = create_engine(POSTGRES_ADMIN_URL, isolation_level="AUTOCOMMIT")
        with self.admin.connect() as conn:
            conn.execute(text(f'ALTER DATABASE "{self.name}" ALLOW_CONNECTIONS false'))
            conn.execute(text("SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                              "WHERE datname = :name AND pid <> pg_backend_pid()"), {"name": self.name})

    def end(self) -> None:
        if self.lock is not None:
            self.lock.execute("ROLLBACK")
            self.lock.close()
            self.lock = None
        if self.admin is not None:
            with self.admin.connect() as conn:
                conn.execute(text(f'ALTER DATABASE "{self.name}" ALLOW_CONNECTIONS true'))
            self.admin.dispose()
            self.admin = None


def test_the_database_refusing_connections_answers_503_and_loses_nothing(rig, db_backend):
    # SQLite waits 15 s for the lock before giving up: hold it longer, and file only at the start of it.
    hold, filing_window = (17.0, 1.5) if db_backend == "sqlite" else (4.0, 3.0)
    rig.fake.state.configure(RESPONSE_DELAY_SECONDS=0.3)  # the first SMS are still queued when the outage starts
    rig.start()
    reporters = [rig.nurse(), rig.nurse(language="zh_CN"), rig.panel(), rig.panel()]
    before = Burst(reporters, "Before the outage").file_and_wait(8)
    assert all(a.accepted for a in before)

    db.session.close()  # this test's own connection holds no transaction through the outage
    outage = DatabaseOutage(db_backend, rig.database_url)
    outage.begin()
    try:
        began = time.monotonic()
        during = Burst(reporters, "During the outage")
        during.file(8, pause=filing_window / 2)
        wait_until(lambda: time.monotonic() - began >= hold, hold + 5, "the outage's end", every=0.05)
    finally:
        outage.end()
    during_answers = during.wait(timeout=60)
    after = Burst(reporters, "After the outage").file_and_wait(4)

    answers = before + during_answers + after
    no_server_errors(answers)
    refused = [a for a in during_answers if not a.accepted]
    assert refused, "no report was refused: the outage did not reach the app"
    for answer in refused:
        assert answer.status == 503, (answer.channel, answer.status, answer.body[:300])
        if answer.channel == "api":
            assert answer.content_type.startswith("application/json")
            assert '"error": "ServiceUnavailable"' in answer.body or '"error":"ServiceUnavailable"' in answer.body
        else:
            assert answer.content_type.startswith("text/html") and 'role="alert"' in answer.body
        if answer.language == "zh_CN":
            assert "服务繁忙" in answer.body and "请一分钟后再试" in answer.body, answer.body[:500]
        else:
            assert "Service busy" in answer.body and "Try again in a minute" in answer.body, answer.body[:500]
    assert {a.language for a in refused if a.channel == "form"} == {"en", "zh_CN"}
    assert all(a.accepted for a in after), [(a.status, a.body[:200]) for a in after]

    rows = rig.settle(timeout=90)
    assert_nothing_lost(answers, rows)
    assert tally(rig.fake, rows) == 0
    # The same worker and scheduler carried on: no restart was needed.
    assert rig.processes.started["worker"] == 1 and rig.processes.started["scheduler"] == 1
    print(f"\n{db_backend}: {len(refused)} of {len(during_answers)} reports during the outage answered 503; "
          f"{len(rows)} SMS sent once each")


# --- the database gone between a report's commit and the marking of its SMS as queued ----------------

def test_a_report_committed_just_before_the_database_goes_away_is_still_answered_as_filed(rig, db_backend, worker):
    """The ticket and its SMS are committed (the row marked as queued in the same transaction) and the job is
    queued; then the database goes away. The nurse must be told it was filed (it was): an error here would
    have her file it again. The SMS is sent once."""
    from sqlalchemy import event
    from sqlalchemy.orm import Session

    from dispatch.services.unit_of_work import AFTER_COMMIT

    nurse = rig.nurse()
    outage = DatabaseOutage(db_backend, rig.database_url)

    def database_goes_away(session):
        if session.info.get(AFTER_COMMIT) and outage.lock is None and outage.admin is None:
            outage.begin()  # right after the commit that owes the SMS, before anything else runs

    db.session.close()
    event.listen(Session, "after_commit", database_goes_away)
    try:
        answer = nurse.report("No power in bay 2, breaker will not reset")
    finally:
        event.remove(Session, "after_commit", database_goes_away)
        outage.end()

    assert answer.accepted, (answer.status, answer.body[:300])
    assert Rig.ticket_ids() == {answer.ticket_id}
    [row] = Rig.rows()
    assert (row.ticket_id, row.state) == (answer.ticket_id, "pending") and row.enqueued_at is not None
    assert worker() == ["sent"]  # the job queued before the database went away
    assert accepted_at_fake(rig.fake) == {row.id: 1}


# --- a scheduler round whose connection died in the middle of its transaction --------------------------

def test_a_scheduler_round_whose_connection_died_mid_transaction_does_not_stop_the_loop(app, hospital):
    """The connection dies between two statements of a round (PostgreSQL terminated it, say): the round fails,
    its rollback fails too, and the next round still runs on a fresh connection."""
    from dispatch.commands import _loop

    class Rounds:
        ticks = 0

        def tick(self, now):
            self.ticks += 1
            db.session.scalar(select(func.count()).select_from(Ticket))  # a transaction is open
            if self.ticks == 1:
                db.session.connection().connection.dbapi_connection.close()  # and its connection is gone
                raise RuntimeError("the round failed half-way")

    rounds = Rounds()
    db.session.remove()
    _loop("scheduler", rounds, 0.0, once=True)
    _loop("scheduler", rounds, 0.0, once=True)
    assert rounds.ticks == 2


# --- 5. the scheduler dead while Twilio fails -----------------------------------------------------------

def test_with_the_scheduler_dead_the_watchdog_keeps_retrying_through_a_twilio_outage(rig):
    """Only a worker and the watchdog run (the scheduler never started: its heartbeat is silent), and Twilio
    answers 503 for ten seconds: the watchdog's sweep queues each retry, and every SMS goes out once."""
    from models import Heartbeat

    rig.start_worker()
    watchdog = rig.processes.start("watchdog", "watchdog")
    start = time.monotonic()
    rig.fake.state.fail_for(503, 10)
    burst = Burst(rig.reporters(nurses=1, panels=1), "Scheduler dead")
    burst.file(2, pause=1)
    answers = burst.wait()
    assert all(a.accepted for a in answers), [(a.status, a.body[:200]) for a in answers]

    def settled():
        assert watchdog.poll() is None and rig.processes.alive("worker"), "a process died:\n" + rig.processes.log_tail()
        rows = rig.rows()
        assert not [r for r in rows if r.state in ("failed", "undelivered", "not_needed")], \
            [(r.id, r.state, r.last_error) for r in rows]
        at_fake = accepted_at_fake(rig.fake)
        return rows if rows and all(r.state in SETTLED and at_fake[r.id] for r in rows) else None

    rows = wait_until(settled, 90, "every owed SMS sent with only the watchdog sweeping", every=0.2)
    assert_nothing_lost(answers, rows)
    assert tally(rig.fake, rows) == 0
    assert create_answers(rig.fake)[503] > 0 and all(r.attempts > 1 for r in rows), [(r.id, r.attempts) for r in rows]
    db.session.rollback()
    assert "swept SMS" in db.session.get(Heartbeat, "watchdog", populate_existing=True).detail
    assert "scheduler silent: the watchdog queued" in rig.processes.log_text("watchdog")
    print(f"\nattempts per SMS: {sorted(r.attempts for r in rows)}; {time.monotonic() - start:.0f} s")
