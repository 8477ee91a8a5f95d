"""Telling open boards that tickets changed: after a transaction that changed tickets commits, one notice on a
Redis channel ("these ticket ids changed"), which the board stream process (dispatch/board_stream.py) passes to
every open board. The notice carries ids only: a board fetches what it shows through the web app, which checks
who is asking, so a board never receives more than its viewer may see.

The session hooks notice changed Ticket rows (and new history lines, which a board shows as a ticket's state)
whichever service made them, so the ticket engine needs to know nothing of boards. A notice is published after
the commit, never before: a board that re-reads at once sees the change.
"""
from __future__ import annotations

import json
import logging
import time
from urllib.parse import urlsplit

from flask import current_app, has_app_context
from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer
from redis import RedisError
from sqlalchemy import event
from sqlalchemy.orm import Session

from dispatch.queue import redis_connection
from models import Ticket, TicketEvent

log = logging.getLogger(__name__)

CHANGED = "dispatch.board_news.changed"
# Every ticket: a bulk UPDATE of tickets (the scheduler's breach sweep) does not say which rows it touched.
EVERY_TICKET = "*"
# A stream token lets its bearer open a board stream for this long; the stream ends when it expires and the
# board asks the web app for a new one (so a signed-out or demoted viewer stops receiving within this time).
TOKEN_SECONDS = 600
TOKEN_SALT = "board-stream"


def channel(redis_url: str) -> str:
    """The Redis channel of one deployment. Pub/sub ignores database numbers, so the number is in the name:
    two deployments (or test runs) on one Redis, each with its own database, do not hear each other."""
    database = urlsplit(redis_url).path.strip("/") or "0"
    return f"dispatch:board:{database}"


def stream_origin(stream_url: str) -> str | None:
    """The stream's origin when it is not this site's (a whole URL), for the page's connect-src."""
    parts = urlsplit(stream_url or "")
    return f"{parts.scheme}://{parts.netloc}" if parts.scheme and parts.netloc else None


def _note(session: Session, ids) -> None:
    session.info.setdefault(CHANGED, set()).update(ids)


def _after_flush(session: Session, _context) -> None:
    changed = set()
    for obj in (*session.new, *session.dirty, *session.deleted):
        if isinstance(obj, Ticket) and obj.id is not None:
            changed.add(obj.id)
        elif isinstance(obj, TicketEvent) and obj.ticket_id is not None:
            changed.add(obj.ticket_id)
    if changed:
        _note(session, changed)


def _bulk_write(state) -> None:
    if (state.is_update or state.is_delete) and state.bind_mapper is not None and state.bind_mapper.class_ is Ticket:
        _note(state.session, {EVERY_TICKET})


def _after_commit(session: Session) -> None:
    changed = session.info.pop(CHANGED, None)
    if changed and has_app_context():
        publish(changed)


def _after_rollback(session: Session) -> None:
    session.info.pop(CHANGED, None)


def publish(changed: set) -> None:
    """One notice for a committed change. Redis being away must not fail what has been committed: the boards
    then fall back to re-reading every few seconds (their stream drops with the stream process's Redis)."""
    ids = sorted(i for i in changed if i != EVERY_TICKET)
    notice = json.dumps({"tickets": ids, "all": EVERY_TICKET in changed, "at": time.time()})
    try:
        redis_connection().publish(channel(current_app.config["REDIS_URL"]), notice)
    except RedisError as exc:
        log.warning("board notice not published (boards fall back to re-reading): %s", exc)


def listen() -> None:
    """Install the session hooks (once per process, whatever the number of apps made)."""
    if not event.contains(Session, "after_commit", _after_commit):
        event.listen(Session, "after_flush", _after_flush)
        event.listen(Session, "after_commit", _after_commit)
        event.listen(Session, "after_rollback", _after_rollback)
        event.listen(Session, "do_orm_execute", _bulk_write)


# ---- who may open a stream ----------------------------------------------------------------------------

def _serializer(secret_key: str) -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(secret_key, salt=TOKEN_SALT)


def stream_token(user_id: int, secret_key: str) -> str:
    """Given by the board page to its viewer, who may see the board (the page checked)."""
    return _serializer(secret_key).dumps({"user": user_id})


def stream_viewer(token: str | None, secret_key: str) -> tuple[int, float] | None:
    """(user id, seconds the token has left) for a good token, None for a missing, forged or expired one."""
    if not token:
        return None
    try:
        payload, signed_at = _serializer(secret_key).loads(token, max_age=TOKEN_SECONDS, return_timestamp=True)
    except (SignatureExpired, BadSignature):
        return None
    if not isinstance(payload, dict) or not isinstance(payload.get("user"), int):
        return None
    return payload["user"], max(0.0, signed_at.timestamp() + TOKEN_SECONDS - time.time())
