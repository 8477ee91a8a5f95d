"""Request-level protections: the client's real address behind trusted proxies."""
from __future__ import annotations

from flask import Flask
from werkzeug.middleware.proxy_fix import ProxyFix


def init_app(app: Flask) -> None:
    proxies = int(app.config.get("PROXY_FIX_X_FOR") or 0)
    if proxies > 0:
        # Only the last `proxies` hops of X-Forwarded-For are believed: a client can write anything in
        # the header, but cannot forge what our own proxies append. Rate limits and audit read the result.
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=proxies, x_proto=proxies)
