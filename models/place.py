"""Where faults happen: sites, buildings, wards, locations inside wards, and assets."""
from __future__ import annotations

import secrets

from sqlalchemy import ForeignKey, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from models.names import Bilingual
from models.base import db

# Criticality drives priority: faults in these places threaten patients at once.
WARD_CRITICALITIES = ("icu", "theatre", "ed", "isolation", "general")
CRITICAL_WARDS = frozenset({"icu", "theatre", "ed", "isolation"})
# How a ward's own name already says what kind of place it is ("Intensive Care Unit", "ICU", "Theatres"),
# so pages do not add the kind again after the name.
CRITICALITY_WORDS = {"icu": ("icu", "intensive care", "重症"), "theatre": ("theatre", "operating", "手术"),
                     "ed": ("emergency", "a&e", "急诊"), "isolation": ("isolation", "隔离")}


class Site(Bilingual, db.Model):
    __tablename__ = "site"
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(120), unique=True)
    name_zh: Mapped[str | None] = mapped_column(String(120))
    buildings: Mapped[list[Building]] = relationship(back_populates="site", order_by="Building.name")


class Building(Bilingual, db.Model):
    __tablename__ = "building"
    __table_args__ = (UniqueConstraint("site_id", "name"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    site_id: Mapped[int] = mapped_column(ForeignKey("site.id"), index=True)
    name: Mapped[str] = mapped_column(String(120))
    name_zh: Mapped[str | None] = mapped_column(String(120))
    site: Mapped[Site] = relationship(back_populates="buildings")
    wards: Mapped[list[Ward]] = relationship(back_populates="building", order_by="Ward.name")


class Ward(Bilingual, db.Model):
    __tablename__ = "ward"
    id: Mapped[int] = mapped_column(primary_key=True)
    building_id: Mapped[int] = mapped_column(ForeignKey("building.id"), index=True)
    name: Mapped[str] = mapped_column(String(120), unique=True)
    name_zh: Mapped[str | None] = mapped_column(String(120))
    floor: Mapped[str | None] = mapped_column(String(20))
    criticality: Mapped[str] = mapped_column(String(20), default="general")
    phone_extension: Mapped[str | None] = mapped_column(String(20))
    # A printed QR label carries this number, signed: raising it revokes every label printed before.
    label_version: Mapped[int] = mapped_column(Integer, default=1, server_default="1")
    building: Mapped[Building] = relationship(back_populates="wards")
    locations: Mapped[list[Location]] = relationship(back_populates="ward", order_by="Location.name")

    @property
    def is_critical(self) -> bool:
        return self.criticality in CRITICAL_WARDS

    @property
    def kind_to_show(self) -> str | None:
        """The criticality to name after the ward, or None: a general ward, or one whose name says it already."""
        if not self.is_critical:
            return None
        name = f"{self.name} {self.name_zh or ''}".lower()
        return None if any(word in name for word in CRITICALITY_WORDS.get(self.criticality, ())) else self.criticality


class Location(Bilingual, db.Model):
    """A room, bay or bed space inside a ward."""

    __tablename__ = "location"
    __table_args__ = (UniqueConstraint("ward_id", "name"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    ward_id: Mapped[int] = mapped_column(ForeignKey("ward.id"), index=True)
    name: Mapped[str] = mapped_column(String(120))
    name_zh: Mapped[str | None] = mapped_column(String(120))
    # A printed QR label carries this number, signed: raising it revokes every label printed before.
    label_version: Mapped[int] = mapped_column(Integer, default=1, server_default="1")
    ward: Mapped[Ward] = relationship(back_populates="locations")


def _qr_code() -> str:
    return secrets.token_urlsafe(9)


class Asset(Bilingual, db.Model):
    """A maintained thing with a QR label: a ventilator outlet panel, a lift car, an AC unit."""

    __tablename__ = "asset"
    id: Mapped[int] = mapped_column(primary_key=True)
    tag: Mapped[str] = mapped_column(String(40), unique=True)
    name: Mapped[str] = mapped_column(String(160))
    name_zh: Mapped[str | None] = mapped_column(String(160))
    ward_id: Mapped[int] = mapped_column(ForeignKey("ward.id"), index=True)
    location_id: Mapped[int | None] = mapped_column(ForeignKey("location.id"))
    trade_id: Mapped[int | None] = mapped_column(ForeignKey("trade.id"))
    # The label carries this code, not the id, so labels cannot be enumerated.
    qr_code: Mapped[str] = mapped_column(String(32), unique=True, default=_qr_code)
    # A printed QR label carries this number, signed: raising it revokes every label printed before.
    label_version: Mapped[int] = mapped_column(Integer, default=1, server_default="1")
    ward: Mapped[Ward] = relationship()
    location: Mapped[Location | None] = relationship()
    trade: Mapped["Trade | None"] = relationship()  # noqa: F821
