"""OpenID Connect with Authlib: the authorization code flow with PKCE (S256), state and nonce kept in the
signed session cookie, and the ID token checked before anything is believed: its signature against the
provider's JWKS, its issuer, its audience (our client id), its expiry and the nonce we sent."""
from __future__ import annotations

import logging

from authlib.common.errors import AuthlibBaseError
from authlib.integrations.flask_client import OAuth
from flask import Flask, current_app
from flask_babel import gettext as _
from requests import RequestException

from dispatch.errors import DirectorySignInRefused, DirectoryUnavailableError
from dispatch.services.directory import DirectoryPerson, oidc_configured

log = logging.getLogger(__name__)
EXTENSION = "dispatch.oidc"
CLIENT_NAME = "hospital"


def _registry(app: Flask) -> OAuth:
    """One Authlib registry per app, made at the first sign-in from the app's settings."""
    if EXTENSION in app.extensions:
        return app.extensions[EXTENSION]
    oauth = OAuth(app)
    issuer = app.config["OIDC_ISSUER"].rstrip("/")
    oauth.register(
        CLIENT_NAME,
        client_id=app.config["OIDC_CLIENT_ID"],
        client_secret=app.config["OIDC_CLIENT_SECRET"],
        server_metadata_url=f"{issuer}/.well-known/openid-configuration",
        client_kwargs={"scope": app.config["OIDC_SCOPES"], "code_challenge_method": "S256",
                       "timeout": app.config["OIDC_TIMEOUT"]},
    )
    return app.extensions.setdefault(EXTENSION, oauth)


def _client():
    if not oidc_configured(current_app.config):
        raise DirectoryUnavailableError(_("Sign-in with the hospital account is not set up."))
    return _registry(current_app._get_current_object()).create_client(CLIENT_NAME)


def _unavailable() -> DirectoryUnavailableError:
    return DirectoryUnavailableError(_("The hospital's sign-in service cannot be reached just now. Try again in a "
                                       "few minutes; the control room has a break-glass account."))


def _metadata(client) -> dict:
    metadata = client.load_server_metadata()
    # The provider must call itself what we were configured with: a document naming another issuer is a
    # mix-up (or a man in the middle), and its tokens would be checked against the wrong issuer.
    if metadata.get("issuer", "").rstrip("/") != current_app.config["OIDC_ISSUER"].rstrip("/"):
        raise DirectoryUnavailableError(_("The sign-in service describes itself as another issuer; refused."))
    return metadata


def begin(redirect_uri: str):
    """The redirect to the provider's sign-in page (state, nonce and the PKCE verifier go in the session)."""
    client = _client()
    try:
        _metadata(client)
        return client.authorize_redirect(redirect_uri)
    except (RequestException, ValueError) as error:
        log.warning("OpenID provider unreachable: %s", error)
        raise _unavailable() from error


def finish() -> DirectoryPerson:
    """The person the provider vouches for, after the code is exchanged (with the PKCE verifier) and the ID
    token verified. Raises DirectorySignInRefused for a refused or forged answer."""
    config = current_app.config
    client = _client()
    try:
        token = client.authorize_access_token()
    except AuthlibBaseError as error:
        # A wrong state (a stale or replayed callback), a bad nonce, signature, issuer or audience.
        log.warning("OpenID sign-in refused: %s", error)
        raise DirectorySignInRefused(_("The sign-in did not complete (%(why)s). Try again.",
                                       why=getattr(error, "error", None) or "invalid")) from error
    except (RequestException, ValueError) as error:
        log.warning("OpenID provider unreachable during sign-in: %s", error)
        raise _unavailable() from error
    claims = token.get("userinfo")
    if not claims or not claims.get("sub"):
        raise DirectorySignInRefused(_("The sign-in service sent no verified identity."))
    groups = claims.get(config["OIDC_GROUPS_CLAIM"])
    if groups is None:
        # Some providers keep groups out of the ID token: ask the userinfo endpoint (over the token just issued).
        try:
            groups = client.userinfo(token=token).get(config["OIDC_GROUPS_CLAIM"])
        except (RequestException, ValueError, AuthlibBaseError) as error:
            raise _unavailable() from error
    if isinstance(groups, str):
        groups = [groups]
    username = str(claims.get(config["OIDC_USERNAME_CLAIM"]) or claims.get("email") or claims["sub"])
    return DirectoryPerson(source="oidc", key=str(claims["sub"]), username=username,
                           full_name=str(claims.get("name") or username), groups=tuple(str(g) for g in groups or ()),
                           email=str(claims["email"]) if claims.get("email") else None,
                           # Only a JSON true: some providers send the string "false".
                           email_verified=claims.get("email_verified") is True)
