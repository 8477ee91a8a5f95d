"""API bearer tokens: shown once, stored only as a SHA-256, revocable."""
from __future__ import annotations

import hashlib
import secrets
from datetime import timedelta

from flask_babel import gettext as _
from sqlalchemy import or_, select, update

from dispatch.clock import now as clock_now
from dispatch.errors import ValidationError
from dispatch.services import audit
from dispatch.services.unit_of_work import write_transaction
from models import ApiToken, User, db

PREFIX = "dsp_"
USE_RECORDED_EVERY = timedelta(minutes=1)


def _digest(raw: str) -> str:
    return hashlib.sha256(raw.encode()).hexdigest()


def create_token(user_id: int, name: str, actor_id: int | None = None) -> str:
    """Make a token for a user; the raw value is returned once and never stored. `actor_id` is who made it
    (None: the command line), for the audit trail."""
    raw = PREFIX + secrets.token_urlsafe(32)
    with write_transaction() as session:
        user = session.get(User, user_id)
        if user is None:
            raise ValidationError(_("No such user."), field="user")
        token = ApiToken(user_id=user.id, name=name[:80], token_hash=_digest(raw), created_at=clock_now())
        session.add(token)
        session.flush()
        audit.add(session, "token_created", actor_id=actor_id, subject_id=user.id, subject=token.name,
                  detail={"token_id": token.id})
    return raw


def revoke_token(token_id: int, actor_id: int | None = None) -> None:
    with write_transaction() as session:
        token = session.get(ApiToken, token_id)
        if token is None:
            raise ValidationError(_("No such token."), field="token")
        if token.revoked_at is None:
            token.revoked_at = clock_now()
            audit.add(session, "token_revoked", actor_id=actor_id, subject_id=token.user_id, subject=token.name,
                      detail={"token_id": token.id})


def user_for_token(raw: str) -> User | None:
    """The active user behind a live token, or None."""
    if not raw or not raw.startswith(PREFIX) or len(raw) > 200:
        return None
    token = db.session.scalar(select(ApiToken).where(ApiToken.token_hash == _digest(raw)))
    if token is None or token.revoked_at is not None or not token.user.active:
        return None
    moment = clock_now()
    # Use is recorded (last_used_at and a token_used audit event) at most once a minute per token: an alarm
    # panel may post every second, and a write plus an audit row per request would flood the table and
    # queue every request behind the write lock, while a minute's resolution still says when and from
    # where a token was used.
    token_id, user_id, name = token.id, token.user_id, token.name
    if token.last_used_at is None or moment - token.last_used_at > USE_RECORDED_EVERY:
        # A write transaction (BEGIN IMMEDIATE on SQLite): upgrading this read transaction to a write
        # fails at once with "database is locked" when concurrent requests use tokens.
        with write_transaction() as session:
            # Conditional, so of two requests racing past the check above only one records the use.
            stale = or_(ApiToken.last_used_at.is_(None), ApiToken.last_used_at < moment - USE_RECORDED_EVERY)
            claimed = session.execute(update(ApiToken).where(ApiToken.id == token_id, stale)
                                      .values(last_used_at=moment).execution_options(synchronize_session=False))
            if claimed.rowcount == 1:
                audit.add(session, "token_used", actor_id=user_id, subject_id=user_id, subject=name,
                          detail={"token_id": token_id})
    return db.session.get(User, user_id)
