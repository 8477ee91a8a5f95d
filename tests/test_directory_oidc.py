"""Signing in with OpenID Connect against a real provider (panva/oidc-provider on Node, tests/oidc): the
authorization code flow with PKCE, the ID token's signature, issuer, audience and nonce checked by Authlib,
and the same group mapping as LDAP from the groups claim. The provider's sign-in page is filled in with
requests, as a person's browser would; the answer comes back to the app through Flask's test client."""
from __future__ import annotations

import re
from urllib.parse import parse_qs, urljoin, urlsplit

import pytest
import requests
from sqlalchemy import select

from dispatch.services.directory import mapping
from models import AuditEvent, User, db
from tests.conftest import text_of
from tests.directory_servers import OIDC_REDIRECT_URI, free_port


@pytest.fixture
def oidc_app(app, hospital, oidc_provider, redis_conn):
    app.config.update(oidc_provider.settings())
    mapping.add_group(name="Dispatch-Nurses-Ward-3A", role="nurse", ward_id=hospital.ward3.id)
    mapping.add_group(name="Dispatch-Control-Room", role="dispatcher", ward_id=None)
    return app


def at_the_provider(authorize_url: str, login: str, password: str) -> str:
    """A person's browser at the provider: follow it to the sign-in form, fill it in, and follow the provider's
    redirects until it sends the browser back to us; returns that callback URL."""
    browser = requests.Session()
    url, data = authorize_url, None
    for _ in range(12):
        response = browser.post(url, data=data, allow_redirects=False, timeout=10) if data else \
            browser.get(url, allow_redirects=False, timeout=10)
        data = None
        if response.is_redirect:
            url = urljoin(url, response.headers["Location"])
            if url.startswith(OIDC_REDIRECT_URI):
                return url
            continue
        form = re.search(r'<form method="post" action="([^"]+)"', response.text)
        assert response.status_code == 200 and form, f"the provider said {response.status_code}: {response.text[:300]}"
        url, data = urljoin(url, form.group(1)), {"login": login, "password": password}
    raise AssertionError("the provider never sent the browser back")


def start(client, **query):
    response = client.get("/login/oidc", query_string=query)
    assert response.status_code == 302, response.get_data(as_text=True)
    return response.headers["Location"]


def come_back(client, callback_url: str):
    parts = urlsplit(callback_url)
    return client.get(parts.path, query_string=parts.query)


def account(username: str) -> User | None:
    db.session.expire_all()
    return db.session.scalar(select(User).where(User.username == username))


def test_the_login_page_offers_the_hospital_account_and_the_local_form(oidc_app):
    page = text_of(oidc_app.test_client().get("/login").get_data(as_text=True))
    assert "Sign in with General Hospital account" in page
    assert "Username" in page


def test_the_local_form_can_be_kept_behind_a_break_glass_link(oidc_app):
    oidc_app.config["LOCAL_LOGIN_FORM"] = "link"
    client = oidc_app.test_client()
    page = client.get("/login").get_data(as_text=True)
    assert 'name="password"' not in page and "Local sign-in (break-glass)" in text_of(page)
    assert 'name="password"' in client.get("/login?local=1").get_data(as_text=True)


def test_without_oidc_the_login_page_is_the_local_form_alone(app):
    page = app.test_client().get("/login").get_data(as_text=True)
    assert "Sign in with" not in page and 'name="password"' in page
    assert app.test_client().get("/login/oidc").status_code == 404


def test_sign_in_with_code_and_pkce_creates_the_account_from_the_groups_claim(oidc_app, hospital):
    client = oidc_app.test_client()
    authorize = start(client, next="/report")
    query = parse_qs(urlsplit(authorize).query)
    assert query["code_challenge_method"] == ["S256"] and query["code_challenge"][0]
    assert query["nonce"][0] and query["state"][0] and query["response_type"] == ["code"]
    response = come_back(client, at_the_provider(authorize, "mwong", "oidc-pass-1"))
    assert response.status_code == 302 and response.headers["Location"] == "/report"
    user = account("mwong")
    assert (user.role, user.ward_id, user.full_name, user.directory) == ("nurse", hospital.ward3.id, "Mei Wong", "oidc")
    assert client.get("/report", follow_redirects=True).status_code == 200
    signed_in = db.session.scalars(select(AuditEvent).where(AuditEvent.kind == "login_succeeded")).all()
    assert [e.detail for e in signed_in] == [{"via": "oidc"}]
    created = db.session.scalars(select(AuditEvent).where(AuditEvent.kind == "user_created")).all()
    assert created[-1].detail == {"role": "nurse", "source": "oidc"}


