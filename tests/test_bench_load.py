"""The load benchmark (bench/report_to_sms.py, `make bench-load`) still works end to end: the real
processes start, concurrent clients file reports through the JSON API, and every report reaches the fake
Twilio as exactly one SMS. Tiny numbers and no timing: the speed targets live in the benchmark's report."""
from __future__ import annotations

import pytest

from bench import stack
from bench.report_to_sms import MARKERS, render, run_backend
from tests.conftest import POSTGRES_ADMIN_URL

PROCESS_KINDS = {"gunicorn master", "gunicorn worker", "RQ worker", "scheduler", "watchdog", "Redis", "fake Twilio"}


@pytest.fixture
def bench_postgres(monkeypatch):
    # The benchmark makes (and drops) its own database on the server the suite uses.
    monkeypatch.setattr(stack, "POSTGRES_ADMIN_URL", POSTGRES_ADMIN_URL)


def test_every_report_in_a_small_burst_reaches_twilio_as_exactly_one_sms(db_backend, bench_postgres):
    result = run_backend(db_backend, reports=10, clients=3, seed_days=1)

    assert result.http_errors == 0
    assert result.priorities == {2: 10} and result.not_assigned == 0  # urgent, auto-dispatched at once
    assert len(result.latencies_ms) == 10
    assert result.missing == [] and result.duplicates == 0
    assert all(len(values) == 10 for values in result.stages.values())  # every report's moments were found
    assert result.report_rate > 0 and min(result.bare_rates) > 0
    assert set(result.memory) == PROCESS_KINDS and all(peak > 0 for _n, _rest, peak in result.memory.values())
    section = render([result])  # what `make bench-load` writes into docs/benchmarks.md
    assert section.startswith(MARKERS[0]) and section.endswith(MARKERS[1]) and result.database_version in section
