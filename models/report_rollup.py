"""The monthly roll-up the compliance reports read instead of a million tickets (see dispatch/services/report_rollup.py).

Only settled tickets are rolled up: closed (resolved, closed or otherwise out of OPEN_STATUSES, never
cancelled) with all three targets done, so nothing in here depends on the time the report is asked for.
Per hospital-time month of reporting, trade and priority: the counts, and every done time as exact
whole seconds with how many tickets took it (a histogram), plus a coarse count per band of seconds so
a percentile reads only the one band it falls in.
"""
from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import BigInteger, Date, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from models.base import UTCDateTime, db

ROLLUP_TARGETS = ("acknowledge", "attend", "resolve")
ATTEND_BAND_COUNT = 8  # the attend-time bands of the compliance page's chart (reports.ATTEND_BANDS)


class ReportMonth(db.Model):
    """Counts of the settled tickets reported in one month, of one trade and priority."""

    __tablename__ = "report_month"
    month: Mapped[date] = mapped_column(Date, primary_key=True)  # first day, hospital time
    trade_id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    priority: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    tickets: Mapped[int] = mapped_column(BigInteger, default=0)
    acknowledge_met: Mapped[int] = mapped_column(BigInteger, default=0)
    acknowledge_missed: Mapped[int] = mapped_column(BigInteger, default=0)
    acknowledge_done: Mapped[int] = mapped_column(BigInteger, default=0)
    attend_met: Mapped[int] = mapped_column(BigInteger, default=0)
    attend_missed: Mapped[int] = mapped_column(BigInteger, default=0)
    attend_done: Mapped[int] = mapped_column(BigInteger, default=0)
    resolve_met: Mapped[int] = mapped_column(BigInteger, default=0)
    resolve_missed: Mapped[int] = mapped_column(BigInteger, default=0)
    resolve_done: Mapped[int] = mapped_column(BigInteger, default=0)
    attend_band_0: Mapped[int] = mapped_column(BigInteger, default=0)
    attend_band_1: Mapped[int] = mapped_column(BigInteger, default=0)
    attend_band_2: Mapped[int] = mapped_column(BigInteger, default=0)
    attend_band_3: Mapped[int] = mapped_column(BigInteger, default=0)
    attend_band_4: Mapped[int] = mapped_column(BigInteger, default=0)
    attend_band_5: Mapped[int] = mapped_column(BigInteger, default=0)
    attend_band_6: Mapped[int] = mapped_column(BigInteger, default=0)
    attend_band_7: Mapped[int] = mapped_column(BigInteger, default=0)


class ReportMonthBand(db.Model):
    """How many settled tickets' times for a target fall in each band of seconds (see report_rollup.band_of)."""

    __tablename__ = "report_month_band"
    month: Mapped[date] = mapped_column(Date, primary_key=True)
    target: Mapped[str] = mapped_column(String(12), primary_key=True)
    trade_id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    priority: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    band: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    tickets: Mapped[int] = mapped_column(BigInteger, default=0)


class ReportMonthDuration(db.Model):
    """How many settled tickets took exactly `seconds` for a target (the band is part of the key so a
    percentile reads one band's rows from the primary key)."""

    __tablename__ = "report_month_duration"
    month: Mapped[date] = mapped_column(Date, primary_key=True)
    target: Mapped[str] = mapped_column(String(12), primary_key=True)
    band: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    trade_id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    priority: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    seconds: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    tickets: Mapped[int] = mapped_column(BigInteger, default=0)


class ReportRollupState(db.Model):
    """One row once the roll-up holds every settled ticket: written by `flask reports rebuild` (and by the
    migration on a database without tickets). Until then the reports read the tickets themselves."""

    __tablename__ = "report_rollup_state"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    rebuilt_at: Mapped[datetime] = mapped_column(UTCDateTime)
    tickets: Mapped[int] = mapped_column(BigInteger, default=0)  # settled tickets rolled up by the rebuild
