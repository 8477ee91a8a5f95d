"""Each person's on-call shifts as an iCalendar feed (RFC 5545) their phone's calendar subscribes to.
The secret token in the URL is the only key, so it can be replaced when a link leaks."""
from __future__ import annotations

from datetime import datetime, timedelta

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from dispatch.errors import NotFoundError
from dispatch.services import rota
from dispatch.services.unit_of_work import write_transaction
from models import Trade, User, db
from models.rota import calendar_token

PAST = timedelta(days=7)
AHEAD = timedelta(days=60)
ROLE_NAMES = {"primary": _l("primary"), "secondary": _l("secondary"), "supervisor": _l("supervisor"),
              "duty_manager": _l("duty manager")}


def subscribe(user_id: int) -> str:
    """The person's feed token, created on first use."""
    with write_transaction() as session:
        user = session.get(User, user_id)
        if user is None:
            raise NotFoundError(_("No such person."))
        if not user.calendar_token:
            user.calendar_token = calendar_token()
        token = user.calendar_token
    return token


def rotate(user_id: int) -> str:
    """A new secret link; the old one stops working at once."""
    with write_transaction() as session:
        user = session.get(User, user_id)
        if user is None:
            raise NotFoundError(_("No such person."))
        user.calendar_token = calendar_token()
        token = user.calendar_token
    return token


def owner_of(token: str) -> User | None:
    """The active person this token belongs to, or None (the page answers 404 either way)."""
    if not token or len(token) > 40:
        return None
    user = db.session.scalar(select(User).where(User.calendar_token == token))
    return user if user is not None and user.active else None


# ---- iCalendar text ---------------------------------------------------------------------------

def escape_text(value: str) -> str:
    """TEXT value escaping (RFC 5545 3.3.11)."""
    return (value.replace("\\", "\\\\").replace(";", "\\;").replace(",", "\\,")
            .replace("\r\n", "\\n").replace("\n", "\\n").replace("\r", "\\n"))


def fold(line: str) -> str:
    """Lines longer than 75 octets continue on the next line after CRLF and a space (RFC 5545 3.1),
    never splitting a UTF-8 character."""
    out, current, size = [], "", 0
    for char in line:
        width = len(char.encode("utf-8"))
        limit = 75 if not out else 74  # a continuation line starts with one space
        if size + width > limit:
            out.append(current)
            current, size = "", 0
        current += char
        size += width
    out.append(current)
    return "\r\n ".join(out)


def _stamp(when: datetime) -> str:
    return when.strftime("%Y%m%dT%H%M%SZ")


def feed(user: User, now: datetime, host: str = "dispatch") -> str:
    """VCALENDAR text, CRLF line endings, one VEVENT per duty from a week ago to 60 days ahead."""
    trades = {t.id: t.display_name for t in db.session.scalars(select(Trade))}
    lines = [
        "BEGIN:VCALENDAR", "VERSION:2.0", "PRODID:-//Dispatch//On call//EN", "CALSCALE:GREGORIAN", "METHOD:PUBLISH",
        f"X-WR-CALNAME:{escape_text(_('On call: %(name)s', name=user.full_name))}",
        "X-PUBLISHED-TTL:PT1H", "REFRESH-INTERVAL;VALUE=DURATION:PT1H",
    ]
    seen: set[str] = set()
    for duty in rota.shifts_of(user.id, now - PAST, now + AHEAD):
        where = trades.get(duty.trade_id) or _("hospital-wide")
        summary = _("On call: %(trade)s (%(role)s)", trade=where, role=str(ROLE_NAMES.get(duty.role, duty.role)))
        description = {"swap": _("Swapped shift"), "cover": _("Covering")}.get(duty.source, _("Weekly rota"))
        uid = f"{user.id}-{duty.trade_id or 0}-{duty.role}-{_stamp(duty.starts_at)}"
        uid = f"{uid}-{len(seen)}" if uid in seen else uid
        seen.add(uid)
        uid = f"{uid}@{host}"
        lines += [
            "BEGIN:VEVENT", f"UID:{uid}", f"DTSTAMP:{_stamp(now)}", f"DTSTART:{_stamp(duty.starts_at)}",
            f"DTEND:{_stamp(duty.ends_at)}", f"SUMMARY:{escape_text(summary)}",
            f"DESCRIPTION:{escape_text(description)}", "TRANSP:OPAQUE", "END:VEVENT",
        ]
    lines.append("END:VCALENDAR")
    return "".join(fold(line) + "\r\n" for line in lines)
