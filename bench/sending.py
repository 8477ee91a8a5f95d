"""Sending: the SMS worker's CPU per message and the messages per second 1, 2 and 4 workers reach, beside the floor.

    make bench-sending                                  # PostgreSQL, 600 messages per run -> docs/benchmarks.md
    .venv/bin/python bench/sending.py --messages 200 --no-write   # a quick look

A PostgreSQL database of its own with the demo hospital, a Redis of its own and the local fake of
Twilio (bench/stack.py). For 1, 2 and 4 `flask worker` processes (the Procfile's line, started and
idle before the clock starts, warmed up with a few messages): N SMS are owed in one transaction, as the
ticket services owe them (outbox row, then one RQ job each after the commit), and the clock runs until
the last one is sent. Messages per second = N / (last sent_at - commit); CPU per message = the workers'
CPU (user + system, from /proc) over the run / N, the Twilio SDK call included.

The floor, in the same run: the bare Twilio SDK call (`client.messages.create` against the same fake,
with the app's own client set-up) in a loop, in 1, 2 and 4 processes, N calls in all: no database, no
queue. Its CPU per call and calls per second bound what the worker can reach on this machine; the
fake's own CPU is shown for each, since it shares the two cores.
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import stack  # noqa: E402
from bench.report_to_sms import _cpu_seconds, bench_app  # noqa: E402

MARKERS = ("<!-- bench:sending:start -->", "<!-- bench:sending:end -->")
HEADING = "## Sending: the SMS worker against the local fake Twilio"
TO_NUMBER = "+8613800000001"

FLOOR = r"""
import json, os, sys, time
sys.path.insert(0, os.getcwd())
from dispatch import create_app
from dispatch.sms import twilio_client
app = create_app(json.loads(sys.argv[2]))
count = int(sys.argv[1])
with app.app_context():
    conf = twilio_client.settings()
    client = twilio_client.client()
    client.messages.create(to="+8613800000001", body="warm-up", from_=conf.from_number)
    cpu, started = time.process_time(), time.time()
    for n in range(count):
        client.messages.create(to="+8613800000001", body=f"floor {n}", from_=conf.from_number,
                               status_callback="http://127.0.0.1:9/none")
    print(json.dumps({"cpu": time.process_time() - cpu, "started": started, "ended": time.time()}))
"""


def migrate(env: dict) -> None:
    """`flask db upgrade` and one technician with a phone: the demo hospital's history is not needed here."""
    done = subprocess.run([str(stack.BIN / "flask"), "db", "upgrade"], cwd=stack.ROOT, env=env, capture_output=True,
                          text=True)
    if done.returncode:
        raise RuntimeError(f"flask db upgrade failed:\n{done.stdout}{done.stderr}")
    done = subprocess.run([str(stack.BIN / "flask"), "create-user", "bench.tech", "--role", "technician", "--name",
                           "Bench Technician", "--phone", TO_NUMBER, "--password", "bench-password-1"],
                          cwd=stack.ROOT, env=env, capture_output=True, text=True)
    if done.returncode:
        raise RuntimeError(f"flask create-user failed:\n{done.stdout}{done.stderr}")


def owe(app, count: int, tag: str) -> float:
    """Owe `count` SMS in one transaction, as the services do; returns the moment of the commit."""
    from sqlalchemy import select

    from dispatch.services.notify import owe_sms
    from dispatch.services.unit_of_work import write_transaction
    from models import User, db

    with app.app_context():
        # Through write_transaction, as the services write: its commit is what pushes the owed jobs to RQ.
        with write_transaction() as session:
            technician = session.scalar(select(User).where(User.role == "technician", User.phone.is_not(None)))
            for n in range(count):
                owe_sms(session, recipient=technician, body=f"Bench {tag} {n}: a test message of ordinary length",
                        kind="bench")
        moment = time.time()
        db.session.remove()
    return moment


def wait_sent(app, processes, timeout: float) -> float:
    """Wait for the outbox to drain; returns the last sent_at (epoch seconds)."""
    from sqlalchemy import func, select

    from models import OutboundMessage, db

    with app.app_context():
        stack.wait_until(lambda: processes.check() or stack.outbox_drained(), timeout, "every SMS sent", every=0.2)
        last = db.session.scalar(select(func.max(OutboundMessage.sent_at)))
        failed = db.session.scalar(select(func.count(OutboundMessage.id)).where(
            OutboundMessage.kind == "bench", OutboundMessage.state.in_(("failed", "undelivered"))))
        db.session.remove()
    if failed:
        raise RuntimeError(f"{failed} SMS failed")
    return last.timestamp()


def worker_run(app, env, processes, workers: int, count: int, fake_pid: int) -> dict:
    names = [f"worker{workers}-{k}" for k in range(workers)]
    for name in names:
        processes.start_procfile(name, "worker", env)
    owe(app, 4 * workers, "warm-up")
    wait_sent(app, processes, 120)
    cpu_before = sum(_cpu_seconds(processes.pid(n)) for n in names)
    fake_before = _cpu_seconds(fake_pid)
    committed = owe(app, count, f"{workers} workers")
    last = wait_sent(app, processes, max(120.0, count))
    cpu = sum(_cpu_seconds(processes.pid(n)) for n in names) - cpu_before
    fake = _cpu_seconds(fake_pid) - fake_before
    for name in names:
        processes.stop_one(name)
    return {"rate": count / (last - committed), "cpu_ms": 1000 * cpu / count, "fake_ms": 1000 * fake / count}