def test_a_callback_cannot_be_replayed_or_carried_to_another_browser(oidc_app):
    client = oidc_app.test_client()
    callback = at_the_provider(start(client), "tchen", "oidc-pass-1")
    # Another browser (no state, nonce or PKCE verifier in its session) cannot use the code.
    stranger = oidc_app.test_client()
    refused = come_back(stranger, callback)
    assert refused.status_code == 401 and "did not complete" in text_of(refused.get_data(as_text=True))
    assert account("tchen") is None
    first = come_back(client, callback)
    assert first.status_code == 302, text_of(first.get_data(as_text=True))  # the browser that started it
    # The same callback again (a replay from the history, or an attacker who saw it): its state is used up.
    assert come_back(client, callback).status_code == 401
    db.session.expire_all()
    assert len(db.session.scalars(select(User).where(User.username == "tchen")).all()) == 1


def test_a_provider_naming_another_issuer_is_not_believed(oidc_app, oidc_provider):
    # The same provider reached by another name: its metadata names 127.0.0.1, not localhost.
    oidc_app.config["OIDC_ISSUER"] = oidc_provider.issuer.replace("127.0.0.1", "localhost")
    response = oidc_app.test_client().get("/login/oidc", follow_redirects=True)
    assert "another issuer" in text_of(response.get_data(as_text=True))


def test_someone_in_no_mapped_group_is_refused(oidc_app):
    client = oidc_app.test_client()
    response = come_back(client, at_the_provider(start(client), "nogroup", "oidc-pass-1"))
    assert response.status_code == 401
    assert "not in any group that gives access" in text_of(response.get_data(as_text=True))
    assert account("nogroup") is None


def test_a_provider_that_is_down_gets_a_clear_message(oidc_app):
    oidc_app.config["OIDC_ISSUER"] = f"http://127.0.0.1:{free_port()}"
    response = oidc_app.test_client().get("/login/oidc", follow_redirects=True)
    assert "sign-in service cannot be reached" in text_of(response.get_data(as_text=True))


def test_an_oidc_account_cannot_use_a_local_password(oidc_app):
    client = oidc_app.test_client()
    come_back(client, at_the_provider(start(client), "tchen", "oidc-pass-1"))
    user = account("tchen")
    user.set_password("a-local-password")
    db.session.commit()
    from tests.test_directory_ldap import sign_in

    response = sign_in(oidc_app.test_client(), "tchen", "a-local-password")
    assert "use the hospital sign-in" in text_of(response.get_data(as_text=True))


def test_an_id_token_whose_nonce_is_not_ours_is_refused(oidc_app):
    client = oidc_app.test_client()
    callback = at_the_provider(start(client), "tchen", "oidc-pass-1")
    with client.session_transaction() as session:
        # What Authlib keeps for the flow it started: change the nonce the ID token must carry back.
        key = next(k for k in session if k.startswith("_state_hospital_"))
        kept = dict(session[key])
        kept["data"] = {**kept["data"], "nonce": "not-the-nonce-we-sent"}
        session[key] = kept
    refused = come_back(client, callback)
    assert refused.status_code == 401
    assert account("tchen") is None
    failed = db.session.scalars(select(AuditEvent).where(AuditEvent.kind == "login_failed")).all()
    assert [e.detail for e in failed] == [{"reason": "directory_refused", "via": "oidc"}]


def test_production_wants_the_provider_over_https_and_a_whole_registration():
    from dispatch import create_app
    from tests.test_security_config import production

    client = {"OIDC_CLIENT_ID": "dispatch", "OIDC_CLIENT_SECRET": "s3cret"}
    with pytest.raises(RuntimeError, match="https"):
        create_app(production(OIDC_ISSUER="http://idp.hospital.local", **client))
    with pytest.raises(RuntimeError, match="OIDC_CLIENT_SECRET"):
        create_app(production(OIDC_ISSUER="https://idp.hospital.local", OIDC_CLIENT_ID="dispatch"))
    assert create_app(production(OIDC_ISSUER="https://idp.hospital.local", **client))
    with pytest.raises(RuntimeError, match="LOCAL_LOGIN_FORM"):
        create_app(production(LOCAL_LOGIN_FORM="no"))
