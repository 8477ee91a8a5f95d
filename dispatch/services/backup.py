"""Backups of the database and their restore, for both databases the service runs on, and a
fingerprint (each table's row count and a checksum of its rows) to prove a restore gave back what
was dumped.

PostgreSQL: pg_dump's custom format (-Fc: compressed, restored table by table with pg_restore),
a consistent snapshot taken while the service runs. SQLite: the online backup API, which copies a
consistent snapshot page by page while web, worker and scheduler keep writing (WAL mode); the copy
is a single self-contained file."""
from __future__ import annotations

import hashlib
import os
import shutil
import sqlite3
import subprocess
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import create_engine, inspect
from sqlalchemy.engine import URL, make_url

PG_MAGIC = b"PGDMP"
SQLITE_MAGIC = b"SQLite format 3\x00"


class BackupError(RuntimeError):
    """Said to the operator as it is: what went wrong and what to do."""


@dataclass
class Fingerprint:
    tables: dict[str, tuple[int, str]]  # table -> (rows, sha256 of the rows in key order)
    revision: str | None

    def differences(self, other: Fingerprint) -> list[str]:
        lines = []
        for name in sorted(set(self.tables) | set(other.tables)):
            mine, theirs = self.tables.get(name), other.tables.get(name)
            if mine != theirs:
                lines.append(f"{name}: {_describe(mine)} here, {_describe(theirs)} there")
        if self.revision != other.revision:
            lines.append(f"schema revision: {self.revision} here, {other.revision} there")
        return lines


def _describe(entry: tuple[int, str] | None) -> str:
    return "missing" if entry is None else f"{entry[0]} rows ({entry[1][:12]})"


def backend(url: str | URL) -> str:
    name = make_url(url).get_backend_name()
    if name not in ("sqlite", "postgresql"):
        raise BackupError(f"backups are made for SQLite and PostgreSQL, not {name}")
    return name


def default_name(url: str | URL, stamp: str) -> str:
    return f"dispatch-{stamp}.{'dump' if backend(url) == 'postgresql' else 'sqlite3'}"


# ---- PostgreSQL ---------------------------------------------------------------------------------

def _libpq(url: str | URL) -> tuple[str, dict[str, str]]:
    """A libpq connection URI for pg_dump / pg_restore, with the password passed in PGPASSWORD rather
    than on the command line (where `ps` would show it to every user of the machine)."""
    url = make_url(url)
    env = dict(os.environ)
    if url.password:
        env["PGPASSWORD"] = str(url.password)
    plain = URL.create("postgresql", username=url.username, host=url.host, port=url.port, database=url.database,
                       query=url.query)
    return plain.render_as_string(hide_password=False), env


def _tool(name: str) -> str:
    found = shutil.which(name)
    if not found:
        raise BackupError(f"{name} is not installed: install the PostgreSQL client tools of the server's version "
                          f"(Debian: apt-get install postgresql-client)")
    return found


def _run(command: list[str], env: dict[str, str]) -> None:
    done = subprocess.run(command, env=env, capture_output=True, text=True)
    if done.returncode != 0:
        raise BackupError(f"{Path(command[0]).name} failed (exit {done.returncode}): {done.stderr.strip()}")


def _pg_backup(url: str | URL, target: Path) -> None:
    uri, env = _libpq(url)
    _run([_tool("pg_dump"), "--format=custom", "--no-owner", "--no-privileges", f"--file={target}",
          f"--dbname={uri}"], env)


def _pg_restore(url: str | URL, source: Path) -> None:
    uri, env = _libpq(url)
    # One transaction: a restore that fails half-way leaves the database as it was.
    _run([_tool("pg_restore"), "--clean", "--if-exists", "--no-owner", "--no-privileges", "--single-transaction",
          "--exit-on-error", f"--dbname={uri}", str(source)], env)


# ---- SQLite -------------------------------------------------------------------------------------

def _sqlite_path(url: str | URL) -> Path:
    database = make_url(url).database
    if not database or database == ":memory:":
        raise BackupError("an in-memory SQLite database cannot be backed up")
    return Path(database)


def _sqlite_backup(url: str | URL, target: Path) -> None:
    source_path = _sqlite_path(url)
    if not source_path.exists():
        raise BackupError(f"no database at {source_path}")
    source = sqlite3.connect(source_path, timeout=15)
    copy = sqlite3.connect(target)
    try:
        source.backup(copy)  # a consistent snapshot even while others write (WAL readers never block)
        copy.execute("PRAGMA journal_mode=DELETE")  # the backup is one file, no -wal beside it
        problem = copy.execute("PRAGMA quick_check").fetchone()[0]
        if problem != "ok":
            raise BackupError(f"the copy does not check out: {problem}")
    finally:
        copy.close()
        source.close()


