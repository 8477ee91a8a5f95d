"""What the estates managers' phones show about statutory equipment: a certificate running out."""
from __future__ import annotations

from flask_babel import gettext as _

from dispatch.sms import segments
from dispatch.sms.text import MAX_SEGMENTS, for_user

__all__ = ["for_user", "certificate_expiring"]


def certificate_expiring(asset: str, tag: str, number: str, valid_until, days_left: int) -> str:
    """To each estates manager, 60 and 30 days before a statutory asset's certificate expires."""
    text = _("CERTIFICATE: %(asset)s (%(tag)s), certificate %(number)s is valid until %(date)s (%(n)d days). "
             "Request the inspection; without a valid certificate it must not be used.", asset=asset, tag=tag,
             number=number, date=valid_until.isoformat(), n=days_left)
    return segments.fit(text, MAX_SEGMENTS)
