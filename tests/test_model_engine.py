"""The model-based test of the ticket engine: random interleavings of reports, assignment, answers by SMS and
phone, time passing, licences, the rota, incidents and planned work (tests/model/machine.py), with the
engine's invariants checked against the database after every step (tests/model/invariants.py).

In the suite (and under CI=true, derandomized) it runs a fixed budget; `make test-model` runs a long search.
Below it, each counterexample the search found, as a plain regression test."""
from __future__ import annotations

import json
import os

from hypothesis import HealthCheck, settings
from hypothesis.stateful import run_state_machine_as_test

from tests.model.machine import STATS, TicketEngineMachine

STEPS_PER_EXAMPLE = 25
# The suite's budget: about a minute per database on the 2-core machine. MODEL_STEPS asks for a long search.
SUITE_STEPS = 250


def test_ticket_engine_model(app, db, clock, redis_conn):
    steps = int(os.environ.get("MODEL_STEPS", SUITE_STEPS))
    TicketEngineMachine.app, TicketEngineMachine.clock = app, clock
    budget = settings(max_examples=max(1, steps // STEPS_PER_EXAMPLE), stateful_step_count=STEPS_PER_EXAMPLE,
                      deadline=None, suppress_health_check=list(HealthCheck))
    try:
        run_state_machine_as_test(TicketEngineMachine, settings=budget)
    except BaseException as failure:
        STATS["counterexamples"].append(str(failure)[-4000:])
        raise
    finally:
        report = os.environ.get("MODEL_STATS_FILE")
        if report:
            with open(report, "w") as out:
                json.dump({"rules": STATS["rules"], "checks": STATS["checks"], "statuses": sorted(STATS["statuses"]),
                           "steps": STATS["steps"], "examples": STATS["examples"],
                           "counterexamples": STATS["counterexamples"]}, out, indent=1)
