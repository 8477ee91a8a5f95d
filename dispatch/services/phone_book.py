"""Whose number is whose, for the local fake of Twilio's phone page under `make run`.

The fake knows no people (and must not read the app's models): the app tells it, once the fake is up,
over the fake's control API. Only for the fake: a real Twilio account is never sent this."""
from __future__ import annotations

import time

import requests
from sqlalchemy import select

from models import User, db


def staff_numbers() -> dict[str, str]:
    """Every active person with a mobile number: number -> "Full Name (role)". Two people sharing a
    number (a team phone) are both named."""
    names: dict[str, list[str]] = {}
    for user in db.session.scalars(select(User).where(User.active.is_(True), User.phone.is_not(None))
                                   .order_by(User.full_name)):
        names.setdefault(user.phone, []).append(f"{user.full_name} ({user.role})")
    db.session.commit()
    return {number: ", ".join(people) for number, people in names.items()}


def tell_fake_twilio(base_url: str, hospital_timezone: str, *, wait_seconds: float = 0.0,
                     timeout: float = 5.0) -> int:
    """Give the fake the staff's names and the hospital's time zone (its phone page shows times in it).
    Waits up to `wait_seconds` for the fake to start answering. Returns how many numbers were named."""
    base = base_url.rstrip("/")
    deadline = time.monotonic() + wait_seconds
    while True:
        try:
            requests.get(f"{base}/_fake/config", timeout=timeout).raise_for_status()
            break
        except requests.RequestException:
            if time.monotonic() >= deadline:
                raise
            time.sleep(0.5)
    names = staff_numbers()
    requests.post(f"{base}/_fake/config", json={"TIMEZONE": hospital_timezone}, timeout=timeout).raise_for_status()
    requests.post(f"{base}/_fake/names", json={"names": names, "replace": True}, timeout=timeout).raise_for_status()
    return len(names)
