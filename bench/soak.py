"""Soak: steady reports and replies through the real processes, and whether any process's memory keeps growing.

    make bench-soak                       # 30 minutes on PostgreSQL -> docs/benchmarks.md
    SOAK_MINUTES=10 make bench-soak       # shorter
    .venv/bin/python bench/soak.py --minutes 2 --no-write   # a quick look

The Procfile's processes on a PostgreSQL database of their own (web under gunicorn, `flask worker`,
`flask scheduler`, `flask watchdog`), the local fake of Twilio and a Redis of its own (bench/stack.py).
Nurses file a report every --interval seconds through the API; each technician paged answers by SMS
through the fake (accept, on site, done: the same webhook a phone's reply reaches), so tickets open and
close all the time. Every --sample seconds the RSS of each process (with its children: gunicorn's
workers, RQ's work horses; PostgreSQL's server processes for this database) is read from /proc.
At the end, per process: RSS at the start and end, the slope (least squares, KiB per minute) after the
warm-up and over the last half, and a verdict: steady when the last half's slope, carried on for a day,
would add less than 10 % of its RSS (or is under 16 KiB/min), else GROWS.
The fake Twilio is a test double that keeps every request for inspection; the soak makes it forget
them every minute, so its figure is the server's and not its log's.
"""
from __future__ import annotations

import argparse
import http.client
import json
import os
import statistics
import sys
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import stack  # noqa: E402
from bench.report_to_sms import (  # noqa: E402
    _children, _rss_kib, _tree_kib, bench_app, nurse_tokens, postgres_backends, report_requests, scheduler_ran,
)

MARKERS = ("<!-- bench:soak:start -->", "<!-- bench:soak:end -->")
HEADING = "## Soak: memory over time"
REPLIES = {"assigned": "A", "acknowledged": "S", "attended": "D"}


def post_json(port: int, path: str, body: dict, headers: dict | None = None) -> int:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        connection.request("POST", path, json.dumps(body).encode(),
                           {"Content-Type": "application/json", **(headers or {})})
        response = connection.getresponse()
        response.read()
        return response.status
    finally:
        connection.close()


def slope(points: list[tuple[float, float]]) -> float:
    """Least-squares slope of (minutes, KiB)."""
    if len(points) < 3:
        return 0.0
    xs, ys = [p[0] for p in points], [p[1] for p in points]
    mx, my = statistics.fmean(xs), statistics.fmean(ys)
    spread = sum((x - mx) ** 2 for x in xs)
    return 0.0 if spread == 0 else sum((x - mx) * (y - my) for x, y in zip(xs, ys)) / spread


def verdict(last_half_slope: float, rss: float) -> str:
    return "steady" if last_half_slope * 1440 < 0.10 * rss or last_half_slope < 16 else "**GROWS**"


class Sampler:
    def __init__(self, roots: dict[str, tuple]) -> None:
        self.roots = roots  # name -> (function giving the pids, whether their children count too)
        self.samples: dict[str, list[tuple[float, int]]] = {name: [] for name in roots}

    def sample(self, minutes: float) -> None:
        for name, (pids, children) in self.roots.items():
            self.samples[name].append((minutes, sum((_tree_kib if children else _rss_kib)(pid) for pid in pids())))


def reply_to_pages(fake_port: int) -> int:
    """Each technician holding a job answers its next step by SMS. Returns how many replies were sent."""
    from sqlalchemy import select

    from models import Ticket, User, db

    db.session.rollback()
    rows = db.session.execute(select(Ticket.id, Ticket.status, User.phone).join(User, User.id == Ticket.assignee_id)
                              .where(Ticket.status.in_(tuple(REPLIES)))).all()
    db.session.rollback()
    for ticket_id, status, phone in rows:
        post_json(fake_port, "/_fake/inbound", {"from": phone, "body": f"{REPLIES[status]} {ticket_id}"})
    return len(rows)


