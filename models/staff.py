"""People and what they may do: users with roles, trades, licence types and licences, API tokens."""
from __future__ import annotations

from datetime import date, datetime

from flask import current_app, has_app_context
from flask_login import UserMixin
from sqlalchemy import Boolean, Column, Date, ForeignKey, Index, Integer, String, Table, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship
from werkzeug.security import check_password_hash, generate_password_hash

from models.names import Bilingual
from models.base import UTCDateTime, db

# integration: a building-management or medical-gas alarm panel sending alarms through the API.
ROLES = ("nurse", "dispatcher", "technician", "supervisor", "manager", "admin", "integration")

# Which licence types entitle a technician to work a trade (any one of them suffices).
trade_licence_type = Table(
    "trade_licence_type",
    db.metadata,
    Column("trade_id", Integer, ForeignKey("trade.id", ondelete="CASCADE"), primary_key=True),
    Column("licence_type_id", Integer, ForeignKey("licence_type.id", ondelete="CASCADE"), primary_key=True),
)


class Trade(Bilingual, db.Model):
    """power, water, medical gas, lift, air conditioning, other."""

    __tablename__ = "trade"
    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(20), unique=True)
    name: Mapped[str] = mapped_column(String(80))
    name_zh: Mapped[str | None] = mapped_column(String(80))
    # Priority for a fault that takes out the whole service in a general area (P1..P3).
    base_priority: Mapped[int] = mapped_column(Integer, default=3)
    # Medical gas alarms are always emergencies, whatever the ward.
    always_emergency: Mapped[bool] = mapped_column(Boolean, default=False)
    sort_order: Mapped[int] = mapped_column(Integer, default=0)
    licence_types: Mapped[list[LicenceType]] = relationship(secondary=trade_licence_type, order_by="LicenceType.name")


class LicenceType(Bilingual, db.Model):
    __tablename__ = "licence_type"
    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(40), unique=True)
    name: Mapped[str] = mapped_column(String(160))
    name_zh: Mapped[str | None] = mapped_column(String(160))
    trades: Mapped[list[Trade]] = relationship(secondary=trade_licence_type, viewonly=True)


class User(UserMixin, db.Model):
    __tablename__ = "user_account"
    __table_args__ = (Index("ix_user_account_directory_key", "directory", "directory_key", unique=True),)
    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(80), unique=True)
    full_name: Mapped[str] = mapped_column(String(120))
    password_hash: Mapped[str] = mapped_column(String(255))
    role: Mapped[str] = mapped_column(String(20), index=True)
    # A nurse reports for one ward and sees only that ward's tickets.
    ward_id: Mapped[int | None] = mapped_column(ForeignKey("ward.id"))
    phone: Mapped[str | None] = mapped_column(String(20))  # E.164
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    # Replied STOP: Twilio will refuse to deliver until START, so the board must say so.
    sms_opted_out: Mapped[bool] = mapped_column(Boolean, default=False, server_default="0")
    locale: Mapped[str | None] = mapped_column(String(10))
    # Secret part of the URL of this person's on-call calendar feed (iCalendar).
    calendar_token: Mapped[str | None] = mapped_column(String(40), unique=True)
    # Signed in through the hospital's directory ("ldap" or "oidc"), keyed there by `directory_key` (the
    # directory's username, or the OpenID subject); None: a local account with a Dispatch password.
    directory: Mapped[str | None] = mapped_column(String(10))
    directory_key: Mapped[str | None] = mapped_column(String(255))
    # Break-glass: this person may also sign in with a local password when the directory is down.
    break_glass: Mapped[bool] = mapped_column(Boolean, default=False, server_default="0")
    # Switched off because the directory disabled or lost the account (not by an administrator): the
    # directory turning it back on turns it back on here.
    disabled_by_directory: Mapped[bool] = mapped_column(Boolean, default=False, server_default="0")
    directory_checked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    ward: Mapped["Ward | None"] = relationship()  # noqa: F821
    licences: Mapped[list[Licence]] = relationship(back_populates="technician", order_by="Licence.expires_on",
                                                   foreign_keys="Licence.technician_id")

    def set_password(self, password: str) -> None:
        # scrypt by default; tests set a cheap method so fixtures do not spend seconds hashing.
        method = current_app.config.get("PASSWORD_HASH_METHOD", "scrypt") if has_app_context() else "scrypt"
        self.password_hash = generate_password_hash(password, method=method)

    def check_password(self, password: str) -> bool:
        return check_password_hash(self.password_hash, password)

    @property
    def is_active(self) -> bool:  # Flask-Login refuses inactive accounts
        return self.active

    def has_role(self, *roles: str) -> bool:
        return self.role in roles

    def __repr__(self) -> str:
        return f"<User {self.username} {self.role}>"


