"""A local fake of Twilio's REST API, shipped with Dispatch.

Why it exists: Dispatch texts and phones on-call technicians through Twilio.
Tests must exercise the real Twilio SDK against something that answers like
Twilio (codes, shapes, callbacks, outages), and a new user running ``make run``
without Twilio credentials should still be able to play the whole loop — get
the page, reply ACCEPT, answer the escalation call — from a browser "phone".

Two ways in:

* ``create_fake_twilio_app(config)`` builds the Flask app (REST API under
  ``/2010-04-01``, control API under ``/_fake``, phone page at ``/``).
* ``serve_in_thread(port=0, **config)`` serves it on a background thread and
  returns a ``FakeTwilioServer`` handle; ``server.twilio_client()`` gives a
  real ``twilio.rest.Client`` already pointed at it.

Pointing any Twilio SDK client at the fake (twilio 9.x)::

    client = twilio.rest.Client(account_sid, auth_token)
    client.api.base_url = server.url          # e.g. "http://127.0.0.1:8026"

``Client.api`` is the ``api.twilio.com`` Domain; every v2010 URL is built from
its ``base_url`` at request time. Leave ``TWILIO_EDGE``/``TWILIO_REGION``
unset (or clear ``client.edge``/``client.region``): they rewrite the host name.
"""
from __future__ import annotations

import logging
import threading
from dataclasses import dataclass, field
from typing import Any

from flask import Flask
from werkzeug.serving import BaseWSGIServer, WSGIRequestHandler, make_server

from .api import register_api
from .config import DEFAULT_ACCOUNT_SID, DEFAULT_AUTH_TOKEN, DEFAULT_FROM, FakeConfig
from .control import bp as control_bp
from .inbound import InboundResult, send_inbound_sms
from .phone import bp as phone_bp
from .state import FakeTwilioState
from .voice import press_digits

__all__ = [
    "DEFAULT_ACCOUNT_SID", "DEFAULT_AUTH_TOKEN", "DEFAULT_FROM", "FakeConfig",
    "FakeTwilioServer", "FakeTwilioState", "create_fake_twilio_app", "serve_in_thread",
]

log = logging.getLogger("dispatch.fake_twilio")


def create_fake_twilio_app(config: dict[str, Any] | None = None) -> Flask:
    """Build the fake. ``config`` keys: see ``FakeConfig`` (ACCOUNT_SID, AUTH_TOKEN,
    SMS_WEBHOOK_URL, FROM, CALLBACK_DELAY_SECONDS, SEND_CALLBACKS, WEBHOOK_TIMEOUT_SECONDS,
    RESPONSE_DELAY_SECONDS)."""
    app = Flask(__name__, static_folder=None)
    state = FakeTwilioState(FakeConfig.from_mapping(config))
    app.extensions["fake_twilio"] = state
    register_api(app)
    app.register_blueprint(control_bp)
    app.register_blueprint(phone_bp)
    return app


def get_state(app: Flask) -> FakeTwilioState:
    """The store behind a fake app (for tests that use ``app.test_client()``)."""
    return app.extensions["fake_twilio"]


@dataclass
class FakeTwilioServer:
    """A running fake: where it listens and how to steer and stop it."""

    app: Flask
    host: str
    port: int
    _server: BaseWSGIServer = field(repr=False)
    _thread: threading.Thread = field(repr=False)

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    @property
    def state(self) -> FakeTwilioState:
        return get_state(self.app)

    @property
    def account_sid(self) -> str:
        return self.state.setting("ACCOUNT_SID")

    @property
    def auth_token(self) -> str:
        return self.state.setting("AUTH_TOKEN")

    def twilio_client(self) -> Any:
        """A real ``twilio.rest.Client`` with this fake's credentials, pointed here."""
        from twilio.rest import Client

        client = Client(self.account_sid, self.auth_token)
        client.edge = client.region = None  # they would rewrite 127.0.0.1 into *.twilio.com
        client.api.base_url = self.url
        return client

    def text_from(self, phone: str, body: str, to: str | None = None) -> InboundResult:
        """The handset ``phone`` texts ``body`` to the product (signed inbound webhook)."""
        return send_inbound_sms(self.state, phone, body, to)

    def press(self, call_sid: str, digits: str) -> str | None:
        """Key digits into a call waiting at a <Gather>; returns a problem or None."""
        return press_digits(self.state, call_sid, digits)

    def stop(self) -> None:
        """Stop serving and tell callback threads to stop; safe to call twice."""
        self.state.shutdown()
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)

    def __enter__(self) -> "FakeTwilioServer":
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


class _QuietRequestHandler(WSGIRequestHandler):
    """Test runs should not print one access-log line per SDK request."""

    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        return None


def serve_in_thread(app: Flask | None = None, host: str = "127.0.0.1", port: int = 0,
                    **config: Any) -> FakeTwilioServer:
    """Serve the fake on a daemon thread; ``port=0`` picks a free port.

    ``config`` keys build a new app, or are applied to ``app`` when one is given.
    Access logging is off (errors are still logged).
    """
    if app is None:
        app = create_fake_twilio_app(config)
    elif config:
        get_state(app).configure(**config)
    server = make_server(host, port, app, threaded=True,
                         request_handler=_QuietRequestHandler)
    server.daemon_threads = True
    # A short poll interval keeps stop() (and so each test's teardown) fast.
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05},
                              name="fake-twilio-server", daemon=True)
    thread.start()
    handle = FakeTwilioServer(app=app, host=host, port=server.server_port,
                              _server=server, _thread=thread)
    log.info("fake Twilio listening on %s", handle.url)
    return handle
