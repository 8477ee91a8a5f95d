"""Run the fake Twilio on its own: ``python -m dispatch.fake_twilio --port 8026``.

``make run`` starts this when no Twilio credentials are set, so a new user can
play the whole phone loop on one machine: Dispatch sends its texts and calls
here, and the phone page (http://127.0.0.1:8026/) shows them and lets the user
reply as the technician.

Command-line options override environment variables, which override defaults:

``FAKE_TWILIO_ACCOUNT_SID``
    Account SID the fake accepts (HTTP Basic username and the AccountSid in
    every URL). Default ``ACfa4e0000000000000000000000000000``. Give Dispatch
    the same value as its TWILIO_ACCOUNT_SID.
``FAKE_TWILIO_AUTH_TOKEN``
    Auth token the fake accepts and signs webhooks with (``X-Twilio-Signature``).
    Default ``fake-auth-token``. Give Dispatch the same as its TWILIO_AUTH_TOKEN.
``FAKE_TWILIO_SMS_WEBHOOK_URL``
    Dispatch's inbound-SMS webhook, where replies typed on the phone page are
    posted, e.g. ``http://127.0.0.1:5000/sms/inbound``. Unset: replies are kept
    but the page says Dispatch never saw them.
``FAKE_TWILIO_FROM``
    Dispatch's sender number, used for a text from a phone Dispatch has never
    contacted. Default ``+15005550006``.
``FAKE_TWILIO_RESPONSE_DELAY_SECONDS``
    A slow Twilio: seconds each accepted message or call waits before the
    answer goes back. Default 0.

Point the Twilio SDK at the fake with ``client.api.base_url = "http://HOST:PORT"``.
"""
from __future__ import annotations

import argparse
import logging
import sys

from werkzeug.serving import make_server

from . import create_fake_twilio_app, get_state
from .config import config_from_env


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m dispatch.fake_twilio",
        description="A local fake of Twilio's REST API with a phone page for humans.",
    )
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on")
    parser.add_argument("--port", type=int, default=8026, help="port (0 picks a free one)")
    parser.add_argument("--account-sid", help="overrides FAKE_TWILIO_ACCOUNT_SID")
    parser.add_argument("--auth-token", help="overrides FAKE_TWILIO_AUTH_TOKEN")
    parser.add_argument("--sms-webhook-url", help="overrides FAKE_TWILIO_SMS_WEBHOOK_URL")
    parser.add_argument("--from", dest="from_", help="overrides FAKE_TWILIO_FROM")
    parser.add_argument("--callback-delay", type=float,
                        help="seconds between status steps (default 0.2)")
    parser.add_argument("--response-delay", type=float,
                        help="seconds before answering an accepted message or call (default 0)")
    return parser.parse_args(argv)


def build_config(args: argparse.Namespace, environ: dict[str, str] | None = None) -> dict:
    config = config_from_env(environ)
    overrides = {
        "ACCOUNT_SID": args.account_sid, "AUTH_TOKEN": args.auth_token,
        "SMS_WEBHOOK_URL": args.sms_webhook_url, "FROM": args.from_,
        "CALLBACK_DELAY_SECONDS": args.callback_delay,
        "RESPONSE_DELAY_SECONDS": args.response_delay,
    }
    config.update({k: v for k, v in overrides.items() if v is not None})
    return config


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    app = create_fake_twilio_app(build_config(args))
    state = get_state(app)
    server = make_server(args.host, args.port, app, threaded=True)
    url = f"http://{args.host}:{server.server_port}"
    print(f"Fake Twilio on {url}", file=sys.stderr)
    print(f"  phone page:     {url}/", file=sys.stderr)
    print(f"  account sid:    {state.setting('ACCOUNT_SID')}", file=sys.stderr)
    print(f"  auth token:     {state.setting('AUTH_TOKEN')}", file=sys.stderr)
    print(f"  SMS webhook:    {state.setting('SMS_WEBHOOK_URL') or '(not set)'}", file=sys.stderr)
    print(f"  SDK:            client.api.base_url = {url!r}", file=sys.stderr)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        state.shutdown()
        server.server_close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
