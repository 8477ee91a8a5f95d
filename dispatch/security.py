"""Request-level protections: the client's real address behind trusted proxies, the security headers every
response carries (a Content-Security-Policy that runs no inline script), ids in URLs no longer than the
database's keys, and no text that no database can store (a NUL, a lone UTF-16 surrogate) in what the pages
and the API are sent."""
from __future__ import annotations

import base64
import hashlib
import re

from flask import Flask, Response, current_app, render_template, request
from flask_babel import gettext as _
from werkzeug.middleware.proxy_fix import ProxyFix
from werkzeug.routing import IntegerConverter

from dispatch.board_news import stream_origin
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
# Twilio's webhooks and the JSON API deal with what they are sent themselves (an SMS body loses its NULs; the
# API refuses with a JSON 422, using the same check).
TEXT_CHECKED_ELSEWHERE = ("sms", "voice", "api", "api-docs", "api_docs_files")
# Characters no column can take: a NUL (PostgreSQL text cannot hold one), and half of a UTF-16 surrogate pair
# sent alone (JSON's "\ud800"): no character at all, which SQLite's driver cannot encode and PostgreSQL's
# refuses. Nobody types either; they come from a pasted binary or a broken client, and are refused by name
# rather than failing on the way into the database.
UNSTORABLE = re.compile("[\x00\ud800-\udfff]")


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
    app.before_request(refuse_unstorable_text)
    app.after_request(add_security_headers)


def readable_name(name: str) -> str:
    """A field's name fit to show and to send back as JSON: the characters that cannot be stored, escaped."""
    return UNSTORABLE.sub(lambda found: f"\\u{ord(found.group()):04x}", name)


def unstorable_field(value, name: str = "") -> str | None:
    """The name of the first field of a JSON value whose text cannot be stored (nested ones as `a.0.b`; the
    body itself as `body`), or None when every text can be."""
    if isinstance(value, str):
        return (name or "body") if UNSTORABLE.search(value) else None
    items = value.items() if isinstance(value, dict) else enumerate(value) if isinstance(value, list) else ()
    for key, item in items:
        path = f"{name}.{readable_name(str(key))}" if name else readable_name(str(key))
        if isinstance(key, str) and UNSTORABLE.search(key):
            return path
        found = unstorable_field(item, path)
        if found:
            return found
    return None


def unstorable_form_field(*sent) -> str | None:
    """The same for a query string and a form (werkzeug MultiDicts): the first field whose name or value cannot
    be stored."""
    for values in sent:
        for name, items in values.lists():
            if UNSTORABLE.search(name) or any(UNSTORABLE.search(item) for item in items):
                return readable_name(name)
    return None


def refuse_unstorable_text():
    """A page or form that carries text no database can store is refused whole (422, nothing saved) with a page
    that names the field, rather than failing on the way into the database (a 500)."""
    if request.blueprint in TEXT_CHECKED_ELSEWHERE:
        return None
    field = unstorable_form_field(request.args) if request.method == "GET" else unstorable_form_field(
        request.args, request.form)
    if field is None:
        return None
    return render_template("errors/400.html", title=_("Not accepted"), message=_(
        "The field “%(field)s” holds a character that cannot be saved (a NUL, or half of a character). Nothing "
        "was changed: go back, retype the text (do not paste it from a binary file) and send it again.",
        field=field)), 422


def add_security_headers(response: Response) -> Response:
    headers = response.headers
    headers.setdefault("Content-Security-Policy", _with_board_stream(_policy_for(response)))
    headers.setdefault("X-Content-Type-Options", "nosniff")
    headers.setdefault("Referrer-Policy", "same-origin")
    headers.setdefault("X-Frame-Options", "DENY")
    headers.setdefault("Permissions-Policy", PERMISSIONS_POLICY)
    if current_app.config.get("SESSION_COOKIE_SECURE"):
        # Production only: served over HTTPS there; a development server on http:// would be unreachable
        # for a year in any browser that once saw this header.
        headers.setdefault("Strict-Transport-Security", HSTS)
    return response


def _with_board_stream(policy: str) -> str:
    """Boards may open their stream of changes on its own origin when it is not this site's (make run)."""
    origin = stream_origin(current_app.config.get("BOARD_STREAM_URL", ""))
    return f"{policy}; connect-src 'self' {origin}" if origin else policy


def _policy_for(response: Response) -> str:
    """The page-wide policy; Swagger UI's page (flask-smorest's template) starts itself with one inline
    script, allowed by its hash alone, and Swagger UI's React styles elements inline."""
    if not request.path.startswith(API_DOCS_PREFIX) or response.mimetype != "text/html" or response.direct_passthrough:
        return CONTENT_SECURITY_POLICY
    hashes = " ".join("'sha256-%s'" % base64.b64encode(hashlib.sha256(body).digest()).decode()
                      for body in _INLINE_SCRIPT.findall(response.get_data()))
    return (CONTENT_SECURITY_POLICY.replace("script-src 'self'", f"script-src 'self' {hashes}")
            .replace("style-src 'self'", "style-src 'self' 'unsafe-inline'"))
