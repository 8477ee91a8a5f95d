#!/usr/bin/env bash
# `make bench`: the reports and board benchmark on SQLite and PostgreSQL (see bench/reports.py).
# Starts the local PostgreSQL cluster when it is installed but not running; fails saying so otherwise.
set -uo pipefail
cd "$(dirname "$0")/.."
VENV=${VENV:-.venv}
export PATH="$PWD/$VENV/bin:$PATH"
export BENCH_POSTGRES_URL=${BENCH_POSTGRES_URL:-postgresql+psycopg://postgres@127.0.0.1:5432/postgres}
if ! python scripts/service_check.py postgres "$BENCH_POSTGRES_URL"; then
  if command -v pg_ctlcluster >/dev/null 2>&1 && [ -d /etc/postgresql ]; then
    echo "Starting the local PostgreSQL cluster..."
    pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | head -1)" main start >/dev/null 2>&1 || true
    sleep 2
  fi
  python scripts/service_check.py postgres "$BENCH_POSTGRES_URL" \
    || { echo "make bench: PostgreSQL does not answer at $BENCH_POSTGRES_URL: start it, or set BENCH_POSTGRES_URL." >&2; exit 2; }
fi
exec python bench/reports.py "$@"
