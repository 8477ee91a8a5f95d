"""Signing in with the hospital's directory: LDAP / Active Directory (ldap.py) and OpenID Connect
(oidc.py) both yield a DirectoryPerson; mapping.py turns their groups into a role and a ward, and
accounts.py keeps the Dispatch account in step (created on first sign-in, disabled when the directory
disables or loses it). Licences, phones and on-call shifts are Dispatch's own and never touched."""
from __future__ import annotations

from dataclasses import dataclass

SOURCES = ("ldap", "oidc")


@dataclass(frozen=True)
class DirectoryPerson:
    """One person as the directory describes them."""

    source: str  # "ldap" or "oidc"
    key: str  # the directory's username (LDAP) or the OpenID subject: how the account is found again
    username: str  # what the Dispatch account is called
    full_name: str
    groups: tuple[str, ...]  # as the directory names them: CNs and whole DNs, or the claim's values
    disabled: bool = False
    email: str | None = None
    email_verified: bool = False  # the OpenID provider vouches that the address is the person's


def may_adopt_local_account(config, person: DirectoryPerson) -> bool:
    """Whether this sign-in may take over a local account of the same name (a hospital moving its staff onto
    the directory keeps their phones, licences and shifts). LDAP: the bind proved the directory account and
    the directory's usernames are the hospital's own, so yes unless LDAP_ADOPT_LOCAL_ACCOUNTS is off. OpenID:
    a provider's preferred_username is neither unique nor stable, so only when the administrator switched
    OIDC_ADOPT_LOCAL_ACCOUNTS on and the provider says the email address is verified; otherwise the
    administrator links the account on the staff page."""
    if person.source == "ldap":
        return bool(config.get("LDAP_ADOPT_LOCAL_ACCOUNTS", True))
    return bool(config.get("OIDC_ADOPT_LOCAL_ACCOUNTS")) and person.email_verified and bool(person.email)


def ldap_configured(config) -> bool:
    return bool(config.get("LDAP_URL"))


def oidc_configured(config) -> bool:
    return bool(config.get("OIDC_ISSUER"))
