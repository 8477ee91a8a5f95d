#!/usr/bin/env bash
# `make test`: the whole suite against SQLite and PostgreSQL, with a real Redis and headless Chromium.
# Services that are missing are started when we can, and otherwise the run fails saying so.
set -uo pipefail
cd "$(dirname "$0")/.."
VENV=${VENV:-.venv}
export PATH="$PWD/$VENV/bin:$PATH"
backends=("${@:-sqlite postgresql}")
read -r -a backends <<< "${backends[*]}"

fail() { echo "make test: $*" >&2; exit 2; }

# Headless Chromium for the browser test (Debian's package; Playwright's own download cannot work here).
if ! command -v chromium >/dev/null 2>&1; then
  if [ "$(id -u)" = 0 ]; then
    echo "Installing Debian's chromium for the browser test..."
    (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null) \
      || fail "could not install chromium with apt-get; install it (apt-get install chromium) and rerun."
  else
    fail "chromium is not installed: run 'sudo apt-get install chromium' and rerun."
  fi
fi

# A CJK font, so the browser tests' Chinese pages are drawn (and checked) without boxes for characters.
scripts/cjk_font.sh || exit 2

# axe-core for the browser tests' accessibility check: npm installs the pinned version (package-lock.json)
# into ./node_modules, which git ignores. Without Node.js and npm the check cannot run, so the run fails.
if ! command -v npm >/dev/null 2>&1; then
  fail "npm is missing: install Node.js 20 and npm (apt-get install nodejs npm) and rerun; the accessibility check needs axe-core."
fi
if [ ! -f node_modules/axe-core/axe.min.js ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  echo "Installing axe-core (npm ci) for the accessibility check..."
  npm ci --no-audit --no-fund --loglevel=error >/dev/null || fail "npm ci could not install axe-core; see the npm log above."
fi

# Directory sign-in (LDAP, OpenID Connect): their tests start real servers; this installs what those need.
scripts/directory_test_servers.sh || exit 2

# PostgreSQL: the suite runs against it too, never silently skipped.
if [[ " ${backends[*]} " == *" postgresql "* ]]; then
  export TEST_POSTGRES_URL=${TEST_POSTGRES_URL:-postgresql+psycopg://postgres@127.0.0.1:5432/postgres}
  if ! python scripts/service_check.py postgres "$TEST_POSTGRES_URL"; then
    if command -v pg_ctlcluster >/dev/null 2>&1 && [ -d /etc/postgresql ]; then
      echo "Starting the local PostgreSQL cluster..."
      pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | head -1)" main start >/dev/null 2>&1 || true
      sleep 2
    fi
    python scripts/service_check.py postgres "$TEST_POSTGRES_URL" \
      || fail "PostgreSQL does not answer at $TEST_POSTGRES_URL: start it, or set TEST_POSTGRES_URL."
  fi
fi

# Redis: a running one, or the bundled redis-server just for this run.
redis_pid=""
trap '[ -n "$redis_pid" ] && kill $redis_pid 2>/dev/null' EXIT
export TEST_REDIS_URL=${TEST_REDIS_URL:-redis://127.0.0.1:6379/15}
if ! python scripts/service_check.py redis "$TEST_REDIS_URL"; then
  binary=$(python scripts/redis_url.py --binary)
  port=6391
  "$binary" --port $port --bind 127.0.0.1 --save "" --appendonly no --daemonize no --logfile /dev/null &
  redis_pid=$!
  export TEST_REDIS_URL="redis://127.0.0.1:$port/15"
  python scripts/redis_url.py --wait "$TEST_REDIS_URL" || fail "no Redis at 127.0.0.1:6379 and the bundled one did not start."
  echo "Redis: using the bundled redis-server on port $port for this run."
fi

status=0
summary=()
for backend in "${backends[@]}"; do
  echo "=== suite on $backend ==="
  python -m pytest -q -p no:cacheprovider --db="$backend" tests | tee /tmp/dispatch-pytest-$$.log
  code=${PIPESTATUS[0]}
  [ "$code" -ne 0 ] && status=1
  summary+=("$backend: $(tail -1 /tmp/dispatch-pytest-$$.log | tr -d '=')")
done
rm -f /tmp/dispatch-pytest-$$.log
echo
printf '%s\n' "${summary[@]}"
exit $status
