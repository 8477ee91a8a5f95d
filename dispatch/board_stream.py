"""The board stream: server-sent events to every open board, in one small asyncio process of its own.

    python -m dispatch.board_stream --port 5001      (the Procfile's `stream`; `make run` starts it)

An open board is one idle socket here, not a web worker's thread: gunicorn's threads stay free for pages.
The process subscribes once to the Redis channel the web app, workers and scheduler publish to after each
commit that changed tickets (dispatch/board_news.py), and passes each notice to every stream it holds; any
number of these processes, on any number of machines, each hear every notice. Between changes a board costs a
keep-alive comment every KEEP_ALIVE_SECONDS (so proxies and dead peers are noticed) and nothing else: no
database, no polling. Who may listen: the bearer of a stream token from the board page (signed with the app's
SECRET_KEY, good for board_news.TOKEN_SECONDS; the stream ends when it expires and the board fetches a new one).
"""
from __future__ import annotations

import argparse
import asyncio
import logging
import os
import resource
from urllib.parse import urlsplit

from aiohttp import web
from redis.asyncio import Redis

from dispatch import create_app
from dispatch.board_news import channel, stream_origin, stream_viewer

log = logging.getLogger("dispatch.board_stream")

KEEP_ALIVE_SECONDS = 25
# Notices a slow board may have waiting before it is dropped (it then falls back and reconnects).
BACKLOG = 64
PATH = "/board/stream"


class Hub:
    """The streams this process holds, and the one subscription that feeds them."""

    def __init__(self, redis_url: str, secret_key: str, allowed_origin: str | None) -> None:
        self.redis_url, self.secret_key, self.allowed_origin = redis_url, secret_key, allowed_origin
        self.streams: set[asyncio.Queue] = set()
        self.listening = asyncio.Event()
        self.notices = 0

    def tell(self, notice: bytes | None) -> None:
        for queue in list(self.streams):
            try:
                queue.put_nowait(notice)
            except asyncio.QueueFull:
                self.streams.discard(queue)  # too slow: its stream ends at the next wake and it reconnects

    async def subscribe(self) -> None:
        """Hear the channel for ever; while Redis is away, end every stream (boards fall back to re-reading
        every few seconds and retry) and refuse new ones until it answers again."""
        name = channel(self.redis_url)
        while True:
            client = Redis.from_url(self.redis_url, socket_connect_timeout=2)
            try:
                async with client.pubsub() as pubsub:
                    await pubsub.subscribe(name)
                    self.listening.set()
                    log.info("listening on %s", name)
                    async for message in pubsub.listen():
                        if message["type"] == "message":
                            self.notices += 1
                            self.tell(message["data"])
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # noqa: BLE001  (any failure of Redis: say so, end the streams, retry)
                log.warning("Redis subscription lost (%s); boards fall back to re-reading", exc)
            finally:
                self.listening.clear()
                self.tell(None)
                await client.aclose()
            await asyncio.sleep(1)

    def cross_origin(self, request: web.Request) -> dict[str, str]:
        origin = request.headers.get("Origin")
        if origin and self.allowed_origin and origin == self.allowed_origin:
            return {"Access-Control-Allow-Origin": origin, "Vary": "Origin"}
        return {}

    async def stream(self, request: web.Request) -> web.StreamResponse:
        viewer = stream_viewer(request.query.get("token"), self.secret_key)
        headers = self.cross_origin(request)
        if viewer is None:
            return web.Response(status=403, text="sign in to the board again\n", headers=headers)
        if not self.listening.is_set():
            return web.Response(status=503, text="board stream not connected to Redis\n", headers=headers)
        _user, seconds_left = viewer
        response = web.StreamResponse(headers={
            **headers, "Content-Type": "text/event-stream; charset=utf-8", "Cache-Control": "no-cache, no-transform",
            # nginx: pass each event on at once rather than buffering the response.
            "X-Accel-Buffering": "no"})
        await response.prepare(request)
        queue: asyncio.Queue = asyncio.Queue(maxsize=BACKLOG)
        self.streams.add(queue)
        loop = asyncio.get_running_loop()
        ends = loop.time() + seconds_left
        try:
            await response.write(b"retry: 2000\nevent: ready\ndata: {}\n\n")
            while queue in self.streams:
                left = ends - loop.time()
                if left <= 0:
                    await response.write(b"event: expired\ndata: {}\n\n")
                    break
                try:
                    notice = await asyncio.wait_for(queue.get(), timeout=min(left, KEEP_ALIVE_SECONDS))
                except TimeoutError:
                    await response.write(b": keep-alive\n\n")
                    continue
                if notice is None:
                    break
                await response.write(b"event: change\ndata: " + notice + b"\n\n")
        except (ConnectionResetError, ConnectionError):
            pass
        finally:
            self.streams.discard(queue)
        return response

    async def health(self, _request: web.Request) -> web.Response:
        rss_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        return web.json_response({"streams": len(self.streams), "listening": self.listening.is_set(),
                                  "notices": self.notices, "max_rss_kib": rss_kib, "pid": os.getpid()})


HUB = web.AppKey("hub", Hub)


def make_app(redis_url: str, secret_key: str, allowed_origin: str | None = None) -> web.Application:
    hub = Hub(redis_url, secret_key, allowed_origin)
    app = web.Application()
    app[HUB] = hub
    app.router.add_get(PATH, hub.stream)
    app.router.add_get(PATH + "/health", hub.health)

    async def run_subscription(app_: web.Application):
        task = asyncio.create_task(hub.subscribe())
        yield
        task.cancel()
        try:
            await task
        except asyncio.CancelledError:
            pass

    async def end_streams(_app: web.Application) -> None:
        hub.tell(None)  # on shutdown: each board falls back to re-reading and reconnects to another process

    app.on_shutdown.append(end_streams)
    app.cleanup_ctx.append(run_subscription)
    return app


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--host", default=os.environ.get("BOARD_STREAM_HOST", "127.0.0.1"))
    parser.add_argument("--port", type=int, default=int(os.environ.get("BOARD_STREAM_PORT", "5001")))
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    config = create_app().config  # the web app's own configuration: its SECRET_KEY and REDIS_URL
    # Only the web app's own pages open streams; from another origin (make run: another port) they need leave.
    allowed = urlsplit(config["PUBLIC_URL"])._replace(path="", query="", fragment="").geturl() \
        if stream_origin(config["BOARD_STREAM_URL"]) else None
    web.run_app(make_app(config["REDIS_URL"], config["SECRET_KEY"], allowed), host=args.host, port=args.port,
                print=None, access_log=None)


if __name__ == "__main__":
    main()
