"""The board stream process's app, served from a thread of the test for its duration, and a plain SSE reader."""
from __future__ import annotations

import asyncio
import http.client
import json
import threading
from contextlib import contextmanager
from urllib.parse import quote

from aiohttp import web

from bench.stack import free_port
from dispatch.board_stream import HUB, PATH, make_app


@contextmanager
def board_stream(redis_url: str, secret_key: str, allowed_origin: str | None = None):
    """The stream server on a free port (yields it) until the block ends; it is listening to Redis first."""
    loop = asyncio.new_event_loop()
    port = free_port()
    app = make_app(redis_url, secret_key, allowed_origin)
    runner = web.AppRunner(app)
    started = threading.Event()

    def serve():
        asyncio.set_event_loop(loop)
        loop.run_until_complete(runner.setup())
        loop.run_until_complete(web.TCPSite(runner, "127.0.0.1", port).start())
        loop.run_until_complete(asyncio.wait_for(app[HUB].listening.wait(), 10))
        started.set()
        loop.run_forever()

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    assert started.wait(15), "the board stream did not start"
    try:
        yield port
    finally:
        asyncio.run_coroutine_threadsafe(runner.cleanup(), loop).result(10)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(10)


class Stream:
    """One board's open stream: its events, read as they come."""

    def __init__(self, port: int, token: str | None, origin: str | None = None, timeout: float = 5) -> None:
        self.connection = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
        headers = {"Accept": "text/event-stream", **({"Origin": origin} if origin else {})}
        self.connection.request("GET", PATH + (f"?token={quote(token)}" if token is not None else ""), headers=headers)
        self.response = self.connection.getresponse()
        self.status = self.response.status

    def next_event(self) -> tuple[str, dict]:
        """The next event (its name and data), keep-alive comments skipped."""
        name, data = "message", ""
        while True:
            line = self.response.fp.readline().decode()
            if line == "":
                raise EOFError("the stream ended")
            line = line.rstrip("\n")
            if line == "":
                if data:
                    return name, json.loads(data)
                name = "message"
            elif line.startswith("event: "):
                name = line[7:]
            elif line.startswith("data: "):
                data += line[6:]

    def close(self) -> None:
        self.connection.close()
