"""The rule errors services raise, and how each reaches a person, answered in one place per channel:

- pages: `register_error_handlers` flashes the message and redirects to where the view said a refusal
  returns to (`refusals_return_to`), else the page the form came from; "not yours to see" answers 404 and
  "your role may not" 403, as a guessed URL would. A form that shows the message on its field uses
  `dispatch.blueprints.form_errors.shown_on`, built on `attempt` below.
- the JSON API: a 4xx body naming the field (`api_error_body`, also used for flask-smorest's own errors).
- SMS and voice replies: `refusal_as_reply` turns the refusal into the reply text.
"""
from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from functools import wraps
from typing import TypeVar
from urllib.parse import urlsplit

from flask import Flask, current_app, flash, g, jsonify, redirect, render_template, request
from flask_babel import force_locale
from flask_babel import lazy_gettext as _l
from flask_wtf.csrf import CSRFError
from marshmallow import Schema, fields
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


class DirectoryUnavailableError(DispatchError):
    """The hospital's directory (LDAP / Active Directory, or the OpenID provider) cannot be reached or
    answered wrongly: nothing was changed, and local break-glass accounts still sign in."""

    status_code = 503


class DirectorySignInRefused(DispatchError):
    """The directory said no (wrong password, disabled account, no group that gives access to Dispatch)."""

    status_code = 401


# ---- shaping: what a refusal looks like on each channel -------------------------------------------------

class ApiErrorSchema(Schema):
    """Every API error body: what went wrong, in words, and each wrong field by name."""

    error = fields.String(required=True, metadata={"description": "kind of error, e.g. NotLicensedError"})
    message = fields.String(required=True, metadata={"description": "what went wrong, for a person"})
    errors = fields.Dict(keys=fields.String(), values=fields.List(fields.String()),
                         metadata={"description": "messages per request field"})


def _dotted(errors: dict, prefix: str = "") -> dict:
    """A nested field's messages under one dotted name: a list's second item's "item" is "answers.1.item"."""
    flat: dict = {}
    for name, value in errors.items():
        if isinstance(value, dict):
            flat.update(_dotted(value, f"{prefix}{name}."))
        else:
            flat[f"{prefix}{name}"] = value
    return flat


def api_error_body(payload: dict) -> dict:
    """flask-smorest's error payload in the API's one shape: field errors flattened to
    {"errors": {"field": [...]}} whatever part of the request they came from, and always a message."""
    errors = payload.get("errors")
    if isinstance(errors, dict) and errors and all(isinstance(v, dict) for v in errors.values()):
        flat: dict = {}
        for by_location in errors.values():
            flat.update(_dotted(by_location))
        payload["errors"] = flat
    payload.pop("code", None)  # the HTTP status says it already
    payload["error"] = payload.pop("status", "Error")
    if "message" not in payload and isinstance(payload.get("errors"), dict):
        # Name the problem (e.g. "Invalid JSON body."), not only the status.
        first = next((m for ms in payload["errors"].values() if isinstance(ms, list) for m in ms if isinstance(m, str)), None)
        if first:
            payload["message"] = first
    payload.setdefault("message", payload["error"])
    return payload


class Attempt:
    """The outcome of a change tried under `attempt`: `error` is the refusal, if there was one."""

    def __init__(self) -> None:
        self.error: DispatchError | None = None

    @property
    def refused(self) -> bool:
        return self.error is not None

    @property
    def succeeded(self) -> bool:
        return self.error is None


@contextmanager
def attempt() -> Iterator[Attempt]:
    """Run a change; a service's refusal is kept on the outcome instead of propagating. For the shared
    helpers only (a form's field error, an SMS or voice reply): views let refusals reach the page handler."""
    outcome = Attempt()
    try:
        yield outcome
    except DispatchError as error:
        outcome.error = error


Reply = TypeVar("Reply")


class RefusalReply(str):
    """Reply text that is a refusal's message (the SMS log records the reply as rejected)."""


def refusal_as_reply(answer: Callable[..., Reply]) -> Callable[..., Reply | RefusalReply]:
    """SMS and voice: a function that answers with reply text answers a refusal with the refusal's message."""

    @wraps(answer)
    def replying(*args, **kwargs):
        with attempt() as outcome:
            return answer(*args, **kwargs)
        return RefusalReply(outcome.error.message)

    return replying


def refusals_return_to(url: str, *, missing_is_a_message: bool = False) -> None:
    """Where this request's page sends the person back to, with the message, when a service refuses.
    `missing_is_a_message`: "not found" is news here, not a guessed id (the shift or incident was removed
    or closed while the page was open), so it is flashed like any refusal instead of answering 404."""
    g.refusal_return_to = url
    g.refusal_missing_is_a_message = missing_is_a_message


def _same_site(target: str | None) -> str | None:
    if not target:
        return None
    parts = urlsplit(target)
    if parts.netloc and parts.netloc != request.host:
        return None
    return parts.path + (f"?{parts.query}" if parts.query else "") if parts.path.startswith("/") else None


def _page_refusal(error: DispatchError):
    """On a page, a service's 'not yours to see' answers 404, as a missing id does, and 'your role may not'
    answers 403, as the role guard does: a guessed or forged form gets the answer a guessed URL gets. Other
    refusals (a stale version, a wrong state, a bad value) are flashed on the page the person is sent back to.
    (Responses, not abort(): an error handler cannot raise.)"""
    if isinstance(error, NotFoundError) and not g.get("refusal_missing_is_a_message"):
        return _not_found()
    if isinstance(error, PermissionDeniedError):
        return _forbidden()
    back = g.get("refusal_return_to") or _same_site(request.referrer)
    if back is None or (request.method == "GET" and back == request.full_path.rstrip("?")):
        # Nowhere to go back to (or only to this same page, which would refuse again): say it here.
        return render_template("errors/400.html", title=_l("Not done"), message=error.message), error.status_code
    flash(error.message, "error")
    return redirect(back)


def _not_found():
    if request.path.startswith("/api/"):
        return jsonify({"error": "NotFound", "message": str(_l("Not found."))}), 404
    return render_template("errors/404.html"), 404


def _forbidden():
    if request.path.startswith("/api/"):
        return jsonify({"error": "Forbidden", "message": str(_l("Not allowed."))}), 403
    return render_template("errors/403.html"), 403


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
        # A rule said no: in the caller's channel. Twilio's webhooks answer refusals through
        # `refusal_as_reply`; one reaching here is answered in plain text, which Twilio reads out or drops.
        if request.path.startswith("/api/"):
            return jsonify(error.to_dict()), error.status_code
        if request.path.startswith(("/sms/", "/voice/")):
            return current_app.response_class(error.message, mimetype="text/plain"), error.status_code
        return _page_refusal(error)

    @app.errorhandler(413)
    def too_large(error):
        # Flask refuses a request past MAX_CONTENT_LENGTH before any view reads it: most likely photos.
        if request.path.startswith("/api/"):
            return jsonify({"error": "TooLarge", "message": str(_l("What was sent is too large."))}), 413
        return render_template("errors/400.html", title=_l("Too large"), message=_l(
            "What was sent is too large, so nothing was saved. Go back and send fewer or smaller photos.")), 413

    @app.errorhandler(404)
    def not_found(error):
        return _not_found()

    @app.errorhandler(403)
    def forbidden(error):
        return _forbidden()

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