def floor_run(env, app_config: dict, processes_count: int, count: int, fake_pid: int) -> dict:
    share = count // processes_count
    fake_before = _cpu_seconds(fake_pid)
    children = [subprocess.Popen([sys.executable, "-c", FLOOR, str(share), json.dumps(app_config)], cwd=stack.ROOT,
                                 env=env, stdout=subprocess.PIPE, text=True) for _ in range(processes_count)]
    results = [json.loads(child.communicate(timeout=600)[0].strip().splitlines()[-1]) for child in children]
    fake = _cpu_seconds(fake_pid) - fake_before
    wall = max(r["ended"] for r in results) - min(r["started"] for r in results)
    calls = share * processes_count
    return {"rate": calls / wall, "cpu_ms": 1000 * sum(r["cpu"] for r in results) / calls,
            "fake_ms": 1000 * fake / (calls + processes_count)}


def run(count: int, repeats: int) -> dict:
    work = Path(tempfile.mkdtemp(prefix="dispatch-bench-sending-"))
    (work / "instance").mkdir()
    url, drop_database = stack.create_database("postgresql", work, f"dispatch_sending_{os.getpid()}")
    ports = stack.Ports()
    env = stack.environment(work, url, ports)
    processes = stack.Processes(work)
    load_before = os.getloadavg()
    runs: dict[tuple[str, int], list[dict]] = {}
    try:
        stack.start_redis(processes, env, ports, work)
        migrate(env)
        stack.start_fake_twilio(processes, env, ports)
        app = bench_app(env)
        app_config = {"SQLALCHEMY_DATABASE_URI": url, "REDIS_URL": env["REDIS_URL"], "SECRET_KEY": "bench",
                      "TWILIO_API_BASE_URL": env["TWILIO_API_BASE_URL"]}
        fake_pid = processes.pid("fake_twilio")
        for repeat in range(repeats):
            for workers in (1, 2, 4):
                runs.setdefault(("floor", workers), []).append(floor_run(env, app_config, workers, count, fake_pid))
                runs.setdefault(("worker", workers), []).append(worker_run(app, env, processes, workers, count, fake_pid))
                print(f"  round {repeat + 1}: {workers} process(es): worker {runs[('worker', workers)][-1]['rate']:.0f}/s, "
                      f"floor {runs[('floor', workers)][-1]['rate']:.0f}/s", flush=True)
        database = stack.database_version("postgresql", url)
        return {"runs": runs, "count": count, "repeats": repeats, "load_before": load_before,
                "load_after": os.getloadavg(), "database": database}
    finally:
        processes.stop()
        drop_database()


def spread(values: list[float]) -> str:
    return f"{statistics.median(values):.1f} ({min(values):.1f}–{max(values):.1f})"


def markdown(result: dict) -> str:
    lines = [MARKERS[0], "",
             f"Measured {datetime.now(timezone.utc):%Y-%m-%d %H:%M} UTC by `make bench-sending` (`bench/sending.py`) on "
             f"{result['database']}: {result['count']} SMS per run, {result['repeats']} runs of each; median (min–max).", "",
             f"- Machine: {stack.machine()}; load average before {' / '.join(f'{x:.2f}' for x in result['load_before'])}, "
             f"after {' / '.join(f'{x:.2f}' for x in result['load_after'])} (1 / 5 / 15 min). Shared with other "
             "work at the time, so rates are lower and noisier than on an idle machine; the floor ran in the same "
             "minutes under the same load.", "",
             "| what | processes | messages per second | CPU per message, ms (sender) | CPU per message, ms (fake Twilio) |",
             "|---|---:|---:|---:|---:|"]
    for kind, label in (("worker", "SMS worker (`flask worker`: claim, SDK call, update)"),
                        ("floor", "floor: the bare SDK call in a loop")):
        for workers in (1, 2, 4):
            runs = result["runs"][(kind, workers)]
            lines.append(f"| {label} | {workers} | {spread([r['rate'] for r in runs])} | "
                         f"{spread([r['cpu_ms'] for r in runs])} | {spread([r['fake_ms'] for r in runs])} |")
    lines += ["", MARKERS[1]]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=600)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--no-write", action="store_true")
    parser.add_argument("--out", default=str(stack.ROOT / "docs" / "benchmarks.md"))
    args = parser.parse_args()
    stack.stop_on_signals()
    problem = stack.postgres_answers()
    if problem:
        raise SystemExit(f"make bench-sending: {problem}")
    result = run(args.messages, args.repeats)
    section = markdown(result)
    if not args.no_write:
        stack.write_between_markers(Path(args.out), MARKERS, section, HEADING)
    print(section)


if __name__ == "__main__":
    main()
