"""`flask` commands: users and tokens, demo data, and the worker and scheduler processes."""
from __future__ import annotations

import logging
import signal
import time

import click
from flask import Flask, current_app
from sqlalchemy import func, select

from models import ROLES, Ticket, User, Ward, db


def register(app: Flask) -> None:
    for command in (create_user, create_token, revoke_token, seed_demo, seed_history, run_worker, run_scheduler,
                    run_watchdog, backup_database, restore_database, database_fingerprint, directory_sync,
                    reports_group):
        app.cli.add_command(command)
    app.cli.add_command(name_phones_at_fake_twilio)


@click.command("create-user")
@click.argument("username")
@click.option("--role", type=click.Choice(ROLES), required=True)
@click.option("--name", "full_name", required=True, help="Full name as people know them.")
@click.option("--ward", "ward_name", help="Nurses: the ward they report for.")
@click.option("--phone", help="Technicians: mobile number in E.164, e.g. +8613800138000.")
@click.password_option()
def create_user(username, role, full_name, ward_name, phone, password):
    """Create a user account."""
    from dispatch.services.staff import create_user as create

    ward_id = None
    if ward_name:
        ward = db.session.scalar(select(Ward).where(Ward.name == ward_name))
        if ward is None:
            raise click.BadParameter(f"no ward named {ward_name!r}", param_hint="--ward")
        ward_id = ward.id
    try:
        user = create(username=username, full_name=full_name, role=role, password=password, ward_id=ward_id, phone=phone)
    except Exception as error:  # a DispatchError names the field
        raise click.ClickException(str(error)) from error
    click.echo(f"created {user.username} ({user.role})")


@click.command("create-token")
@click.argument("username")
@click.option("--name", default="api", help="What the token is for.")
def create_token(username, name):
    """Create an API token for a user. The token is printed once."""
    from dispatch.services.tokens import create_token as create

    user = db.session.scalar(select(User).where(User.username == username))
    if user is None:
        raise click.ClickException(f"no user {username!r}")
    click.echo(create(user.id, name))


@click.command("revoke-token")
@click.argument("token_id", type=int)
def revoke_token(token_id):
    """Revoke an API token by its id."""
    from dispatch.services.tokens import revoke_token as revoke

    revoke(token_id)
    click.echo(f"revoked token {token_id}")


@click.command("seed-demo")
@click.option("--if-empty", is_flag=True, help="Do nothing when the database already has tickets or users.")
@click.option("--days", default=90, show_default=True, help="Days of history to generate.")
def seed_demo(if_empty, days):
    """Build a believable demo hospital with staff, licences and three months of history."""
    from dispatch.seed import seed_demo_hospital

    if if_empty and (db.session.scalar(select(func.count(User.id))) or db.session.scalar(select(func.count(Ticket.id)))):
        click.echo("database already has data; demo not seeded")
        return
    summary = seed_demo_hospital(days=days)
    click.echo(summary)


@click.command("seed-history")
@click.option("--tickets", type=click.IntRange(1, 20_000_000), required=True, help="How many tickets to add.")
@click.option("--years", type=click.FloatRange(0.1, 30), default=5.0, show_default=True,
              help="Over how many years up to now they were reported.")
@click.option("--seed", type=int, default=7, show_default=True, help="Random seed: the same seed gives the same history.")
@click.option("--open", "open_cap", type=click.IntRange(0, 1000), default=40, show_default=True,
              help="At most this many of the newest tickets stay open; the rest are finished.")
@click.option("--events/--no-events", default=True, show_default=True, help="Write each ticket's history too.")
def seed_history(tickets, years, seed, open_cap, events):
    """Add years of realistic ticket history in bulk (reports and benchmarks at scale).

    Builds the demo hospital first when the database is empty."""
    from dispatch.services.history import seed_history as generate

    summary = generate(tickets, years=years, seed=seed, open_cap=open_cap, events=events, progress=click.echo)
    click.echo(f"added {summary.tickets:,} tickets ({summary.open} open, {summary.breached:,} with a missed target) "
               f"and {summary.events:,} history lines in {summary.seconds:.1f} s")


@click.group("reports")
def reports_group():
    """The managers' reports."""


@reports_group.command("rebuild")
def rebuild_reports():
    """Make the reports' monthly roll-up again from the tickets (after upgrading, a bulk load or a restore)."""
    from dispatch.clock import now
    from dispatch.services import report_rollup

    started = time.monotonic()
    total = report_rollup.rebuild(now())
    db.session.commit()
    click.echo(f"rolled up {total:,} settled tickets in {time.monotonic() - started:.1f} s")


