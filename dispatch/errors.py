"""The rule errors services raise, and how each reaches a person: a flash, a JSON body or an SMS reply."""
from __future__ import annotations

from flask import Flask, jsonify, request
from flask_babel import lazy_gettext as _l


class DispatchError(Exception):
    """A rule said no. The message is for the person who asked."""

    status_code = 400

    def __init__(self, message: str, field: str | None = None) -> None:
        super().__init__(str(message))
        self.message = str(message)
        self.field = field

    def to_dict(self) -> dict:
        body = {"error": type(self).__name__, "message": self.message}
        if self.field:
            body["errors"] = {self.field: [self.message]}
        return body


class ValidationError(DispatchError):
    status_code = 422


class NotFoundError(DispatchError):
    status_code = 404


class PermissionDeniedError(DispatchError):
    status_code = 403


class IllegalTransitionError(DispatchError):
    status_code = 409


class NotLicensedError(DispatchError):
    status_code = 422


class ConflictError(DispatchError):
    """Someone else changed the ticket first; nothing was overwritten."""

    status_code = 409


def register_error_handlers(app: Flask) -> None:
    @app.errorhandler(DispatchError)
    def handle_dispatch_error(error: DispatchError):
        # Views catch DispatchError themselves to re-render forms; this is the JSON/last-resort path.
        if request.path.startswith("/api/"):
            return jsonify(error.to_dict()), error.status_code
        return error.message, error.status_code

    @app.errorhandler(404)
    def not_found(error):
        if request.path.startswith("/api/"):
            return jsonify({"error": "NotFound", "message": str(_l("Not found."))}), 404
        from flask import render_template

        return render_template("errors/404.html"), 404

    @app.errorhandler(403)
    def forbidden(error):
        if request.path.startswith("/api/"):
            return jsonify({"error": "Forbidden", "message": str(_l("Not allowed."))}), 403
        from flask import render_template

        return render_template("errors/403.html"), 403
