"""Explicit fixtures: a migrated database (SQLite or PostgreSQL), the app with a frozen clock,
logged-in clients, real Redis, and a small hospital to work in."""
from __future__ import annotations

import os
import re
import shutil
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from datetime import datetime, timezone

import pytest
from hypothesis import settings
from sqlalchemy import create_engine, text

from dispatch import create_app
from dispatch.clock import FrozenClock

# The real LDAP server and OpenID provider the sign-in tests run against (started only by tests that ask).
pytest_plugins = ["tests.directory_servers"]

POSTGRES_ADMIN_URL = os.environ.get("TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres")


def _claim_redis_database(base_url: str) -> str:
    """A Redis database of this run's own (the one asked for if it is free, else 15 down to 1), claimed in
    database 0, so two test runs side by side (the two suites of `make test`, two checkouts, CI and a
    developer) never flush each other's queues. Claims expire after 6 hours in case a run is killed; an
    unreachable Redis leaves the URL alone and the redis_conn fixture fails."""
    import atexit
    from urllib.parse import urlsplit, urlunsplit

    from redis import Redis

    parts = urlsplit(base_url)
    try:
        registry = Redis.from_url(urlunsplit(parts._replace(path="/0")), socket_connect_timeout=1)
        asked = int(parts.path.strip("/") or 0)
        for number in ([asked] if 0 < asked <= 15 else []) + [n for n in range(15, 0, -1) if n != asked]:
            key = f"dispatch-test:claimed-db:{number}"
            if registry.set(key, os.getpid(), nx=True, ex=6 * 3600):
                atexit.register(registry.delete, key)
                return urlunsplit(parts._replace(path=f"/{number}"))
    except Exception:
        pass
    return base_url


# Property tests (hypothesis) draw new examples each run on a developer's machine; in CI (CI=true) they
# are derandomized, so a failure there is the same failure on the next run and on anyone's machine.
settings.register_profile("ci", derandomize=True, database=None, print_blob=True)
if os.environ.get("CI", "").lower() == "true":
    settings.load_profile("ci")

