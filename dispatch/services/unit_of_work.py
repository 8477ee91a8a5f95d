"""Write transactions: take the write lock first, commit before anyone is told, map lost races to conflicts."""
from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

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
        session.rollback()
        raise ConflictError("Someone else changed this ticket at the same moment. Reload and try again.") from exc
    except BaseException:
        session.rollback()
        raise
