# Two commands for a new user: `make run` and `make test`. Everything else is set up by them.
SHELL := /bin/bash
VENV ?= .venv
PYTHON ?= python3

.PHONY: run test test-sqlite test-postgresql test-model bench bench-escalation bench-load bench-board bench-sending bench-soak translations venv clean

$(VENV)/.installed: requirements.txt requirements-dev.txt
	@test -x $(VENV)/bin/python || $(PYTHON) -m venv $(VENV)
	@$(VENV)/bin/pip install -q --disable-pip-version-check -r requirements-dev.txt
	@touch $@

venv: $(VENV)/.installed

run: venv  ## the service: web, worker, scheduler (and Redis / fake Twilio when needed)
	@scripts/run.sh

test: venv  ## the whole suite, on SQLite and on PostgreSQL, with real Redis and a real browser
	@scripts/test.sh

test-sqlite: venv
	@scripts/test.sh sqlite

test-postgresql: venv
	@scripts/test.sh postgresql

test-model: venv  ## a long model-based search of the ticket engine on SQLite and PostgreSQL (MODEL_SEARCH_STEPS=20000 in total; not part of `make test`)
	@$(VENV)/bin/python scripts/model_search.py --steps $(or $(MODEL_SEARCH_STEPS),20000) $(MODEL_SEARCH_ARGS)

bench: venv  ## reports and board with 1,000,000 tickets, escalation timing, report to SMS under load; SQLite and PostgreSQL; results in docs/benchmarks.md
	@bench/run.sh $(BENCH_ARGS)
	@$(MAKE) --no-print-directory bench-escalation
	@$(MAKE) --no-print-directory bench-load
	@$(MAKE) --no-print-directory bench-board

bench-escalation: venv  ## how late escalation steps fire (real scheduler, worker, Redis, fake Twilio) on PostgreSQL and SQLite
	@$(VENV)/bin/python bench/escalation_lag.py --burst 5 --write docs/benchmarks.md $(BENCH_ESCALATION_ARGS)

bench-load: venv  ## report to SMS in a burst of 300 reports from 30 clients (the Procfile's processes), and filing throughput, on PostgreSQL and SQLite
	@$(VENV)/bin/python bench/report_to_sms.py --write docs/benchmarks.md $(BENCH_LOAD_ARGS)

bench-board: venv  ## the board with 1,000 open jobs (server time beside its floor) and change-to-board latency through the stream process, on SQLite and PostgreSQL
	@$(VENV)/bin/python bench/board.py $(BENCH_BOARD_ARGS)

bench-sending: venv  ## the SMS worker's CPU per message and messages per second with 1, 2 and 4 workers, beside the bare Twilio SDK call (PostgreSQL, local fake Twilio)
	@$(VENV)/bin/python bench/sending.py $(BENCH_SENDING_ARGS)

bench-soak: venv  ## steady reports and SMS replies through the real processes on PostgreSQL; each process's memory over time and its slope (SOAK_MINUTES=30)
	@SOAK_MINUTES=$(or $(SOAK_MINUTES),30) $(VENV)/bin/python bench/soak.py $(BENCH_SOAK_ARGS)

translations: venv  ## re-extract the interface's strings, merge them into each language's .po, compile the .mo
	@$(VENV)/bin/pybabel extract -F babel.cfg -k _l -k lazy_gettext --sort-by-file -o translations/messages.pot . 2>&1 | grep -v '^extracting' || true
	@$(VENV)/bin/pybabel update -i translations/messages.pot -d translations
	@$(VENV)/bin/pybabel compile -d translations

clean:
	rm -rf $(VENV) .pytest_cache