@click.command("worker")
@click.option("--burst", is_flag=True, help="Run the queued jobs, then stop.")
def run_worker(burst):
    """Run an RQ worker for the dispatch queue (JSON-serialised jobs), each job in this process.

    It rides out a Redis outage: it waits for Redis when it starts, and when RQ gives up on a lost
    connection (it quits if Redis goes away while a job is in hand) it listens again once Redis answers,
    instead of exiting and leaving the restarts to systemd's start limit. Jobs lost with Redis are the
    sweep's to queue again."""
    from redis.exceptions import ConnectionError as RedisConnectionError
    from redis.exceptions import TimeoutError as RedisTimeoutError
    from rq import SimpleWorker
    from rq.serializers import JSONSerializer

    from dispatch.queue import get_queue, redis_connection
    from workers.context import use_app

    log = logging.getLogger("dispatch.worker")
    # Warnings only from libraries (the Twilio SDK logs every request at INFO); RQ sets its own logger to INFO.
    logging.basicConfig(level=logging.WARNING, format="%(asctime)s worker %(levelname)s %(message)s")
    use_app(current_app._get_current_object())
    db.session.remove()
    # Jobs run in the worker's own process, not in a work horse forked for each (RQ's default): the jobs
    # are a claim, one call to Twilio and an update, a few ms each, and a fork cost many times that
    # (a fresh database connection, a fresh Twilio connection and cold caches for every SMS: 3-4 SMS a
    # second per worker on a loaded 2-core machine). Timeouts still hold (SIGALRM), and a worker that
    # dies mid-send is covered as before: the row stays 'sending' and the scheduler reconciles it.
    wait = 1.0
    while True:
        worker, finished = None, False
        try:
            connection = redis_connection()
            worker = SimpleWorker([get_queue(connection)], connection=connection, serializer=JSONSerializer)
            wait = 1.0
            worker.work(burst=burst, with_scheduler=False)
            finished = True
        except (RedisConnectionError, RedisTimeoutError) as error:
            log.warning("Redis does not answer (%s)", error)
        if worker is not None:
            if getattr(worker, "pubsub_thread", None) is not None:
                worker.pubsub_thread.stop()  # RQ could not unsubscribe without Redis; its thread would retry forever
            if getattr(worker, "_shutdown_requested_date", None) is not None:  # SIGTERM or Ctrl-C (rq 2.x)
                return
        if burst:
            if finished:
                return
            raise click.ClickException("Redis does not answer")
        if finished:  # not asked to stop: RQ quit on an error, logged above
            log.warning("the RQ worker quit on an error")
        # RQ's signal handlers outlive work(): while we wait, a SIGTERM or Ctrl-C simply ends the process.
        signal.signal(signal.SIGTERM, signal.SIG_DFL)
        signal.signal(signal.SIGINT, signal.default_int_handler)
        log.warning("listening again in %.0f s", wait)
        time.sleep(wait)
        wait = min(wait * 2, 10.0)


def _loop(name: str, rounds, interval: float, once: bool) -> None:
    """Run `rounds.tick(now)` every `interval` seconds until SIGTERM / Ctrl-C; one failed round
    (the database restarting, say) is logged and the loop goes on."""
    from dispatch.clock import now

    log = logging.getLogger(f"dispatch.{name}")
    logging.basicConfig(level=logging.INFO, format=f"%(asctime)s {name} %(levelname)s %(message)s")
    stopping = {"now": False}

    def stop(signum, frame):
        stopping["now"] = True

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    log.info("%s started, every %.1f s", name, interval)
    while not stopping["now"]:
        started = time.monotonic()
        try:
            rounds.tick(now())
        except Exception:
            log.exception("%s round failed", name)
        finally:
            try:
                db.session.remove()  # rolls back whatever the round left open
            except Exception:  # a connection that died mid-transaction fails its rollback too: go on
                log.exception("%s could not release its database session", name)
        if once:
            break
        time.sleep(max(0.0, interval - (time.monotonic() - started)))
    log.info("%s stopped", name)


@click.command("scheduler")
@click.option("--once", is_flag=True, help="Do one round and stop.")
def run_scheduler(once):
    """Run the scheduler: escalation steps, breach flags, SMS sweep and heartbeats, every second."""
    from dispatch.services.scheduler import Rounds

    _loop("scheduler", Rounds(reports_in_background=not once), current_app.config["SCHEDULER_INTERVAL_SECONDS"], once)