TEST_REDIS_URL = _claim_redis_database(os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/15"))
# 10:00 on a Tuesday in Shanghai.
START = datetime(2026, 3, 10, 2, 0, tzinfo=timezone.utc)
PASSWORD = "correct-horse-1"


def pytest_addoption(parser):
    parser.addoption("--db", default=os.environ.get("TEST_DB", "sqlite"), choices=("sqlite", "postgresql"),
                     help="database the suite runs against")


def pytest_report_header(config):
    return f"database: {config.getoption('--db')}; redis: {TEST_REDIS_URL}"


def _migrate(url: str) -> None:
    from flask_migrate import upgrade

    app = create_app({"TESTING": True, "SQLALCHEMY_DATABASE_URI": url, "SECRET_KEY": "x"})
    with app.app_context():
        upgrade()
        from models import db

        db.engine.dispose()


@pytest.fixture(scope="session")
def db_backend(pytestconfig) -> str:
    return pytestconfig.getoption("--db")


@contextmanager
def scratch_postgres_database(prefix: str) -> Iterator[str]:
    """An empty PostgreSQL database of this test process's own for the block (its URL), dropped afterwards."""
    admin = create_engine(POSTGRES_ADMIN_URL, isolation_level="AUTOCOMMIT")
    name = f"{prefix}_{os.getpid()}"
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield POSTGRES_ADMIN_URL.rsplit("/", 1)[0] + f"/{name}"
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@pytest.fixture(scope="session")
def migrated_database(db_backend, tmp_path_factory):
    """Migrate once per session: a template file for SQLite, a fresh database for PostgreSQL."""
    if db_backend == "sqlite":
        template = tmp_path_factory.mktemp("db") / "template.sqlite3"
        _migrate(f"sqlite:///{template}")
        yield template
        return
    with scratch_postgres_database("dispatch_test") as url:
        _migrate(url)
        yield url


@pytest.fixture
def empty_database_url(db_backend, tmp_path):
    """A database with nothing in it, not even the schema (to migrate or restore into)."""
    if db_backend == "sqlite":
        yield f"sqlite:///{tmp_path / 'empty.sqlite3'}"
        return
    with scratch_postgres_database("dispatch_empty") as url:
        yield url


@pytest.fixture(scope="session")
def emptying(db_backend, migrated_database):
    """For PostgreSQL, the function that empties the session's database between tests (None for SQLite): DELETE
    in dependency order, then restart the sequences. On small tables this is several times faster than
    TRUNCATE ... CASCADE, which PostgreSQL makes rewrite every table; and it is one script sent on one engine
    kept for the run, one round trip rather than a hundred on a new connection each test."""
    if db_backend == "sqlite":
        yield None
        return
    from models import db as models_db

    # Pre-ping: the tests that take the database away (tests/test_faults.py) end this engine's kept connection too.
    engine = create_engine(migrated_database, pool_pre_ping=True)
    with engine.connect() as conn:
        sequences = list(conn.scalars(text("SELECT sequencename FROM pg_sequences WHERE schemaname = 'public'")))
    script = "; ".join([f'DELETE FROM "{table.name}"' for table in reversed(models_db.metadata.sorted_tables)] + [
        f'ALTER SEQUENCE "{sequence}" RESTART WITH {1001 if sequence == "ticket_id_seq" else 1}'
        for sequence in sequences] + [
        # As the migration leaves a database without tickets: its reports' roll-up is complete (empty).
        "INSERT INTO report_rollup_state (id, rebuilt_at, tickets) VALUES (1, now(), 0)"])

    def empty() -> None:
        with engine.begin() as conn:
            conn.exec_driver_sql(script)

    yield empty
    engine.dispose()


@pytest.fixture
def database_url(db_backend, migrated_database, emptying, tmp_path) -> str:
    """A clean, migrated database for one test."""
    if db_backend == "sqlite":
        path = tmp_path / "dispatch.sqlite3"
        shutil.copyfile(migrated_database, path)
        return f"sqlite:///{path}"
    emptying()
    return migrated_database


@pytest.fixture
def clock() -> FrozenClock:
    return FrozenClock(START)


@pytest.fixture
def app(database_url, clock, tmp_path):
    app = create_app({
        "TESTING": True,
        "SECRET_KEY": "test-secret",
        "SQLALCHEMY_DATABASE_URI": database_url,
        "CLOCK": clock,
        "REDIS_URL": TEST_REDIS_URL,
        "RQ_QUEUE": "dispatch-test",
        "HOSPITAL_TIMEZONE": "Asia/Shanghai",
        "PASSWORD_HASH_METHOD": "pbkdf2:sha256:1000",
    })

    @app.before_request
    def _start_with_an_empty_g():
        # The `db` fixture keeps one app context open for the whole test, so requests share `g`;
        # in production each request has its own. Without this, a second client in a test would
        # be taken for the first one's user (and see its locale, CSRF token and cached figures).
        from flask import g

        for name in list(vars(g)):
            delattr(g, name)

    yield app
    from models import db

    with app.app_context():
        db.session.remove()
        db.engine.dispose()


@pytest.fixture
def fixed(hospital, clock, db):
    """The reports' small fixed data set (tests/report_data.py) at its moment, with the department's
    breach causes (PostgreSQL tests start from emptied tables)."""
    from dispatch.services.report_breaches import ensure_default_causes
    from tests.report_data import NOW, build_fixed_set

    clock.set(NOW)
    ensure_default_causes()
    return build_fixed_set(hospital)


@pytest.fixture
def db(app):
    from models import db as database

    with app.app_context():
        yield database
        database.session.remove()


@pytest.fixture
def hospital(db):
    from tests.factories import build_hospital

    return build_hospital()


@pytest.fixture
def client(app):
    return app.test_client()


def text_of(page: str) -> str:
    """The page as a reader sees it: tags dropped, entities decoded, whitespace squeezed."""
    import html

    return re.sub(r"\s+", " ", html.unescape(re.sub(r"<[^>]+>", " ", page))).strip()


def csrf_token(html: str) -> str:
    match = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', html) or re.search(
        r'id="csrf_token"[^>]*value="([^"]+)"', html)
    assert match, "no CSRF token on the page"
    return match.group(1)


