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
# Installed is the version package-lock.json pins (compared by version, not by the files' dates: a fresh checkout's
# package-lock.json is always newer, and `npm ci` empties node_modules first, even one shared by checkouts).
pinned_axe() { python -c "import json, sys; print(json.load(open(sys.argv[1]))$1['version'])" "$2" 2>/dev/null; }
if [ ! -f node_modules/axe-core/axe.min.js ] \
   || [ "$(pinned_axe "['packages']['node_modules/axe-core']" package-lock.json)" != "$(pinned_axe "" node_modules/axe-core/package.json)" ]; then
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

# The suites: one pytest process per database, side by side (on two cores the run takes about as long as the
# slower suite alone). Each has its own Redis database (claimed in tests/conftest.py), its own temporary
# directory (--basetemp) and its own PostgreSQL database names (they carry the process id); every server a
# test starts listens on a port the system hands out. Each suite's output goes to its own log; the
# failures of a failed suite and both summaries are printed at the end. TEST_PARALLEL=0 runs them one after the other.
logs=${TEST_LOG_DIR:-$(mktemp -d "${TMPDIR:-/tmp}/dispatch-make-test.XXXXXX")}
mkdir -p "$logs"
suite() {  # suite BACKEND N: the whole suite on one database, output in $logs/BACKEND.log, asking for the Redis
  # database N below TEST_REDIS_URL's (conftest.py claims another if that one is taken)
  local url=$TEST_REDIS_URL number=${TEST_REDIS_URL##*/}
  [[ "$number" =~ ^[0-9]+$ ]] && [ $((number - $2)) -ge 1 ] && url="${TEST_REDIS_URL%/*}/$((number - $2))"
  TEST_REDIS_URL=$url python -m pytest -q -p no:cacheprovider --db="$1" --basetemp="$logs/$1.tmp" tests \
    > "$logs/$1.log" 2>&1
}
progress() {  # the last progress mark ("[ 42%]") of each suite's log
  local line="" backend mark
  for backend in "${backends[@]}"; do
    mark=$(grep -o '\[ *[0-9]*%\]' "$logs/$backend.log" 2>/dev/null | tail -1 | tr -d '[] ')
    line+="  $backend ${mark:-starting}"
  done
  echo "$(date +%H:%M:%S)$line"
}

declare -A pid code
started=$SECONDS
if [ "${TEST_PARALLEL:-1}" = 0 ] || [ ${#backends[@]} -eq 1 ]; then
  for backend in "${backends[@]}"; do
    echo "=== suite on $backend (log: $logs/$backend.log) ==="
    python -m pytest -q -p no:cacheprovider --db="$backend" --basetemp="$logs/$backend.tmp" tests 2>&1 \
      | tee "$logs/$backend.log"
    code[$backend]=${PIPESTATUS[0]}
  done
else
  echo "=== suites on ${backends[*]}, side by side (logs: $logs/<database>.log) ==="
  n=0
  for backend in "${backends[@]}"; do
    suite "$backend" $n &
    pid[$backend]=$!
    n=$((n + 1))
  done
  running=1
  while [ $running = 1 ]; do
    running=0
    for backend in "${backends[@]}"; do kill -0 "${pid[$backend]}" 2>/dev/null && running=1; done
    [ $running = 1 ] || break
    for _ in $(seq 60); do sleep 1; kill -0 "${pid[${backends[0]}]}" 2>/dev/null || kill -0 "${pid[${backends[-1]}]}" 2>/dev/null || break; done
    progress
  done
  for backend in "${backends[@]}"; do
    wait "${pid[$backend]}"
    code[$backend]=$?
  done
  for backend in "${backends[@]}"; do
    [ "${code[$backend]}" -eq 0 ] && continue
    echo
    echo "=================== FAILED: the suite on $backend (exit ${code[$backend]}); its log: $logs/$backend.log ==================="
    # From the first failure or error section to the end; the whole log when pytest stopped before writing one.
    awk '/^=+ (FAILURES|ERRORS) =+$/ {on=1} on' "$logs/$backend.log" | grep -q . \
      && awk '/^=+ (FAILURES|ERRORS) =+$/ {on=1} on' "$logs/$backend.log" || cat "$logs/$backend.log"
  done
fi

status=0
echo
for backend in "${backends[@]}"; do
  [ "${code[$backend]}" -ne 0 ] && status=1 && verdict=FAILED || verdict=ok
  echo "$backend: $verdict, $(tail -1 "$logs/$backend.log" | tr -d '=' | sed 's/^ *//; s/ *$//')"
done
echo "make test: $(( (SECONDS - started) / 60 )) min $(( (SECONDS - started) % 60 )) s for the suites; logs in $logs"
exit $status
