"""Photos on tickets: what was uploaded is decoded and drawn again (Pillow), so that what is kept and
served is a plain JPEG made here: no EXIF or GPS (patients and places must not leak), the camera's
orientation applied, the longest side limited, a thumbnail beside it. Anything that does not decode
as a JPEG, PNG, HEIC or WebP image (an SVG, a PDF renamed .jpg, a truncated file, a decompression
bomb) is refused with a message naming the field. Photos are served only to people who may see the
ticket, under a random id."""
from __future__ import annotations

import io
import logging
import secrets
import warnings
from dataclasses import dataclass
from datetime import datetime

import pillow_heif
from flask import current_app
from flask_babel import gettext as _
from PIL import Image, ImageOps
from sqlalchemy import func, select

from dispatch.clock import now as clock_now
from dispatch.errors import NotFoundError, PermissionDeniedError, ValidationError
from dispatch.services import access
from dispatch.services.unit_of_work import write_transaction
from models import PHOTO_STAGES, Ticket, TicketEvent, TicketPhoto, User, db

log = logging.getLogger(__name__)

# iPhones take HEIC; pillow-heif teaches Pillow to read it (the wheel carries libheif).
pillow_heif.register_heif_opener()

# The only decoders Pillow may try: an upload in any other format (GIF, BMP, TIFF, PSD, EPS, a PDF or an
# SVG whatever it is named) is not even parsed.
ACCEPTED_FORMATS = ("JPEG", "PNG", "WEBP", "HEIF")
STORED_TYPE = "image/jpeg"
MAX_NOTE = 1000


@dataclass(frozen=True)
class Processed:
    """One upload, re-encoded: the image and thumbnail as they will be kept and served."""

    data: bytes
    thumbnail: bytes
    width: int
    height: int
    content_type: str = STORED_TYPE


def _setting(name: str) -> int:
    return int(current_app.config[name])


def _not_an_image(field: str) -> ValidationError:
    return ValidationError(_("That file is not a photo we can read. Send a JPEG, PNG, HEIC or WebP picture."),
                           field=field)


