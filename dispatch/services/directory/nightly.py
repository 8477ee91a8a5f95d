"""The nightly directory sync: every LDAP account checked against the directory as it is now (disabled or
gone: switched off; groups changed: role and ward follow), once a day at DIRECTORY_SYNC_HOUR hospital time,
run by the scheduler; `flask directory-sync` runs it at once. OpenID Connect accounts are checked at each
sign-in only: a provider offers no standard way to list its people."""
from __future__ import annotations

import logging
from datetime import datetime

from flask import current_app
from sqlalchemy import select

from dispatch.services import heartbeats
from dispatch.services.directory import accounts, ldap, ldap_configured
from dispatch.services.timezone import hospital_zone
from models import Heartbeat, db

log = logging.getLogger(__name__)
MARKER = "directory-sync"  # a heartbeat row whose detail is the last hospital day synced


def sync_now() -> accounts.SyncResult:
    """Raises DirectoryUnavailableError (nothing changed) when the directory cannot be read."""
    result = accounts.sync("ldap", ldap.everyone())
    log.info("directory sync: %d checked, %d switched off, %d switched on, %d role changes", result.checked,
             len(result.switched_off), len(result.switched_on), len(result.role_changes))
    return result


def day_due(now: datetime) -> str | None:
    """The hospital day whose sync may be due at `now` (from DIRECTORY_SYNC_HOUR on), or None."""
    if not ldap_configured(current_app.config):
        return None
    local = now.astimezone(hospital_zone())
    if local.hour < current_app.config["DIRECTORY_SYNC_HOUR"]:
        return None
    return local.date().isoformat()


def sync_if_due(now: datetime) -> bool:
    """Once a day from DIRECTORY_SYNC_HOUR on; a failed day is tried again at the scheduler's next try (the
    caller spaces tries out). Two schedulers may both run it on the same night: it changes nothing twice."""
    today = day_due(now)
    if today is None:
        return False
    marker = db.session.scalar(select(Heartbeat).where(Heartbeat.name == MARKER))
    if marker is not None and marker.detail == today:
        return False
    sync_now()
    heartbeats.beat(MARKER, today)
    return True