class DirectoryGroup(db.Model):
    """A directory group (Active Directory / LDAP group, or a value of the OpenID groups claim) and the role
    its members get in Dispatch; a nurses' group also names their ward. Edited by the administrator."""

    __tablename__ = "directory_group"
    id: Mapped[int] = mapped_column(primary_key=True)
    # As the directory names it: a group's CN or whole DN, or the claim's value; matched ignoring case.
    name: Mapped[str] = mapped_column(String(255))
    name_key: Mapped[str] = mapped_column(String(255), unique=True)  # name.lower()
    role: Mapped[str] = mapped_column(String(20))
    ward_id: Mapped[int | None] = mapped_column(ForeignKey("ward.id", ondelete="CASCADE"))
    ward: Mapped["Ward | None"] = relationship()  # noqa: F821


class Licence(db.Model):
    """A technician's certificate; valid from its issue day through its expiry day, in hospital time."""

    __tablename__ = "licence"
    id: Mapped[int] = mapped_column(primary_key=True)
    technician_id: Mapped[int] = mapped_column(ForeignKey("user_account.id", ondelete="CASCADE"), index=True)
    licence_type_id: Mapped[int] = mapped_column(ForeignKey("licence_type.id"), index=True)
    number: Mapped[str] = mapped_column(String(60))
    issuer: Mapped[str] = mapped_column(String(160))
    issued_on: Mapped[date] = mapped_column(Date)
    expires_on: Mapped[date] = mapped_column(Date, index=True)
    # Withdrawn by the issuer or the hospital (a failed inspection, a disciplinary finding): no longer valid
    # from that moment, whatever its expiry day says. Who recorded it and why stay with it.
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    revoked_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id", ondelete="SET NULL"))
    revoked_reason: Mapped[str | None] = mapped_column(String(200))
    technician: Mapped[User] = relationship(back_populates="licences", foreign_keys=[technician_id])
    licence_type: Mapped[LicenceType] = relationship()
    revoked_by: Mapped[User | None] = relationship(foreign_keys=[revoked_by_id])


class LicenceLapse(db.Model):
    """A licence that stopped being valid (expired or revoked) while its holder had open jobs of a trade it
    covered. One row per licence: the database's unique key decides between two schedulers, so the
    supervisors are told once."""

    __tablename__ = "licence_lapse"
    id: Mapped[int] = mapped_column(primary_key=True)
    licence_id: Mapped[int] = mapped_column(ForeignKey("licence.id", ondelete="CASCADE"), unique=True)
    technician_id: Mapped[int] = mapped_column(ForeignKey("user_account.id", ondelete="CASCADE"), index=True)
    reason: Mapped[str] = mapped_column(String(20))  # expired, revoked
    noticed_at: Mapped[datetime] = mapped_column(UTCDateTime)
    open_jobs: Mapped[int] = mapped_column(Integer, default=0)
    licence: Mapped[Licence] = relationship()


class ApiToken(db.Model):
    """A bearer token for the JSON API; only its SHA-256 is kept."""

    __tablename__ = "api_token"
    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user_account.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(80))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    last_used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    user: Mapped[User] = relationship()
    note: Mapped[str | None] = mapped_column(Text)
