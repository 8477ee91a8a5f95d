"""The stores: parts issued to tickets, returned, received and counted, each move on the ledger with who and why.

Stock never goes below zero. An issue is one conditional UPDATE (`quantity = quantity - n WHERE quantity >= n`):
on PostgreSQL two technicians taking the last fuse at once queue on the row lock and the second finds the
condition false; on SQLite writers are already serialised by BEGIN IMMEDIATE. The loser is told how many
are left, and nothing is written for them. A count that disagrees with the shelf is put right by an
adjustment, which needs a reason.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal, InvalidOperation

from flask_babel import gettext as _
from sqlalchemy import func, or_, select, update
from sqlalchemy.orm import Session, selectinload

from dispatch.clock import now as clock_now
from dispatch.errors import NotFoundError, PermissionDeniedError, ValidationError
from dispatch.services import access
from dispatch.services.unit_of_work import write_transaction
from models import Building, Part, StockLevel, StockMovement, Store, Ticket, TicketEvent, TicketPart, Trade, User, db
from models.names import both_names

# Storekeepers: the supervisors who run the estates store, and the admin. Managers read the stock and
# the reorder list (they approve the orders) but do not move stock.
STOREKEEPERS = ("supervisor", "admin")
STOCK_READERS = ("dispatcher", "supervisor", "manager", "admin")
MAX_QUANTITY = 100_000
MAX_UNIT_COST = Decimal("1000000")
MAX_REASON = 500


def clean_quantity(value, field: str = "quantity", allow_zero: bool = False) -> int:
    """A whole number of units, 1 to 100,000 (0 too for a count)."""
    try:
        number = int(str(value).strip())
    except (TypeError, ValueError):
        raise ValidationError(_("Quantity must be a whole number."), field=field) from None
    low = 0 if allow_zero else 1
    if number < low or number > MAX_QUANTITY:
        raise ValidationError(_("Quantity must be between %(low)d and %(high)d.", low=low, high=MAX_QUANTITY),
                              field=field)
    return number


def clean_money(value, field: str) -> Decimal:
    """An amount of money: not negative, at most two decimals, under a million per unit."""
    try:
        amount = Decimal(str(value).strip().replace(",", ""))
    except (InvalidOperation, TypeError):
        raise ValidationError(_("Enter an amount such as 12.50."), field=field) from None
    if not amount.is_finite() or amount < 0 or amount >= MAX_UNIT_COST:
        raise ValidationError(_("Enter an amount from 0 to 999,999.99."), field=field)
    if amount != amount.quantize(Decimal("0.01")):
        raise ValidationError(_("At most two decimals."), field=field)
    return amount.quantize(Decimal("0.01"))


def _reason(text: str | None, required: bool) -> str | None:
    reason = (text or "").strip()
    if required and not reason:
        raise ValidationError(_("Say why (a stock count, damaged, found...)."), field="reason")
    if len(reason) > MAX_REASON:
        raise ValidationError(_("At most %(n)d characters.", n=MAX_REASON), field="reason")
    return reason or None


def find_part(session: Session, part: int | str | None) -> Part:
    """A part by id or by its code (any case). Raises ValidationError naming the field `part`."""
    found = None
    if isinstance(part, int):
        found = session.get(Part, part)
    elif part and str(part).strip():
        code = str(part).strip().upper()[:30]
        found = session.scalar(select(Part).where(func.upper(Part.code) == code))
    if found is None or not found.active:
        raise ValidationError(_("No part %(code)s in the stock list.", code=str(part or "").strip()[:30] or "?"),
                              field="part")
    return found


def _store(session: Session, store_id: int | None) -> Store:
    store = session.get(Store, store_id) if store_id else None
    if store is None:
        raise ValidationError(_("Choose a store."), field="store_id")
    return store


def _level(session: Session, part_id: int, store_id: int) -> StockLevel:
    """The stock level row, created at zero if the store has never held the part (locked on PostgreSQL)."""
    level = session.scalars(select(StockLevel).where(StockLevel.part_id == part_id, StockLevel.store_id == store_id)
                            .with_for_update()).one_or_none()
    if level is None:
        level = StockLevel(part_id=part_id, store_id=store_id, quantity=0)
        session.add(level)
        session.flush()
    return level


def _movement(session: Session, part: Part, store_id: int, kind: str, quantity: int, balance: int, actor_id: int | None,
              at: datetime, unit_cost: Decimal, reason: str | None = None, ticket_id: int | None = None) -> StockMovement:
    movement = StockMovement(part_id=part.id, store_id=store_id, kind=kind, quantity=quantity, balance_after=balance,
                             unit_cost=unit_cost, ticket_id=ticket_id, actor_id=actor_id, reason=reason, at=at)
    session.add(movement)
    return movement


def _choose_store(session: Session, part: Part, ticket: Ticket, quantity: int) -> int:
    """The store a part comes from when none is named: one in the ticket's building with enough, else the
    one holding most."""
    building_id = ticket.ward.building_id if ticket.ward else None
    rows = session.execute(
        select(StockLevel.store_id, StockLevel.quantity, Store.building_id)
        .join(Store, Store.id == StockLevel.store_id).where(StockLevel.part_id == part.id)
        .order_by(StockLevel.quantity.desc(), StockLevel.store_id)
    ).all()
    if not rows:
        raise ValidationError(_("%(code)s is not kept in any store.", code=part.code), field="part")
    for store_id, on_hand, building in rows:
        if building == building_id and on_hand >= quantity:
            return store_id
    return rows[0][0]


def issue_to_ticket(session: Session, ticket: Ticket, part_ref: int | str, quantity, actor: User | None, at: datetime,
                    store_id: int | None = None) -> TicketPart:
    """Take parts off the shelf for a ticket the caller has locked, inside the caller's transaction.

    Raises ValidationError ("Only 0 left in Main store.") when the store has fewer than asked; nothing is
    then written, and the caller's transaction is rolled back with it.
    """
    quantity = clean_quantity(quantity)
    part = find_part(session, part_ref)
    if store_id is None:
        store_id = _choose_store(session, part, ticket, quantity)
    store = _store(session, store_id)
    taken = session.execute(
        update(StockLevel)
        .where(StockLevel.part_id == part.id, StockLevel.store_id == store.id, StockLevel.quantity >= quantity)
        .values(quantity=StockLevel.quantity - quantity)
        .returning(StockLevel.quantity)
        .execution_options(synchronize_session=False)
    ).scalar_one_or_none()
    if taken is None:
        left = session.scalar(select(StockLevel.quantity).where(StockLevel.part_id == part.id,
                                                                StockLevel.store_id == store.id)) or 0
        raise ValidationError(_("Only %(left)d %(unit)s of %(code)s left in %(store)s.", left=left, unit=part.unit,
                                code=part.code, store=store.name), field="quantity")
    actor_id = actor.id if actor is not None else None
    line = TicketPart(ticket_id=ticket.id, part=part, store=store, quantity=quantity, returned=0,
                      unit_cost=part.unit_cost, issued_at=at, issued_by_id=actor_id)
    session.add(line)
    # The ledger line links the ticket; its reason stays empty (the ticket is the reason).
    _movement(session, part, store.id, "issue", -quantity, taken, actor_id, at, part.unit_cost, ticket_id=ticket.id)
    ticket.parts_cost = (ticket.parts_cost or Decimal("0.00")) + part.unit_cost * quantity
    return line


@dataclass(frozen=True)
class PartLine:
    """One line of a finish form or an SMS: a part (code or id), how many, and optionally from which store."""

    part: int | str
    quantity: int | str
    store_id: int | None = None


# Who may put parts on a ticket: whoever may work it (the assigned technician, the control room).
ISSUE_STATUSES = ("attended", "on_hold", "made_safe", "resolved", "closed")


def issue_parts(ticket_id: int, lines: list[PartLine], actor: User) -> list[TicketPart]:
    """Parts used on a ticket after the fact (from the ticket page), all lines or none. Who may comes first:
    someone who may not is told only that, whatever the form held."""
    at = clock_now()
    with write_transaction() as session:
        actor = session.get(User, actor.id)
        ticket = session.scalars(select(Ticket).where(Ticket.id == ticket_id).with_for_update()).one_or_none()
        if ticket is None or not access.can_view(actor, ticket):
            raise NotFoundError(_("Ticket %(number)s not found.", number=ticket_id))
        if not access.may_work(actor, ticket):
            raise PermissionDeniedError(_("Only the technician on the job or the control room can record parts."))
        if not lines:
            raise ValidationError(_("Choose a part."), field="part")
        if not may_record_parts(actor, ticket):
            raise ValidationError(_("Parts can be recorded once the technician is on site."), field="part")
        issued = [issue_to_ticket(session, ticket, line.part, line.quantity, actor, at, line.store_id)
                  for line in lines]
        ticket.updated_at = at
        _parts_event(session, ticket, issued, actor, at, "web")
    return issued


def may_record_parts(user: User, ticket: Ticket) -> bool:
    return access.may_work(user, ticket) and ticket.status in ISSUE_STATUSES


def _parts_event(session: Session, ticket: Ticket, issued: list[TicketPart], actor: User | None, at: datetime,
                 channel: str) -> None:

    words = ", ".join(f"{line.part.code} × {line.quantity}" for line in issued)
    session.add(TicketEvent(ticket=ticket, kind="parts", actor_id=actor.id if actor else None, at=at, channel=channel,
                            note=words, data={"parts": [[line.part_id, line.quantity, str(line.unit_cost)]
                                                        for line in issued]}))


def return_part(ticket_part_id: int, quantity, actor: User, reason: str | None = None, *,
                ticket_id: int | None = None) -> TicketPart:
    """Unused parts back on the shelf of the store they came from, credited at the price they were issued at.
    `ticket_id` is the ticket the page was about: a line of another ticket is not found there."""
    at = clock_now()
    with write_transaction() as session:
        actor = session.get(User, actor.id)
        line = session.get(TicketPart, ticket_part_id)
        ticket = session.scalars(select(Ticket).where(Ticket.id == (line.ticket_id if line else -1))
                                 .with_for_update()).one_or_none()
        if line is None or ticket is None or not access.can_view(actor, ticket) or \
                (ticket_id is not None and ticket.id != ticket_id):
            raise NotFoundError(_("No such part line."))
        if not (access.may_work(actor, ticket) or actor.role in STOREKEEPERS):
            raise PermissionDeniedError(_("Only the technician, the control room or the store can return parts."))
        quantity = clean_quantity(quantity)
        session.refresh(line, with_for_update=True)
        if quantity > line.used:
            raise ValidationError(_("Only %(n)d were used on this ticket.", n=line.used), field="quantity")
        level = _level(session, line.part_id, line.store_id)
        level.quantity += quantity
        line.returned += quantity
        ticket.parts_cost = (ticket.parts_cost or Decimal("0.00")) - line.unit_cost * quantity
        ticket.updated_at = at
        _movement(session, line.part, line.store_id, "return", quantity, level.quantity, actor.id, at, line.unit_cost,
                  reason=_reason(reason, False), ticket_id=ticket.id)
    return line


def receive(part_id: int, store_id: int | None, quantity, actor: User, *, unit_cost=None,
            reason: str | None = None) -> StockMovement:
    """A delivery into a store. A new unit cost given with it becomes the part's price from now on."""
    quantity = clean_quantity(quantity)
    price = clean_money(unit_cost, "unit_cost") if unit_cost not in (None, "") else None
    at = clock_now()
    with write_transaction() as session:
        actor = session.get(User, actor.id)
        access.require_role(actor, STOREKEEPERS)
        part = find_part(session, part_id)
        store = _store(session, store_id)
        if price is not None:
            part.unit_cost = price
        level = _level(session, part.id, store.id)
        level.quantity += quantity
        movement = _movement(session, part, store.id, "receipt", quantity, level.quantity, actor.id, at,
                             part.unit_cost, reason=_reason(reason, False))
    return movement


