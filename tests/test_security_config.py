"""Production settings: cookies only over HTTPS, out of scripts' reach and not sent by other sites' forms; no
start without a SECRET_KEY; passwords stored with scrypt at its standard cost."""
from __future__ import annotations

import hashlib
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from flask import session
from flask_login import login_user
from twilio.request_validator import RequestValidator

from config import DEVELOPMENT_TWILIO_ACCOUNT_SID, DEVELOPMENT_TWILIO_AUTH_TOKEN, Config, ProductionConfig
from dispatch import create_app
from models import User
from tests.conftest import TEST_REDIS_URL, csrf_token


ROOT = Path(__file__).resolve().parent.parent
PRODUCTION_SID = "AC" + "7" * 32
PRODUCTION_TOKEN = "b1946ac92492d2347c6235b4d2611184"


def production(**settings) -> type:
    """ProductionConfig as deployed, with a key and a database of the test's choosing (the class reads the
    environment when imported, so the test states what it depends on)."""
    fields = {"SECRET_KEY": "a-long-production-secret", "SQLALCHEMY_DATABASE_URI": "sqlite://",
              "REDIS_URL": TEST_REDIS_URL, "TWILIO_ACCOUNT_SID": PRODUCTION_SID, "TWILIO_AUTH_TOKEN": PRODUCTION_TOKEN,
              **settings}
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


# --- Twilio's credentials: inbound SMS and calls are believed on a signature made with the auth token --------

@pytest.mark.parametrize("name, value", [
    ("TWILIO_AUTH_TOKEN", None), ("TWILIO_AUTH_TOKEN", ""), ("TWILIO_AUTH_TOKEN", "  "),
    ("TWILIO_AUTH_TOKEN", DEVELOPMENT_TWILIO_AUTH_TOKEN),
    ("TWILIO_ACCOUNT_SID", None), ("TWILIO_ACCOUNT_SID", ""), ("TWILIO_ACCOUNT_SID", DEVELOPMENT_TWILIO_ACCOUNT_SID),
])
def test_production_refuses_to_start_without_real_twilio_credentials(name, value):
    with pytest.raises(RuntimeError, match=f"{name} .*SMS_ENABLED=false"):
        create_app(production(**{name: value}))


def test_production_refuses_the_development_token_as_the_secondary_one_too():
    with pytest.raises(RuntimeError, match="TWILIO_AUTH_TOKEN_SECONDARY"):
        create_app(production(TWILIO_AUTH_TOKEN_SECONDARY=DEVELOPMENT_TWILIO_AUTH_TOKEN))


def _start_production(tmp_path, **environment) -> subprocess.CompletedProcess:
    """create_app() in a fresh interpreter, configured only by the environment, as gunicorn starts it."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TWILIO_", "SMS_", "DISPATCH_"))}
    env.update(DISPATCH_ENV="production", SECRET_KEY="a-long-production-secret", DATABASE_URL="sqlite://",
               REDIS_URL=TEST_REDIS_URL, DISPATCH_INSTANCE_DIR=str(tmp_path), **environment)
    return subprocess.run([sys.executable, "-c", "from dispatch import create_app; create_app(); print('started')"],
                          cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)


def test_production_started_from_the_environment_names_the_twilio_variable_to_set(tmp_path):
    unset = _start_production(tmp_path)
    assert unset.returncode != 0 and "set TWILIO_ACCOUNT_SID to your Twilio account" in unset.stderr
    no_token = _start_production(tmp_path, TWILIO_ACCOUNT_SID=PRODUCTION_SID)
    assert no_token.returncode != 0 and "TWILIO_AUTH_TOKEN is the development default" in no_token.stderr
    real = _start_production(tmp_path, TWILIO_ACCOUNT_SID=PRODUCTION_SID, TWILIO_AUTH_TOKEN=PRODUCTION_TOKEN)
    assert real.returncode == 0 and "started" in real.stdout, real.stderr
    off = _start_production(tmp_path, SMS_ENABLED="false")
    assert off.returncode == 0 and "started" in off.stdout, off.stderr


def test_development_keeps_the_fakes_credentials():
    app = create_app({"SECRET_KEY": "dev", "SQLALCHEMY_DATABASE_URI": "sqlite://", "REDIS_URL": TEST_REDIS_URL,
                      "TWILIO_ACCOUNT_SID": DEVELOPMENT_TWILIO_ACCOUNT_SID,
                      "TWILIO_AUTH_TOKEN": DEVELOPMENT_TWILIO_AUTH_TOKEN})
    assert app.config["SMS_ENABLED"] is True


def _twilio_webhooks(app) -> list[str]:
    paths = []
    for rule in app.url_map.iter_rules():
        if rule.endpoint.split(".")[0] in ("sms", "voice"):
            paths.append(rule.rule.replace("<int:message_id>", "1"))
    return paths


def _signed_post(client, path: str, token: str):
    params = {"MessageSid": "SM" + "1" * 32, "From": "+8613800000001", "To": "+15005550006", "Body": "A 1",
              "MessageStatus": "delivered", "CallStatus": "completed", "Digits": "1"}
    signature = RequestValidator(token).compute_signature(f"https://dispatch.example{path}", params)
    return client.post(path, data=params, headers={"X-Twilio-Signature": signature}, base_url="https://dispatch.example")


@pytest.mark.parametrize("token", [None, "", DEVELOPMENT_TWILIO_AUTH_TOKEN])
def test_with_sms_turned_off_production_starts_and_every_twilio_webhook_answers_403(token):
    app = create_app(production(SMS_ENABLED=False, TWILIO_ACCOUNT_SID=None, TWILIO_AUTH_TOKEN=token))
    client = app.test_client()
    paths = _twilio_webhooks(app)
    assert {"/sms/inbound", "/sms/status/1", "/voice/call/1", "/voice/call/1/digits", "/voice/status/1"} <= set(paths)
    for path in paths:
        # Signed with the public development token, as a forger would sign it: refused before anything is read.
        assert _signed_post(client, path, DEVELOPMENT_TWILIO_AUTH_TOKEN).status_code == 403, path
        assert client.post(path, data={}, base_url="https://dispatch.example").status_code == 403, path


def test_in_production_a_webhook_signed_with_the_development_token_is_refused():
    client = create_app(production()).test_client()
    for path in ("/sms/inbound", "/sms/status/1", "/voice/call/1/digits"):
        assert _signed_post(client, path, DEVELOPMENT_TWILIO_AUTH_TOKEN).status_code == 403, path
