#!/usr/bin/env bash
# `make run`: migrate, seed the demo hospital when the database is empty, then run the web app,
# an RQ worker and the scheduler together (and a Redis of our own when none is running).
# Ctrl-C stops everything this started.
set -euo pipefail
cd "$(dirname "$0")/.."
VENV=${VENV:-.venv}
export PATH="$PWD/$VENV/bin:$PATH"
export FLASK_APP="dispatch:create_app"
export PORT=${PORT:-5000}
export PUBLIC_URL=${PUBLIC_URL:-http://127.0.0.1:$PORT}
# The board's live stream (dispatch/board_stream.py) listens on a port of its own; with no proxy in front
# the board page opens it there (behind a proxy, route /board/stream to it and leave BOARD_STREAM_URL unset).
export BOARD_STREAM_PORT=${BOARD_STREAM_PORT:-$((PORT + 1))}
export BOARD_STREAM_URL=${BOARD_STREAM_URL:-http://127.0.0.1:$BOARD_STREAM_PORT/board/stream}
mkdir -p instance

started=()
stop_all() { for pid in "${started[@]:-}"; do [ -n "$pid" ] && kill "$pid" 2>/dev/null || true; done; }
trap stop_all EXIT
trap 'exit 130' INT TERM

redis=$(python scripts/redis_url.py) || exit 1
if [ "$redis" = start ]; then
  port=${DISPATCH_REDIS_PORT:-6380}
  binary=$(python scripts/redis_url.py --binary)
  mkdir -p instance/redis
  # appendonly + noeviction: queued jobs survive a restart and are never evicted.
  "$binary" --port "$port" --bind 127.0.0.1 --dir "$PWD/instance/redis" --appendonly yes --save "" \
    --maxmemory-policy noeviction --logfile "$PWD/instance/redis/redis.log" &
  started+=($!)
  redis="redis://127.0.0.1:$port/0"
  python scripts/redis_url.py --wait "$redis" \
    || { echo "Could not start the bundled redis-server (see instance/redis/redis.log); set REDIS_URL to a running Redis." >&2; exit 1; }
  echo "Redis: none was running, so the bundled redis-server runs on port $port (data in instance/redis)."
fi
export REDIS_URL=$redis

flask db upgrade
flask seed-demo --if-empty

processes=(web worker scheduler watchdog stream)
phone_line=""
if [ -z "${TWILIO_ACCOUNT_SID:-}" ]; then
  # No Twilio account: SMS go to the project's local fake of Twilio, with a phone page to reply from.
  export FAKE_TWILIO_PORT=${FAKE_TWILIO_PORT:-8026}
  export TWILIO_API_BASE_URL="http://127.0.0.1:$FAKE_TWILIO_PORT"
  export FAKE_TWILIO_SMS_WEBHOOK_URL="$PUBLIC_URL/sms/inbound"
  processes+=(twilio)
  phone_line="  Technicians' phones (local fake of Twilio):  $TWILIO_API_BASE_URL/phone"
  # Once the fake answers, tell it whose number is whose and the hospital's time zone (its phone page
  # shows names and hospital time); in the background, as honcho starts the fake below.
  flask fake-twilio-names --wait 60 &
  started+=($!)
fi
cat <<MSG

  Dispatch is starting at  $PUBLIC_URL
$phone_line
  Demo logins (password demo1234):
    dispatcher      the control-room board
    nurse.icu       report a fault from the ICU (other wards: nurse.ed, nurse.ward3, ...)
    wang.electric   a technician's jobs
    manager         compliance reports
    admin           everything
  Ctrl-C stops it all.

MSG
honcho -f Procfile start "${processes[@]}"
