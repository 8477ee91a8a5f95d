"""Benchmark: the dispatcher's board with 1,000 open jobs, and how fast changes reach open boards.

    make bench-board                                        # both databases -> docs/benchmarks.md
    .venv/bin/python bench/board.py --backends sqlite --no-write --boards 10 50

1. **Server time** of /board/ as the dispatcher, in-process through Flask's test client (routing, queries,
   template; no network), 3 warm-up requests then --runs timed ones, beside the floor measured in the same
   run: a minimal page reading the same open rows (one query, ticket, trade and ward) and drawing one line
   each. Statements per request are counted.
2. **Change to board**: the Procfile's `stream` process on a Redis of its own, N boards holding a stream
   open, changes committed through the ticket services (a comment each); the time from the commit's end to
   each board's notice (median, p99), and for a few boards the whole way: the notice, then the board's rows
   fetched from the Procfile's gunicorn, as board.js does.
3. **Boards one stream process holds**: --hold streams open at once, the process's RSS, and one notice's
   arrival at all of them.
"""
from __future__ import annotations

import argparse
import asyncio
import json
import re
import statistics
import sys
import tempfile
import threading
import time
from datetime import datetime, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench import stack  # noqa: E402
from bench.board_data import file_open_jobs  # noqa: E402
from bench.reports import percentile  # noqa: E402

MARKERS = ("<!-- bench:board:start -->", "<!-- bench:board:end -->")
DATABASE_NAME = "dispatch_bench_board"
TARGET_MS = 100.0
FLOOR_PAGE = """<table>{% for r in rows %}<tr data-ticket="{{ r.id }}"><td>#{{ r.id }}</td><td>P{{ r.priority }}</td>
<td>{{ r.trade }}</td><td>{{ r.ward }}</td><td>{{ r.status }}</td><td>{{ r.acknowledge_due_at }}</td></tr>{% endfor %}</table>"""


def build(backend: str, work: Path, open_jobs: int, reuse: bool) -> str:
    from flask_migrate import upgrade

    from bench.reports import make_app

    if backend == "sqlite":
        url = f"sqlite:///{work / 'board.sqlite3'}"
        if reuse and (work / "board.sqlite3").is_file():
            return url
        for suffix in ("", "-wal", "-shm"):
            Path(f"{work / 'board.sqlite3'}{suffix}").unlink(missing_ok=True)
    else:
        url = stack.POSTGRES_ADMIN_URL.rsplit("/", 1)[0] + f"/{DATABASE_NAME}"
        if reuse and database_exists(url):
            return url
        stack.create_database(backend, work, DATABASE_NAME)
    app = make_app(url)
    started = time.perf_counter()
    with app.app_context():
        upgrade()
        from dispatch.seed import seed_demo_hospital

        seed_demo_hospital(days=30)
    print(f"  {backend}: filing {open_jobs} reports...", flush=True)
    count = file_open_jobs(app, open_jobs)
    print(f"  {backend}: {count} open jobs, built in {time.perf_counter() - started:.0f} s", flush=True)
    return url


def database_exists(url: str) -> bool:
    from sqlalchemy import create_engine, text

    admin = create_engine(stack.POSTGRES_ADMIN_URL)
    with admin.connect() as conn:
        found = conn.scalar(text("SELECT 1 FROM pg_database WHERE datname = :n"), {"n": DATABASE_NAME})
    admin.dispose()
    return bool(found)


