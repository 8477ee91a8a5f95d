"""Benchmark: the monthly compliance report and the dispatcher's board with a million tickets of history.

    make bench                                            # both databases, 1,000,000 tickets -> docs/benchmarks.md
    .venv/bin/python bench/reports.py --tickets 100000 --backends sqlite --no-write   # a quick look

For each database it builds a fresh one (a SQLite file under the temporary directory; a PostgreSQL
database `dispatch_bench` it creates), migrates it, runs `flask seed-history` (timed), then requests
each page in-process through Flask's test client: the time is the server's (routing, queries,
templates), with no network. Medians and 95th percentiles over repeated runs, after warm-up requests.
The targets (issue #17): monthly compliance report <= 150 ms, compliance by month over twelve months and
repeat faults over three months <= 300 ms, dispatcher board <= 100 ms. The board, measured in the same
run, is the reference for how loaded the machine was.
"""
from __future__ import annotations

import argparse
import math
import os
import platform
import re
import sqlite3
import statistics
import sys
import tempfile
import time
from datetime import date, datetime, timedelta, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

ADMIN_URL = os.environ.get("BENCH_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres")
DATABASE_NAME = os.environ.get("BENCH_DATABASE", "dispatch_bench")
MARKERS = ("<!-- bench:reports:start -->", "<!-- bench:reports:end -->")
TARGETS = {"report": 150.0, "board": 100.0, "by_month": 300.0, "repeats": 300.0}


def database_url(backend: str, workdir: Path) -> str:
    if backend == "sqlite":
        return f"sqlite:///{workdir / 'bench.sqlite3'}"
    return ADMIN_URL.rsplit("/", 1)[0] + f"/{DATABASE_NAME}"