def _sqlite_restore(url: str | URL, source_path: Path) -> None:
    target_path = _sqlite_path(url)
    target_path.parent.mkdir(parents=True, exist_ok=True)
    source = sqlite3.connect(f"file:{source_path}?mode=ro", uri=True)
    target = sqlite3.connect(target_path, timeout=15)
    try:
        # Page by page into the live file, under its write lock: no stale -wal is left to replay over it.
        source.backup(target)
        target.execute("PRAGMA journal_mode=WAL")
    finally:
        target.close()
        source.close()


# ---- both ---------------------------------------------------------------------------------------

def backup(url: str | URL, target: Path) -> Path:
    """Write a backup of the database at `url` to `target` (written beside it first, then renamed, so
    a backup that failed half-way never looks like a good one)."""
    target = Path(target)
    if target.exists():
        raise BackupError(f"{target} already exists; choose another name")
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_name(target.name + ".partial")
    partial.unlink(missing_ok=True)
    try:
        (_pg_backup if backend(url) == "postgresql" else _sqlite_backup)(url, partial)
        partial.replace(target)
    finally:
        partial.unlink(missing_ok=True)
    return target


def kind_of_file(path: Path) -> str:
    with open(path, "rb") as f:
        head = f.read(16)
    if head.startswith(PG_MAGIC):
        return "postgresql"
    if head == SQLITE_MAGIC:
        return "sqlite"
    raise BackupError(f"{path} is neither a pg_dump custom-format file nor a SQLite database")


def restore(url: str | URL, source: Path) -> None:
    """Replace the database at `url` with the backup's content."""
    source = Path(source)
    if not source.is_file():
        raise BackupError(f"no backup file at {source}")
    kind, target_kind = kind_of_file(source), backend(url)
    if kind != target_kind:
        raise BackupError(f"{source} is a {kind} backup; DATABASE_URL is a {target_kind} database. "
                          f"Restore it into a {kind} database (moving between the two is not a restore).")
    (_pg_restore if kind == "postgresql" else _sqlite_restore)(url, source)


def fingerprint(url: str | URL) -> Fingerprint:
    """Every table's row count and a SHA-256 of its rows read in primary-key order (and, on
    PostgreSQL, every sequence's position, so the next ticket number after a restore is right)."""
    engine = create_engine(url)
    tables: dict[str, tuple[int, str]] = {}
    revision = None
    try:
        with engine.connect() as conn:
            inspector = inspect(conn)
            names = sorted(inspector.get_table_names())
            if engine.dialect.name == "sqlite" and conn.exec_driver_sql(
                    "SELECT 1 FROM sqlite_master WHERE name = 'sqlite_sequence'").first():
                names.append("sqlite_sequence")
            for name in names:
                key = inspector.get_pk_constraint(name).get("constrained_columns") or []
                columns = [c["name"] for c in inspector.get_columns(name)]
                order = ", ".join(_quote(c) for c in (key or columns))
                digest, rows = hashlib.sha256(), 0
                result = conn.execution_options(stream_results=True, yield_per=5000).exec_driver_sql(
                    f"SELECT {', '.join(_quote(c) for c in columns)} FROM {_quote(name)} ORDER BY {order}")
                for row in result:
                    digest.update(repr(tuple(row)).encode())
                    digest.update(b"\n")
                    rows += 1
                tables[name] = (rows, digest.hexdigest())
            if engine.dialect.name == "postgresql":
                for (sequence,) in conn.exec_driver_sql(
                        "SELECT sequencename FROM pg_sequences WHERE schemaname = current_schema() ORDER BY 1"):
                    last, called = conn.exec_driver_sql(f"SELECT last_value, is_called FROM {_quote(sequence)}").one()
                    tables[f"sequence {sequence}"] = (1, hashlib.sha256(repr((last, called)).encode()).hexdigest())
            if "alembic_version" in names:
                revision = conn.exec_driver_sql("SELECT version_num FROM alembic_version").scalar()
    finally:
        engine.dispose()
    return Fingerprint(tables=tables, revision=revision)


def summary(url: str | URL) -> tuple[int, int, str | None]:
    """(tables, tickets, schema revision) of a database: what a restore brought back, at a glance."""
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            names = set(inspect(conn).get_table_names())
            tickets = conn.exec_driver_sql("SELECT count(*) FROM ticket").scalar() if "ticket" in names else 0
            revision = (conn.exec_driver_sql("SELECT version_num FROM alembic_version").scalar()
                        if "alembic_version" in names else None)
    finally:
        engine.dispose()
    return len(names), tickets, revision


def _quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'
