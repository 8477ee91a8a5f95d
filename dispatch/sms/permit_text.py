"""What the wards' phones show about a permit's isolation and an interruption of supply. Formats what it is
given (the services work out the values, in hospital time); never calls a service or queries."""
from __future__ import annotations

from flask_babel import gettext as _


def isolation_notice(number: int, trade: str, ward: str, starts: str, ends: str, points: str) -> str:
    return _("Estates notice for %(ward)s: %(trade)s will be isolated from %(starts)s to %(ends)s for planned work "
             "(permit %(number)d). Isolation: %(points)s. Please prepare; call the control room with concerns.",
             ward=ward, trade=trade, starts=starts, ends=ends, number=number, points=points)


def restored_notice(number: int, trade: str, ward: str, restored: str) -> str:
    return _("Estates notice for %(ward)s: %(trade)s supply restored, permit %(number)d closed. %(restored)s",
             ward=ward, trade=trade, number=number, restored=restored)


def interruption_notice(utility: str, ward: str, starts: str, ends: str, cause: str) -> str:
    return _("Estates notice for %(ward)s: planned %(utility)s interruption from %(starts)s to %(ends)s. %(cause)s "
             "Please prepare; call the control room with concerns.",
             ward=ward, utility=utility, starts=starts, ends=ends, cause=cause)
