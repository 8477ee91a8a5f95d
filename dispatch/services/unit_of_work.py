"""Write transactions: take the write lock first, commit before anyone is told, map lost races to conflicts."""
from __future__ import annotations

import fcntl
import os
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from flask_babel import gettext as _
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session
from sqlalchemy.orm.exc import StaleDataError

from dispatch.errors import ConflictError
from models.base import SQLITE_BUSY_TIMEOUT_SECONDS, db


@contextmanager
def write_transaction(*, urgent: bool = False) -> Iterator[Session]:
    """One write transaction, committed on success.

    Any read transaction the request already had (loading the user, say) is ended first so the
    write starts from a fresh snapshot; on SQLite it starts with BEGIN IMMEDIATE (see models.base).
    A row changed underneath us (version mismatch) becomes a ConflictError, never a silent overwrite.
    `urgent`: a short transaction that should not queue behind longer ones for SQLite's one writer
    (an SMS worker claiming a message); nothing changes on PostgreSQL.
    """
    session = db.session()  # the request's Session behind the scoped proxy
    if session.in_transaction():
        if session.new or session.dirty or session.deleted:
            raise RuntimeError("write_transaction entered with unflushed changes")
        session.commit()
    with _sqlite_writer_turn(session, urgent):
        session.connection(execution_options={"sqlite_immediate": True})
        try:
            yield session
            session.commit()
        except StaleDataError as exc:
            session.info.pop(AFTER_COMMIT, None)
            session.rollback()
            raise ConflictError(_("Someone else changed this ticket at the same moment. Reload and try again.")) from exc
        except BaseException:
            session.info.pop(AFTER_COMMIT, None)
            session.rollback()
            raise
    _run_after_commit(session)


# ---- SQLite: whose turn it is to write ------------------------------------------------------------
#
# SQLite has one writer at a time. Waiting for it with busy_timeout alone polls, sleeping up to 100 ms
# between tries, and the writer that has waited longest sleeps longest: in a burst of reports an SMS
# worker's claim waited a second or more while newer writers went first. So writers take turns on
# file locks beside the database (flock, handed on the moment its holder lets go):
#   <db>-writers  held for the whole transaction;
#   <db>-urgent   held shared by urgent writers while they wait for the first one; an ordinary writer
#                 passes it (exclusive, released at once) before queueing, so it waits while an urgent
#                 one does, and once it has its turn it looks again and gives the turn up if an urgent
#                 writer came meanwhile. SMS claims take a millisecond; a report's transaction tens.
# The ordinary writers of one process queue in-process first, so a gunicorn worker puts one at a time on
# the file locks. Nobody waits for a turn longer than SQLite's busy timeout: then "database is locked",
# as SQLite itself would say (a 503 to the web). Writers that take no part (sqlite3 on the command line)
# are still held off by SQLite's own lock and busy_timeout. A flock() is let go when its process ends,
# however it ends.

_writer = threading.local()
_process_locks: dict[tuple[int, str], threading.Lock] = {}  # a forked child makes its own
_process_locks_guard = threading.Lock()


@contextmanager
def _sqlite_writer_turn(session: Session, urgent: bool) -> Iterator[None]:
    bind = session.get_bind()
    path = bind.url.database if bind.dialect.name == "sqlite" else None
    if not path or path == ":memory:" or getattr(_writer, "depth", 0):
        yield
        return
    deadline = time.monotonic() + SQLITE_BUSY_TIMEOUT_SECONDS
    # Opened for each turn: flock() belongs to the open file, so a descriptor kept and shared by two
    # threads, or inherited over a fork, would let both hold the turn at once.
    turn = os.open(f"{path}-writers", os.O_RDWR | os.O_CREAT, 0o600)
    gate = os.open(f"{path}-urgent", os.O_RDWR | os.O_CREAT, 0o600)
    in_process = None
    try:
        if urgent:
            _flock(gate, fcntl.LOCK_SH, deadline)
            _flock(turn, fcntl.LOCK_EX, deadline)
            fcntl.flock(gate, fcntl.LOCK_UN)
        else:
            lock = _process_lock(path)
            if not lock.acquire(timeout=max(0.0, deadline - time.monotonic())):
                raise _locked()
            in_process = lock
            while True:
                _flock(gate, fcntl.LOCK_EX, deadline)
                fcntl.flock(gate, fcntl.LOCK_UN)
                _flock(turn, fcntl.LOCK_EX, deadline)
                try:
                    fcntl.flock(gate, fcntl.LOCK_EX | fcntl.LOCK_NB)
                except BlockingIOError:  # an urgent writer came while we queued: it goes first
                    fcntl.flock(turn, fcntl.LOCK_UN)
                    continue
                fcntl.flock(gate, fcntl.LOCK_UN)
                break
        _writer.depth = 1
        yield
    finally:
        _writer.depth = 0
        os.close(gate)
        os.close(turn)  # lets the next writer in
        if in_process is not None:
            in_process.release()


def _flock(fd: int, mode: int, deadline: float) -> None:
    """flock(fd, mode), waiting until `deadline` at most (flock() itself has no timeout). A free lock is
    taken at once; otherwise a helper thread waits in a blocking flock() on a duplicate of the descriptor
    (the same open file, so the lock it gets is ours) and the lock is ours the moment it is let go. If we
    give up first, the helper's duplicate is the file's last descriptor once we close ours: the lock it
    then gets goes with it when it closes it."""
    try:
        fcntl.flock(fd, mode | fcntl.LOCK_NB)
        return
    except BlockingIOError:
        pass
    duplicate = os.dup(fd)
    got = threading.Event()

    def wait() -> None:
        try:
            fcntl.flock(duplicate, mode)
            got.set()
        finally:
            os.close(duplicate)

    threading.Thread(target=wait, name="sqlite-writer-turn", daemon=True).start()
    if not got.wait(max(0.0, deadline - time.monotonic())):
        raise _locked()


def _locked() -> OperationalError:
    return OperationalError("BEGIN IMMEDIATE", None, sqlite3.OperationalError("database is locked"))


def _process_lock(path: str) -> threading.Lock:
    key = (os.getpid(), path)
    lock = _process_locks.get(key)
    if lock is None:
        with _process_locks_guard:
            lock = _process_locks.setdefault(key, threading.Lock())
    return lock


AFTER_COMMIT = "dispatch.after_commit"


def after_commit(session: Session, callback: Callable[[], None]) -> None:
    """Run `callback` once this transaction has committed (enqueueing work, say); never before."""
    session.info.setdefault(AFTER_COMMIT, []).append(callback)


def _run_after_commit(session: Session) -> None:
    for callback in session.info.pop(AFTER_COMMIT, []):
        callback()
