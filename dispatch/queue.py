"""The RQ queue. Jobs are serialised as JSON: whoever can write to Redis must not be able to run code."""
from __future__ import annotations

import os
import threading

from flask import current_app
from redis import ConnectionPool, Redis
from rq import Queue
from rq.serializers import JSONSerializer

_pools: dict[tuple[int, str], ConnectionPool] = {}
_pools_lock = threading.Lock()


def redis_connection() -> Redis:
    """A client on this process's pool for REDIS_URL. Every report enqueues an SMS: a connection made
    afresh for each (TCP connect and handshake) was a tenth of a report's time. Keyed by pid too, so a
    forked process never shares its parent's sockets."""
    url = current_app.config["REDIS_URL"]
    key = (os.getpid(), url)
    pool = _pools.get(key)
    if pool is None:
        with _pools_lock:
            pool = _pools.get(key)
            if pool is None:
                # Short timeouts: a Redis outage must not hang a web request that has already committed.
                pool = _pools[key] = ConnectionPool.from_url(url, socket_connect_timeout=1, socket_timeout=2)
    return Redis(connection_pool=pool)


def get_queue(connection: Redis | None = None) -> Queue:
    return Queue(current_app.config["RQ_QUEUE"], connection=connection or redis_connection(), serializer=JSONSerializer)
