"""The Dispatch account of a directory person: created on first sign-in, its name, role and ward kept in
step with the directory's groups, and switched off when the directory disables or loses the person (at
sign-in and by the nightly sync). Phones, licences and on-call shifts are never touched here. Every
creation, role change and switch-off goes to the audit trail with the directory as its source."""
from __future__ import annotations

import secrets
from dataclasses import dataclass, field

from flask_babel import gettext as _
from sqlalchemy import select
from sqlalchemy.orm import Session

from dispatch.clock import now as clock_now
from dispatch.errors import DirectorySignInRefused, DirectoryUnavailableError, NotFoundError, ValidationError
from dispatch.services import audit
from dispatch.services.directory import DirectoryPerson, mapping
from dispatch.services.unit_of_work import write_transaction
from models import User

# Why the directory switched an account off, kept in the audit event's detail.
DISABLED, GONE, NO_GROUP = "disabled_in_directory", "not_in_directory", "no_mapped_group"


def may_use_local_password(user: User) -> bool:
    """A directory person signs in through the directory; a local password is for local accounts and for
    those the administrator marked break-glass."""
    return user.directory is None or user.break_glass


def may_join_directory(user: User) -> bool:
    """A local account the directory may take over at its first directory sign-in (a hospital moving its staff
    to the directory keeps their phones, licences and shifts): not a break-glass account, not the
    administrator's, not an alarm panel's."""
    return user.directory is None and not user.break_glass and user.role not in ("admin", "integration")


def _find(session: Session, person: DirectoryPerson) -> User | None:
    user = session.scalar(select(User).where(User.directory == person.source, User.directory_key == person.key))
    if user is not None:
        return user
    same_name = session.scalar(select(User).where(User.username == person.username))
    if same_name is not None and may_join_directory(same_name):
        return same_name
    if same_name is not None:
        raise DirectorySignInRefused(_("A Dispatch account called %(name)s already exists and is not this directory "
                                       "account. Ask the administrator.", name=person.username))
    return None


def _switch_off(session: Session, user: User, why: str, source: str) -> None:
    if user.active:
        user.active = False
        user.disabled_by_directory = True
        audit.add(session, "user_deactivated", subject_id=user.id, subject=user.username,
                  detail={"source": source, "reason": why})


def _bring_in_step(session: Session, user: User, person: DirectoryPerson, role: str, ward_id: int | None) -> None:
    if not user.active and user.disabled_by_directory:
        user.active, user.disabled_by_directory = True, False
        audit.add(session, "user_reactivated", subject_id=user.id, subject=user.username,
                  detail={"source": person.source})
    if role != user.role:
        audit.add(session, "role_changed", subject_id=user.id, subject=user.username,
                  detail={"from": user.role, "to": role, "source": person.source})
        user.role = role
    user.ward_id = ward_id if role == "nurse" else None
    if person.full_name and person.full_name[:120] != user.full_name:
        user.full_name = person.full_name[:120]


def sign_in(person: DirectoryPerson) -> User:
    """The account for a person the directory has just vouched for (right password, or a verified ID token).
    Raises DirectorySignInRefused when the directory has disabled them or no mapped group gives them a role;
    an account that had is switched off first (and that change is kept)."""
    refusal = None
    with write_transaction() as session:
        user = _find(session, person)
        grant = mapping.role_for(session, person.groups)
        if user is not None and not user.active and not user.disabled_by_directory:
            refusal = _("Your Dispatch account is switched off. Ask the control room or the administrator.")
        elif person.disabled:
            refusal = _("Your hospital account is disabled in the directory. Ask the IT service desk.")
            if user is not None:
                _switch_off(session, user, DISABLED, person.source)
        elif grant is None:
            refusal = _("Your hospital account is not in any group that gives access to Dispatch. Ask the "
                        "administrator to add you to the right group.")
            if user is not None:
                _switch_off(session, user, NO_GROUP, person.source)
        elif user is None:
            role, ward_id = grant
            user = User(username=person.username[:80], full_name=(person.full_name or person.username)[:120],
                        role=role, ward_id=ward_id, active=True, directory=person.source, directory_key=person.key)
            # Never used: a directory account signs in through the directory.
            user.set_password(secrets.token_urlsafe(32))
            session.add(user)
            session.flush()
            audit.add(session, "user_created", subject_id=user.id, subject=user.username,
                      detail={"role": role, "source": person.source})
        else:
            if user.directory is None:  # a local account taken over by the directory
                user.directory, user.directory_key = person.source, person.key
            _bring_in_step(session, user, person, *grant)
        if user is not None:
            user.directory_checked_at = clock_now()
    if refusal:
        raise DirectorySignInRefused(refusal)
    return user


@dataclass
class SyncResult:
    checked: int = 0
    switched_off: list[str] = field(default_factory=list)
    role_changes: list[str] = field(default_factory=list)
    switched_on: list[str] = field(default_factory=list)


def sync(source: str, people: dict[str, DirectoryPerson]) -> SyncResult:
    """The nightly check of every account that comes from `source` against what the directory holds now,
    `people` by key. New directory people get their account when they first sign in, not here."""
    result = SyncResult()
    with write_transaction() as session:
        accounts = session.scalars(select(User).where(User.directory == source).order_by(User.id)).all()
        if accounts and not people:
            # An empty answer is a directory that is misconfigured or half down, not a hospital with no staff:
            # switching everyone off would lock the whole shift out.
            raise DirectoryUnavailableError(_("The directory returned nobody; no account was changed."))
        for user in accounts:
            result.checked += 1
            person = people.get(user.directory_key or "")
            was_active, was_role = user.active, user.role
            if person is None:
                _switch_off(session, user, GONE, source)
            elif person.disabled:
                _switch_off(session, user, DISABLED, source)
            else:
                grant = mapping.role_for(session, person.groups)
                if grant is None:
                    _switch_off(session, user, NO_GROUP, source)
                elif user.active or user.disabled_by_directory:
                    _bring_in_step(session, user, person, *grant)
            user.directory_checked_at = clock_now()
            if was_active and not user.active:
                result.switched_off.append(user.username)
            elif not was_active and user.active:
                result.switched_on.append(user.username)
            if was_role != user.role:
                result.role_changes.append(f"{user.username}: {was_role} → {user.role}")
    return result


def set_break_glass(actor: User, user_id: int, *, allowed: bool, password: str | None) -> User:
    """The administrator lets someone sign in with a local password too (for when the directory is down), or
    stops them; turning it on for a directory account sets the local password it will use."""
    if actor.role != "admin":
        raise ValidationError(_("Only an administrator can mark break-glass accounts."), field="break_glass")
    password = password or ""
    if password and len(password) < 8:
        raise ValidationError(_("The password needs at least 8 characters."), field="password")
    with write_transaction() as session:
        user = session.get(User, user_id)
        if user is None:
            raise NotFoundError(_("No such person."))
        if allowed and user.directory is not None and not user.break_glass and not password:
            raise ValidationError(_("Give the local password this person will use when the directory is down."),
                                  field="password")
        if bool(allowed) != user.break_glass:
            audit.add(session, "break_glass_changed", actor_id=actor.id, subject_id=user.id, subject=user.username,
                      detail={"break_glass": bool(allowed)})
        user.break_glass = bool(allowed)
        if allowed and password:
            user.set_password(password)
    return user
