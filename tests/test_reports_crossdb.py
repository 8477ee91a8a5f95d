"""The same history on SQLite and on PostgreSQL gives the same figures, to the last digit: counts,
percentages, medians and 90th percentiles (PostgreSQL's percentile_cont against the window-function
fallback), trends, bands, workload, repeat faults and breaches by cause."""
from __future__ import annotations

import dataclasses
import os
import shutil
from datetime import date, datetime, timezone

import pytest
from sqlalchemy import create_engine, text

from dispatch import create_app
from dispatch.clock import FrozenClock
from tests.conftest import POSTGRES_ADMIN_URL, TEST_REDIS_URL

NOW = datetime(2026, 3, 20, 2, 0, tzinfo=timezone.utc)
PERIODS = [(date(2026, 1, 1), date(2026, 3, 31)), (date(2024, 9, 1), date(2026, 3, 20)), (date(2026, 3, 1), date(2026, 3, 1))]


def _postgres_reachable() -> bool:
    try:
        engine = create_engine(POSTGRES_ADMIN_URL, connect_args={"connect_timeout": 2})
        with engine.connect():
            pass
        engine.dispose()
        return True
    except Exception:  # noqa: BLE001
        return False


def _app(url: str):
    return create_app({"TESTING": True, "SECRET_KEY": "x", "SQLALCHEMY_DATABASE_URI": url, "CLOCK": FrozenClock(NOW),
                       "REDIS_URL": TEST_REDIS_URL, "HOSPITAL_TIMEZONE": "Asia/Shanghai",
                       "PASSWORD_HASH_METHOD": "pbkdf2:sha256:1000"})


@pytest.fixture(scope="module")
def both(db_backend, migrated_database, tmp_path_factory):
    """A SQLite file and a PostgreSQL database, migrated, each given the same demo hospital and history."""
    if not _postgres_reachable():
        if db_backend == "postgresql":
            pytest.fail(f"PostgreSQL is not reachable at {POSTGRES_ADMIN_URL}")
        pytest.skip("PostgreSQL is not reachable; the PostgreSQL pass of `make test` runs this comparison")
    from flask_migrate import upgrade

    from dispatch.services.history import seed_history

    sqlite_path = tmp_path_factory.mktemp("crossdb") / "dispatch.sqlite3"
    name = f"dispatch_crossdb_{os.getpid()}"
    admin = create_engine(POSTGRES_ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    urls = {"sqlite": f"sqlite:///{sqlite_path}", "postgresql": POSTGRES_ADMIN_URL.rsplit("/", 1)[0] + f"/{name}"}
    if db_backend == "sqlite":
        shutil.copyfile(migrated_database, sqlite_path)  # already migrated: saves a few seconds
    apps = {}
    for backend, url in urls.items():
        app = _app(url)
        with app.app_context():
            if backend == "postgresql" or db_backend != "sqlite":
                upgrade()
            seed_history(4000, years=2, seed=11, open_cap=15)
        apps[backend] = app
    yield apps
    for app in apps.values():
        with app.app_context():
            from models import db

            db.session.remove()
            db.engine.dispose()
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


def plain(value):
    """Dataclasses, ORM-free, as nested plain values that compare exactly."""
    if dataclasses.is_dataclass(value):
        return {f.name: plain(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, (list, tuple)):
        return [plain(v) for v in value]
    if isinstance(value, dict):
        return {k: plain(v) for k, v in value.items()}
    return value


def figures(app, native: bool | None = None) -> dict:
    from dispatch.services.report_breaches import breaches_by_cause
    from dispatch.services.report_filters import ReportFilter
    from dispatch.services.report_tickets import Selection, ticket_page
    from dispatch.services.report_workload import refusals_by_trade, repeat_faults, workload
    from dispatch.services.reports import DIMENSIONS, attend_distribution, compliance, trend

    out = {}
    with app.app_context(), app.test_request_context():
        for start, end in PERIODS:
            report = ReportFilter(start=start, end=end)
            for by in DIMENSIONS:
                out[f"compliance {by} {start}"] = plain(compliance(report, NOW, by, native_percentiles=native))
            narrowed = report.narrowed(priority=2)
            out[f"compliance P2 {start}"] = plain(compliance(narrowed, NOW, "ward", native_percentiles=native))
            for target in ("acknowledge", "attend", "resolve"):
                out[f"trend {target} {start}"] = plain(trend(report, NOW, target))
            out[f"bands {start}"] = plain(attend_distribution(report, NOW))
            rows, total = workload(report, NOW)
            out[f"workload {start}"] = plain([*rows, total])
            out[f"handovers {start}"] = plain(refusals_by_trade(report))
            for kind in ("asset", "location"):
                out[f"repeats {kind} {start}"] = plain(repeat_faults(report, kind))
            out[f"causes {start}"] = plain(breaches_by_cause(report, NOW))
            for selection in (Selection(breached=True), Selection(target="attend", outcome="missed"),
                              Selection(out_of_hours=True), Selection(first_time_fix=False), Selection(repeat="asset")):
                listed = ticket_page(report, selection, NOW, per_page=500)
                out[f"tickets {selection} {start}"] = (listed.total, [line.ticket.id for line in listed.lines])
    return out


def test_sqlite_and_postgresql_give_the_same_figures(both):
    on_sqlite, on_postgres = figures(both["sqlite"]), figures(both["postgresql"])
    assert on_sqlite.keys() == on_postgres.keys()
    for key in on_sqlite:
        assert on_sqlite[key] == on_postgres[key], key
    # Not a trivial match: there is something to compare.
    quarter = on_sqlite["compliance trade_priority 2026-01-01"]
    assert quarter["totals"]["tickets"] > 300 and quarter["totals"]["targets"]["attend"]["p90"] is not None
    assert any(row["repeats"] for row in on_sqlite["repeats asset 2024-09-01"])


def test_the_fallback_percentiles_equal_percentile_cont_on_postgresql(both):
    native, fallback = figures(both["postgresql"], native=True), figures(both["postgresql"], native=False)
    for key in native:
        if key.startswith("compliance"):
            assert native[key] == fallback[key], key
