"""Password guessing is slowed per account and per address, answered with the login form (429), never a 500,
and still counted when Redis is down; behind trusted proxies the client's own address is the one counted."""
from __future__ import annotations

import uuid

import pytest

from dispatch import create_app
from models import db
from tests.conftest import PASSWORD, TEST_REDIS_URL, csrf_token
from tests.factories import make_user


# The address limit is 30 a minute in production; tests use a smaller one so that its attempts all fall
# within one minute's window even on a busy machine (the limiter counts in Redis on the real clock).
ADDRESS_ATTEMPTS = 8
ADDRESS_LIMIT = f"{ADDRESS_ATTEMPTS}/minute"


def _address() -> str:
    """An address of this test's own, so runs sharing the Redis database never count each other's attempts."""
    n = uuid.uuid4().int
    return f"10.{n % 250}.{(n >> 8) % 250}.{(n >> 16) % 250 + 1}"


def _attempt(client, username, password="wrong", address=None, headers=None):
    environ = {"REMOTE_ADDR": address or _address()}
    page = client.get("/login", environ_overrides=environ).get_data(as_text=True)
    return client.post("/login", data={"username": username, "password": password, "csrf_token": csrf_token(page)},
                       environ_overrides=environ, headers=headers or {})



@pytest.fixture
def person(db, redis_conn):
    """A real account with a name of its own (counts in Redis are shared by every test run)."""
    user = make_user(f"guess.{uuid.uuid4().hex[:10]}", "nurse")
    db.session.commit()
    return user.username


def test_five_wrong_passwords_lock_the_account_for_a_while_even_with_the_right_one(app, person):
    client = app.test_client()
    for _ in range(5):
        assert _attempt(client, person).status_code == 200
    response = _attempt(client, person, password=PASSWORD)
    assert response.status_code == 429
    page = response.get_data(as_text=True)
    assert "Too many login attempts" in page
    assert 'name="password"' in page  # the form again, not an error page
    assert client.get("/report").status_code == 302  # not logged in


def test_the_account_limit_holds_when_the_guesses_come_from_many_addresses(app, person):
    client = app.test_client()
    for _ in range(5):
        _attempt(client, person, address=_address())
    assert _attempt(client, person, address=_address()).status_code == 429


def test_one_address_guessing_many_accounts_is_stopped_after_its_limit(app, redis_conn):
    app.config["LOGIN_ADDRESS_RATE_LIMIT"] = ADDRESS_LIMIT
    client, address = app.test_client(), _address()
    for i in range(ADDRESS_ATTEMPTS):
        assert _attempt(client, f"nobody-{uuid.uuid4().hex}", address=address).status_code == 200
    assert _attempt(client, f"nobody-{uuid.uuid4().hex}", address=address).status_code == 429
    assert _attempt(client, f"nobody-{uuid.uuid4().hex}", address=_address()).status_code == 200  # others still can


def test_successful_logins_are_never_counted(app, person):
    address = _address()
    for _ in range(12):
        client = app.test_client()
        assert _attempt(client, person, password=PASSWORD, address=address).status_code == 302


def test_logging_in_keeps_working_and_limiting_when_redis_is_down(database_url, clock):
    app = create_app({"TESTING": True, "SECRET_KEY": "x", "SQLALCHEMY_DATABASE_URI": database_url, "CLOCK": clock,
                      "REDIS_URL": "redis://127.0.0.1:1/0", "RATELIMIT_STORAGE_URI": "redis://127.0.0.1:1/0",
                      "PASSWORD_HASH_METHOD": "pbkdf2:sha256:1000"})
    with app.app_context():
        make_user("nurse.down", "nurse")
        db.session.commit()
        db.session.remove()
    try:
        client = app.test_client()
        for _ in range(5):
            assert _attempt(client, "nurse.down").status_code == 200  # counted in memory instead
        assert _attempt(client, "nurse.down", password=PASSWORD).status_code == 429
        assert _attempt(app.test_client(), "someone.else", password=PASSWORD).status_code == 200
    finally:
        with app.app_context():
            db.engine.dispose()


def _proxied_app(database_url, clock, proxies: int):
    return create_app({"TESTING": True, "SECRET_KEY": "x", "SQLALCHEMY_DATABASE_URI": database_url, "CLOCK": clock,
                       "REDIS_URL": TEST_REDIS_URL, "PROXY_FIX_X_FOR": proxies, "LOGIN_ADDRESS_RATE_LIMIT": ADDRESS_LIMIT,
                       "PASSWORD_HASH_METHOD": "pbkdf2:sha256:1000"})


def test_behind_a_trusted_proxy_each_client_address_is_counted_apart(app, redis_conn, database_url, clock):
    proxied = _proxied_app(database_url, clock, 1)
    client, proxy = proxied.test_client(), _address()
    first, second = _address(), _address()
    for _ in range(ADDRESS_ATTEMPTS):
        _attempt(client, f"nobody-{uuid.uuid4().hex}", address=proxy, headers={"X-Forwarded-For": first})
    assert _attempt(client, f"nobody-{uuid.uuid4().hex}", address=proxy,
                    headers={"X-Forwarded-For": first}).status_code == 429
    # Another ward PC behind the same proxy is not locked out; a forged header before the proxy's is ignored.
    assert _attempt(client, f"nobody-{uuid.uuid4().hex}", address=proxy,
                    headers={"X-Forwarded-For": f"{second}"}).status_code == 200
    assert _attempt(client, f"nobody-{uuid.uuid4().hex}", address=proxy,
                    headers={"X-Forwarded-For": f"{second}, {first}"}).status_code == 429


def test_without_trusted_proxies_a_forwarded_header_changes_nothing(app, redis_conn, database_url, clock):
    direct = _proxied_app(database_url, clock, 0)
    client, address = direct.test_client(), _address()
    for _ in range(ADDRESS_ATTEMPTS):
        _attempt(client, f"nobody-{uuid.uuid4().hex}", address=address, headers={"X-Forwarded-For": _address()})
    assert _attempt(client, f"nobody-{uuid.uuid4().hex}", address=address,
                    headers={"X-Forwarded-For": _address()}).status_code == 429