def run(minutes: float, interval: float, every: float) -> dict:
    work = Path(tempfile.mkdtemp(prefix="dispatch-bench-soak-"))
    (work / "instance").mkdir()
    url, drop_database = stack.create_database("postgresql", work, f"dispatch_soak_{os.getpid()}")
    ports = stack.Ports()
    env = stack.environment(work, url, ports, MAJOR_INCIDENT_AUTO_THRESHOLD="0")
    processes = stack.Processes(work)
    load_before = os.getloadavg()
    counts = {"reports": 0, "filed": 0, "replies": 0}
    try:
        stack.start_redis(processes, env, ports, work)
        stack.migrate_and_seed(env, 1)  # the demo hospital with a day of history: the soak makes its own
        stack.start_fake_twilio(processes, env, ports)
        stack.start_web(processes, env, ports.web)
        processes.start_procfile("worker", "worker", env)
        processes.start_procfile("scheduler", "scheduler", env)
        processes.start_procfile("watchdog", "watchdog", env)
        app = bench_app(env)
        with app.app_context():
            tokens = nurse_tokens()
            stack.wait_until(lambda: processes.check() or scheduler_ran(), 120, "the scheduler's first round", every=0.5)
            web = processes.pid("web")
            sampler = Sampler({
                "web (gunicorn master)": (lambda: [web], False),
                "web (gunicorn workers)": (lambda: _children(web), True),
                "RQ worker": (lambda: [processes.pid("worker")], True),
                "scheduler": (lambda: [processes.pid("scheduler")], True),
                "watchdog": (lambda: [processes.pid("watchdog")], True),
                "Redis": (lambda: [processes.pid("redis")], True),
                "fake Twilio": (lambda: [processes.pid("fake_twilio")], True),
                "PostgreSQL (this database's server processes)": (lambda: postgres_backends(url), False),
            })
            started = time.monotonic()
            next_report = next_sample = next_reset = started
            stop = started + minutes * 60
            n = 0
            while time.monotonic() < stop:
                processes.check()
                moment = time.monotonic()
                if moment >= next_report:
                    request = report_requests(tokens, n + 1, "soak")[n]
                    status = post_json(ports.web, "/api/v1/tickets", json.loads(request.body),
                                       {k: v for k, v in request.headers.items() if k != "Content-Type"})
                    counts["reports"] += 1
                    counts["filed"] += status == 201
                    n += 1
                    counts["replies"] += reply_to_pages(ports.fake_twilio)
                    next_report += interval
                if moment >= next_sample:
                    sampler.sample((moment - started) / 60)
                    next_sample += every
                if moment >= next_reset:
                    post_json(ports.fake_twilio, "/_fake/reset", {})
                    next_reset += 60
                time.sleep(max(0.0, min(next_report, next_sample) - time.monotonic()))
            sampler.sample((time.monotonic() - started) / 60)
            from models import db

            db.session.remove()
            db.engine.dispose()
        return {"samples": sampler.samples, "counts": counts, "minutes": minutes, "interval": interval,
                "load_before": load_before, "load_after": os.getloadavg(),
                "database": stack.database_version("postgresql", url), "gunicorn": stack.gunicorn_settings(env)}
    finally:
        processes.stop()
        drop_database()


def table(result: dict) -> list[dict]:
    rows = []
    minutes = result["minutes"]
    warm = min(3.0, minutes * 0.2)
    for name, points in result["samples"].items():
        kib = [(m, float(k)) for m, k in points]
        after_warmup = [p for p in kib if p[0] >= warm]
        last_half = [p for p in kib if p[0] >= minutes / 2]
        rss = statistics.median(k for _, k in after_warmup) if after_warmup else 0
        late = slope(last_half)
        rows.append({"name": name, "start": kib[0][1], "end": kib[-1][1], "max": max(k for _, k in kib),
                     "slope": slope(after_warmup), "late": late, "verdict": verdict(late, rss), "samples": len(kib)})
    return rows


def markdown(result: dict, rows: list[dict]) -> str:
    c = result["counts"]
    lines = [MARKERS[0], "",
             f"Measured {datetime.now(timezone.utc):%Y-%m-%d %H:%M} UTC by `make bench-soak` (`bench/soak.py`), "
             f"{result['minutes']:g} minutes on {result['database']}; web: gunicorn {result['gunicorn']}.",
             "", f"- Machine: {stack.machine()}; load average before {' / '.join(f'{x:.2f}' for x in result['load_before'])}, "
             f"after {' / '.join(f'{x:.2f}' for x in result['load_after'])} (1 / 5 / 15 min). The machine was shared "
             "with other work throughout: the load is theirs as much as the soak's.",
             f"- Traffic: a report every {result['interval']:g} s ({c['filed']:,} of {c['reports']:,} filed with 201), "
             f"{c['replies']:,} SMS replies (accept, on site, done) through the fake Twilio's inbound webhook.",
             f"- RSS with children, sampled every {result.get('every', 10):g} s; slopes by least squares after a "
             f"warm-up of {min(3.0, result['minutes'] * 0.2):g} min, and over the last half.", "",
             "| process | RSS at start MiB | at end MiB | max MiB | slope after warm-up KiB/min | slope last half KiB/min | verdict |",
             "|---|---:|---:|---:|---:|---:|---|"]
    for r in rows:
        lines.append(f"| {r['name']} | {r['start'] / 1024:.1f} | {r['end'] / 1024:.1f} | {r['max'] / 1024:.1f} | "
                     f"{r['slope']:+.1f} | {r['late']:+.1f} | {r['verdict']} |")
    lines += ["", MARKERS[1]]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=float(os.environ.get("SOAK_MINUTES") or 30))
    parser.add_argument("--interval", type=float, default=2.0, help="seconds between reports")
    parser.add_argument("--sample", type=float, default=10.0, help="seconds between memory samples")
    parser.add_argument("--no-write", action="store_true")
    parser.add_argument("--out", default=str(stack.ROOT / "docs" / "benchmarks.md"))
    args = parser.parse_args()
    stack.stop_on_signals()
    problem = stack.postgres_answers()
    if problem:
        raise SystemExit(f"make bench-soak: {problem}")
    result = run(args.minutes, args.interval, args.sample)
    result["every"] = args.sample
    rows = table(result)
    for r in rows:
        print(f"{r['name']:<48} {r['start'] / 1024:7.1f} -> {r['end'] / 1024:7.1f} MiB   "
              f"{r['slope']:+8.1f} KiB/min (last half {r['late']:+8.1f})   {r['verdict']}")
    section = markdown(result, rows)
    if not args.no_write:
        stack.write_between_markers(Path(args.out), MARKERS, section, HEADING)
    print(section)


if __name__ == "__main__":
    main()
