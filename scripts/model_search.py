#!/usr/bin/env python3
"""`make test-model`: a long search by the model-based test of the ticket engine (tests/test_model_engine.py),
on SQLite and then PostgreSQL, with fresh random interleavings each run (not the suite's fixed budget). Prints
what it covered: how often each rule ran and each invariant was checked, the statuses reached, and any
counterexample (hypothesis prints the shortest sequence of steps it found, to turn into a regression test).

    scripts/model_search.py [--steps 20000] [--db sqlite --db postgresql] [--seed N] [--reach-known-problems]

--steps is the total over the databases, split evenly between them."""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def search(db: str, steps: int, seed: str | None, reach: bool) -> tuple[int, dict, float]:
    with tempfile.TemporaryDirectory() as scratch:
        stats_file = Path(scratch) / "stats.json"
        env = {**os.environ, "MODEL_STEPS": str(steps), "MODEL_STATS_FILE": str(stats_file)}
        env.pop("CI", None)  # the long search draws new interleavings every run
        if reach:
            env["MODEL_KNOWN_PROBLEMS"] = "reach"
        command = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", f"--db={db}", "-x",
                   "tests/test_model_engine.py::test_ticket_engine_model"]
        if seed:
            command.append(f"--hypothesis-seed={seed}")
        started = time.monotonic()
        code = subprocess.call(command, cwd=ROOT, env=env)
        stats = json.loads(stats_file.read_text()) if stats_file.exists() else {}
        return code, stats, time.monotonic() - started


def show(db: str, code: int, stats: dict, seconds: float) -> None:
    print(f"\n=== model search on {db}: {'PASSED' if code == 0 else 'FOUND A COUNTEREXAMPLE' if stats else 'ERROR'}"
          f" in {seconds:.0f} s ===")
    if not stats:
        print("  (no statistics: the run stopped before the machine started; see the output above)")
        return
    print(f"  examples run: {stats['examples']}, steps taken: {stats['steps']} (shrinking replays included)")
    print("  rules run:")
    for name, count in sorted(stats["rules"].items(), key=lambda item: (-item[1], item[0])):
        print(f"    {name:28} {count:7}")
    print("  invariants checked:")
    for name, count in sorted(stats["checks"].items()):
        print(f"    {name:28} {count:7}")
    print(f"  statuses reached ({len(stats['statuses'])}): {', '.join(stats['statuses'])}")
    for example in stats["counterexamples"]:
        print("  counterexample:\n    " + example.replace("\n", "\n    "))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--steps", type=int, default=int(os.environ.get("MODEL_SEARCH_STEPS", 20000)))
    parser.add_argument("--db", action="append", choices=("sqlite", "postgresql"))
    parser.add_argument("--seed", help="a hypothesis seed, to repeat a search")
    parser.add_argument("--reach-known-problems", action="store_true",
                        help="let the machine walk into the problems other engineers are fixing (see the docs)")
    args = parser.parse_args()
    databases = args.db or ["sqlite", "postgresql"]
    failed = False
    for db in databases:
        code, stats, seconds = search(db, max(1, args.steps // len(databases)), args.seed, args.reach_known_problems)
        show(db, code, stats, seconds)
        failed = failed or code != 0
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
