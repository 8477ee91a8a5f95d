"""LDAP / Active Directory with ldap3: find the person as the service account, check the directory has not
disabled them, then bind as them with the password they typed (search-then-bind), over LDAPS or StartTLS.
The nightly sync reads every person under LDAP_USER_BASE the same way."""
from __future__ import annotations

import logging
import math
import ssl
from urllib.parse import urlsplit

from flask import current_app
from flask_babel import gettext as _
from ldap3 import BASE, SUBTREE, Connection, Server, Tls
from ldap3.core.exceptions import LDAPException
from ldap3.utils.conv import escape_filter_chars

from dispatch.errors import DirectorySignInRefused, DirectoryUnavailableError
from dispatch.services.directory import DirectoryPerson

log = logging.getLogger(__name__)
PAGE_SIZE = 500


def _unavailable() -> DirectoryUnavailableError:
    return DirectoryUnavailableError(_("The hospital directory cannot be reached just now, so hospital accounts "
                                       "cannot sign in. Try again in a few minutes; the control room has a "
                                       "break-glass account."))


def _server(config) -> Server:
    url = urlsplit(config["LDAP_URL"])
    secure = url.scheme.lower() == "ldaps"
    tls = None
    if secure or config.get("LDAP_START_TLS"):
        # The certificate is always checked, against LDAP_CA_FILE or the system's CAs.
        tls = Tls(validate=ssl.CERT_REQUIRED, ca_certs_file=config.get("LDAP_CA_FILE"),
                  version=ssl.PROTOCOL_TLS_CLIENT)
    return Server(url.hostname, port=url.port or (636 if secure else 389), use_ssl=secure, tls=tls,
                  connect_timeout=config["LDAP_TIMEOUT"], get_info=None)


def _connect(config, user: str | None, password: str | None) -> Connection:
    """An open, secured connection, not yet bound."""
    conn = Connection(_server(config), user=user, password=password, auto_bind=False, raise_exceptions=False,
                      # whole seconds: ldap3 packs it into the socket option as an integer on Linux
                      receive_timeout=max(1, math.ceil(config["LDAP_TIMEOUT"])), read_only=True)
    conn.open()
    if config.get("LDAP_START_TLS") and not conn.start_tls():
        raise LDAPException(f"StartTLS refused: {conn.result}")
    return conn


def _service_connection(config) -> Connection:
    conn = _connect(config, config.get("LDAP_BIND_DN"), config.get("LDAP_BIND_PASSWORD"))
    if not conn.bind():
        # The service account's password expired, or it was locked: the administrator must act.
        raise LDAPException(f"the service account could not bind: {conn.result.get('description')}")
    return conn


def _attributes(config) -> list[str]:
    wanted = [config["LDAP_USERNAME_ATTRIBUTE"], config["LDAP_NAME_ATTRIBUTE"], "cn"]
    if config.get("LDAP_GROUP_ATTRIBUTE"):
        wanted.append(config["LDAP_GROUP_ATTRIBUTE"])
    return wanted


def _first(entry: dict, name: str) -> str:
    value = entry.get(name)
    if isinstance(value, list):
        value = value[0] if value else ""
    return str(value or "")


def _groups_by_search(config, conn: Connection, dn: str) -> list[str]:
    base = config.get("LDAP_GROUP_BASE") or config["LDAP_USER_BASE"]
    query = config["LDAP_GROUP_FILTER"].replace("{dn}", escape_filter_chars(dn))
    conn.search(base, query, SUBTREE, attributes=["cn"])
    return [entry["dn"] for entry in conn.response or [] if entry.get("type") == "searchResEntry"]


