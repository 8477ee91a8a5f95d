"""Backups, tested the way a restore drill is done: seed tickets with their history and SMS, dump with
`flask backup`, restore with `flask restore` into a fresh database, and compare every table's row
count and a checksum of its rows (`flask db-fingerprint`). On SQLite (online backup API) and on
PostgreSQL (pg_dump -Fc / pg_restore)."""
from __future__ import annotations

import sqlite3

from sqlalchemy import create_engine, func, select

from dispatch import create_app
from dispatch.services import backup, heartbeats
from dispatch.services.assignment import assign_ticket
from dispatch.services.tickets import add_comment, report_fault, transition
from models import OutboundMessage, Ticket, TicketEvent, Trade, User, db


def app_on(url: str, clock):
    return create_app({"TESTING": True, "SECRET_KEY": "x", "SQLALCHEMY_DATABASE_URI": url, "CLOCK": clock,
                       "REDIS_URL": "redis://127.0.0.1:1/0", "HOSPITAL_TIMEZONE": "Asia/Shanghai"})


def cli(app, *args, input=None):
    # Flask's commands run in the app context already pushed (the `db` fixture's) when there is one.
    with app.app_context():
        return app.test_cli_runner().invoke(args=list(args), input=input)


def seed(hospital, clock) -> None:
    """Tickets through several steps (so their history has many lines, with JSON data), SMS in
    every state, Chinese text, a comment, and heartbeats."""
    dispatcher = hospital.user("dispatcher")
    for n in range(6):
        ticket = report_fault(dispatcher, ward_id=hospital.icu.id, trade_id=hospital.trades["power"].id,
                              description=f"插座没电 {n}: no power at bed {n}", priority=1 + n % 4)
        clock.advance(minutes=3)
        assign_ticket(ticket.id, hospital.users["sparky"].id, dispatcher)
        if n % 2:
            transition(ticket.id, "acknowledge", hospital.user("sparky"), channel="sms")
        add_comment(ticket.id, dispatcher, "电工已通知 — called the electrician")
        for state in ("pending", "sent", "delivered", "failed"):
            db.session.add(OutboundMessage(ticket_id=ticket.id, to_number="+8613900000001", body=f"Job #{ticket.id}",
                                           kind="assignment", state=state, attempts=1, segments=1,
                                           created_at=clock.now(), updated_at=clock.now(),
                                           last_error="Twilio 30003" if state == "failed" else None))
        db.session.commit()
        clock.advance(minutes=7)
    heartbeats.beat("scheduler")
    heartbeats.beat("watchdog", "fired 1")


def test_dump_restore_into_a_fresh_database_and_compare(app, db, hospital, clock, database_url, empty_database_url,
                                                        db_backend, tmp_path):
    seed(hospital, clock)
    counts = {model: db.session.scalar(select(func.count()).select_from(model))
              for model in (Ticket, TicketEvent, OutboundMessage, User)}
    assert counts[Ticket] == 6 and counts[TicketEvent] >= 18 and counts[OutboundMessage] >= 24
    db.session.remove()

    target = tmp_path / ("backup.dump" if db_backend == "postgresql" else "backup.sqlite3")
    made = cli(app, "backup", str(target))
    assert made.exit_code == 0, made.output
    assert f"to {target}" in made.output and target.stat().st_size > 10_000
    assert backup.kind_of_file(target) == db_backend
    assert not target.with_name(target.name + ".partial").exists()

    restored_app = app_on(empty_database_url, clock)
    done = cli(restored_app, "restore", str(target), "--yes")
    assert done.exit_code == 0, done.output
    assert "6 tickets" in done.output

    source, copy = backup.fingerprint(database_url), backup.fingerprint(empty_database_url)
    assert copy.differences(source) == []
    assert copy.tables["ticket"][0] == 6
    assert copy.tables["ticket_event"][0] == counts[TicketEvent]
    assert copy.tables["outbound_message"][0] == counts[OutboundMessage]
    assert copy.tables["user_account"][0] == counts[User]
    assert copy.revision == source.revision and copy.revision is not None
    # The operators' command prints the same for both.
    assert cli(app, "db-fingerprint").output == cli(restored_app, "db-fingerprint").output

    # The restored database is a working one: the next ticket number follows on from the last.
    with restored_app.app_context():
        nurse = db.session.scalar(select(User).where(User.username == "nurse.icu"))
        ticket = report_fault(nurse, ward_id=nurse.ward_id, trade_id=db.session.scalar(select(Trade.id).where(Trade.code == "water")),
                              description="Tap will not turn off")
        assert ticket.id == 1001 + 6
        assert len(ticket.events) >= 1
        db.session.remove()
        db.engine.dispose()
    # And now the two differ, in the tables that changed, which the comparison names.
    changed = backup.fingerprint(empty_database_url).differences(source)
    assert any(line.startswith("ticket:") for line in changed) and any("ticket_event" in line for line in changed)


