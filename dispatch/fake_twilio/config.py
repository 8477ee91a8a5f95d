"""Settings of the fake Twilio, in one place.

The fake is configured three ways: a dict passed to ``create_fake_twilio_app``
(tests), environment variables (``python -m dispatch.fake_twilio`` under
``make run``) and ``POST /_fake/config`` at run time (a test that wants faster
or no callbacks). All three end in the same ``FakeConfig`` so there is one
list of keys and one set of defaults.
"""
from __future__ import annotations

import os
from dataclasses import asdict, dataclass, fields
from typing import Any, Mapping
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

#: A fixed, valid-looking account SID ("AC" + 32 hex digits) so a test can
#: build its Twilio client before the fake is even started.
DEFAULT_ACCOUNT_SID = "AC" + "fa4e".ljust(32, "0")
DEFAULT_AUTH_TOKEN = "fake-auth-token"
#: Twilio's own magic "From" number for test credentials; used as the product's
#: sender when the phone page has nothing better to go on.
DEFAULT_FROM = "+15005550006"

#: Environment variable -> config key, for ``python -m dispatch.fake_twilio``.
ENV_VARS = {
    "FAKE_TWILIO_ACCOUNT_SID": "ACCOUNT_SID",
    "FAKE_TWILIO_AUTH_TOKEN": "AUTH_TOKEN",
    "FAKE_TWILIO_SMS_WEBHOOK_URL": "SMS_WEBHOOK_URL",
    "FAKE_TWILIO_FROM": "FROM",
    "FAKE_TWILIO_RESPONSE_DELAY_SECONDS": "RESPONSE_DELAY_SECONDS",
    "FAKE_TWILIO_TIMEZONE": "TIMEZONE",
}


@dataclass
class FakeConfig:
    """Every knob of the fake. Field names are the upper-case config keys."""

    ACCOUNT_SID: str = DEFAULT_ACCOUNT_SID
    AUTH_TOKEN: str = DEFAULT_AUTH_TOKEN
    #: The product's inbound-SMS webhook; the phone page posts replies there.
    SMS_WEBHOOK_URL: str | None = None
    #: Sender number used for inbound SMS when no message or call names one.
    FROM: str = DEFAULT_FROM
    #: Pause between lifecycle steps (queued -> sent -> delivered; ringing ...).
    CALLBACK_DELAY_SECONDS: float = 0.2
    #: Whether status callbacks are posted at all (statuses still advance).
    SEND_CALLBACKS: bool = True
    #: Timeout for every HTTP request the fake makes to the product.
    WEBHOOK_TIMEOUT_SECONDS: float = 10.0
    #: A slow Twilio: how long each accepted create request (message or call) waits before it is
    #: answered. The message already exists meanwhile, so a client that dies or gives up in that time
    #: has sent a message it never learnt the SID of: the case reconciliation exists for.
    RESPONSE_DELAY_SECONDS: float = 0.0
    #: The zone the phone page shows times in (an IANA name): the hospital's, so a text reads at the
    #: time the app's pages give for it. The API itself answers in GMT, as Twilio does.
    TIMEZONE: str = "UTC"

    @classmethod
    def keys(cls) -> set[str]:
        return {f.name for f in fields(cls)}

    @classmethod
    def from_mapping(cls, values: Mapping[str, Any] | None) -> "FakeConfig":
        config = cls()
        config.update(values or {})
        return config

    def update(self, values: Mapping[str, Any]) -> None:
        """Apply known keys, coercing types; unknown keys raise so typos show."""
        unknown = set(values) - self.keys()
        if unknown:
            raise KeyError(f"unknown fake Twilio config keys: {sorted(unknown)}")
        for key, value in values.items():
            setattr(self, key, _coerce(key, value))

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def config_from_env(environ: Mapping[str, str] | None = None) -> dict[str, Any]:
    """Pick the FAKE_TWILIO_* variables that are set and non-empty."""
    environ = os.environ if environ is None else environ
    return {key: environ[var] for var, key in ENV_VARS.items() if environ.get(var)}


def _coerce(key: str, value: Any) -> Any:
    if key in ("CALLBACK_DELAY_SECONDS", "WEBHOOK_TIMEOUT_SECONDS", "RESPONSE_DELAY_SECONDS"):
        number = float(value)
        if number < 0:
            raise ValueError(f"{key} must not be negative")
        return number
    if key == "SEND_CALLBACKS":
        if isinstance(value, str):
            return value.strip().lower() in ("1", "true", "yes", "on")
        return bool(value)
    if key == "SMS_WEBHOOK_URL":
        return value or None
    if key == "TIMEZONE":
        try:
            ZoneInfo(str(value))
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"TIMEZONE must be an IANA time zone such as Asia/Shanghai, not {value!r}") from None
        return str(value)
    if key == "ACCOUNT_SID":
        value = str(value)
        if len(value) != 34 or not value.startswith("AC"):
            raise ValueError("ACCOUNT_SID must be 'AC' followed by 32 hex digits")
        int(value[2:], 16)
        return value
    return str(value)
