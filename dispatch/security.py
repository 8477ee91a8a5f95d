"""Request-level protections: the client's real address behind trusted proxies, the security headers every
response carries (a Content-Security-Policy that runs no inline script), ids in URLs no longer than the
database's keys, and no NUL characters in what the pages are sent."""
from __future__ import annotations

import base64
import hashlib
import re

from flask import Flask, Response, current_app, render_template, request
from flask_babel import gettext as _
from werkzeug.middleware.proxy_fix import ProxyFix
from werkzeug.routing import IntegerConverter

from dispatch.numbers import LARGEST_ID

# No inline script, no inline event handlers, and no style="" attributes either: the templates keep every
# style in static/css (the board's JS changes classes, not styles), so styles need no 'unsafe-inline'.
CONTENT_SECURITY_POLICY = ("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
                           "object-src 'none'; base-uri 'self'; frame-ancestors 'none'; form-action 'self'")
# The photo field may open the camera; nothing else is asked of the browser.
PERMISSIONS_POLICY = "camera=(self), microphone=(), geolocation=(), payment=(), usb=()"
HSTS = "max-age=31536000"
API_DOCS_PREFIX = "/api/docs"
_INLINE_SCRIPT = re.compile(rb"<script>(.*?)</script>", re.S)
# Twilio's webhooks and the JSON API deal with what they are sent themselves (an SMS body loses its NULs).
NUL_CHECKED_ELSEWHERE = ("sms", "voice", "api", "api-docs", "api_docs_files")


class RowIdConverter(IntegerConverter):
    """`<int:...>` in a URL: a number past the largest key is simply not found (404), rather than an error
    from the driver (SQLite cannot bind an integer past 2**63; PostgreSQL's `integer` ends at 2**31 - 1)."""

    def __init__(self, map, *args, max: int = LARGEST_ID, **kwargs) -> None:
        super().__init__(map, *args, max=max, **kwargs)


def init_app(app: Flask) -> None:
    proxies = int(app.config.get("PROXY_FIX_X_FOR") or 0)
    if proxies > 0:
        # Only the last `proxies` hops of X-Forwarded-For are believed: a client can write anything in
        # the header, but cannot forge what our own proxies append. Rate limits and audit read the result.
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=proxies, x_proto=proxies)
    # Before any blueprint adds its rules: the converter is looked up when a rule is added.
    app.url_map.converters["int"] = RowIdConverter
    app.before_request(refuse_nul_characters)
    app.after_request(add_security_headers)


def refuse_nul_characters():
    """Nobody types a NUL, and PostgreSQL text cannot hold one: a page or form that carries one is refused
    whole (400, nothing saved) with a page that says why, rather than failing on the way into the database."""
    if request.blueprint in NUL_CHECKED_ELSEWHERE:
        return None
    sent = [request.args] if request.method == "GET" else [request.args, request.form]
    if not any("\x00" in value for values in sent for _name, items in values.lists() for value in items):
        return None
    return render_template("errors/400.html", title=_("Not accepted"), message=_(
        "What was sent holds a NUL character, which cannot be saved. Nothing was changed: go back, retype the "
        "text (do not paste it from a binary file) and send it again.")), 400


def add_security_headers(response: Response) -> Response:
    headers = response.headers
    headers.setdefault("Content-Security-Policy", _policy_for(response))
    headers.setdefault("X-Content-Type-Options", "nosniff")
    headers.setdefault("Referrer-Policy", "same-origin")
    headers.setdefault("X-Frame-Options", "DENY")
    headers.setdefault("Permissions-Policy", PERMISSIONS_POLICY)
    if current_app.config.get("SESSION_COOKIE_SECURE"):
        # Production only: served over HTTPS there; a development server on http:// would be unreachable
        # for a year in any browser that once saw this header.
        headers.setdefault("Strict-Transport-Security", HSTS)
    return response


def _policy_for(response: Response) -> str:
    """The page-wide policy; Swagger UI's page (flask-smorest's template) starts itself with one inline
    script, allowed by its hash alone, and Swagger UI's React styles elements inline."""
    if not request.path.startswith(API_DOCS_PREFIX) or response.mimetype != "text/html" or response.direct_passthrough:
        return CONTENT_SECURITY_POLICY
    hashes = " ".join("'sha256-%s'" % base64.b64encode(hashlib.sha256(body).digest()).decode()
                      for body in _INLINE_SCRIPT.findall(response.get_data()))
    return (CONTENT_SECURITY_POLICY.replace("script-src 'self'", f"script-src 'self' {hashes}")
            .replace("style-src 'self'", "style-src 'self' 'unsafe-inline'"))