class Browser:
    """A logged-in test client that carries the CSRF token like a real form would."""

    def __init__(self, client, username: str) -> None:
        self.client = client
        page = client.get("/login").get_data(as_text=True)
        response = client.post("/login", data={"username": username, "password": PASSWORD, "csrf_token": csrf_token(page)})
        assert response.status_code == 302, f"login failed for {username}"
        self.token = csrf_token(client.get(response.headers["Location"], follow_redirects=True).get_data(as_text=True))

    def get(self, path: str, **kw):
        return self.client.get(path, **kw)

    def post(self, path: str, data: dict | None = None, **kw):
        payload = {"csrf_token": self.token, **(data or {})}
        return self.client.post(path, data=payload, **kw)


class ReadOnlyHospital:
    """The small hospital with one of everything (tests/factories.py), in a database of its own, for tests that
    only look or are refused: the access matrix, the CSRF checks, bad tokens. No app context is held open, so
    every request gets its own, as in production. People stay logged in between tests (`browser`); a test that
    may log someone out takes a `fresh_browser`."""

    def __init__(self, app, ids: dict, users: dict[str, int]) -> None:
        self.app = app
        self.ids = ids
        self.users = users
        self._browsers: dict[str, Browser] = {}
        self._tokens: dict[str, dict[str, str]] = {}

    def test_client(self):
        return self.app.test_client()

    def fresh_browser(self, username: str) -> Browser:
        return Browser(self.app.test_client(), username)

    def browser(self, username: str) -> Browser:
        if username not in self._browsers:
            self._browsers[username] = self.fresh_browser(username)
        return self._browsers[username]

    def token(self, username: str) -> dict[str, str]:
        """A bearer header, used once already: the first use of a token is recorded (last used, audit trail),
        so after this a refused request must leave the database exactly as it was."""
        if username not in self._tokens:
            from dispatch.services.tokens import create_token

            with self.app.app_context():
                headers = {"Authorization": f"Bearer {create_token(self.users[username], 'test')}"}
            self.app.test_client().get("/api/v1/tickets?status=closed", headers=headers).close()
            self._tokens[username] = headers
        return self._tokens[username]

    def fingerprint(self) -> dict[str, list[tuple]]:
        with self.app.app_context():
            return database_fingerprint()


def database_fingerprint() -> dict[str, list[tuple]]:
    """Every row of every table, in key order, as committed (read on a connection of its own): equal before
    and after means nothing changed. Needs an app context."""
    from sqlalchemy import select

    from models import db

    tables = db.metadata.sorted_tables
    with db.engine.connect() as conn:
        if conn.dialect.name == "postgresql":  # one round trip: each table's rows as text, in a fixed order
            parts = [f'(SELECT string_agg(t::text, E\'\\n\' ORDER BY t::text) FROM "{table.name}" t)' for table in tables]
            return dict(zip((table.name for table in tables), conn.execute(text("SELECT " + ", ".join(parts))).one()))
        return {table.name: [tuple(row) for row in conn.execute(
            select(table).order_by(*(table.primary_key.columns or table.columns)))] for table in tables}


def changed_tables(before: dict, after: dict) -> list[str]:
    return [name for name in before if before[name] != after[name]]


