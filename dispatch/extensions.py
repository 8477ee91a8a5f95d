"""Extensions, created unbound here and initialised in the app factory."""
from __future__ import annotations

from flask import request
from flask_babel import Babel
from flask_login import LoginManager
from flask_migrate import Migrate
from flask_smorest import Api
from flask_wtf import CSRFProtect

from models.base import db


class DispatchApi(Api):
    """flask-smorest, with JSON errors only under /api/ (pages keep HTML errors) and field errors
    flattened to {"errors": {"field": [...]}} whatever part of the request they came from."""

    def handle_http_exception(self, error):
        if not request.path.startswith("/api/"):
            return error
        payload, status, headers = super().handle_http_exception(error)
        errors = payload.get("errors")
        if isinstance(errors, dict) and errors and all(isinstance(v, dict) for v in errors.values()):
            flat: dict = {}
            for by_location in errors.values():
                flat.update(by_location)
            payload["errors"] = flat
        payload["error"] = payload.pop("status", "Error")
        payload.setdefault("message", payload["error"])
        return payload, status, headers


migrate = Migrate()
login_manager = LoginManager()
csrf = CSRFProtect()
babel = Babel()
api = DispatchApi()

__all__ = ["db", "migrate", "login_manager", "csrf", "babel", "api"]