def adjust(part_id: int, store_id: int | None, counted, actor: User, reason: str | None) -> StockMovement | None:
    """Set a store's quantity to what was counted on the shelf; the difference is recorded with the reason.
    Returns None when the count agrees (nothing to record)."""
    counted = clean_quantity(counted, field="counted", allow_zero=True)
    reason = _reason(reason, True)
    at = clock_now()
    with write_transaction() as session:
        actor = session.get(User, actor.id)
        access.require_role(actor, STOREKEEPERS)
        part = find_part(session, part_id)
        store = _store(session, store_id)
        level = _level(session, part.id, store.id)
        change = counted - level.quantity
        if change == 0:
            return None
        level.quantity = counted
        movement = _movement(session, part, store.id, "adjustment", change, counted, actor.id, at, part.unit_cost,
                             reason=reason)
    return movement


def save_part(actor: User, *, part_id: int | None, code: str, name: str, unit: str, unit_cost, reorder_level,
              trade_id: int | None, active: bool = True, name_zh: str | None = None) -> Part:
    """Create or change a part in the stock list (quantities change only through movements). Its name in
    English, Chinese or both (models.names.both_names)."""
    code = (code or "").strip().upper()
    name, name_zh = both_names(name, name_zh)
    unit = (unit or "").strip() or "each"
    if not code or len(code) > 30 or any(ch.isspace() for ch in code):
        raise ValidationError(_("A code of 1 to 30 characters without spaces, as on the bin label."), field="code")
    if not name or len(name) > 160 or len(name_zh or "") > 160:
        raise ValidationError(_("Name the part (at most 160 characters)."), field="name")
    if len(unit) > 20:
        raise ValidationError(_("At most %(n)d characters.", n=20), field="unit")
    price = clean_money(unit_cost, "unit_cost")
    level = clean_quantity(reorder_level, field="reorder_level", allow_zero=True)
    with write_transaction() as session:
        actor = session.get(User, actor.id)
        access.require_role(actor, STOREKEEPERS)
        if trade_id and session.get(Trade, trade_id) is None:
            raise ValidationError(_("No such trade."), field="trade_id")
        clash = session.scalar(select(Part.id).where(func.upper(Part.code) == code))
        if clash is not None and clash != part_id:
            raise ValidationError(_("Another part already has the code %(code)s.", code=code), field="code")
        part = session.get(Part, part_id) if part_id else Part()
        if part is None:
            raise NotFoundError(_("No such part."))
        part.code, part.name, part.name_zh, part.unit, part.unit_cost = code, name, name_zh, unit, price
        part.reorder_level, part.trade_id, part.active = level, trade_id or None, bool(active)
        session.add(part)
    return part


