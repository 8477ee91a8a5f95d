"""Report to SMS under load: from a ward's report being answered to its SMS reaching Twilio, in a burst.

For each database (PostgreSQL, SQLite): a fresh database migrated with `flask db upgrade` and seeded
with the demo hospital; a Redis of its own; and the production processes as the Procfile starts them:
the web app under the Procfile's gunicorn line, two `flask worker`, `flask scheduler`, `flask watchdog`
and the local fake of Twilio. Nurses of five general wards file urgent (P2) faults through the JSON
API (`POST /api/v1/tickets`, bearer token): each is auto-dispatched to the trade's on-call technician,
whose SMS goes out through the outbox and an RQ worker. CLIENTS clients file REPORTS reports as fast as
they are answered. For each report:

  latency = when the fake Twilio received the SMS's request (its own record, /_fake/requests)
            - when the client had read the report's HTTP response (time.time(), same machine).

The SMS is matched to the report by the ticket number in its body; a report whose SMS never arrives,
and any second SMS for one report, are counted. The same clients then send the same requests to a bare
Flask JSON endpoint served by the same gunicorn line (bench/bare_json.py), before and after the burst:
filing throughput is reports/s against the better of its two rates. Memory is each process's RSS
(with its children) sampled from /proc at rest and during the burst.

Targets (docs/PRODUCT): latency median <= 100 ms and p99 <= 500 ms; throughput ratio >= 0.5.

    python bench/report_to_sms.py [--backends sqlite,postgresql] [--reports 300 --clients 30 | --quick]
                                  [--write docs/benchmarks.md] [--keep-logs]
"""
from __future__ import annotations

import argparse
import http.client
import json
import os
import platform
import re
import shutil
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import stack  # noqa: E402

MARKERS = ("<!-- bench:load:start -->", "<!-- bench:load:end -->")
HEADING = "## Report to SMS under load"
TARGET_MEDIAN_MS, TARGET_P99_MS, TARGET_RATIO = 100.0, 500.0, 0.5
BUCKETS_MS = (0, 10, 25, 50, 100, 200, 500, 1000, 2000, 5000)
# General wards reporting a whole area without power, water or a lift: P2, auto-dispatched at once to
# the trade's on-call technician (sla.propose_priority, escalation.auto_dispatch).
NURSES = ("nurse.ward3", "nurse.ward7", "nurse.paeds", "nurse.maternity", "nurse.outpatients")
TRADES = ("power", "water", "lift")
FAULTS = {"power": "No power to the bays", "water": "No water to the hand basins", "lift": "Bed lift out of service"}
NUMBER_IN_SMS = re.compile(r"#(\d+)")


# ---- the clients ----------------------------------------------------------------------------------

@dataclass
class Answer:
    client: int
    sent: float  # time.time() as the request went out
    done: float  # time.time() once the whole response was read
    status: int
    number: int | None = None
    priority: int | None = None
    assigned: bool = False
    error: str | None = None


@dataclass
class Request:
    headers: dict[str, str]
    body: bytes


