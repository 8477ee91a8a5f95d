"""The one clock: every 'now' in the rules comes from here, so tests move time instead of sleeping."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

from flask import current_app


class SystemClock:
    def now(self) -> datetime:
        return datetime.now(timezone.utc)


class FrozenClock:
    """A clock that only moves when told to (tests, simulations)."""

    def __init__(self, start: datetime) -> None:
        if start.tzinfo is None:
            raise ValueError("FrozenClock needs an aware datetime")
        self._now = start.astimezone(timezone.utc)

    def now(self) -> datetime:
        return self._now

    def advance(self, **delta: float) -> datetime:
        self._now += timedelta(**delta)
        return self._now

    def set(self, when: datetime) -> None:
        self._now = when.astimezone(timezone.utc)


def now() -> datetime:
    """Current UTC time from the app's clock."""
    return current_app.extensions["dispatch.clock"].now()