def server_time(url: str, runs: int, warmup: int) -> dict:
    from flask import render_template_string
    from sqlalchemy import event, select

    from bench.reports import make_app
    from models import OPEN_STATUSES, Ticket, Trade, Ward, db

    app = make_app(url)

    @app.route("/bench/floor")
    def floor():
        rows = db.session.execute(
            select(Ticket.id, Ticket.priority, Ticket.status, Ticket.acknowledge_due_at,
                   Trade.name.label("trade"), Ward.name.label("ward"))
            .join(Trade, Trade.id == Ticket.trade_id).join(Ward, Ward.id == Ticket.ward_id)
            .where(Ticket.status.in_(OPEN_STATUSES))).all()
        return render_template_string(FLOOR_PAGE, rows=rows)

    client = app.test_client()
    if client.post("/login", data={"username": "dispatcher", "password": "demo1234"}).status_code != 302:
        raise SystemExit("could not log in as the dispatcher")
    statements = [0]
    with app.app_context():
        event.listen(db.engine, "before_cursor_execute", lambda *a, **k: statements.__setitem__(0, statements[0] + 1))
        open_jobs = db.session.scalar(select(db.func.count(Ticket.id)).where(Ticket.status.in_(OPEN_STATUSES)))
    result = {"open": open_jobs}
    for key, path in (("board", "/board/"), ("floor", "/bench/floor")):
        for _ in range(warmup):
            assert client.get(path).status_code == 200
        times, counts = [], []
        for _ in range(runs):
            statements[0] = 0
            started = time.perf_counter()
            response = client.get(path)
            times.append((time.perf_counter() - started) * 1000)
            counts.append(statements[0])
            assert response.status_code == 200
        page = response.get_data(as_text=True)
        result[key] = {"median": statistics.median(times), "p95": percentile(times, 0.95), "min": min(times),
                       "max": max(times), "statements": statistics.median(counts), "bytes": len(page),
                       "rows": len(re.findall(r"<tr [^>]*data-ticket=", page))}
    folded = re.search(r"(\d+) folded below", client.get("/board/").get_data(as_text=True))
    result["folded"] = int(folded.group(1)) if folded else 0
    with app.app_context():
        db.session.remove()
        db.engine.dispose()
    return result


# ---- streams ----------------------------------------------------------------------------------------

class Boards:
    """N open streams on one asyncio loop in a thread; each notice's arrival time per board."""

    def __init__(self, url: str, token: str, count: int, rows: tuple[str, str] | None = None) -> None:
        self.url, self.token, self.count, self.rows = url, token, count, rows
        self.arrivals: dict[float, list[float]] = {}
        self.loaded: dict[float, list[float]] = {}
        self.ready = threading.Event()
        self.opened = 0
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_until_complete, args=(self.main(),), daemon=True)
        self.thread.start()

    async def main(self) -> None:
        import aiohttp

        connector = aiohttp.TCPConnector(limit=0)
        async with aiohttp.ClientSession(connector=connector, timeout=aiohttp.ClientTimeout(total=None)) as session:
            self.stop = asyncio.Event()
            await asyncio.gather(*(self.board(session) for _ in range(self.count)))

    async def board(self, session) -> None:
        import aiohttp

        web = None
        if self.rows:
            # The whole way: a signed-in browser of its own that fetches the rows on each notice.
            # As a header: aiohttp's cookie jar keeps no cookies for a bare IP address.
            web = aiohttp.ClientSession(headers={"Cookie": "; ".join(f"{k}={v}" for k, v in self.rows[1].items())})
        async with session.get(self.url, params={"token": self.token}) as response:
            assert response.status == 200, response.status
            async for line in response.content:
                line = line.decode().rstrip("\n")
                if line == "event: ready":
                    self.opened += 1
                    if self.opened == self.count:
                        self.ready.set()
                elif line.startswith("data: ") and '"tickets"' in line:
                    arrived = time.time()
                    sent = float(re.search(r'"at": ([0-9.]+)', line).group(1))
                    self.arrivals.setdefault(sent, []).append(arrived)
                    if web is not None:
                        async with web.get(self.rows[0], allow_redirects=False) as page:
                            await page.read()
                            assert page.status == 200
                        self.loaded.setdefault(sent, []).append(time.time())
                if self.stop.is_set():
                    break
        if web is not None:
            await web.close()

    def close(self) -> None:
        self.loop.call_soon_threadsafe(self.stop.set)


def latencies(received: dict[float, list[float]]) -> list[float]:
    return [(arrived - sent) * 1000 for sent, times in received.items() for arrived in times]