def add_store(actor: User, name: str, building_id: int | None) -> Store:

    name = (name or "").strip()
    if not name or len(name) > 120:
        raise ValidationError(_("Name the store (at most 120 characters)."), field="name")
    with write_transaction() as session:
        actor = session.get(User, actor.id)
        access.require_role(actor, STOREKEEPERS)
        if building_id and session.get(Building, building_id) is None:
            raise ValidationError(_("No such building."), field="building_id")
        if session.scalar(select(Store.id).where(Store.name == name)) is not None:
            raise ValidationError(_("There is already a store called %(name)s.", name=name), field="name")
        store = Store(name=name, building_id=building_id or None)
        session.add(store)
    return store


# --- reading --------------------------------------------------------------------------------------

@dataclass
class StockRow:
    part: Part
    on_hand: int
    by_store: list[tuple[str, int]]

    @property
    def below_reorder(self) -> bool:
        return self.on_hand <= self.part.reorder_level

    @property
    def suggested(self) -> int:
        """Order enough to bring stock back to twice the reorder level (at least the reorder level)."""
        return max(2 * self.part.reorder_level - self.on_hand, self.part.reorder_level, 1)

    @property
    def value(self) -> Decimal:
        return self.part.unit_cost * self.on_hand


def stock_list(search: str | None = None, reorder_only: bool = False, include_inactive: bool = False) -> list[StockRow]:
    query = select(Part).options(selectinload(Part.levels).selectinload(StockLevel.store), selectinload(Part.trade))
    if not include_inactive:
        query = query.where(Part.active.is_(True))
    words = (search or "").strip()[:60]
    if words:
        like = f"%{words.upper()}%"
        query = query.where(or_(func.upper(Part.code).like(like), func.upper(Part.name).like(like)))
    rows = []
    for part in db.session.scalars(query.order_by(Part.code)):
        row = StockRow(part, part.on_hand, [(level.store.name, level.quantity) for level in part.levels])
        if not reorder_only or (part.active and row.below_reorder):
            rows.append(row)
    return rows


