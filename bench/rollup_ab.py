"""The reports with and without the monthly roll-up, interleaved request by request on the same database.

    .venv/bin/python bench/rollup_ab.py sqlite:////tmp/dispatch-bench/bench.sqlite3 --runs 10

On a shared, noisy machine a page timed now and the same page timed ten minutes later are not
comparable; timed alternately, A, B, A, B, they see the same load. For the database of `make bench`
(seeded, the roll-up rebuilt): the monthly compliance page's three computations (the table by trade and
priority, the twelve-month trend, the attend bands) for the last full month, the same three for twelve
whole months grouped by month, and repeat faults (by asset and by place) for three months: each once
from the roll-up (`rollup=True`, what the pages do) and once from the tickets (`rollup=False`, as
before), checking on every run that both give the same figures. The board's data (the dispatcher's open
jobs), timed in the same loop, is the reference for the machine's load. Medians and min-max, ms.
"""
from __future__ import annotations

import argparse
import statistics
import sys
import time
from datetime import date, datetime, timedelta, timezone
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("url")
    parser.add_argument("--runs", type=int, default=10)
    args = parser.parse_args()
    from dispatch import create_app
    from dispatch.services import report_rollup
    from dispatch.services.board import open_board
    from dispatch.services.report_filters import ReportFilter
    from dispatch.services.report_workload import repeat_faults
    from dispatch.services.reports import attend_distribution, compliance, trend
    from dispatch.services.timezone import hospital_date
    from models import db
    from tests.test_reports_crossdb import plain  # figures as plain values that compare exactly

    app = create_app({"SQLALCHEMY_DATABASE_URI": args.url, "SECRET_KEY": "bench"})
    with app.app_context(), app.test_request_context():
        now = datetime.now(timezone.utc)
        end = hospital_date(now).replace(day=1) - timedelta(days=1)
        month = ReportFilter(start=end.replace(day=1), end=end)
        first = month.start
        for _ in range(11):
            first = (first - timedelta(days=1)).replace(day=1)
        year = ReportFilter(start=first, end=end)
        quarter_start = (month.start - timedelta(days=62)).replace(day=1)
        quarter = ReportFilter(start=quarter_start, end=end)
        if not report_rollup.is_complete():
            raise SystemExit("the roll-up is not built: run `flask reports rebuild` (or bench/reports.py --reuse) first")

        def page(report, by, rollup):
            return (compliance(report, now, by, rollup=rollup), trend(report, now, "attend", rollup=rollup),
                    attend_distribution(report, now, rollup=rollup))

        cases = {
            "Monthly compliance page (trade × priority, trend, bands)": lambda r: page(month, "trade_priority", r),
            "Twelve months by month (with trend and bands)": lambda r: page(year, "month", r),
        }
        times: dict[tuple[str, bool], list[float]] = {}
        board_times, repeat_times = [], []
        for run in range(args.runs + 1):  # the first round warms up and is not counted
            for name, compute in cases.items():
                answers = {}
                for rollup in ((True, False) if run % 2 else (False, True)):
                    db.session.rollback()
                    started = time.perf_counter()
                    answers[rollup] = plain(compute(rollup))
                    if run:
                        times.setdefault((name, rollup), []).append((time.perf_counter() - started) * 1000)
                assert answers[True] == answers[False], f"{name}: the roll-up and the tickets disagree"
            db.session.rollback()
            started = time.perf_counter()
            repeat_faults(quarter, "asset"), repeat_faults(quarter, "location")
            if run:
                repeat_times.append((time.perf_counter() - started) * 1000)
            db.session.rollback()
            started = time.perf_counter()
            open_board(now)
            if run:
                board_times.append((time.perf_counter() - started) * 1000)
            if run:
                print(f"  round {run}: " + ", ".join(f"{name[:24]} {'roll-up' if r else 'tickets'} {v[-1]:.0f} ms"
                                                      for (name, r), v in times.items())
                      + f", repeats {repeat_times[-1]:.0f} ms, board {board_times[-1]:.0f} ms", file=sys.stderr, flush=True)

    def cell(values):
        return f"{statistics.median(values):.0f} ({min(values):.0f}–{max(values):.0f})"

    print(f"| computation ({args.url.split(':')[0]}, {args.runs} runs each) | from the roll-up | from the tickets |")
    print("|---|---:|---:|")
    for name in cases:
        print(f"| {name} | {cell(times[(name, True)])} | {cell(times[(name, False)])} |")
    print(f"| Repeat faults, three months, by asset and by place | {cell(repeat_times)} | |")
    print(f"| reference: the board's data (open jobs and who may take them) | {cell(board_times)} | |")


if __name__ == "__main__":
    main()
