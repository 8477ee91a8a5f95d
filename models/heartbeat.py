"""When each background process last did its rounds, so the board can show a silent one."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import String
from sqlalchemy.orm import Mapped, mapped_column

from models.base import UTCDateTime, db


class Heartbeat(db.Model):
    __tablename__ = "heartbeat"
    name: Mapped[str] = mapped_column(String(40), primary_key=True)
    beat_at: Mapped[datetime] = mapped_column(UTCDateTime)
    detail: Mapped[str | None] = mapped_column(String(200))
