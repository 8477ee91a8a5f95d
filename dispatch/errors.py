"""The rule errors services raise, and how each reaches a person: a flash, a JSON body or an SMS reply."""
from __future__ import annotations

from flask import Flask, abort, current_app, g, jsonify, render_template, request
from flask_babel import force_locale
from flask_babel import lazy_gettext as _l
from flask_wtf.csrf import CSRFError
from sqlalchemy import exc as sqlalchemy_errors


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


def refuse_like_a_guard(error: DispatchError) -> None:
    """On a page, a service's 'not yours to see' answers 404, as a missing id does, and 'your role may not'
    answers 403, as the role guard does: a guessed or forged form gets the answer a guessed URL gets. Other
    refusals (a stale version, a wrong state, a bad value) return to the caller to be shown on the page."""
    if isinstance(error, NotFoundError):
        abort(404)
    if isinstance(error, PermissionDeniedError):
        abort(403)


def register_error_handlers(app: Flask) -> None:
    @app.errorhandler(CSRFError)
    def form_not_accepted(error: CSRFError):
        # The reason (missing, expired, forged token) is for the log; the person needs to know what to do.
        current_app.logger.info("form refused on %s: %s", request.path, error.description)
        return render_template("errors/400.html", title=_l("Form not accepted"), message=_l(
            "This form was open too long, or it did not come from a Dispatch page, so nothing was saved. Go back, "
            "reload the page and send it again.")), 400

    @app.errorhandler(DispatchError)
    def handle_dispatch_error(error: DispatchError):
        # Views catch DispatchError themselves to re-render forms; this is the JSON/last-resort path.
        if request.path.startswith("/api/"):
            return jsonify(error.to_dict()), error.status_code
        return error.message, error.status_code

    @app.errorhandler(413)
    def too_large(error):
        # Flask refuses a request past MAX_CONTENT_LENGTH before any view reads it: most likely photos.
        if request.path.startswith("/api/"):
            return jsonify({"error": "TooLarge", "message": str(_l("What was sent is too large."))}), 413
        return render_template("errors/400.html", title=_l("Too large"), message=_l(
            "What was sent is too large, so nothing was saved. Go back and send fewer or smaller photos.")), 413

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

    @app.errorhandler(sqlalchemy_errors.OperationalError)
    @app.errorhandler(sqlalchemy_errors.InterfaceError)
    @app.errorhandler(sqlalchemy_errors.TimeoutError)
    def database_unavailable(error):
        return database_unavailable_response(error)


# The database refused, dropped the connection, or stayed locked past the busy timeout (SQLite):
# a clear "try again", never a bare 500. The request's transaction was rolled back, so nothing it
# wrote stands, unless the connection broke during the COMMIT itself (then it may have landed).
DATABASE_UNAVAILABLE = _l("Service busy: Dispatch cannot reach its database just now. Try again in a minute; "
                          "if this was a report, check your ward's tickets first. For an emergency, phone the "
                          "control room.")
RETRY_AFTER_SECONDS = "10"


def database_unavailable_response(error: Exception):
    """503 in the caller's form: JSON under /api/, plain text to Twilio's webhooks, a page otherwise.

    Made without asking the database again: the page is rendered without the context processors
    (Flask-Login's would load the user), in the language the request already chose, else the
    person's language as already loaded, else the cookie or the hospital's default.
    """
    import logging

    from models import db

    first_line = (str(getattr(error, "orig", None) or error).strip().splitlines() or ["?"])[0]
    logging.getLogger(__name__).warning("database unavailable for %s %s: %s", request.method, request.path, first_line)
    language = _language_without_the_database()
    with force_locale(language):
        message = str(DATABASE_UNAVAILABLE)
        if request.path.startswith("/api/"):
            response = jsonify({"error": "ServiceUnavailable", "message": message})
        elif request.path.startswith(("/sms/", "/voice/")):
            response = current_app.response_class(message, mimetype="text/plain")
        else:
            page = current_app.jinja_env.get_template("errors/503.html").render(
                message=message, language=language.replace("_", "-"),
                hospital_name=current_app.config["HOSPITAL_NAME"])
            response = current_app.response_class(page, mimetype="text/html")
    try:
        db.session.rollback()
    except Exception:  # noqa: BLE001  (the connection is gone; the session is removed at the request's end)
        pass
    response.status_code = 503
    response.headers["Retry-After"] = RETRY_AFTER_SECONDS
    return response


def _language_without_the_database() -> str:
    from sqlalchemy import inspect

    from dispatch.i18n import LANGUAGE_COOKIE, SUPPORTED_LOCALES
    from models import User

    chosen = getattr(g, "babel_locale", None)
    if chosen is not None:
        return str(chosen)
    user = g.get("_login_user")
    if isinstance(user, User):
        loaded = inspect(user).dict.get("locale")  # the value already loaded: reading the attribute could query
        if loaded in SUPPORTED_LOCALES:
            return loaded
    cookie = request.cookies.get(LANGUAGE_COOKIE)
    if cookie in SUPPORTED_LOCALES:
        return cookie
    return current_app.config.get("BABEL_DEFAULT_LOCALE", "en")