def stream_measures(url: str, work: Path, board_counts: list[int], hold: int, changes: int, full_way: int) -> dict:
    import requests

    from bench.reports import make_app
    from dispatch.board_news import stream_token
    from dispatch.services.tickets import add_comment
    from models import OPEN_STATUSES, Ticket, User, db

    ports = stack.Ports()
    stream_port = stack.free_port()
    env = stack.environment(work, url, ports, BOARD_STREAM_PORT=str(stream_port))
    processes = stack.Processes(work)
    results: dict = {"runs": []}
    try:
        stack.start_redis(processes, env, ports, work)
        processes.start_procfile("stream", "stream", env)
        stack.wait_until(lambda: processes.check() or stack.port_open(stream_port), 30, "the board stream")
        stack.start_web(processes, env, ports.web)
        app = make_app(url)
        app.config.update(REDIS_URL=env["REDIS_URL"], SECRET_KEY="bench")
        stream_url = f"http://127.0.0.1:{stream_port}/board/stream"
        web = requests.Session()
        login = web.get(f"http://127.0.0.1:{ports.web}/login").text
        csrf = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', login).group(1)
        assert web.post(f"http://127.0.0.1:{ports.web}/login", allow_redirects=False, data={
            "csrf_token": csrf, "username": "dispatcher", "password": "demo1234"}).status_code == 302
        with app.app_context():
            dispatcher = db.session.scalars(db.select(User).where(User.username == "dispatcher")).one()
            ticket_id = db.session.scalar(db.select(Ticket.id).where(Ticket.status.in_(OPEN_STATUSES)).limit(1))
            token = stream_token(dispatcher.id, "bench")

            def measure(count: int, whole_way: bool) -> dict:
                rows = (f"http://127.0.0.1:{ports.web}/board/rows", web.cookies.get_dict()) if whole_way else None
                boards = Boards(stream_url, token, count, rows)
                if not boards.ready.wait(120):
                    raise RuntimeError(f"only {boards.opened} of {count} boards opened")
                rss = stream_rss(processes.pid("stream"))
                made = changes if not whole_way else max(1, changes // 3)
                for n in range(made):
                    add_comment(ticket_id, dispatcher, f"Bench change {n}")
                    time.sleep(0.2)
                # Every board's notices (and, the whole way, its rows) in, or three minutes.
                received = boards.loaded if whole_way else boards.arrivals
                deadline = time.time() + 180
                while sum(len(v) for v in received.values()) < made * count and time.time() < deadline:
                    time.sleep(0.2)
                boards.close()
                notice = latencies(boards.arrivals)
                row = {"boards": count, "changes": made, "rss_mib": rss, "received": len(notice),
                       "notice_median": statistics.median(notice), "notice_p99": percentile(notice, 0.99)}
                if whole_way:
                    loaded = latencies(boards.loaded)
                    row.update(whole_median=statistics.median(loaded), whole_p99=percentile(loaded, 0.99))
                print(f"  {count:>5} boards: notice median {row['notice_median']:.1f} ms, p99 {row['notice_p99']:.1f} ms"
                      + (f"; rows loaded median {row['whole_median']:.0f} ms, p99 {row['whole_p99']:.0f} ms"
                         if whole_way else "") + f"; stream RSS {rss:.1f} MiB", flush=True)
                return row

            results["idle_rss_mib"] = stream_rss(processes.pid("stream"))
            for count in board_counts:
                results["runs"].append(measure(count, False))
            if full_way:
                results["runs"].append(measure(full_way, True))
            results["hold"] = measure(hold, False)
    finally:
        processes.stop()
    return results


def stream_rss(pid: int) -> float:
    status = Path(f"/proc/{pid}/status").read_text()
    return int(re.search(r"VmRSS:\s+(\d+)", status).group(1)) / 1024


# ---- the report ---------------------------------------------------------------------------------------

def report(server: dict[str, dict], streams: dict | None, args) -> str:
    lines = [MARKERS[0], "", f"Measured {datetime.now(timezone.utc):%Y-%m-%d %H:%M} UTC on {stack.machine()}, "
             f"load average {' / '.join(f'{x:.2f}' for x in __import__('os').getloadavg())} at the end "
             f"(`{' '.join(['bench/board.py', *sys.argv[1:]])}`).", "",
             "| Page | Database | Open jobs | Rows drawn | Folded | Statements | Median ms | p95 ms | Min–max ms | Target | Met |",
             "|---|---|---|---|---|---|---|---|---|---|---|"]
    for backend, result in server.items():
        for key, label in (("board", "Dispatcher board `/board/`"), ("floor", "Floor: one query, one line a job")):
            r = result[key]
            met = ("yes" if r["median"] <= TARGET_MS else "no") if key == "board" else ""
            lines.append(f"| {label} | {backend} | {result['open']} | {r['rows']} | "
                         f"{result['folded'] if key == 'board' else ''} | {r['statements']:.0f} | {r['median']:.1f} | "
                         f"{r['p95']:.1f} | {r['min']:.1f}–{r['max']:.1f} | {'≤ 100' if key == 'board' else ''} | {met} |")
    if streams:
        lines += ["", f"Change to board (`stream` process, one, idle RSS {streams['idle_rss_mib']:.1f} MiB; "
                  f"{args.changes} changes each, committed through the services):", "",
                  "| Boards open | Notices received | Notice median ms | Notice p99 ms | Rows loaded median ms | Rows loaded p99 ms | Stream RSS MiB |",
                  "|---|---|---|---|---|---|---|"]
        for row in [*streams["runs"], streams["hold"]]:
            lines.append(f"| {row['boards']} | {row['received']} | {row['notice_median']:.1f} | {row['notice_p99']:.1f} | "
                         f"{row.get('whole_median', 0):.0f} | {row.get('whole_p99', 0):.0f} | {row['rss_mib']:.1f} |"
                         .replace("| 0 | 0 |", "| – | – |"))
    lines += ["", MARKERS[1]]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--backends", nargs="+", default=["sqlite", "postgresql"], choices=("sqlite", "postgresql"))
    parser.add_argument("--open-jobs", type=int, default=1000)
    parser.add_argument("--runs", type=int, default=30)
    parser.add_argument("--warmup", type=int, default=3)
    parser.add_argument("--boards", type=int, nargs="+", default=[1, 50, 200])
    parser.add_argument("--full-way", type=int, default=10, help="boards that also fetch their rows on each notice")
    parser.add_argument("--hold", type=int, default=2000, help="streams held open at once by one stream process")
    parser.add_argument("--changes", type=int, default=10)
    parser.add_argument("--reuse", action="store_true", help="measure again without building the databases again")
    parser.add_argument("--streams-only", action="store_true",
                        help="measure the streams again; the server times are the last run's (kept in the workdir)")
    parser.add_argument("--workdir", default=str(Path(tempfile.gettempdir()) / "dispatch-bench"))
    parser.add_argument("--write", default="docs/benchmarks.md")
    parser.add_argument("--no-write", action="store_true")
    args = parser.parse_args()
    work = Path(args.workdir)
    work.mkdir(parents=True, exist_ok=True)
    server, urls = {}, {}
    kept = work / "board-server-times.json"
    for backend in args.backends:
        urls[backend] = build(backend, work, args.open_jobs, args.reuse or args.streams_only)
        if args.streams_only:
            server[backend] = result = json.loads(kept.read_text())[backend]
        else:
            server[backend] = result = server_time(urls[backend], args.runs, args.warmup)
        print(f"  {backend}: board median {result['board']['median']:.1f} ms (floor {result['floor']['median']:.1f} ms), "
              f"{result['board']['rows']} rows drawn, {result['folded']} folded, "
              f"{result['board']['statements']:.0f} statements", flush=True)
    kept.write_text(json.dumps(server))
    streams = stream_measures(urls[args.backends[0]], work, args.boards, args.hold, args.changes, args.full_way)
    section = report(server, streams, args)
    print(section)
    if not args.no_write:
        stack.write_between_markers(ROOT / args.write, MARKERS, section, heading="## The board with 1,000 open jobs")


if __name__ == "__main__":
    main()
