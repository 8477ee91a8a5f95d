"""QR labels on wards, rooms and assets: a short report form that needs no account.

A label carries a signed token naming the place and its label version: it cannot be forged or pointed
at another place, and raising the place's version (dispatch.services.qr_labels.revoke) makes every label
printed before it worthless. A report from a label is filed through the same path as a nurse's
(tickets.report_fault: priority, targets, auto-dispatch, incidents) under the ward's "QR label" account,
an account that cannot log in; the caller's name and extension go with the description, so the
control room and the technician's SMS have them. The person who filed it follows that one ticket
through a signed link (status and times, nothing else)."""
from __future__ import annotations

import re
import secrets
from dataclasses import dataclass

from flask import current_app
from flask_babel import gettext as _
from itsdangerous import BadSignature, URLSafeSerializer
from sqlalchemy import select

from dispatch.clock import now as clock_now
from dispatch.errors import NotFoundError, ValidationError
from dispatch.services import access, photos, tickets
from dispatch.services.unit_of_work import write_transaction
from models import OPEN_STATUSES, Asset, Location, Ticket, User, Ward, db

PLACE_KINDS = ("ward", "location", "asset")
_MODELS = {"ward": Ward, "location": Location, "asset": Asset}
LABEL_SALT = "dispatch-qr-label"
FOLLOW_SALT = "dispatch-qr-follow"
ACCOUNT_PREFIX = "qr-label-"
LABEL_PRINTERS = access.CONTROL_ROOM
LABEL_REVOKERS = ("supervisor", "admin")
MAX_CALLBACK_NAME = 60
EXTENSION = re.compile(r"^[0-9][0-9 -]{1,14}$")
# The description and the callback line together stay within a ticket's description.
MAX_DESCRIPTION = tickets.MAX_DESCRIPTION - 100


@dataclass(frozen=True)
class LabelPlace:
    kind: str
    ward: Ward
    location: Location | None = None
    asset: Asset | None = None

    @property
    def name(self) -> str:
        parts = [self.ward.display_name]
        if self.location is not None:
            parts.append(self.location.display_name)
        if self.asset is not None:
            parts.append(f"{self.asset.display_name} ({self.asset.tag})")
        return " · ".join(parts)


def _serializer() -> URLSafeSerializer:
    return URLSafeSerializer(current_app.config["SECRET_KEY"], salt=LABEL_SALT)


def token_for(kind: str, obj) -> str:
    return _serializer().dumps([PLACE_KINDS.index(kind), obj.id, obj.label_version])


def label_url(kind: str, obj) -> str:
    """What the printed QR code encodes."""
    return f"{current_app.config['PUBLIC_URL'].rstrip('/')}/q/{token_for(kind, obj)}"


def place_for(token: str) -> LabelPlace:
    """The place a label names, or NotFoundError for a forged, mangled or revoked label."""
    try:
        kind_index, object_id, version = _serializer().loads(token[:200])
        kind = PLACE_KINDS[int(kind_index)]
    except (BadSignature, ValueError, TypeError, IndexError):
        raise NotFoundError(_("This label is not valid. Phone the control room.")) from None
    obj = db.session.get(_MODELS[kind], int(object_id))
    if obj is None or obj.label_version != version:
        raise NotFoundError(_("This label has been withdrawn. Phone the control room."))
    if kind == "ward":
        return LabelPlace(kind, ward=obj)
    if kind == "location":
        return LabelPlace(kind, ward=obj.ward, location=obj)
    return LabelPlace(kind, ward=obj.ward, location=obj.location, asset=obj)


def place_key(token: str) -> str:
    """The place a label names, for counting its reports, read without the database: every label of one
    place (whatever its version) counts together; labels that do not verify count together too."""
    try:
        kind_index, object_id, _version = _serializer().loads(token[:200])
        return f"{PLACE_KINDS[int(kind_index)]}:{int(object_id)}"
    except (BadSignature, ValueError, TypeError, IndexError):
        return "invalid"


def places_of(ward: Ward) -> list[tuple[str, object]]:
    """Every label a ward can print: the ward itself, each room, each asset."""
    assets = db.session.scalars(select(Asset).where(Asset.ward_id == ward.id).order_by(Asset.tag)).all()
    return [("ward", ward)] + [("location", loc) for loc in ward.locations] + [("asset", a) for a in assets]


def revoke(kind: str, object_id: int, actor: User) -> int:
    """Withdraw every printed label of this place (print it again for a new one). Returns the new version."""
    access.require_role(actor, LABEL_REVOKERS)
    if kind not in PLACE_KINDS:
        raise NotFoundError(_("Not found."))
    with write_transaction() as session:
        obj = session.get(_MODELS[kind], object_id)
        if obj is None:
            raise NotFoundError(_("Not found."))
        obj.label_version += 1
        version = obj.label_version
    return version


# ---- who files it ---------------------------------------------------------------------------------