def stock_row(part: Part) -> StockRow:
    levels = db.session.scalars(select(StockLevel).where(StockLevel.part_id == part.id)
                                .options(selectinload(StockLevel.store)).order_by(StockLevel.store_id)).all()
    return StockRow(part, sum(level.quantity for level in levels), [(level.store.name, level.quantity) for level in levels])


def reorder_list() -> list[StockRow]:
    """Parts at or below their reorder level (a level of 0 means: do not reorder until none are left)."""
    return stock_list(reorder_only=True)


def movements(part_id: int, limit: int = 500) -> list[StockMovement]:
    return list(db.session.scalars(
        select(StockMovement).where(StockMovement.part_id == part_id)
        .options(selectinload(StockMovement.store), selectinload(StockMovement.actor))
        .order_by(StockMovement.at.desc(), StockMovement.id.desc()).limit(limit)))


def ticket_parts(ticket_id: int) -> list[TicketPart]:
    return list(db.session.scalars(
        select(TicketPart).where(TicketPart.ticket_id == ticket_id)
        .options(selectinload(TicketPart.part), selectinload(TicketPart.store))
        .order_by(TicketPart.id)))


def stores() -> list[Store]:
    return list(db.session.scalars(select(Store).order_by(Store.name)))


def active_parts() -> list[Part]:
    return list(db.session.scalars(select(Part).where(Part.active.is_(True)).order_by(Part.code)))
