"""Extensions, created unbound here and initialised in the app factory."""
from __future__ import annotations

import hashlib

from flask import request
from flask_babel import Babel
from flask_limiter import Limiter
from flask_login import LoginManager
from flask_migrate import Migrate
from flask_smorest import Api
from flask_wtf import CSRFProtect

from dispatch.errors import ApiErrorSchema, api_error_body
from models.base import db


class DispatchApi(Api):
    """flask-smorest, with JSON errors only under /api/ (pages keep HTML errors) and field errors
    flattened to {"errors": {"field": [...]}} whatever part of the request they came from."""

    ERROR_SCHEMA = ApiErrorSchema
    # No catch-all "default" response: each route declares the errors it gives, so the document says exactly
    # what a client can get back (and the schemathesis test holds the API to it).
    DEFAULT_ERROR_RESPONSE_NAME = None

    def handle_http_exception(self, error):
        if not request.path.startswith("/api/"):
            return error
        payload, status, headers = super().handle_http_exception(error)
        # flask-smorest keeps only the headers given to abort(); the exception's own (Allow on a 405,
        # WWW-Authenticate, Retry-After) are part of the answer HTTP asks for, so they are kept too.
        own = {name: value for name, value in error.get_headers() if name.lower() != "content-type"}
        headers = {**own, **dict(headers or {})}
        return api_error_body(payload), status, headers


def rate_limit_key() -> str:
    """Per API token (its digest, never the token itself); per address when there is none."""
    header = request.headers.get("Authorization", "")
    if header:
        return "token:" + hashlib.sha256(header.encode()).hexdigest()
    return "addr:" + (request.remote_addr or "?")


migrate = Migrate()
login_manager = LoginManager()
csrf = CSRFProtect()
babel = Babel()
api = DispatchApi()
# Counted in Redis; if Redis is down the limits are counted in memory instead, and a storage error never
# turns a request into a 500 (an alarm must get through even then).
limiter = Limiter(rate_limit_key, in_memory_fallback_enabled=True, swallow_errors=True, headers_enabled=True,
                  key_prefix="dispatch")

__all__ = ["db", "migrate", "login_manager", "csrf", "babel", "api", "limiter"]