@pytest.fixture(scope="session")
def read_only_hospital(db_backend, migrated_database, tmp_path_factory):
    """The furnished hospital, built once per test run (see ReadOnlyHospital)."""
    with furnished_hospital("read_only", db_backend, migrated_database, tmp_path_factory) as hospital:
        yield hospital


@contextmanager
def furnished_hospital(name: str, db_backend: str, migrated_database, tmp_path_factory) -> Iterator[ReadOnlyHospital]:
    """The furnished hospital in a migrated database of its own (`name`: a word for its file or database name),
    for as long as the block runs."""
    with ExitStack() as cleanup:
        if db_backend == "sqlite":
            url = f"sqlite:///{tmp_path_factory.mktemp(name) / 'hospital.sqlite3'}"
            shutil.copyfile(migrated_database, url.removeprefix("sqlite:///"))
        else:
            url = cleanup.enter_context(scratch_postgres_database(f"dispatch_{name}"))
            _migrate(url)
        yield from _read_only_hospital(url)


def _read_only_hospital(url: str):
    """The furnished hospital in the migrated database at `url`, for as long as the generator runs."""
    from models import User, db
    from tests.factories import build_hospital, furnish_hospital

    app = create_app({
        "TESTING": True, "SECRET_KEY": "test-secret", "SQLALCHEMY_DATABASE_URI": url, "CLOCK": FrozenClock(START),
        "REDIS_URL": TEST_REDIS_URL, "RQ_QUEUE": "dispatch-test-read-only", "HOSPITAL_TIMEZONE": "Asia/Shanghai",
        "PASSWORD_HASH_METHOD": "pbkdf2:sha256:1000",
    })
    with app.app_context():
        furnished = furnish_hospital(build_hospital())
        users = {user.username: user.id for user in db.session.query(User)}
        db.session.remove()
    yield ReadOnlyHospital(app, furnished.ids, users)
    with app.app_context():
        db.engine.dispose()


@pytest.fixture(scope="session")
def site_crawl(read_only_hospital):
    """Every page each person can reach from the pages the access policy opens to them, with its forms
    (tests/forms.py): {role: Crawl}, and "anonymous" from the login page. Built once per run; it only reads."""
    from tests.access_policy import PEOPLE, WEB_ROLES, pages_for
    from tests.forms import crawl

    found = {role: crawl(read_only_hospital.browser(PEOPLE[role]).client,
                         pages_for(read_only_hospital.app, role, read_only_hospital.ids))
             for role in WEB_ROLES}
    found["anonymous"] = crawl(read_only_hospital.test_client(), ["/login"])
    return found


@pytest.fixture
def login_as(app, hospital):
    def login(username: str) -> Browser:
        return Browser(app.test_client(), username)

    return login


@pytest.fixture
def api_token(app, hospital):
    """A function giving a bearer header for a user."""
    from dispatch.services.tokens import create_token
    from models import User, db

    def token_for(username: str) -> dict[str, str]:
        user = db.session.query(User).filter_by(username=username).one()
        return {"Authorization": f"Bearer {create_token(user.id, 'test')}"}

    return token_for


@pytest.fixture
def redis_conn():
    from redis import Redis

    connection = Redis.from_url(TEST_REDIS_URL)
    try:
        connection.ping()
    except Exception as error:  # never skip: make test provides Redis
        pytest.fail(f"Redis is not reachable at {TEST_REDIS_URL}: {error}")
    connection.flushdb()
    yield connection
    connection.flushdb()
    connection.close()


# --- SMS: the local fake of Twilio, the app served over HTTP, and RQ workers -------------------

def _queue_of_its_own(app) -> None:
    """Jobs of this test go to a queue no other test run (sharing the Redis database) reads or fills."""
    import uuid

    if app.config["RQ_QUEUE"] == "dispatch-test":
        app.config["RQ_QUEUE"] = f"dispatch-test-{uuid.uuid4().hex[:12]}"