def burst(port: int, requests: list[Request], clients: int) -> list[Answer]:
    """`clients` threads, each on its own keep-alive connection, send their share of `requests` one
    after another as fast as they are answered; all start together."""
    answers: list[Answer] = []
    lock = threading.Lock()
    start = threading.Barrier(clients)

    def client(k: int) -> None:
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
        mine = []
        start.wait()
        for request in requests[k::clients]:
            sent = time.time()
            try:
                connection.request("POST", "/api/v1/tickets", body=request.body, headers=request.headers)
                response = connection.getresponse()
                raw = response.read()
                done = time.time()
            except (OSError, http.client.HTTPException) as error:
                mine.append(Answer(k, sent, time.time(), 0, error=f"{type(error).__name__}: {error}"))
                connection.close()
                connection = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
                continue
            answer = Answer(k, sent, done, response.status)
            try:
                data = json.loads(raw)
                answer.number, answer.priority = data.get("number"), data.get("priority")
                answer.assigned = bool(data.get("assignee"))
            except ValueError:
                answer.error = raw[:200].decode(errors="replace")
            mine.append(answer)
        connection.close()
        with lock:
            answers.extend(mine)

    threads = [threading.Thread(target=client, args=(k,), daemon=True) for k in range(clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return answers


def report_requests(tokens: dict[str, tuple[str, int]], count: int, tag: str) -> list[Request]:
    requests = []
    for n in range(count):
        token, ward_id = tokens[NURSES[n % len(NURSES)]]
        trade = TRADES[(n // len(NURSES)) % len(TRADES)]
        body = {"ward_id": ward_id, "trade": trade, "description": f"{FAULTS[trade]} ({tag} {n})",
                "whole_area": True, "patient_at_risk": False}
        requests.append(Request({"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
                                json.dumps(body).encode()))
    return requests


def rate(answers: list[Answer]) -> float:
    good = [a for a in answers if 200 <= a.status < 300]
    return len(good) / (max(a.done for a in answers) - min(a.sent for a in answers))


# ---- memory and CPU -------------------------------------------------------------------------------------------

def _rss_kib(pid: int) -> int:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    except (FileNotFoundError, ProcessLookupError, PermissionError):
        pass
    return 0


def _children(pid: int) -> list[int]:
    found = []
    try:
        for task in Path(f"/proc/{pid}/task").iterdir():
            found += [int(c) for c in (task / "children").read_text().split()]
    except (FileNotFoundError, ProcessLookupError, PermissionError):
        pass
    return found


def _tree_kib(pid: int) -> int:
    return _rss_kib(pid) + sum(_tree_kib(child) for child in _children(pid))


TICKS = os.sysconf("SC_CLK_TCK")


def _cpu_seconds(pid: int, with_children: bool = True) -> float:
    """User and system CPU of a process, with its children's (living, and those it has waited for)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (FileNotFoundError, ProcessLookupError, PermissionError):
        return 0.0
    # utime, stime, cutime, cstime are fields 14-17 of proc(5); the split starts at field 3.
    own = sum(int(x) for x in fields[11:15 if with_children else 13]) / TICKS
    return own + (sum(_cpu_seconds(child) for child in _children(pid)) if with_children else 0.0)


class StackSampler(threading.Thread):
    """RSS of each process of the stack (with its children; a gunicorn master alone, its workers counted
    as 'gunicorn worker'), every `every` seconds; and the CPU each has used, at the marks it is given."""

    def __init__(self, roots: dict[str, list[int]], every: float = 0.1, servers=lambda: {}) -> None:
        super().__init__(daemon=True)
        self.roots, self.every = roots, every
        self.servers = servers  # {kind: [pid]} of shared servers, counted for CPU only (PostgreSQL's backends)
        self.phase = "rest"
        self.samples: dict[str, dict[tuple[str, int], int]] = {"rest": {}, "burst": {}}
        self.cpu: dict[str, dict[tuple[str, int], float]] = {}
        self.stopping = threading.Event()

    def _instances(self) -> list[tuple[str, int, bool]]:
        """(kind, pid, with its children)"""
        found = []
        for kind, pids in self.roots.items():
            for pid in pids:
                if kind == "gunicorn master":
                    found.append((kind, pid, False))
                    found += [("gunicorn worker", worker, True) for worker in _children(pid)]
                else:
                    found.append((kind, pid, True))
        return found

    def sample(self) -> dict[tuple[str, int], int]:
        return {(kind, pid): (_tree_kib(pid) if children else _rss_kib(pid))
                for kind, pid, children in self._instances()}

    def mark_cpu(self, moment: str) -> None:
        """CPU seconds used so far by each process, and by this bench's own clients (os.times)."""
        values = {(kind, pid): _cpu_seconds(pid, children) for kind, pid, children in self._instances()}
        for kind, pids in self.servers().items():
            values.update({(kind, pid): _cpu_seconds(pid, False) for pid in pids})
        times = os.times()
        values[("bench clients", os.getpid())] = times.user + times.system
        self.cpu[moment] = values

    def cpu_used(self) -> dict[str, float]:
        """CPU seconds per kind between the marks 'start' and 'end'."""
        used: dict[str, float] = {}
        for key, end in self.cpu["end"].items():
            used[key[0]] = used.get(key[0], 0.0) + end - self.cpu["start"].get(key, 0.0)
        return used

    def run(self) -> None:
        while not self.stopping.is_set():
            values = self.sample()
            if self.phase == "rest":
                self.samples["rest"] = values  # the last sample before the burst
            else:
                peak = self.samples["burst"]
                for key, kib in values.items():
                    peak[key] = max(peak.get(key, 0), kib)
            self.stopping.wait(self.every)

    def table(self) -> dict[str, tuple[int, int, int]]:
        """{kind: (instances, largest instance at rest KiB, largest instance at peak KiB)}."""
        out = {}
        for kind in ("gunicorn master", "gunicorn worker", "RQ worker", "scheduler", "watchdog", "Redis", "fake Twilio"):
            rest = [v for (k, _), v in self.samples["rest"].items() if k == kind]
            peak = [v for (k, _), v in self.samples["burst"].items() if k == kind]
            if rest or peak:
                out[kind] = (max(len(rest), 1), max(rest, default=0), max(peak + rest, default=0))
        return out


# ---- one database ------------------------------------------------------------------------------------

@dataclass
class Result:
    backend: str
    reports: int
    clients: int
    load_before: tuple[float, float, float]
    database_version: str = ""
    gunicorn: str = ""
    latencies_ms: list[float] = field(default_factory=list)
    missing: list[int] = field(default_factory=list)
    duplicates: int = 0
    http_errors: int = 0
    not_assigned: int = 0
    priorities: dict[int, int] = field(default_factory=dict)
    report_rate: float = 0.0
    bare_rates: tuple[float, float] = (0.0, 0.0)
    response_ms: list[float] = field(default_factory=list)
    stages: dict[str, list[float]] = field(default_factory=dict)
    timeline: list[dict] = field(default_factory=list)  # each report's moments (time.time()), for --keep-logs
    memory: dict[str, tuple[int, int, int]] = field(default_factory=dict)
    cpu: dict[str, float] = field(default_factory=dict)  # CPU seconds per process kind, burst until drained
    busy_seconds: float = 0.0
    other_sms: int = 0
    callbacks: int = 0
    wall_seconds: float = 0.0

    @property
    def ratio(self) -> float:
        return self.report_rate / max(self.bare_rates) if max(self.bare_rates) else 0.0

    @property
    def met(self) -> bool:
        return (bool(self.latencies_ms) and percentile(self.latencies_ms, 50) <= TARGET_MEDIAN_MS
                and percentile(self.latencies_ms, 99) <= TARGET_P99_MS and self.ratio >= TARGET_RATIO
                and not self.missing and not self.duplicates and not self.http_errors)


def bench_app(env: dict[str, str]):
    """The bench's own view of the database (config passed explicitly: config.py read os.environ at import)."""
    from dispatch import create_app

    return create_app({"SQLALCHEMY_DATABASE_URI": env["DATABASE_URL"], "REDIS_URL": env["REDIS_URL"],
                       "RQ_QUEUE": env["RQ_QUEUE"], "SECRET_KEY": env["SECRET_KEY"],
                       "TWILIO_API_BASE_URL": env["TWILIO_API_BASE_URL"], "PUBLIC_URL": env["PUBLIC_URL"]})


def nurse_tokens() -> dict[str, tuple[str, int]]:
    from sqlalchemy import select

    from dispatch.services.tokens import create_token
    from models import User, db

    tokens = {}
    for username in NURSES:
        nurse = db.session.scalar(select(User).where(User.username == username))
        tokens[username] = (create_token(nurse.id, "load bench"), nurse.ward_id)
    return tokens


def scheduler_ran() -> bool:
    from models import Heartbeat, db

    db.session.rollback()
    return db.session.get(Heartbeat, "scheduler") is not None


def postgres_backends(url: str) -> list[int]:
    """The server processes serving this database's connections (same machine: their CPU is in /proc)."""
    from sqlalchemy import create_engine, text

    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            return list(conn.execute(text("select pid from pg_stat_activity where datname = current_database() "
                                          "and pid <> pg_backend_pid()")).scalars())
    finally:
        engine.dispose()


def fake_get(port: int, path: str) -> dict:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        connection.request("GET", path)
        return json.loads(connection.getresponse().read())
    finally:
        connection.close()


def sms_arrivals(port: int) -> dict[int, list[float]]:
    """{ticket number: [time.time() of each SMS request the fake received naming it]}, from the fake's
    own record of the requests it received."""
    arrivals: dict[int, list[float]] = {}
    for request in fake_get(port, "/_fake/requests")["requests"]:
        if request["method"] != "POST" or not request["path"].endswith("/Messages.json"):
            continue
        found = NUMBER_IN_SMS.search(request["form"].get("Body", ""))
        if found:
            when = datetime.fromisoformat(request["received_at_iso"]).timestamp()
            arrivals.setdefault(int(found.group(1)), []).append(when)
    return arrivals


def run_backend(backend: str, reports: int, clients: int, keep_logs: bool = False,
                seed_days: int | None = None) -> Result:
    """One database: start everything, warm up, measure the bare endpoint, the burst, the bare endpoint
    again; stop everything (also on errors and Ctrl-C) and drop the database."""
    result = Result(backend, reports, clients, os.getloadavg())
    started = time.monotonic()
    work = Path(tempfile.mkdtemp(prefix=f"dispatch-bench-load-{backend}-"))
    (work / "instance").mkdir()
    url, drop_database = stack.create_database(backend, work, f"dispatch_loadbench_{os.getpid()}")
    ports = stack.Ports()
    bare_port = stack.free_port()
    # A burst of unrelated faults from one building would be grouped into one major incident with one
    # SMS; here every report is to reach its technician on its own.
    env = stack.environment(work, url, ports, MAJOR_INCIDENT_AUTO_THRESHOLD="0")
    processes = stack.Processes(work)
    sampler = None
    try:
        stack.start_redis(processes, env, ports, work)
        stack.migrate_and_seed(env, seed_days)
        result.database_version = stack.database_version(backend, url)
        result.gunicorn = stack.gunicorn_settings(env)
        stack.start_fake_twilio(processes, env, ports)
        stack.start_web(processes, env, ports.web)
        for n in (1, 2):
            processes.start_procfile(f"worker{n}", "worker", env)
        processes.start_procfile("scheduler", "scheduler", env)
        processes.start_procfile("watchdog", "watchdog", env)
        stack.start_web(processes, {**env, "PORT": str(bare_port)}, bare_port, name="bare",
                        replace={"'dispatch:create_app()'": "'bench.bare_json:app'"})
        app = bench_app(env)
        with app.app_context():
            tokens = nurse_tokens()
            # The demo's jobs in flight may owe SMS (escalation steps come due): let them go first.
            stack.wait_until(lambda: processes.check() or (scheduler_ran() and stack.outbox_drained()), 120,
                             "the scheduler's first round and the demo's SMS sent", every=0.5)
            # Warm-up, not measured: each client's first report, as a service that has been running a while.
            burst(ports.web, report_requests(tokens, clients, "warm-up"), clients)
            stack.wait_until(lambda: processes.check() or stack.outbox_drained(), 120, "the warm-up's SMS", every=0.5)
            burst(bare_port, report_requests(tokens, clients, "warm-up"), clients)
            before = rate(burst(bare_port, report_requests(tokens, reports, "bare"), clients))
            sampler = StackSampler(servers=(lambda: {"PostgreSQL (this database)": postgres_backends(url)})
                                    if backend == "postgresql" else (lambda: {}), roots={
                "gunicorn master": [processes.pid("web")], "RQ worker": [processes.pid("worker1"), processes.pid("worker2")],
                "scheduler": [processes.pid("scheduler")], "watchdog": [processes.pid("watchdog")],
                "Redis": [processes.pid("redis")], "fake Twilio": [processes.pid("fake_twilio")]})
            sampler.start()
            time.sleep(1.0)
            already = sms_arrivals(ports.fake_twilio)
            sampler.phase = "burst"
            sampler.mark_cpu("start")
            answers = burst(ports.web, report_requests(tokens, reports, "report"), clients)
            filed = {a.number: a for a in answers if a.status == 201 and a.number}
            try:
                stack.wait_until(lambda: processes.check() or set(filed) <= set(sms_arrivals(ports.fake_twilio)),
                                 max(30.0, reports * 0.5), "every report's SMS at the fake Twilio", every=0.5)
                # Let anything sent twice arrive too before counting.
                stack.wait_until(lambda: processes.check() or stack.outbox_drained(), 60, "the outbox drained", every=0.5)
            except TimeoutError as late:
                print(f"{backend}: {late}; what never arrived is counted", file=sys.stderr)
            time.sleep(1.0)
            sampler.mark_cpu("end")
            result.cpu = sampler.cpu_used()
            result.busy_seconds = time.time() - min(a.sent for a in answers)
            sampler.stopping.set()
            sampler.join()
            after = rate(burst(bare_port, report_requests(tokens, reports, "bare"), clients))
            result.bare_rates = (before, after)
            arrivals = sms_arrivals(ports.fake_twilio)
            measure(result, answers, filed, arrivals, already, env["REDIS_URL"])
            result.memory = sampler.table()
            result.callbacks = len(fake_get(ports.fake_twilio, "/_fake/webhooks")["webhooks"])
            from models import db

            db.session.remove()
            db.engine.dispose()
        result.wall_seconds = time.monotonic() - started
        return result
    finally:
        if sampler is not None:
            sampler.stopping.set()
        processes.stop()
        drop_database()
        if keep_logs:
            (work / "timeline.json").write_text(json.dumps(result.timeline, indent=1))
            print(f"logs and each report's moments (timeline.json) kept in {work}", file=sys.stderr)
        else:
            shutil.rmtree(work, ignore_errors=True)


def measure(result: Result, answers: list[Answer], filed: dict[int, Answer], arrivals: dict[int, list[float]],
            already: dict[int, list[float]], redis_url: str) -> None:
    result.http_errors = sum(1 for a in answers if a.status != 201)
    result.not_assigned = sum(1 for a in filed.values() if not a.assigned)
    for answer in filed.values():
        result.priorities[answer.priority] = result.priorities.get(answer.priority, 0) + 1
    result.report_rate = rate(answers)
    result.response_ms = [(a.done - a.sent) * 1000 for a in answers if a.status == 201]
    for number, answer in sorted(filed.items()):
        times = arrivals.get(number, [])
        if not times:
            result.missing.append(number)
            continue
        result.duplicates += len(times) - 1
        result.latencies_ms.append((min(times) - answer.done) * 1000)
    result.other_sms = sum(len(t) for n, t in arrivals.items() if n not in filed) - sum(len(t) for t in already.values())
    result.stages = stages(filed, arrivals, redis_url, result.timeline)


def stages(filed: dict[int, Answer], arrivals: dict[int, list[float]], redis_url: str,
           timeline: list[dict]) -> dict[str, list[float]]:
    """Where each report's time went, in ms after its response was read: the outbox row written (in the
    report's transaction), its job pushed to Redis (after the commit), a worker starting the job, the
    row claimed, the SMS at the fake Twilio, the row marked sent."""
    from redis import Redis
    from rq.job import Job
    from rq.serializers import JSONSerializer
    from sqlalchemy import select

    from models import OutboundMessage, db

    db.session.rollback()
    rows = {r.ticket_id: r for r in db.session.scalars(select(OutboundMessage).where(
        OutboundMessage.ticket_id.in_(list(filed)), OutboundMessage.kind == "assignment"))}
    connection = Redis.from_url(redis_url)
    try:
        keys = [k.decode().split(":", 2)[2] for k in connection.scan_iter("rq:job:*", count=1000)
                if k.decode().count(":") == 2]
        jobs: dict[int, Job] = {}
        for job in Job.fetch_many(keys, connection=connection, serializer=JSONSerializer):
            if job is not None and job.func_name == "workers.jobs.send_sms" and job.args:
                first = jobs.get(int(job.args[0]))
                if first is None or job.enqueued_at < first.enqueued_at:
                    jobs[int(job.args[0])] = job
    finally:
        connection.close()

    def epoch(moment: datetime | None) -> float | None:
        if moment is None:
            return None
        return (moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)).timestamp()

    out: dict[str, list[float]] = {name: [] for name in STAGES}
    for number, answer in filed.items():
        row = rows.get(number)
        job = jobs.get(row.id) if row is not None else None
        moments = {
            "request sent": answer.sent, "SMS written": epoch(row.created_at) if row else None,
            "job queued": epoch(job.enqueued_at) if job else None, "response read": answer.done,
            "worker started": epoch(job.started_at) if job else None, "SMS claimed": epoch(row.claimed_at) if row else None,
            "at Twilio": min(arrivals[number]) if number in arrivals else None,
            "marked sent": epoch(row.sent_at) if row else None,
        }
        for name, value in moments.items():
            if value is not None:
                out[name].append((value - answer.done) * 1000)
        timeline.append({"number": number, "client": answer.client, **moments,
                         "job ended": epoch(job.ended_at) if job else None, "worker": job.worker_name if job else None})
    db.session.rollback()
    return out


STAGES = ("request sent", "SMS written", "job queued", "response read", "worker started", "SMS claimed", "at Twilio",
          "marked sent")


# ---- the report -----------------------------------------------------------------------------------

def percentile(values: list[float], p: float) -> float:
    """Linear interpolation between the nearest ranks (as percentile_cont; see the Percentiles section)."""
    ordered = sorted(values)
    h = (len(ordered) - 1) * p / 100
    low = int(h)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (h - low)


def histogram(values: list[float]) -> list[tuple[str, int]]:
    edges = [float("-inf"), *BUCKETS_MS, float("inf")]
    rows = []
    for low, high in zip(edges, edges[1:]):
        label = (f"< {high:g}" if low == float("-inf") else f"≥ {low:g}" if high == float("inf")
                 else f"{low:g}–{high:g}")
        rows.append((label, sum(1 for v in values if low <= v < high)))
    return rows


def _mib(kib: int) -> str:
    return f"{kib / 1024:.0f}"


def render(results: list[Result]) -> str:
    when = datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    first = results[0]
    lines = [
        MARKERS[0],
        f"- Machine: {stack.machine()}; Python {platform.python_version()}.",
        f"- Run: {when}: {first.reports} reports from {first.clients} clients per database, after one warm-up "
        f"report per client. Web: the Procfile's gunicorn line ({first.gunicorn}); two `flask worker`, "
        "`flask scheduler`, `flask watchdog`, the fake Twilio, a Redis of its own.",
        "- Load average (1 / 5 / 15 min) before each database's run: " + "; ".join(
            f"{r.backend} {r.load_before[0]:.2f} / {r.load_before[1]:.2f} / {r.load_before[2]:.2f}" for r in results)
        + " — the machine is shared; on an idle one the numbers are lower.",
        "",
        "**Report to SMS** (ms from the report's response to the SMS request reaching the fake Twilio; "
        "negative: the SMS got there before the ward's screen had the answer):",
        "",
        "| database | reports | SMS arrived | never arrived | duplicates | min | p50 | p75 | p90 | p95 | p99 | max | "
        "p50 ≤ 100, p99 ≤ 500 |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|:---:|",
    ]
    for r in results:
        v = r.latencies_ms
        met = v and percentile(v, 50) <= TARGET_MEDIAN_MS and percentile(v, 99) <= TARGET_P99_MS
        stats = " | ".join(f"{x:.0f}" for x in (min(v), *(percentile(v, p) for p in (50, 75, 90, 95, 99)), max(v))) \
            if v else " | ".join(["–"] * 7)
        lines.append(f"| {r.database_version} | {r.reports - r.http_errors} | {len(v)} | {len(r.missing)} | "
                     f"{r.duplicates} | {stats} | {'yes' if met and not r.missing and not r.duplicates else '**no**'} |")
    lines += ["", "| latency (ms) | " + " | ".join(f"{r.backend} | cumulative" for r in results) + " |",
              "|---|" + "---:|---:|" * len(results)]
    hists = [histogram(r.latencies_ms) for r in results]
    cumulative = [0] * len(results)
    for i, (label, _) in enumerate(hists[0]):
        cells = []
        for j, r in enumerate(results):
            count = hists[j][i][1]
            cumulative[j] += count
            cells.append(f"{count} | {100 * cumulative[j] / max(1, len(r.latencies_ms)):.0f} %")
        lines.append(f"| {label} | " + " | ".join(cells) + " |")
    lines += ["", "**Filing throughput** (the same clients and requests; bare: bench/bare_json.py under the same "
              "gunicorn line, before and after the burst; the ratio uses the better of the two):", "",
              "| database | reports/s | report response p50 / p99 ms | bare requests/s (before, after) | ratio | ≥ 0.5 |",
              "|---|---:|---:|---:|---:|:---:|"]
    for r in results:
        rp = (f"{percentile(r.response_ms, 50):.0f} / {percentile(r.response_ms, 99):.0f}" if r.response_ms else "–")
        lines.append(f"| {r.backend} | {r.report_rate:.1f} | {rp} | {r.bare_rates[0]:.0f}, {r.bare_rates[1]:.0f} | "
                     f"{r.ratio:.2f} | {'yes' if r.ratio >= TARGET_RATIO else '**no**'} |")
    lines += ["", "**Where the time goes** (median / p99 ms after the report's response was read, each report's own "
              "moments: its outbox row written in the report's transaction, its RQ job pushed after the commit, a "
              "worker starting the job, the row claimed, the SMS at the fake Twilio, the row marked sent):", "",
              "| moment | " + " | ".join(r.backend for r in results) + " |", "|---|" + "---:|" * len(results)]
    for name in STAGES:
        cells = []
        for r in results:
            values = r.stages.get(name) or []
            cells.append(f"{percentile(values, 50):.0f} / {percentile(values, 99):.0f}" if values else "–")
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    lines += ["", "**Memory** (RSS in MiB, with children; for several of a kind, the largest; peak: the most seen "
              "during the burst, sampled every 0.1 s):", "",
              "| process | " + " | ".join(f"{r.backend} at rest | {r.backend} peak" for r in results) + " |",
              "|---|" + "---:|---:|" * len(results)]
    kinds = list(dict.fromkeys(k for r in results for k in r.memory))
    for kind in kinds:
        cells = []
        for r in results:
            n, rest, peak = r.memory.get(kind, (0, 0, 0))
            cells.append(f"{_mib(rest)} | {_mib(peak)}")
        count = max(r.memory.get(kind, (0,))[0] for r in results)
        lines.append(f"| {kind}{f' (×{count})' if count > 1 else ''} | " + " | ".join(cells) + " |")
    lines += ["", "**CPU** (seconds of CPU each kind of process used from the burst's first request until every SMS "
              "was sent and the outbox empty, status callbacks included; ms per report; PostgreSQL: the server "
              "processes of this database's connections; bench clients: this script, its sampler included):", "",
              "| process | " + " | ".join(f"{r.backend} s | {r.backend} ms/report" for r in results) + " |",
              "|---|" + "---:|---:|" * len(results)]
    for kind in list(dict.fromkeys(k for r in results for k in r.cpu)) + ["all"]:
        cells = []
        for r in results:
            seconds = sum(r.cpu.values()) if kind == "all" else r.cpu.get(kind, 0.0)
            cells.append(f"{seconds:.1f} | {1000 * seconds / r.reports:.0f}")
        lines.append(f"| {kind} | " + " | ".join(cells) + " |")
    lines.append("| (wall time of that span, s) | " + " | ".join(f"{r.busy_seconds:.1f} | " for r in results) + " |")
    lines.append("")
    for r in results:
        lines.append(f"- {r.backend}: {r.reports} reports, {r.http_errors} answered with an error, priorities "
                     f"{', '.join(f'P{p}: {n}' for p, n in sorted(r.priorities.items(), key=lambda x: x[0] or 0))}, "
                     f"{r.not_assigned} not auto-dispatched; {len(r.missing)} SMS never arrived"
                     f"{' (tickets ' + ', '.join(map(str, r.missing[:10])) + ')' if r.missing else ''}, "
                     f"{r.duplicates} duplicates; {r.other_sms} other SMS meanwhile, {r.callbacks} status callbacks "
                     f"from the fake to the web app in the run; {r.wall_seconds:.0f} s wall time with migration and "
                     "seeding.")
    lines.append(MARKERS[1])
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--backends", default="postgresql,sqlite", help="comma-separated: postgresql,sqlite")
    parser.add_argument("--reports", type=int, default=300)
    parser.add_argument("--clients", type=int, default=30)
    parser.add_argument("--quick", action="store_true", help="60 reports from 10 clients, to try it out")
    parser.add_argument("--write", type=Path, help="put the results between the markers in this Markdown file")
    parser.add_argument("--keep-logs", action="store_true", help="keep each process's log")
    args = parser.parse_args(argv)
    if args.quick:
        args.reports, args.clients = 60, 10
    backends = [b.strip() for b in args.backends.split(",") if b.strip()]
    if not backends or set(backends) - {"postgresql", "sqlite"}:
        parser.error("--backends takes postgresql and/or sqlite")
    if args.reports < args.clients or args.clients < 1:
        parser.error("at least one report per client")
    if "postgresql" in backends and (problem := stack.postgres_answers()):
        print(f"bench-load: {problem}: start it, set BENCH_POSTGRES_URL, or run with --backends sqlite.", file=sys.stderr)
        return 2
    stack.stop_on_signals()
    results = []
    for backend in backends:
        print(f"report to SMS on {backend}: {args.reports} reports from {args.clients} clients ...", file=sys.stderr)
        results.append(run_backend(backend, args.reports, args.clients, args.keep_logs))
    section = render(results)
    print(section)
    if args.write:
        stack.write_between_markers(args.write, MARKERS, section, heading=HEADING)
        print(f"written to {args.write}", file=sys.stderr)
    missed = [r.backend for r in results if not r.met]
    if missed:
        print(f"bench-load: target missed on {', '.join(missed)}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
