"""Write transactions: take the write lock first, commit before anyone is told, map lost races to conflicts."""
from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager

from flask_babel import gettext as _
from sqlalchemy.orm import Session
from sqlalchemy.orm.exc import StaleDataError

from dispatch.errors import ConflictError
from models.base import db


@contextmanager
def write_transaction() -> Iterator[Session]:
    """One write transaction, committed on success.

    Any read transaction the request already had (loading the user, say) is ended first so the
    write starts from a fresh snapshot; on SQLite it starts with BEGIN IMMEDIATE (see models.base).
    A row changed underneath us (version mismatch) becomes a ConflictError, never a silent overwrite.
    """
    session = db.session()  # the request's Session behind the scoped proxy
    if session.in_transaction():
        if session.new or session.dirty or session.deleted:
            raise RuntimeError("write_transaction entered with unflushed changes")
        session.commit()
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


AFTER_COMMIT = "dispatch.after_commit"


def after_commit(session: Session, callback: Callable[[], None]) -> None:
    """Run `callback` once this transaction has committed (enqueueing work, say); never before."""
    session.info.setdefault(AFTER_COMMIT, []).append(callback)


def _run_after_commit(session: Session) -> None:
    for callback in session.info.pop(AFTER_COMMIT, []):
        callback()
