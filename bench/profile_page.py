"""Where a report page's time goes: cProfile of a few in-process requests, the top functions as a table.

    .venv/bin/python bench/profile_page.py sqlite:////tmp/dispatch-bench/bench.sqlite3 \
        '/reports/compliance?start=2025-12-01&end=2026-11-30&by=month' --runs 3

Logs in as the demo manager (the database of `make bench`), warms up once, then profiles `--runs`
requests through Flask's test client. Prints a Markdown table of the functions with the most own time
(tottime) and their cumulative time, per request.
"""
from __future__ import annotations

import argparse
import cProfile
import pstats
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path.cwd()))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("url")
    parser.add_argument("path")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--top", type=int, default=8)
    args = parser.parse_args()
    from dispatch import create_app

    app = create_app({"SQLALCHEMY_DATABASE_URI": args.url, "WTF_CSRF_ENABLED": False, "SECRET_KEY": "bench"})
    client = app.test_client()
    assert client.post("/login", data={"username": "manager", "password": "demo1234"}).status_code == 302
    assert client.get(args.path).status_code == 200
    profile = cProfile.Profile()
    started = time.perf_counter()
    profile.enable()
    for _ in range(args.runs):
        client.get(args.path)
    profile.disable()
    wall = (time.perf_counter() - started) * 1000 / args.runs
    stats = pstats.Stats(profile)
    rows = sorted(stats.stats.items(), key=lambda item: item[1][2], reverse=True)[:args.top]
    print(f"{args.path}: {wall:.0f} ms per request under the profiler\n")
    print("| function | own ms / request | cumulative ms / request | calls / request |")
    print("|---|---:|---:|---:|")
    for (filename, line, name), (calls, _primitive, own, cumulative, _callers) in rows:
        where = f"{Path(filename).name}:{line} {name}" if line else name
        print(f"| `{where}` | {own * 1000 / args.runs:.1f} | {cumulative * 1000 / args.runs:.1f} | "
              f"{calls / args.runs:.0f} |")


if __name__ == "__main__":
    main()
