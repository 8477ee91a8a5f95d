"""Twilio's error codes and error body, so failures look like the real thing.

Dispatch's SMS sender branches on ``TwilioRestException.code`` (retry on
20429/20503, give up on 21211/21610...), so the fake must answer with the same
codes and the same body shape as Twilio::

    {"code": 21211, "message": "...", "more_info": "https://www.twilio.com/docs/errors/21211", "status": 400}
"""
from __future__ import annotations

from typing import Any

from flask import Response, jsonify

MORE_INFO = "https://www.twilio.com/docs/errors/{code}"

#: Default message for each code the fake can answer with.
MESSAGES: dict[int, str] = {
    20001: "Invalid parameter",
    20003: "Authenticate",
    20004: "Method not allowed",
    20404: "The requested resource was not found",
    20429: "Too Many Requests",
    20500: "Internal Server Error",
    20503: "Service Unavailable",
    21201: "No 'To' number is specified",
    21205: "Url parameter is required.",
    21211: "Invalid 'To' Phone Number",
    21212: "Invalid 'From' Phone Number",
    21213: "No 'From' number is specified",
    21218: "Invalid call status",
    21266: "'To' and 'From' number cannot be the same",
    21602: "Message body is required.",
    21603: "A 'From' phone number is required.",
    21604: "A 'To' phone number is required.",
    21609: "Invalid StatusCallback url",
    21610: "Attempt to send to unsubscribed recipient",
    21614: "'To' number is not a valid mobile number",
    21617: "The concatenated message body exceeds the 1600 character limit.",
    21701: "The Messaging Service Sid is invalid.",
}

#: The error code Twilio uses for a bare HTTP status (for ``/_fake/fail``).
CODE_FOR_STATUS: dict[int, int] = {
    400: 21211,
    401: 20003,
    404: 20404,
    429: 20429,
    500: 20500,
    503: 20503,
}

#: Delivery error codes (status callbacks of undelivered/failed messages).
DELIVERY_ERRORS: dict[int, str] = {
    30001: "Queue overflow",
    30002: "Account suspended",
    30003: "Unreachable destination handset",
    30004: "Message blocked",
    30005: "Unknown destination handset",
    30006: "Landline or unreachable carrier",
    30007: "Message filtered",
    30008: "Unknown error",
}


def error_body(status: int, code: int, message: str | None = None) -> dict[str, Any]:
    """The JSON body Twilio sends with a 4xx/5xx answer."""
    return {
        "code": code,
        "message": message or MESSAGES.get(code, "Error"),
        "more_info": MORE_INFO.format(code=code),
        "status": status,
    }


def twilio_error(status: int, code: int, message: str | None = None) -> Response:
    """A Flask response carrying Twilio's error body."""
    response = jsonify(error_body(status, code, message))
    response.status_code = status
    if status == 401:
        response.headers["WWW-Authenticate"] = 'Basic realm="Twilio API"'
    return response


class TwilioApiError(Exception):
    """Raised inside API views; the blueprint turns it into ``twilio_error``."""

    def __init__(self, status: int, code: int, message: str | None = None) -> None:
        super().__init__(message or MESSAGES.get(code, "Error"))
        self.status = status
        self.code = code
        self.message = message or MESSAGES.get(code, "Error")

    def response(self) -> Response:
        return twilio_error(self.status, self.code, self.message)