def fresh_database(backend: str, workdir: Path) -> None:
    if backend == "sqlite":
        workdir.mkdir(parents=True, exist_ok=True)
        for suffix in ("", "-wal", "-shm"):
            Path(f"{workdir / 'bench.sqlite3'}{suffix}").unlink(missing_ok=True)
        return
    from sqlalchemy import create_engine, text

    admin = create_engine(ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{DATABASE_NAME}" WITH (FORCE)'))
        conn.execute(text(f'CREATE DATABASE "{DATABASE_NAME}"'))
    admin.dispose()


def database_exists(backend: str, workdir: Path) -> bool:
    if backend == "sqlite":
        return (workdir / "bench.sqlite3").is_file()
    from sqlalchemy import create_engine, text

    admin = create_engine(ADMIN_URL)
    with admin.connect() as conn:
        found = conn.scalar(text("SELECT 1 FROM pg_database WHERE datname = :name"), {"name": DATABASE_NAME})
    admin.dispose()
    return bool(found)


def make_app(url: str):
    from dispatch import create_app

    # No CSRF on the benchmark's own logins; everything else as configured (system clock, real templates).
    return create_app({"SQLALCHEMY_DATABASE_URI": url, "WTF_CSRF_ENABLED": False, "SECRET_KEY": "bench",
                       "PASSWORD_HASH_METHOD": "pbkdf2:sha256:1000"})


def _contents() -> dict:
    """History lines and open tickets in the database as it stands (a reused one included)."""
    from sqlalchemy import func, select

    from models import Ticket, TicketEvent, db

    return {"events": db.session.scalar(select(func.count()).select_from(TicketEvent)),
            "open": db.session.scalar(select(func.count(Ticket.id)).where(Ticket.status.in_(
                ("new", "assigned", "acknowledged", "attended", "on_hold", "made_safe", "refused", "reopened"))))}


def prepare(backend: str, url: str, args) -> dict:
    """Migrate and seed (or reuse a database already holding enough tickets). Returns what was done."""
    from flask_migrate import upgrade
    from sqlalchemy import func, select

    from dispatch.services import report_rollup
    from dispatch.services.history import seed_history
    from models import Ticket, db

    # --reuse keeps a database already there; a first run (or a new machine) still has to make one.
    if not args.reuse or not database_exists(backend, Path(args.workdir)):
        fresh_database(backend, Path(args.workdir))
    app = make_app(url)
    with app.app_context():
        upgrade()
        existing = db.session.scalar(select(func.count(Ticket.id))) or 0
        if args.reuse and existing >= args.tickets:
            print(f"[{backend}] reusing {existing:,} tickets")
            rebuilt = None
            if not report_rollup.is_complete():
                # A database seeded before the roll-up existed: made once, as `flask reports rebuild` would.
                started = time.monotonic()
                report_rollup.rebuild(datetime.now(timezone.utc))
                db.session.commit()
                rebuilt = time.monotonic() - started
                print(f"[{backend}] rolled up the settled tickets in {rebuilt:.0f} s")
            return {"seeded": False, "tickets": existing, "rebuilt": rebuilt, **_contents()}
        print(f"[{backend}] seeding {args.tickets:,} tickets over {args.years} years ...")
        started = time.monotonic()
        summary = seed_history(args.tickets, years=args.years, seed=args.seed,
                               progress=lambda line: print(f"[{backend}] {line}") if "/" in line else None)
        elapsed = time.monotonic() - started
        total = db.session.scalar(select(func.count(Ticket.id)))
        open_now = _contents()["open"]
        db.session.remove()
        db.engine.dispose()
    print(f"[{backend}] seeded in {elapsed:.0f} s: {summary.tickets:,} tickets, {summary.events:,} history lines")
    return {"seeded": True, "seconds": elapsed, "tickets": total, "events": summary.events, "open": open_now,
            "breached": summary.breached, "demo": summary.demo_seeded}


def last_full_month(today: date) -> tuple[date, date]:
    end = today.replace(day=1) - timedelta(days=1)
    return end.replace(day=1), end


def timed(client, path: str, warmup: int, runs: int) -> list[float]:
    for _ in range(warmup):
        response = client.get(path)
        if response.status_code != 200:
            raise SystemExit(f"{path} answered {response.status_code}")
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        response = client.get(path)
        times.append((time.perf_counter() - started) * 1000)
        assert response.status_code == 200, (path, response.status_code)
    return times


def percentile(values: list[float], fraction: float) -> float:
    """Nearest rank: the smallest value with at least `fraction` of the runs at or below it."""
    ordered = sorted(values)
    return ordered[max(1, math.ceil(fraction * len(ordered))) - 1]


def measure(url: str, args) -> list[dict]:
    from dispatch.services.timezone import hospital_date

    app = make_app(url)
    with app.app_context():
        start, end = last_full_month(hospital_date(datetime.now(timezone.utc)))
    month = f"start={start.isoformat()}&end={end.isoformat()}"
    quarter = f"start={(start - timedelta(days=62)).replace(day=1).isoformat()}&end={end.isoformat()}"
    first = start
    for _month in range(11):
        first = (first - timedelta(days=1)).replace(day=1)
    year = f"start={first.isoformat()}&end={end.isoformat()}"  # twelve whole months
    pages = [
        ("report", "manager", f"/reports/compliance?{month}", "Monthly compliance report (trade × priority, charts)"),
        ("board", "dispatcher", "/board/", "Dispatcher board"),
        ("by_month", "manager", f"/reports/compliance?{year}&by=month", "Compliance by month, twelve months"),
        ("repeats", "manager", f"/reports/repeats?{quarter}", "Repeat faults, three months"),
    ]
    if not args.only_targets:
        pages += [
            ("", "manager", f"/reports/compliance?{month}&by=technician", "Compliance by technician, one month"),
            ("", "manager", f"/reports/breaches?{month}", "Breach list, one month"),
            ("", "manager", f"/reports/workload?{month}", "Workload, one month"),
            ("", "manager", f"/reports/tickets?{month}&target=attend&outcome=missed", "Tickets behind a figure"),
            ("", "manager", f"/reports/compliance.xlsx?{month}", "Compliance as XLSX"),
        ]
    clients = {}
    for who in ("manager", "dispatcher"):
        client = app.test_client()
        response = client.post("/login", data={"username": who, "password": "demo1234"})
        if response.status_code != 302:
            raise SystemExit(f"could not log in as {who} (is the demo hospital there?)")
        clients[who] = client
    results = []
    for key, who, path, label in pages:
        runs = args.runs if key else max(5, args.runs // 3)
        times = timed(clients[who], path, args.warmup, runs)
        results.append({"key": key, "label": label, "path": path, "runs": runs,
                        "median": statistics.median(times), "p95": percentile(times, 0.95),
                        "min": min(times), "max": max(times)})
        print(f"  {label:<55} median {results[-1]['median']:7.1f} ms   p95 {results[-1]['p95']:7.1f} ms")
    with app.app_context():
        from models import db

        db.session.remove()
        db.engine.dispose()
    return results


def machine() -> dict:
    cpu = "unknown"
    try:
        cpu = next(line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                   if line.startswith("model name"))
    except (OSError, StopIteration):
        pass
    memory = "unknown"
    try:
        kib = int(re.search(r"MemTotal:\s+(\d+)", Path("/proc/meminfo").read_text()).group(1))
        memory = f"{kib / 1024 / 1024:.1f} GiB"
    except (OSError, AttributeError):
        pass
    postgres = "unreachable"
    try:
        from sqlalchemy import create_engine, text

        engine = create_engine(ADMIN_URL)
        with engine.connect() as conn:
            postgres = conn.execute(text("SHOW server_version")).scalar()
        engine.dispose()
    except Exception:  # noqa: BLE001  (the report says so)
        pass
    load = os.getloadavg() if hasattr(os, "getloadavg") else None
    return {"cpu": cpu, "cores": os.cpu_count(), "memory": memory, "python": platform.python_version(),
            "postgres": postgres, "sqlite": sqlite3.sqlite_version, "os": platform.platform(),
            "load": " / ".join(f"{x:.2f}" for x in load) if load else "unknown"}


def size_of(backend: str, url: str, workdir: Path) -> str:
    if backend == "sqlite":
        total = sum(p.stat().st_size for p in workdir.glob("bench.sqlite3*"))
        return f"{total / 1024 / 1024:,.0f} MB"
    from sqlalchemy import create_engine, text

    engine = create_engine(url)
    with engine.connect() as conn:
        size = conn.execute(text("SELECT pg_database_size(current_database())")).scalar()
    engine.dispose()
    return f"{size / 1024 / 1024:,.0f} MB"


def markdown(info: dict, runs: dict, args) -> str:
    lines = [MARKERS[0], "",
             f"Measured {datetime.now(timezone.utc):%Y-%m-%d %H:%M} UTC by `make bench` (`bench/reports.py`).", "",
             "| machine | |", "|---|---|",
             f"| CPU | {info['cpu']}, {info['cores']} cores |", f"| memory | {info['memory']} |",
             f"| OS | {info['os']} |", f"| Python | {info['python']} |",
             f"| PostgreSQL | {info['postgres']} |", f"| SQLite | {info['sqlite']} |",
             f"| load average when measuring (1 / 5 / 15 min) | {info['load']} |", ""]
    lines += ["| database | tickets | history lines | open now | seeding | database size |", "|---|---:|---:|---:|---:|---:|"]
    for backend, data in runs.items():
        seed = data["prepared"]
        seconds = f"{seed['seconds']:.0f} s" if seed.get("seeded") else "reused"
        lines.append(f"| {backend} | {seed['tickets']:,} | {seed.get('events', 0):,} | {seed.get('open', '')} | "
                     f"{seconds} | {data['size']} |")
    lines += ["", "Server time per request (in-process test client, after warm-up), milliseconds:", "",
              "| page | database | runs | median | p95 | min | max | target | met |",
              "|---|---|---:|---:|---:|---:|---:|---:|---|"]
    for backend, data in runs.items():
        for r in data["results"]:
            target = TARGETS.get(r["key"])
            verdict = "" if target is None else ("yes" if r["median"] <= target and r["p95"] <= target
                                                 else ("median only" if r["median"] <= target else "**no**"))
            lines.append(f"| {r['label']} | {backend} | {r['runs']} | {r['median']:.1f} | {r['p95']:.1f} | "
                         f"{r['min']:.1f} | {r['max']:.1f} | {'' if target is None else f'≤ {target:.0f}'} | {verdict} |")
    lines += ["", MARKERS[1]]
    return "\n".join(lines)


def write(section: str, path: Path) -> None:
    text = path.read_text() if path.exists() else ""
    if MARKERS[0] in text and MARKERS[1] in text:
        before, rest = text.split(MARKERS[0], 1)
        after = rest.split(MARKERS[1], 1)[1]
        text = before + section + after
    else:
        text = (text.rstrip() + "\n\n" if text else "# Benchmarks\n\n") + section + "\n"
    path.write_text(text)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tickets", type=int, default=1_000_000)
    parser.add_argument("--years", type=float, default=5.0)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--backends", default="sqlite,postgresql")
    parser.add_argument("--runs", type=int, default=30)
    parser.add_argument("--warmup", type=int, default=3)
    parser.add_argument("--workdir", default=str(Path(tempfile.gettempdir()) / "dispatch-bench"))
    parser.add_argument("--reuse", action="store_true", help="keep a database that already has enough tickets")
    parser.add_argument("--only-targets", action="store_true", help="measure only the pages with targets")
    parser.add_argument("--no-write", action="store_true", help="print, do not update docs/benchmarks.md")
    parser.add_argument("--out", default=str(ROOT / "docs" / "benchmarks.md"))
    args = parser.parse_args()
    os.environ.setdefault("DISPATCH_INSTANCE_DIR", args.workdir)
    runs = {}
    for backend in [b.strip() for b in args.backends.split(",") if b.strip()]:
        url = database_url(backend, Path(args.workdir))
        prepared = prepare(backend, url, args)
        print(f"[{backend}] measuring ({args.runs} runs after {args.warmup} warm-up requests)")
        runs[backend] = {"prepared": prepared, "results": measure(url, args), "size": size_of(backend, url, Path(args.workdir))}
    section = markdown(machine(), runs, args)
    print(section)
    if not args.no_write:
        write(section, Path(args.out))
        print(f"written to {args.out}")


if __name__ == "__main__":
    main()