@click.command("watchdog")
@click.option("--once", is_flag=True, help="Do one round and stop.")
def run_watchdog(once):
    """Run the watchdog: fires escalation steps more than 30 s overdue (a dead or stuck scheduler)."""
    from dispatch.services.scheduler import Watchdog

    _loop("watchdog", Watchdog(), 5.0, once)


def _database_url() -> str:
    return current_app.config["SQLALCHEMY_DATABASE_URI"]


def _shown(url: str) -> str:
    from sqlalchemy.engine import make_url

    return make_url(url).render_as_string(hide_password=True)


@click.command("backup")
@click.argument("path", required=False, type=click.Path(dir_okay=False))
def backup_database(path):
    """Back up the database (pg_dump -Fc on PostgreSQL, the online backup API on SQLite) to PATH,
    by default BACKUP_DIR/dispatch-<UTC time>.dump (or .sqlite3). Safe while the service runs."""
    from pathlib import Path

    from dispatch.clock import now
    from dispatch.services import backup

    url = _database_url()
    try:
        target = Path(path) if path else Path(current_app.config["BACKUP_DIR"]) / backup.default_name(
            url, now().strftime("%Y%m%d-%H%M%S"))
        written = backup.backup(url, target)
    except backup.BackupError as error:
        raise click.ClickException(str(error)) from error
    click.echo(f"backed up {_shown(url)} to {written} ({written.stat().st_size:,} bytes)")


@click.command("restore")
@click.argument("path", type=click.Path(exists=True, dir_okay=False))
@click.option("--yes", is_flag=True, help="Do not ask before replacing the database's content.")
def restore_database(path, yes):
    """Replace the database's content with a backup made by `flask backup`. Stop the web, worker,
    scheduler and watchdog processes first; run `flask db upgrade` after, if the backup is older."""
    from pathlib import Path

    from dispatch.services import backup

    url = _database_url()
    if not yes:
        click.confirm(f"Replace everything in {_shown(url)} with {path}?", abort=True)
    db.session.remove()
    db.engine.dispose()  # this process holds no connection while the restore runs
    try:
        backup.restore(url, Path(path))
        tables, tickets, revision = backup.summary(url)
    except backup.BackupError as error:
        raise click.ClickException(str(error)) from error
    click.echo(f"restored {path} into {_shown(url)}: {tables} tables, {tickets:,} tickets, schema revision {revision}"
               " (run `flask db upgrade` if the code is newer)")


@click.command("db-fingerprint")
def database_fingerprint():
    """Print each table's row count and a checksum of its rows: run it on the source and on a restored
    copy (with nothing writing to either) and compare the two outputs."""
    from dispatch.services import backup

    found = backup.fingerprint(_database_url())
    for name, (rows, digest) in found.tables.items():
        click.echo(f"{name}\t{rows}\t{digest}")
    click.echo(f"schema revision\t{found.revision}")


@click.command("fake-twilio-names")
@click.option("--wait", "wait_seconds", default=0.0, show_default=True,
              help="Seconds to wait for the fake to start answering.")
def name_phones_at_fake_twilio(wait_seconds):
    """Tell the local fake of Twilio (TWILIO_API_BASE_URL) whose number is whose and the hospital's time
    zone, for its phone page. `make run` does this when it starts the fake."""
    from dispatch.services.phone_book import tell_fake_twilio

    base_url = current_app.config.get("TWILIO_API_BASE_URL")
    if not base_url:
        raise click.ClickException("TWILIO_API_BASE_URL is not set: there is no local fake of Twilio to tell")
    try:
        named = tell_fake_twilio(base_url, current_app.config["HOSPITAL_TIMEZONE"], wait_seconds=wait_seconds)
    except Exception as error:  # requests' errors: the fake is not there
        raise click.ClickException(f"could not reach the fake Twilio at {base_url}: {error}") from error
    click.echo(f"fake Twilio: named {named} phone number(s); times in {current_app.config['HOSPITAL_TIMEZONE']}")


@click.command("directory-sync")
def directory_sync():
    """Check every LDAP / Active Directory account against the directory now (the scheduler does it nightly)."""
    from dispatch.errors import DispatchError
    from dispatch.services.directory import ldap_configured, nightly

    if not ldap_configured(current_app.config):
        raise click.ClickException("LDAP_URL is not set: there is no directory to sync with.")
    try:
        result = nightly.sync_now()
    except DispatchError as error:
        raise click.ClickException(error.message) from None
    click.echo(f"{result.checked} directory account(s) checked.")
    for name in result.switched_off:
        click.echo(f"switched off: {name}")
    for name in result.switched_on:
        click.echo(f"switched on again: {name}")
    for change in result.role_changes:
        click.echo(f"role changed: {change}")
