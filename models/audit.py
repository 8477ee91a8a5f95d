"""The security audit trail: who logged in (or failed to), whose role changed, which API token was made,
revoked or used, and from which address."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from models.base import UTCDateTime, db

AUDIT_KINDS = (
    "login_succeeded", "login_failed", "logout",
    "user_created", "role_changed", "user_deactivated", "user_reactivated",
    "token_created", "token_revoked", "token_used",
    "job_requeued", "job_deleted",
    "break_glass_changed", "directory_linked", "directory_sign_in_refused",
)


class AuditEvent(db.Model):
    """One security-relevant event, written in the same transaction as the change it records (or, for a
    login attempt, on its own): never edited, never deleted by the app."""

    __tablename__ = "audit_event"
    __table_args__ = (Index("ix_audit_event_kind_at", "kind", "at"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    kind: Mapped[str] = mapped_column(String(30))
    # Who did it (None: the command line, or nobody known, as for a failed login with an unknown name).
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"), index=True)
    # Whom it was done to: the person whose role changed, the token's holder, the account tried.
    subject_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"), index=True)
    # In words, for what has no row of its own: a username tried at the login, a token's name.
    subject: Mapped[str | None] = mapped_column(String(120))
    address: Mapped[str | None] = mapped_column(String(45))  # the client's, as ProxyFix reads it
    detail: Mapped[dict | None] = mapped_column(JSON)
    actor: Mapped["User | None"] = relationship(foreign_keys=[actor_id])  # noqa: F821
    subject_user: Mapped["User | None"] = relationship(foreign_keys=[subject_id])  # noqa: F821