def process(raw: bytes, field: str = "photos") -> Processed:
    """Decode one upload and draw it again as JPEG, or raise ValidationError naming `field`."""
    if not raw:
        raise ValidationError(_("The photo is empty."), field=field)
    limit = _setting("PHOTO_MAX_BYTES")
    if len(raw) > limit:
        raise ValidationError(_("A photo may be at most %(mb)s MB.", mb=f"{limit / 1048576:.0f}"), field=field)
    max_pixels = _setting("PHOTO_MAX_PIXELS")
    try:
        with warnings.catch_warnings():
            # Pillow's own bomb check only warns up to twice its limit; here a warning refuses the file too.
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(raw), formats=ACCEPTED_FORMATS) as image:
                # The header's size, before a single pixel is decoded: a small file may claim a huge picture.
                if image.width * image.height > max_pixels:
                    raise _TooLarge()
                return _redraw(image)
    except _TooLarge:
        raise ValidationError(_("That picture is too large (more than %(n)d megapixels).", n=max_pixels // 1_000_000),
                              field=field) from None
    except Exception as error:  # noqa: BLE001  any decoder failure on a hostile or broken file means "not a photo"
        log.info("photo refused: %s: %s", type(error).__name__, error)
        raise _not_an_image(field) from None


class _TooLarge(Exception):
    pass


def _redraw(image: Image.Image) -> Processed:
    side, thumb_side = _setting("PHOTO_MAX_SIDE"), _setting("PHOTO_THUMB_SIDE")
    if image.format == "JPEG":
        # Decode a phone's 12-megapixel JPEG at a half or a quarter of its size straight away (libjpeg's own
        # scaling): most of the work of a photo otherwise.
        scale = min(1.0, side / max(image.size))
        image.draft("RGB", (max(1, int(image.width * scale)), max(1, int(image.height * scale))))
    image.load()  # decodes now, so a truncated file fails here rather than half-drawn later
    if image.mode not in ("RGB", "RGBA", "L", "LA"):
        image = _without_transparency(image)  # palette, CMYK, 16-bit: to RGB before resampling
    # Smaller first, then turned upright (the orientation tag stays with the image): turning a
    # full-size photo would cost more than everything else.
    image.thumbnail((side, side), Image.Resampling.LANCZOS)
    flat = _without_transparency(ImageOps.exif_transpose(image))
    data = _jpeg(flat)
    small = flat.copy()
    small.thumbnail((thumb_side, thumb_side), Image.Resampling.LANCZOS)
    return Processed(data=data, thumbnail=_jpeg(small), width=flat.width, height=flat.height)


def _without_transparency(image: Image.Image) -> Image.Image:
    """RGB, with any transparent parts shown on white (JPEG has no alpha)."""
    if image.mode in ("RGBA", "LA", "PA") or (image.mode == "P" and "transparency" in image.info):
        rgba = image.convert("RGBA")
        background = Image.new("RGB", rgba.size, "white")
        background.paste(rgba, mask=rgba.getchannel("A"))
        return background
    return image.convert("RGB")


def _jpeg(image: Image.Image) -> bytes:
    out = io.BytesIO()
    # Nothing but pixels: no exif=, no icc_profile=, no comment; Pillow writes none of them unless asked.
    image.save(out, format="JPEG", quality=_setting("PHOTO_JPEG_QUALITY"), optimize=True)
    return out.getvalue()


def process_all(uploads: list[bytes], field: str = "photos") -> list[Processed]:
    """Several uploads from one form (empty file inputs already left out)."""
    most = _setting("PHOTO_MAX_PER_UPLOAD")
    if len(uploads) > most:
        raise ValidationError(_("At most %(n)d photos at a time.", n=most), field=field)
    return [process(raw, field) for raw in uploads]


def new_photo(processed: Processed, *, stage: str, uploaded_by_id: int | None, at: datetime) -> TicketPhoto:
    """The row for one processed photo, not yet on a ticket (the caller adds it in its transaction)."""
    if stage not in PHOTO_STAGES:
        raise ValidationError(_("Unknown kind of photo."), field="stage")
    return TicketPhoto(public_id=secrets.token_urlsafe(24), uploaded_by_id=uploaded_by_id, uploaded_at=at, stage=stage,
                       content_type=processed.content_type, width=processed.width, height=processed.height,
                       byte_size=len(processed.data), data=processed.data, thumbnail=processed.thumbnail)


def add_photos(ticket_id: int, actor: User, processed: list[Processed], *, stage: str, note: str | None = None,
               channel: str = "web") -> TicketEvent:
    """Photos added to a ticket after it was filed: one history line (with the comment, if any) and the photos.

    Anyone who may see the ticket may add a comment's photos; before and after photos are the technician's
    on the job (or the control room's on their behalf)."""
    if not processed:
        raise ValidationError(_("Choose a photo first."), field="photos")
    if stage not in PHOTO_STAGES or stage == "report":
        raise ValidationError(_("Unknown kind of photo."), field="stage")
    text = (note or "").strip() or None
    if text is not None and len(text) > MAX_NOTE:
        raise ValidationError(_("At most %(n)d characters.", n=MAX_NOTE), field="note")
    now = clock_now()
    with write_transaction() as session:
        actor = session.get(User, actor.id)
        ticket = session.get(Ticket, ticket_id)
        if ticket is None or not access.can_view(actor, ticket):
            raise NotFoundError(_("Ticket %(number)s not found.", number=ticket_id))
        if stage in ("before", "after") and not access.may_work(actor, ticket):
            raise PermissionDeniedError(_("Ticket %(number)s is not assigned to you.", number=ticket.number))
        kept = session.scalar(select(func.count()).select_from(TicketPhoto).where(TicketPhoto.ticket_id == ticket.id))
        most = _setting("PHOTO_MAX_PER_TICKET")
        if kept + len(processed) > most:
            raise ValidationError(_("A ticket may have at most %(n)d photos; it has %(kept)d.", n=most, kept=kept),
                                  field="photos")
        event = TicketEvent(ticket=ticket, kind="photos", actor_id=actor.id, at=now, channel=channel, note=text,
                            data={"photos": len(processed), "stage": stage})
        session.add(event)
        for one in processed:
            photo = new_photo(one, stage=stage, uploaded_by_id=actor.id, at=now)
            photo.ticket, photo.event = ticket, event
            session.add(photo)
        ticket.updated_at = now
    return event


def photo_for(user: User, public_id: str) -> TicketPhoto:
    """The photo if this user may see its ticket; otherwise 'not found', as for an id that does not exist."""
    photo = db.session.scalar(select(TicketPhoto).where(TicketPhoto.public_id == public_id[:40]))
    if photo is None or not access.can_view(user, photo.ticket):
        raise NotFoundError(_("Photo not found."))
    return photo


def by_event(ticket: Ticket) -> dict[int | None, list[TicketPhoto]]:
    """A ticket's photos grouped by the history line they came with (the bytes are not read)."""
    grouped: dict[int | None, list[TicketPhoto]] = {}
    for photo in ticket.photos:
        grouped.setdefault(photo.event_id, []).append(photo)
    return grouped


def tickets_with_photos(ticket_ids: list[int]) -> set[int]:
    """Which of these tickets have at least one photo (the board's camera mark)."""
    if not ticket_ids:
        return set()
    return set(db.session.scalars(select(TicketPhoto.ticket_id).where(TicketPhoto.ticket_id.in_(ticket_ids)).distinct()))