def label_account(ward_id: int) -> User:
    """The ward's "QR label" account, made on the first report from one of its labels. It is a nurse of
    that ward for the report's rules, and inactive: nobody can log in with it."""
    username = f"{ACCOUNT_PREFIX}{ward_id}"
    user = db.session.scalar(select(User).where(User.username == username))
    if user is not None:
        return user
    with write_transaction() as session:
        ward = session.get(Ward, ward_id)
        user = User(username=username, full_name=f"QR label · {ward.name}"[:120], role="nurse", ward_id=ward.id,
                    active=False)
        user.set_password(secrets.token_urlsafe(32))
        session.add(user)
    return user


def reporter_for(place: LabelPlace, signed_in: User | None) -> User:
    """A ward PC left signed in (the ward's shared kiosk account) files as itself; anyone else as the label."""
    if signed_in is not None and getattr(signed_in, "is_authenticated", False) and \
            access.may_report_for(signed_in, place.ward.id) and signed_in.role != "integration":
        return signed_in
    return label_account(place.ward.id)


# ---- filing -------------------------------------------------------------------------------------

def check(description: str | None, callback_name: str | None, callback_extension: str | None) -> None:
    """The form's answers, checked before anything is written (the ward's label account is made on first use)."""
    _checked(description, callback_name, callback_extension)


def _checked(description: str | None, callback_name: str | None, callback_extension: str | None) -> tuple[str, str]:
    text = " ".join((description or "").split())
    if len(text) < 3:
        raise ValidationError(_("Say in a few words what is wrong."), field="description")
    if len(text) > MAX_DESCRIPTION:
        raise ValidationError(_("At most %(n)d characters.", n=MAX_DESCRIPTION), field="description")
    name = " ".join((callback_name or "").split())
    if not name:
        raise ValidationError(_("Your name, so that we can call you back."), field="callback_name")
    if len(name) > MAX_CALLBACK_NAME:
        raise ValidationError(_("At most %(n)d characters.", n=MAX_CALLBACK_NAME), field="callback_name")
    extension = (callback_extension or "").strip()
    if not EXTENSION.match(extension):
        raise ValidationError(_("The phone extension to call you back on (digits)."), field="callback_extension")
    return text, _("%(text)s (call back: %(name)s, ext %(ext)s)", text=text, name=name, ext=extension)


def suspected_duplicate(place: LabelPlace, trade_id: int) -> Ticket | None:
    """The newest open ticket of this trade for the same place: the same asset, else the same room, else
    the same ward (a ward's own label)."""
    query = select(Ticket).where(Ticket.status.in_(OPEN_STATUSES), Ticket.trade_id == trade_id,
                                 Ticket.ward_id == place.ward.id)
    if place.asset is not None:
        query = query.where(Ticket.asset_id == place.asset.id)
    elif place.location is not None:
        query = query.where(Ticket.location_id == place.location.id)
    return db.session.scalar(query.order_by(Ticket.created_at.desc(), Ticket.id.desc()).limit(1))


def file_report(place: LabelPlace, reporter: User, *, trade_id: int, description: str, callback_name: str,
                callback_extension: str, images: list[photos.Processed], at) -> Ticket:
    """A new ticket from a label, through the nurse's report path."""
    _text, full = _checked(description, callback_name, callback_extension)
    taken = [photos.new_photo(p, stage="report", uploaded_by_id=reporter.id, at=at) for p in images]
    return tickets.report_fault(
        reporter, ward_id=place.ward.id, trade_id=trade_id, description=full,
        location_id=place.location.id if place.location else None,
        asset_id=place.asset.id if place.asset else None,
        whole_area=place.asset is None, channel="qr", photos=taken)


def add_to(place: LabelPlace, reporter: User, ticket_id: int, *, trade_id: int, description: str, callback_name: str,
           callback_extension: str, images: list[photos.Processed]) -> Ticket:
    """"Already reported: add to it". Only the ticket this label would have offered may be added to."""
    _text, full = _checked(description, callback_name, callback_extension)
    offered = suspected_duplicate(place, trade_id)
    if offered is None or offered.id != ticket_id:
        raise ValidationError(_("That ticket is no longer open for this place; send your report as new."),
                              field="duplicate_of")
    if images:
        photos.add_photos(offered.id, reporter, images, stage="comment", note=full, channel="qr")
    else:
        tickets.add_comment(offered.id, reporter, full, channel="qr")
    return offered


# ---- following one ticket ----------------------------------------------------------------------------

def _follow_serializer() -> URLSafeSerializer:
    return URLSafeSerializer(current_app.config["SECRET_KEY"], salt=FOLLOW_SALT)


def follow_token(ticket_id: int) -> str:
    """Signed, with when it was given (by the service's clock), for that one ticket."""
    return _follow_serializer().dumps([ticket_id, int(clock_now().timestamp())])


def followed(token: str) -> Ticket:
    """The one ticket a follow link names, while the link is not older than QR_FOLLOW_DAYS."""
    invalid = NotFoundError(_("This link has expired or is not valid."))
    try:
        ticket_id, given = _follow_serializer().loads(token[:200])
        ticket_id, given = int(ticket_id), int(given)
    except (BadSignature, ValueError, TypeError):
        raise invalid from None
    if clock_now().timestamp() - given > int(current_app.config["QR_FOLLOW_DAYS"]) * 86400:
        raise invalid
    ticket = db.session.get(Ticket, ticket_id)
    if ticket is None:
        raise invalid
    return ticket
