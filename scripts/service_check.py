"""Exit 0 when the named service answers at the URL: `service_check.py postgres URL` or `redis URL`."""
from __future__ import annotations

import sys


def main(kind: str, url: str) -> int:
    try:
        if kind == "redis":
            from redis import Redis

            Redis.from_url(url, socket_connect_timeout=1, socket_timeout=1).ping()
        else:
            from sqlalchemy import create_engine, text

            engine = create_engine(url, connect_args={"connect_timeout": 2})
            with engine.connect() as conn:
                conn.execute(text("SELECT 1"))
            engine.dispose()
    except Exception:
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1], sys.argv[2]))
