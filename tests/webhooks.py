"""Posting to the app's Twilio webhooks from a test client, signed as Twilio signs them."""
from __future__ import annotations

import itertools

from twilio.request_validator import RequestValidator

_sids = itertools.count(1)


def signature(token: str, path: str, params: dict[str, str]) -> str:
    """X-Twilio-Signature for a POST of `params` to `path` on the test client's host."""
    return RequestValidator(token).compute_signature(f"http://localhost{path}", params)


def signed_post(app, path: str, params: dict[str, str], token: str | None = None):
    token = token or app.config["TWILIO_AUTH_TOKEN"]
    return app.test_client().post(path, data=params, headers={"X-Twilio-Signature": signature(token, path, params)})


def text_in(app, from_number: str, body: str):
    """A technician's SMS reaching /sms/inbound, signed."""
    params = {"MessageSid": f"SM{next(_sids):032x}", "From": from_number, "To": app.config["TWILIO_FROM_NUMBER"],
              "Body": body}
    response = signed_post(app, "/sms/inbound", params)
    assert response.status_code == 200, response.get_data(as_text=True)
    return response
