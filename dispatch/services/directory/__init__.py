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


def ldap_configured(config) -> bool:
    return bool(config.get("LDAP_URL"))


def oidc_configured(config) -> bool:
    return bool(config.get("OIDC_ISSUER"))
