"""Photos on tickets: the re-encoded image and its thumbnail, kept in the database so that every web
server sees them and a backup keeps them. Only the re-encoded bytes are kept, never what was uploaded."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import CheckConstraint, ForeignKey, Integer, LargeBinary, String
from sqlalchemy.orm import Mapped, deferred, mapped_column, relationship

from models.base import UTCDateTime, db

# When in the job the photo was taken: with the report, with a later comment, or the technician's
# before (on arrival) and after (on finishing).
PHOTO_STAGES = ("report", "comment", "before", "after")


class TicketPhoto(db.Model):
    __tablename__ = "ticket_photo"
    __table_args__ = (CheckConstraint("stage IN ('report', 'comment', 'before', 'after')", name="stage_known"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    # What the URL carries: random and unguessable (the access check is made anyway), never the row id.
    public_id: Mapped[str] = mapped_column(String(40), unique=True)
    ticket_id: Mapped[int] = mapped_column(ForeignKey("ticket.id"), index=True)
    # The history line the photo came with (its note is the comment); NULL for a photo filed with the report.
    event_id: Mapped[int | None] = mapped_column(ForeignKey("ticket_event.id"))
    uploaded_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    uploaded_at: Mapped[datetime] = mapped_column(UTCDateTime)
    stage: Mapped[str] = mapped_column(String(10))
    content_type: Mapped[str] = mapped_column(String(20))
    width: Mapped[int] = mapped_column(Integer)
    height: Mapped[int] = mapped_column(Integer)
    byte_size: Mapped[int] = mapped_column(Integer)
    # Deferred: lists of photos (the ticket page, the board's mark) never read the bytes.
    data: Mapped[bytes] = deferred(mapped_column(LargeBinary))
    thumbnail: Mapped[bytes] = deferred(mapped_column(LargeBinary))

    ticket: Mapped["Ticket"] = relationship(back_populates="photos")  # noqa: F821
    event: Mapped["TicketEvent | None"] = relationship()  # noqa: F821
    uploaded_by: Mapped["User | None"] = relationship()  # noqa: F821
