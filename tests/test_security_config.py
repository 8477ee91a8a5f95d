"""Production settings: cookies only over HTTPS, out of scripts' reach and not sent by other sites' forms; no
start without a SECRET_KEY; passwords stored with scrypt at its standard cost."""
from __future__ import annotations

import hashlib
import re

import pytest
from flask import session
from flask_login import login_user

from config import Config, ProductionConfig
from dispatch import create_app
from models import User
from tests.conftest import TEST_REDIS_URL, csrf_token


def production(**settings) -> type:
    """ProductionConfig as deployed, with a key and a database of the test's choosing (the class reads the
    environment when imported, so the test states what it depends on)."""
    fields = {"SECRET_KEY": "a-long-production-secret", "SQLALCHEMY_DATABASE_URI": "sqlite://",
              "REDIS_URL": TEST_REDIS_URL, **settings}
    return type("DeployedConfig", (ProductionConfig,), fields)


def cookie(response, name: str) -> str:
    found = [c for c in response.headers.getlist("Set-Cookie") if c.startswith(f"{name}=")]
    assert found, f"no {name} cookie set: {response.headers.getlist('Set-Cookie')}"
    return found[0]


def flags(set_cookie: str) -> set[str]:
    return {part.strip().split("=")[0].lower() + ("=" + part.split("=", 1)[1].strip().lower() if "samesite" in part.lower() else "")
            for part in set_cookie.split(";")[1:]}


@pytest.mark.parametrize("key", [None, ""])
def test_production_refuses_to_start_without_a_secret_key(key):
    with pytest.raises(RuntimeError, match="SECRET_KEY"):
        create_app(production(SECRET_KEY=key))


def test_production_settings_mark_every_cookie_secure_httponly_and_same_site():
    app = create_app(production())
    assert app.config["SESSION_COOKIE_SECURE"] and app.config["REMEMBER_COOKIE_SECURE"]
    assert app.config["SESSION_COOKIE_HTTPONLY"] and app.config["REMEMBER_COOKIE_HTTPONLY"]
    assert app.config["SESSION_COOKIE_SAMESITE"] == app.config["REMEMBER_COOKIE_SAMESITE"] == "Lax"
    assert app.config["PREFERRED_URL_SCHEME"] == "https"


def test_the_session_and_remember_cookies_carry_the_flags_in_production():
    app = create_app(production())
    with app.test_request_context("/", base_url="https://dispatch.example"):
        session["seen"] = True
        login_user(User(id=7, username="x", role="nurse", active=True), remember=True)
        response = app.process_response(app.response_class("ok"))
    for name in ("session", "remember_token"):
        assert {"secure", "httponly", "samesite=lax"} <= flags(cookie(response, name)), name
    assert response.headers["Strict-Transport-Security"].startswith("max-age=")


def test_the_language_cookie_is_https_only_in_production():
    client = create_app(production()).test_client()
    page = client.get("/login", base_url="https://dispatch.example").get_data(as_text=True)
    # Over HTTPS, Flask-WTF also wants the form to come from our own pages (the Referer).
    response = client.post("/language", data={"locale": "zh_CN", "csrf_token": csrf_token(page)},
                           base_url="https://dispatch.example", headers={"Referer": "https://dispatch.example/login"})
    assert response.status_code == 302
    assert {"secure", "httponly", "samesite=lax"} <= flags(cookie(response, "lang"))


def test_development_cookies_work_over_plain_http():
    """`make run` serves http://127.0.0.1: a Secure cookie would never come back and nobody could log in."""
    app = create_app({"SECRET_KEY": "dev", "SQLALCHEMY_DATABASE_URI": "sqlite://", "REDIS_URL": TEST_REDIS_URL})
    assert not app.config.get("SESSION_COOKIE_SECURE")
    with app.test_request_context("/"):
        session["seen"] = True
        response = app.process_response(app.response_class("ok"))
    assert "secure" not in flags(cookie(response, "session"))
    assert {"httponly", "samesite=lax"} <= flags(cookie(response, "session"))


# --- passwords ---------------------------------------------------------------------------------

def test_production_does_not_weaken_the_password_hash():
    assert getattr(ProductionConfig, "PASSWORD_HASH_METHOD", None) is None
    assert getattr(Config, "PASSWORD_HASH_METHOD", None) is None


def test_passwords_are_stored_with_scrypt_at_its_standard_cost():
    app = create_app(production())
    with app.app_context():
        user = User(username="n", full_name="N", role="nurse")
        user.set_password("correct-horse-1")
    scheme, salt, digest = user.password_hash.split("$")
    # werkzeug's scrypt: N=2**15, r=8, p=1 (RFC 7914's interactive-login cost), a 16-character salt.
    assert scheme == "scrypt:32768:8:1"
    assert len(salt) == 16 and re.fullmatch(r"[0-9a-f]{128}", digest)
    expected = hashlib.scrypt(b"correct-horse-1", salt=salt.encode(), n=32768, r=8, p=1, maxmem=132 * 32768 * 8).hex()
    assert digest == expected
    assert user.check_password("correct-horse-1") and not user.check_password("correct-horse-2")
    other = User(username="m", full_name="M", role="nurse")
    with app.app_context():
        other.set_password("correct-horse-1")
    assert other.password_hash != user.password_hash  # salted
