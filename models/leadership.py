"""The monthly report for the hospital's leadership (督办), kept exactly as it was generated."""
from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import JSON, Date, ForeignKey, Integer, LargeBinary, String, UniqueConstraint
from sqlalchemy.orm import Mapped, deferred, mapped_column, relationship

from models.base import UTCDateTime, db


class LeadershipReport(db.Model):
    """One version of one month's report: the figures as a JSON snapshot and the PDF as it was printed.

    A month has version 1 (from the scheduler on the 1st, or whoever generated it first) and a new
    version each time someone generates it again; earlier versions stay, so what leadership was sent
    is never rewritten. The unique (month, version) pair is what lets two schedulers race safely:
    the second insert of version 1 fails and is dropped.

    The PDF lives in the database rather than under instance/: web servers and the scheduler on
    several machines all see it, and a backup of the database is a backup of the reports.
    """

    __tablename__ = "leadership_report"
    __table_args__ = (UniqueConstraint("month", "version", name="uq_leadership_report_month_version"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    month: Mapped[date] = mapped_column(Date, index=True)  # the first day of the month reported on
    version: Mapped[int] = mapped_column(Integer, default=1)
    generated_at: Mapped[datetime] = mapped_column(UTCDateTime)
    generated_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))  # None: the scheduler
    figures: Mapped[dict] = mapped_column(JSON)
    pdf_locale: Mapped[str] = mapped_column(String(10))
    # Deferred: the list of reports never loads the PDFs.
    pdf: Mapped[bytes] = deferred(mapped_column(LargeBinary))
    generated_by: Mapped["User | None"] = relationship()  # noqa: F821