def _person(config, conn: Connection, entry: dict, disabled: bool) -> DirectoryPerson:
    attributes = {key: value for key, value in entry["attributes"].items()}
    username = _first(attributes, config["LDAP_USERNAME_ATTRIBUTE"])
    if config.get("LDAP_GROUP_ATTRIBUTE"):
        groups = attributes.get(config["LDAP_GROUP_ATTRIBUTE"]) or []
        groups = [groups] if isinstance(groups, str) else list(groups)
    else:
        groups = _groups_by_search(config, conn, entry["dn"])
    return DirectoryPerson(source="ldap", key=username.lower(), username=username,
                           full_name=_first(attributes, config["LDAP_NAME_ATTRIBUTE"]) or _first(attributes, "cn"),
                           groups=tuple(str(g) for g in groups), disabled=disabled)


def _entries(conn: Connection) -> list[dict]:
    return [entry for entry in conn.response or [] if entry.get("type") == "searchResEntry"]


def authenticate(username: str, password: str) -> DirectoryPerson:
    """The person behind this username and password, as the directory describes them now. Raises
    DirectorySignInRefused (no such person, wrong password) or DirectoryUnavailableError."""
    config = current_app.config
    username = (username or "").strip()
    if not username or not password:
        # An LDAP bind with an empty password is an anonymous bind and "succeeds": never let it through.
        raise DirectorySignInRefused(_("Wrong username or password."))
    try:
        conn = _service_connection(config)
        try:
            query = config["LDAP_USER_FILTER"].replace("{username}", escape_filter_chars(username))
            conn.search(config["LDAP_USER_BASE"], query, SUBTREE, attributes=_attributes(config), size_limit=2)
            found = _entries(conn)
            if len(found) != 1:
                raise DirectorySignInRefused(_("Wrong username or password."))
            entry = found[0]
            conn.search(entry["dn"], config["LDAP_DISABLED_FILTER"], BASE, attributes=["cn"])
            disabled = bool(_entries(conn))
            person = _person(config, conn, entry, disabled)
        finally:
            conn.unbind()
        if disabled:
            return person  # the caller switches the account off and says why; the password is not tried
        as_person = _connect(config, entry["dn"], password)
        try:
            if not as_person.bind():
                if as_person.result.get("result") == 49:  # invalidCredentials
                    raise DirectorySignInRefused(_("Wrong username or password."))
                raise LDAPException(f"bind failed: {as_person.result.get('description')}")
        finally:
            as_person.unbind()
        return person
    except DirectorySignInRefused:
        raise
    except (LDAPException, OSError) as error:
        log.warning("LDAP sign-in could not reach the directory: %s", error)
        raise _unavailable() from error


def everyone() -> dict[str, DirectoryPerson]:
    """Every person the user filter finds under LDAP_USER_BASE, by key, for the nightly sync (paged, so a
    large Active Directory's size limit does not cut the list short)."""
    config = current_app.config
    try:
        conn = _service_connection(config)
        try:
            query = config["LDAP_USER_FILTER"].replace("{username}", "*")
            entries = list(conn.extend.standard.paged_search(config["LDAP_USER_BASE"], query, SUBTREE,
                                                             attributes=_attributes(config), paged_size=PAGE_SIZE,
                                                             generator=False) or [])
            if conn.result.get("result") not in (0, None):
                raise LDAPException(f"search failed: {conn.result.get('description')}")
            entries = [e for e in entries if e.get("type") == "searchResEntry"]
            disabled_query = f"(&{query}{config['LDAP_DISABLED_FILTER']})"
            disabled = {e["dn"].lower() for e in conn.extend.standard.paged_search(
                config["LDAP_USER_BASE"], disabled_query, SUBTREE, attributes=["cn"], paged_size=PAGE_SIZE,
                generator=False) or [] if e.get("type") == "searchResEntry"}
            people = [_person(config, conn, e, e["dn"].lower() in disabled) for e in entries]
        finally:
            conn.unbind()
    except (LDAPException, OSError) as error:
        log.warning("LDAP sync could not read the directory: %s", error)
        raise _unavailable() from error
    return {person.key: person for person in people if person.key}
