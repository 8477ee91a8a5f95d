"""API bearer tokens: shown once, stored only as a SHA-256, revocable."""
from __future__ import annotations

import hashlib
import secrets
from datetime import timedelta

from flask_babel import gettext as _
from sqlalchemy import select, update

from dispatch.clock import now as clock_now
from dispatch.errors import ValidationError
from dispatch.services.unit_of_work import write_transaction
from models import ApiToken, User, db

PREFIX = "dsp_"


def _digest(raw: str) -> str:
    return hashlib.sha256(raw.encode()).hexdigest()


def create_token(user_id: int, name: str) -> str:
    """Make a token for a user; the raw value is returned once and never stored."""
    raw = PREFIX + secrets.token_urlsafe(32)
    with write_transaction() as session:
        user = session.get(User, user_id)
        if user is None:
            raise ValidationError(_("No such user."), field="user")
        session.add(ApiToken(user_id=user.id, name=name[:80], token_hash=_digest(raw), created_at=clock_now()))
    return raw


def revoke_token(token_id: int) -> None:
    with write_transaction() as session:
        token = session.get(ApiToken, token_id)
        if token is None:
            raise ValidationError(_("No such token."), field="token")
        token.revoked_at = token.revoked_at or clock_now()


def user_for_token(raw: str) -> User | None:
    """The active user behind a live token, or None."""
    if not raw or not raw.startswith(PREFIX) or len(raw) > 200:
        return None
    token = db.session.scalar(select(ApiToken).where(ApiToken.token_hash == _digest(raw)))
    if token is None or token.revoked_at is not None or not token.user.active:
        return None
    moment = clock_now()
    # Record use at most once a minute, so a busy integration does not write on every request.
    token_id, user_id = token.id, token.user_id
    if token.last_used_at is None or moment - token.last_used_at > timedelta(minutes=1):
        # A write transaction (BEGIN IMMEDIATE on SQLite): upgrading this read transaction to a write
        # fails at once with "database is locked" when concurrent requests use tokens.
        with write_transaction() as session:
            session.execute(update(ApiToken).where(ApiToken.id == token_id).values(last_used_at=moment))
    return db.session.get(User, user_id)
