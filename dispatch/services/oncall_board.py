"""What the on-call pages read: who is on call now and who takes over next, the weekly pattern as
a table, upcoming changes and coverage gaps. Read only; the rules stay in services.rota."""
from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import select

from dispatch.errors import DispatchError
from dispatch.services import licences, rota
from dispatch.services.rota import ROLE_ORDER, TECHNICIAN_ROLES
from models import ROTA_ROLES, OnCallShift, ShiftOverride, Trade, User, db

LOOK_AHEAD = timedelta(days=7)
HOSPITAL_WIDE_ROLES = ("supervisor", "duty_manager")


@dataclass
class OnCallPerson:
    """One person in one on-call role; `problem` says why they cannot take jobs (licence, inactive)."""

    user: User
    role: str
    source: str
    ends_at: datetime
    problem: str | None = None


@dataclass
class Post:
    """A trade (or the hospital-wide roles, trade None): who is on now, and the next change."""

    trade: Trade | None
    now: list[OnCallPerson] = field(default_factory=list)
    next_at: datetime | None = None
    next: list[OnCallPerson] = field(default_factory=list)


def _covering(duties: list[rota.Duty], at: datetime) -> list[rota.Duty]:
    return [d for d in duties if d.starts_at <= at < d.ends_at]


def _key(duties: list[rota.Duty]) -> frozenset:
    return frozenset((d.role, d.user_id) for d in duties)


def _stretch_end(duty: rota.Duty, duties: list[rota.Duty]) -> datetime:
    """When this person stops being on call in this role: a night shift followed by the same
    person's day shift is one stretch, not a change at 08:00."""
    ends = duty.ends_at
    while True:
        following = [d.ends_at for d in duties if d.user_id == duty.user_id and d.role == duty.role
                     and d.starts_at <= ends < d.ends_at]
        if not following:
            return ends
        ends = max(following)


def _people(covering: list[rota.Duty], trade: Trade | None, at: datetime, duties: list[rota.Duty]) -> list[OnCallPerson]:
    people, seen = [], set()
    for duty in sorted(covering, key=lambda d: (ROLE_ORDER.get(d.role, 9), d.starts_at)):
        if (duty.role, duty.user_id) in seen:
            continue
        seen.add((duty.role, duty.user_id))
        user = db.session.get(User, duty.user_id)
        if user is None:
            continue
        ends = _stretch_end(duty, duties)
        problem = None
        if not user.active:
            problem = "inactive"
        elif duty.role in TECHNICIAN_ROLES and trade is not None:
            try:
                licences.ensure_licensed(user, trade, at)
            except DispatchError as error:
                problem = error.message
        people.append(OnCallPerson(user, duty.role, duty.source, ends, problem))
    return people


def _post(trade: Trade | None, duties: list[rota.Duty], now: datetime) -> Post:
    """Now and the first moment within the window when the set of people changes."""
    current = _covering(duties, now)
    post = Post(trade, now=_people(current, trade, now, duties))
    moments = sorted({t for d in duties for t in (d.starts_at, d.ends_at) if now < t < now + LOOK_AHEAD})
    for moment in moments:
        then = _covering(duties, moment)
        if _key(then) != _key(current):
            post.next_at, post.next = moment, _people(then, trade, moment, duties)
            break
    return post


def who_is_on_call(now: datetime) -> tuple[list[Post], Post]:
    """Per trade (in the hospital's order), and the hospital-wide supervisor and duty manager."""
    duties = rota.duties_between(now, now + LOOK_AHEAD)
    trades = db.session.scalars(select(Trade).order_by(Trade.sort_order, Trade.display_name)).all()
    posts = [_post(t, [d for d in duties if d.trade_id == t.id], now) for t in trades]
    # A trade with no rota at all ("other", usually) stays off the page unless someone covers it.
    with_rota = set(db.session.scalars(select(OnCallShift.trade_id).distinct()))
    posts = [p for p in posts if p.now or p.next or p.trade.id in with_rota]
    hospital = _post(None, [d for d in duties if d.trade_id is None and d.role in HOSPITAL_WIDE_ROLES], now)
    return posts, hospital


@dataclass
class PatternTable:
    """One trade's weekly pattern: shifts[weekday][role] in start order."""

    trade: Trade | None
    shifts: dict[int, dict[str, list[OnCallShift]]]
    roles: tuple[str, ...]
    count: int = 0


def weekly_pattern() -> list[PatternTable]:
    shifts = db.session.scalars(select(OnCallShift).order_by(OnCallShift.weekday, OnCallShift.starts)).all()
    trades = db.session.scalars(select(Trade).order_by(Trade.sort_order, Trade.display_name)).all()
    tables = []
    for trade in [*trades, None]:
        mine = [s for s in shifts if s.trade_id == (trade.id if trade else None)]
        grid: dict[int, dict[str, list[OnCallShift]]] = {day: defaultdict(list) for day in range(7)}
        for shift in mine:
            grid[shift.weekday][shift.role].append(shift)
        used = {s.role for s in mine}
        roles = tuple(r for r in ROTA_ROLES if r in used or (trade is not None and r in TECHNICIAN_ROLES))
        tables.append(PatternTable(trade, grid, roles, len(mine)))
    return tables


def upcoming_overrides(now: datetime, days: int = 90) -> list[ShiftOverride]:
    """Changes still running or still to come, soonest first."""
    return rota.overrides_between(now, now + timedelta(days=days))


def gaps_by_trade(now: datetime, days: int = 14) -> list[tuple[Trade, list[rota.Gap]]]:
    grouped: dict[int, tuple[Trade, list[rota.Gap]]] = {}
    for gap in rota.coverage_gaps(now, days=days):
        grouped.setdefault(gap.trade.id, (gap.trade, []))[1].append(gap)
    return list(grouped.values())


def rota_people() -> list[User]:
    """Who may appear on a rota line: active technicians, supervisors, managers and admins."""
    return list(db.session.scalars(select(User).where(
        User.active.is_(True), User.role.in_(("technician", "supervisor", "manager", "admin")))
        .order_by(User.role != "technician", User.full_name)))
