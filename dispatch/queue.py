"""The RQ queue. Jobs are serialised as JSON: whoever can write to Redis must not be able to run code."""
from __future__ import annotations

from flask import current_app
from redis import Redis
from rq import Queue
from rq.serializers import JSONSerializer


def redis_connection() -> Redis:
    # Short timeouts: a Redis outage must not hang a web request that has already committed.
    return Redis.from_url(current_app.config["REDIS_URL"], socket_connect_timeout=1, socket_timeout=2)


def get_queue(connection: Redis | None = None) -> Queue:
    return Queue(current_app.config["RQ_QUEUE"], connection=connection or redis_connection(), serializer=JSONSerializer)