@pytest.fixture
def fake_twilio(app):
    """The project's fake of Twilio's REST API on a free port, with the app's credentials; the app's
    Twilio client is pointed at it. Status callbacks follow quickly (10 ms between steps)."""
    from dispatch.fake_twilio import serve_in_thread

    server = serve_in_thread(port=0, ACCOUNT_SID=app.config["TWILIO_ACCOUNT_SID"],
                             AUTH_TOKEN=app.config["TWILIO_AUTH_TOKEN"], CALLBACK_DELAY_SECONDS=0.01)
    app.config["TWILIO_API_BASE_URL"] = server.url
    _queue_of_its_own(app)
    yield server
    server.stop()


class _CountingWSGI:
    """Counts requests in flight, so teardown can wait for the last callback to finish its write."""

    def __init__(self, wsgi_app) -> None:
        import threading

        self.wsgi_app = wsgi_app
        self.active = 0
        self.changed = threading.Condition()

    def __call__(self, environ, start_response):
        with self.changed:
            self.active += 1
        try:
            response = self.wsgi_app(environ, start_response)
            try:
                return [b"".join(response)]
            finally:
                if hasattr(response, "close"):
                    response.close()
        finally:
            with self.changed:
                self.active -= 1
                self.changed.notify_all()

    def wait_idle(self, timeout: float = 10.0) -> None:
        with self.changed:
            self.changed.wait_for(lambda: self.active == 0, timeout=timeout)


@pytest.fixture
def live_app(app, fake_twilio):
    """The app served over real HTTP on 127.0.0.1 (a thread of this process, same frozen clock).
    PUBLIC_URL points here, so the fake posts status callbacks here; inbound SMS from the fake's
    handsets (`fake_twilio.text_from`) go to /sms/inbound. Returns the base URL."""
    import threading

    from werkzeug.serving import WSGIRequestHandler, make_server

    class QuietHandler(WSGIRequestHandler):
        def log_request(self, *args, **kwargs) -> None:
            return None

    counted = _CountingWSGI(app)
    server = make_server("127.0.0.1", 0, counted, threaded=True, request_handler=QuietHandler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, name="live-app", daemon=True)
    thread.start()
    url = f"http://127.0.0.1:{server.server_port}"
    app.config["PUBLIC_URL"] = url
    fake_twilio.state.configure(SMS_WEBHOOK_URL=f"{url}/sms/inbound")
    yield url
    fake_twilio.stop()  # no more callbacks; then let the ones in flight finish their writes
    counted.wait_idle()
    server.shutdown()
    server.server_close()
    thread.join(timeout=5)


@pytest.fixture
def worker(app, redis_conn):
    """`worker()` runs every queued job with a real RQ SimpleWorker (JSON serializer) in this process,
    against the Redis in app.config["REDIS_URL"], and returns the jobs' results in queue order.
    Jobs build their app context through workers.context, which is handed the test app (and so its
    frozen clock). A job that raised fails the test with its traceback."""
    import workers.context
    from redis import Redis
    from rq import Queue, SimpleWorker
    from rq.job import Job
    from rq.serializers import JSONSerializer

    workers.context.use_app(app)
    _queue_of_its_own(app)

    def run() -> list:
        connection = Redis.from_url(app.config["REDIS_URL"])
        try:
            queue = Queue(app.config["RQ_QUEUE"], connection=connection, serializer=JSONSerializer)
            job_ids = queue.job_ids
            SimpleWorker([queue], connection=connection, serializer=JSONSerializer).work(burst=True, logging_level="WARNING")
            results = []
            for job_id in job_ids:
                job = Job.fetch(job_id, connection=connection, serializer=JSONSerializer)
                if job.is_failed:
                    latest = job.latest_result()
                    pytest.fail(f"job {job.func_name}{job.args} failed:\n{latest.exc_string if latest else '?'}")
                results.append(job.return_value())
            return results
        finally:
            connection.close()

    yield run
    workers.context._app = None
    workers.context._pid = None