def test_a_backup_taken_while_someone_writes_holds_only_what_was_committed(app, db, hospital, clock, database_url,
                                                                           empty_database_url, db_backend, tmp_path):
    seed(hospital, clock)
    db.session.remove()
    writer = create_engine(database_url)
    with writer.connect() as conn:
        # An open write transaction (on SQLite BEGIN IMMEDIATE: the write lock itself, as a worker holds it).
        conn.exec_driver_sql("UPDATE outbound_message SET state = 'sending' WHERE state = 'pending'")
        target = tmp_path / "during-a-write.bak"
        made = cli(app, "backup", str(target))
        assert made.exit_code == 0, made.output
        conn.rollback()
    writer.dispose()
    assert cli(app_on(empty_database_url, clock), "restore", str(target), "--yes").exit_code == 0
    assert backup.fingerprint(empty_database_url).differences(backup.fingerprint(database_url)) == []


def test_a_restore_asks_first_and_refuses_what_it_cannot_restore(app, db, hospital, clock, database_url,
                                                                  db_backend, tmp_path):
    seed(hospital, clock)
    db.session.remove()
    before = backup.fingerprint(database_url)
    target = tmp_path / "b.bak"
    assert cli(app, "backup", str(target)).exit_code == 0

    answered_no = cli(app, "restore", str(target), input="n\n")
    assert answered_no.exit_code == 1 and "Aborted" in answered_no.output

    # A backup of the other database's kind is named as such, and nothing is touched.
    other = tmp_path / "other.bak"
    if db_backend == "sqlite":
        other.write_bytes(backup.PG_MAGIC + b"\x01\x0e\x00" * 100)
    else:
        sqlite3.connect(other).execute("CREATE TABLE t (x)").connection.commit()
    refused = cli(app, "restore", str(other), "--yes")
    assert refused.exit_code == 1
    assert f"is a {'postgresql' if db_backend == 'sqlite' else 'sqlite'} backup" in refused.output

    junk = tmp_path / "notes.txt"
    junk.write_text("not a backup")
    refused = cli(app, "restore", str(junk), "--yes")
    assert refused.exit_code == 1 and "neither a pg_dump custom-format file nor a SQLite database" in refused.output

    exists = cli(app, "backup", str(target))
    assert exists.exit_code == 1 and "already exists" in exists.output
    assert backup.fingerprint(database_url).differences(before) == []


def test_a_backup_without_a_name_goes_to_the_backup_directory(app, db, hospital, clock, tmp_path):
    app.config["BACKUP_DIR"] = str(tmp_path / "backups")
    db.session.remove()
    made = cli(app, "backup")
    assert made.exit_code == 0, made.output
    written = list((tmp_path / "backups").iterdir())
    assert [p.name for p in written] == [f"dispatch-20260310-020000.{'dump' if 'postgresql' in str(db.engine.url) else 'sqlite3'}"]


def test_the_password_stays_off_the_command_line():
    uri, env = backup._libpq("postgresql+psycopg://dispatch:s3cret@db.internal:5433/dispatch?sslmode=require")
    assert uri == "postgresql://dispatch@db.internal:5433/dispatch?sslmode=require"
    assert env["PGPASSWORD"] == "s3cret"
