"""Parts and their stores: what is on the shelves, every movement in and out, and the parts each ticket used.

Stock is counted per part per store (StockLevel), not on the part: a hospital keeps the same fuse or tap
washer in more than one store (the main estates store, a workshop in another building), and a technician
takes it from the one at hand. The quantity can never go below zero (a CHECK as the last word; the
service's conditional UPDATE is the first), and every change of a quantity is a StockMovement with who,
why and when.
"""
from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import Boolean, CheckConstraint, Date, ForeignKey, Index, Integer, Numeric, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from models.names import Bilingual
from models.base import UTCDateTime, db

MOVEMENT_KINDS = ("receipt", "issue", "adjustment", "return")
# Money: two decimal places in the hospital's currency (config CURRENCY), exact on both databases
# as long as sums are taken in whole cents (dispatch.services.costs.money_sum).
Money = Numeric(12, 2)


class Store(db.Model):
    __tablename__ = "store"
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(120), unique=True)
    building_id: Mapped[int | None] = mapped_column(ForeignKey("building.id"))
    building: Mapped["Building | None"] = relationship()  # noqa: F821


class Part(Bilingual, db.Model):
    __tablename__ = "part"
    __table_args__ = (
        CheckConstraint("unit_cost >= 0", name="unit_cost_not_negative"),
        CheckConstraint("reorder_level >= 0", name="reorder_level_not_negative"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    # What is written on the bin label and typed in an SMS (P-100); kept upper case.
    code: Mapped[str] = mapped_column(String(30), unique=True)
    name: Mapped[str] = mapped_column(String(160))
    name_zh: Mapped[str | None] = mapped_column(String(160))
    unit: Mapped[str] = mapped_column(String(20), default="each")
    # The current price; each issue keeps the price of its day (TicketPart.unit_cost).
    unit_cost: Mapped[Decimal] = mapped_column(Money)
    reorder_level: Mapped[int] = mapped_column(Integer, default=0)
    trade_id: Mapped[int | None] = mapped_column(ForeignKey("trade.id"))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    trade: Mapped["Trade | None"] = relationship()  # noqa: F821
    levels: Mapped[list[StockLevel]] = relationship(back_populates="part", order_by="StockLevel.store_id")

    @property
    def on_hand(self) -> int:
        return sum(level.quantity for level in self.levels)


class StockLevel(db.Model):
    __tablename__ = "stock_level"
    __table_args__ = (
        UniqueConstraint("part_id", "store_id"),
        CheckConstraint("quantity >= 0", name="quantity_not_negative"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    part_id: Mapped[int] = mapped_column(ForeignKey("part.id"))
    store_id: Mapped[int] = mapped_column(ForeignKey("store.id"), index=True)
    quantity: Mapped[int] = mapped_column(Integer, default=0)
    part: Mapped[Part] = relationship(back_populates="levels")
    store: Mapped[Store] = relationship()


class StockMovement(db.Model):
    """One change of one stock level. Never updated, never deleted: the store's ledger."""

    __tablename__ = "stock_movement"
    __table_args__ = (
        CheckConstraint("kind IN ('receipt', 'issue', 'adjustment', 'return')", name="kind_known"),
        Index("ix_stock_movement_part_at", "part_id", "at"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    part_id: Mapped[int] = mapped_column(ForeignKey("part.id"))
    store_id: Mapped[int] = mapped_column(ForeignKey("store.id"))
    kind: Mapped[str] = mapped_column(String(12))
    quantity: Mapped[int] = mapped_column(Integer)  # + into the store, - out of it
    balance_after: Mapped[int] = mapped_column(Integer)
    unit_cost: Mapped[Decimal] = mapped_column(Money)
    ticket_id: Mapped[int | None] = mapped_column(ForeignKey("ticket.id"), index=True)
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    reason: Mapped[str | None] = mapped_column(Text)
    at: Mapped[datetime] = mapped_column(UTCDateTime)
    part: Mapped[Part] = relationship()
    store: Mapped[Store] = relationship()
    actor: Mapped["User | None"] = relationship()  # noqa: F821


class TicketPart(db.Model):
    """Parts issued to a ticket, at the unit cost of the day they were issued."""

    __tablename__ = "ticket_part"
    __table_args__ = (
        CheckConstraint("quantity > 0", name="quantity_positive"),
        CheckConstraint("returned >= 0 AND returned <= quantity", name="returned_range"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    ticket_id: Mapped[int] = mapped_column(ForeignKey("ticket.id"), index=True)
    part_id: Mapped[int] = mapped_column(ForeignKey("part.id"), index=True)
    store_id: Mapped[int] = mapped_column(ForeignKey("store.id"))
    quantity: Mapped[int] = mapped_column(Integer)
    returned: Mapped[int] = mapped_column(Integer, default=0)
    unit_cost: Mapped[Decimal] = mapped_column(Money)
    issued_at: Mapped[datetime] = mapped_column(UTCDateTime)
    issued_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    part: Mapped[Part] = relationship()
    store: Mapped[Store] = relationship()
    issued_by: Mapped["User | None"] = relationship()  # noqa: F821

    @property
    def used(self) -> int:
        return self.quantity - self.returned

    @property
    def cost(self) -> Decimal:
        return self.unit_cost * self.used


class LabourRate(db.Model):
    """What an hour of a trade's work costs, in normal hours and out of hours (config NORMAL_HOURS)."""

    __tablename__ = "labour_rate"
    __table_args__ = (
        CheckConstraint("normal_rate >= 0 AND out_of_hours_rate >= 0", name="rates_not_negative"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    trade_id: Mapped[int] = mapped_column(ForeignKey("trade.id"), unique=True)
    normal_rate: Mapped[Decimal] = mapped_column(Money)
    out_of_hours_rate: Mapped[Decimal] = mapped_column(Money)
    updated_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    updated_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    trade: Mapped["Trade"] = relationship()  # noqa: F821


class TradeBudget(db.Model):
    """A trade's budget for one month (month = the first day of that month, hospital calendar)."""

    __tablename__ = "trade_budget"
    __table_args__ = (
        UniqueConstraint("trade_id", "month"),
        CheckConstraint("amount >= 0", name="amount_not_negative"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    trade_id: Mapped[int] = mapped_column(ForeignKey("trade.id"))
    month: Mapped[date] = mapped_column(Date)
    amount: Mapped[Decimal] = mapped_column(Money)
    updated_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    updated_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    trade: Mapped["Trade"] = relationship()  # noqa: F821
