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
from dispatch.services.directory import SOURCES, DirectoryPerson, mapping
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


def _names_to_adopt(person: DirectoryPerson) -> list[str]:
    """The local usernames this person may be: the directory's username, and for OpenID the (verified) email."""
    names = [person.username]
    if person.source == "oidc" and person.email_verified and person.email:
        names.append(person.email)
    return names


def _find(session: Session, person: DirectoryPerson, adopt: bool) -> tuple[User | None, str | None]:
    """The person's account and, when a local account of the same name stands in the way, why the sign-in is
    refused. Found by the directory's key (the LDAP username, the OpenID `sub`) first: that is how an
    administrator's link is kept too."""
    user = session.scalar(select(User).where(User.directory == person.source, User.directory_key == person.key))
    if user is not None:
        return user, None
    names = _names_to_adopt(person)
    same_name = next((u for name in names for u in session.scalars(select(User).where(User.username == name))), None)
    if same_name is None:
        return None, None
    if adopt and may_join_directory(same_name):
        return same_name, None
    if may_join_directory(same_name) and person.source == "oidc":
        return None, _("A Dispatch account called %(name)s already exists. For your safety it is not joined to your "
                       "hospital account automatically: ask the administrator to link it on the staff page.",
                       name=same_name.username)
    return None, _("A Dispatch account called %(name)s already exists and is not this directory account. Ask the "
                   "administrator.", name=same_name.username)


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


def sign_in(person: DirectoryPerson, *, adopt: bool = False) -> User:
    """The account for a person the directory has just vouched for (right password, or a verified ID token);
    `adopt`: may take over a local account of the same name (directory.may_adopt_local_account). Raises
    DirectorySignInRefused, saying why, when the directory has disabled them, no mapped group gives them a role
    or a local account of their name may not be taken over; an account that had a role is switched off first.
    Every refusal is kept in the audit trail."""
    with write_transaction() as session:
        user, refusal = _find(session, person, adopt)
        grant = mapping.role_for(session, person.groups)
        if refusal:
            pass
        elif user is not None and not user.active and not user.disabled_by_directory:
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
                audit.add(session, "directory_linked", subject_id=user.id, subject=user.username,
                          detail={"source": person.source,
                                  "by": "username" if user.username == person.username else "verified_email"})
            _bring_in_step(session, user, person, *grant)
        if user is not None:
            user.directory_checked_at = clock_now()
        if refusal:
            audit.add(session, "directory_sign_in_refused", subject_id=user.id if user else None,
                      subject=person.username[:120], detail={"source": person.source, "reason": str(refusal)})
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


def link_account(actor: User, user_id: int, source: str, key: str) -> User:
    """The administrator joins a local account to a directory account (the OpenID subject, or the LDAP
    username): its next directory sign-in finds it by that key, keeping its phone, licences and shifts."""
    if actor.role != "admin":
        raise ValidationError(_("Only an administrator can link accounts to the directory."), field="directory_key")
    if source not in SOURCES:
        raise ValidationError(_("Choose LDAP or OpenID Connect."), field="directory")
    key = (key or "").strip()
    if not key or len(key) > 255:
        raise ValidationError(_("Give the directory's identifier for this person (1 to 255 characters)."),
                              field="directory_key")
    with write_transaction() as session:
        user = session.get(User, user_id)
        if user is None:
            raise NotFoundError(_("No such person."))
        taken = session.scalar(select(User).where(User.directory == source, User.directory_key == key,
                                                  User.id != user.id))
        if taken is not None:
            raise ValidationError(_("That directory account is already linked to %(name)s.", name=taken.username),
                                  field="directory_key")
        if user.role in ("admin", "integration"):
            raise ValidationError(_("Administrator and alarm panel accounts stay local."), field="directory_key")
        user.directory, user.directory_key = source, key
        audit.add(session, "directory_linked", actor_id=actor.id, subject_id=user.id, subject=user.username,
                  detail={"source": source, "by": "administrator"})
    return user


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
