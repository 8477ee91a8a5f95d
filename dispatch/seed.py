"""A believable demo hospital: wards, staff with licences (some expiring), and months of history."""
from __future__ import annotations

import random
from datetime import date, datetime, time, timedelta

from dispatch.clock import now as clock_now
from dispatch.services import sla
from dispatch.services.timezone import hospital_date
from models import (
    Asset, Building, Licence, LicenceType, Location, OnCallShift, ServiceTarget, Site, Ticket, TicketEvent, Trade, User,
    Ward, db,
)

DEMO_PASSWORD = "demo1234"

TRADES = [  # code, name, base priority, always emergency, licence type codes
    ("power", "Power", 2, False, ["lv-electrician", "hv-electrician"]),
    ("water", "Water", 2, False, ["plumbing", "boiler"]),
    ("gas", "Oxygen / medical gas", 1, True, ["pressure-vessel"]),
    ("lift", "Lift", 2, False, ["lift"]),
    ("hvac", "Air conditioning & ventilation", 3, False, ["refrigeration"]),
    ("other", "Other", 3, False, []),
]
LICENCE_TYPES = [
    ("lv-electrician", "Low-voltage electrician (特种作业操作证 低压电工)"),
    ("hv-electrician", "High-voltage electrician (特种作业操作证 高压电工)"),
    ("plumbing", "Plumbing qualification"),
    ("boiler", "Boiler operator (特种设备 锅炉)"),
    ("pressure-vessel", "Pressure vessel / cylinder filling (特种设备 压力容器)"),
    ("lift", "Lift engineer (特种设备 电梯)"),
    ("refrigeration", "Refrigeration & air conditioning (特种作业操作证 制冷与空调作业)"),
]
BUILDINGS = {
    "A": "Inpatient Tower (A)",
    "B": "Surgical Block (B)",
    "C": "Emergency & Outpatients (C)",
}
WARDS = [  # name, building, floor, criticality, login slug for the ward's nurse
    ("Intensive Care Unit", "A", "3", "icu", "icu"),
    ("Theatres", "B", "2", "theatre", "theatres"),
    ("Emergency Department", "C", "G", "ed", "ed"),
    ("Isolation Ward 5", "A", "5", "isolation", "isolation"),
    ("Ward 3 Medical", "A", "4", "general", "ward3"),
    ("Ward 7 Surgical", "B", "3", "general", "ward7"),
    ("Paediatrics", "A", "6", "general", "paeds"),
    ("Maternity", "B", "4", "general", "maternity"),
    ("Outpatients", "C", "1", "general", "outpatients"),
]
TECHNICIANS = [  # username, name, licence type codes
    ("wang.electric", "Wang Lei", ["lv-electrician", "hv-electrician"]),
    ("li.electric", "Li Na", ["lv-electrician"]),
    ("zhao.electric", "Zhao Gang", ["lv-electrician"]),
    ("chen.electric", "Chen Jie", ["hv-electrician"]),
    ("liu.plumber", "Liu Yang", ["plumbing", "boiler"]),
    ("huang.plumber", "Huang Min", ["plumbing"]),
    ("zhou.plumber", "Zhou Bin", ["plumbing"]),
    ("wu.gas", "Wu Hao", ["pressure-vessel"]),
    ("xu.gas", "Xu Fang", ["pressure-vessel"]),
    ("sun.gas", "Sun Qiang", ["pressure-vessel", "lv-electrician"]),
    ("ma.lift", "Ma Jun", ["lift"]),
    ("zhu.lift", "Zhu Lin", ["lift"]),
    ("hu.lift", "Hu Tao", ["lift"]),
    ("guo.hvac", "Guo Ping", ["refrigeration"]),
    ("he.hvac", "He Yan", ["refrigeration"]),
    ("lin.hvac", "Lin Feng", ["refrigeration", "lv-electrician"]),
]
FAULTS = {
    "power": [("No power to bed-head sockets", True), ("Socket sparking by bed", False), ("Lights out in corridor", True),
              ("UPS alarm sounding", True), ("Single socket dead", False)],
    "water": [("No hot water in sluice", True), ("Dripping tap in bathroom", False), ("Toilet blocked", False),
              ("No water to hand basins", True), ("Leak from ceiling", True)],
    "gas": [("Oxygen low-pressure alarm", True), ("Suction outlet not working", False), ("Medical air alarm", True)],
    "lift": [("Lift out of service", True), ("Lift doors not closing", False), ("Person trapped in lift", True)],
    "hvac": [("Air conditioning not cooling", True), ("Noisy AC unit", False), ("Ventilation alarm", True)],
    "other": [("Door lock broken", False), ("Window will not close", False), ("Nurse call panel fault", False)],
}


def _get_or_create(model, defaults=None, **keys):
    obj = db.session.query(model).filter_by(**keys).one_or_none()
    if obj is None:
        obj = model(**keys, **(defaults or {}))
        db.session.add(obj)
        db.session.flush()
    return obj


def seed_reference_data() -> dict[str, Trade]:
    """Trades, licence types and the brief's default service targets (idempotent)."""
    types = {code: _get_or_create(LicenceType, code=code, defaults={"name": name}) for code, name in LICENCE_TYPES}
    trades = {}
    for order, (code, name, base, always, licence_codes) in enumerate(TRADES):
        trade = _get_or_create(Trade, code=code, defaults={"name": name, "base_priority": base,
                                                           "always_emergency": always, "sort_order": order})
        trade.licence_types = [types[c] for c in licence_codes]
        trades[code] = trade
    for priority, (ack, attend, resolve) in sla.DEFAULT_TARGETS.items():
        _get_or_create(ServiceTarget, trade_id=None, priority=priority,
                       defaults={"acknowledge_minutes": ack, "attend_minutes": attend, "resolve_minutes": resolve})
    db.session.commit()
    return trades


def _user(username: str, name: str, role: str, **fields) -> User:
    user = User(username=username, full_name=name, role=role, active=True, **fields)
    user.set_password(DEMO_PASSWORD)
    db.session.add(user)
    return user


def seed_demo_hospital(days: int = 90, seed: int = 42) -> str:
    rng = random.Random(seed)
    moment = clock_now()
    today = hospital_date(moment)
    trades = seed_reference_data()
    types = {lt.code: lt for lt in db.session.query(LicenceType)}

    site = _get_or_create(Site, name="Main campus")
    buildings = {key: _get_or_create(Building, site_id=site.id, name=name) for key, name in BUILDINGS.items()}
    wards = []
    for name, building, floor, criticality, _slug in WARDS:
        ward = Ward(name=name, building=buildings[building], floor=floor, criticality=criticality)
        db.session.add(ward)
        wards.append(ward)
        for room in ("Bay 1", "Bay 2", "Side room", "Sluice", "Nurses' station"):
            db.session.add(Location(ward=ward, name=room))
    db.session.flush()

    assets = []
    for ward in wards:
        first = ward.locations[0] if ward.locations else None
        for tag_kind, trade_code, label in (("AC", "hvac", "AC unit"), ("DB", "power", "Distribution board"),
                                            ("MG", "gas", "Medical gas outlet panel")):
            asset = Asset(tag=f"{tag_kind}-{ward.id:02d}-{len(assets) + 1:03d}", name=f"{label}, {ward.name}",
                          ward=ward, location=first, trade=trades[trade_code])
            db.session.add(asset)
            assets.append(asset)
    lift_ward = wards[4]
    for n in (1, 2):
        db.session.add(Asset(tag=f"LIFT-A{n}", name=f"Bed lift A{n}", ward=lift_ward, trade=trades["lift"]))

    logins = []
    for ward, (*_, slug) in zip(wards, WARDS):
        _user(f"nurse.{slug}", f"Nurse, {ward.name}", "nurse", ward=ward)
        logins.append((f"nurse.{slug}", f"nurse ({ward.name})"))
    for username, name, role in (("dispatcher", "Zhang Wei (control room)", "dispatcher"),
                                 ("supervisor", "Yang Hong (shift supervisor)", "supervisor"),
                                 ("manager", "Gao Ming (estates manager)", "manager"),
                                 ("admin", "System administrator", "admin")):
        _user(username, name, role, phone={"supervisor": "+8613900001999", "manager": "+8613900001998"}.get(role))
        logins.append((username, role))

    technicians = []
    for index, (username, name, licence_codes) in enumerate(TECHNICIANS):
        tech = _user(username, name, "technician", phone=f"+86139000010{index:02d}")
        technicians.append(tech)
        for n, code in enumerate(licence_codes):
            issued = today - timedelta(days=rng.randint(400, 1500))
            expires = today + timedelta(days=rng.randint(120, 900))
            if username == "zhao.electric":
                expires = today - timedelta(days=6)  # expired last week: not eligible for power jobs
            elif username in ("zhou.plumber", "hu.lift") or (username == "sun.gas" and n == 1):
                expires = today + timedelta(days=rng.randint(5, 28))  # expiring this month
            db.session.add(Licence(technician=tech, licence_type=types[code], number=f"T{rng.randint(10**9, 10**10)}",
                                   issuer="Municipal Emergency Management Bureau", issued_on=issued, expires_on=expires))
    logins.append(("wang.electric", "technician (power)"))
    db.session.commit()

    # Only currently valid licences: the history never shows an unlicensed technician on a job.
    by_trade = {code: [t for t in technicians if any(lic.licence_type in trades[code].licence_types
                                                     and lic.issued_on <= today <= lic.expires_on for lic in t.licences)]
                for code in trades}
    by_trade["other"] = technicians
    _seed_rota(trades, by_trade)
    history = _seed_history(rng, moment, days, wards, trades, by_trade, assets)
    live = _seed_open_tickets(rng, moment, wards, trades, by_trade)
    db.session.commit()
    lines = [f"demo hospital seeded: {len(wards)} wards, {len(technicians)} technicians, "
             f"{history} past tickets, {live} open tickets", f"demo logins (password {DEMO_PASSWORD}):"]
    lines += [f"  {u:<18} {what}" for u, what in logins]
    return "\n".join(lines)


def _new_ticket(rng, created: datetime, ward: Ward, trade: Trade, reporter: User | None) -> Ticket:
    description, whole = rng.choice(FAULTS[trade.code])
    at_risk = "trapped" in description or (ward.is_critical and rng.random() < 0.1)
    priority = sla.propose_priority(trade, ward, at_risk, whole)
    ticket = Ticket(ward=ward, trade=trade, priority=priority, patient_at_risk=at_risk, whole_area=whole,
                    description=description, reporter_id=reporter.id if reporter else None, status="new",
                    created_at=created, updated_at=created, held_seconds=0,
                    location=rng.choice(ward.locations) if ward.locations and rng.random() < 0.7 else None)
    sla.fix_due_times(ticket, sla.targets_for(trade.id, priority))
    db.session.add(ticket)
    db.session.add(TicketEvent(ticket=ticket, at=created, actor_id=ticket.reporter_id, kind="reported",
                               to_status="new", note=description, channel="web", data={"priority": priority}))
    return ticket


def _minutes_around(rng, target: int, late_share: float) -> float:
    """A time that meets its target most of the time and misses it by a realistic margin otherwise."""
    if rng.random() < late_share:
        return target * rng.uniform(1.05, 2.5)
    return target * rng.betavariate(2, 5)


def _seed_history(rng, moment, days, wards, trades, by_trade, assets) -> int:
    nurses = {u.ward_id: u for u in db.session.query(User).filter_by(role="nurse")}
    dispatcher = db.session.query(User).filter_by(username="dispatcher").one()
    weights = {"power": 30, "water": 25, "gas": 6, "lift": 12, "hvac": 20, "other": 7}
    count = 0
    for day in range(days, 0, -1):
        for _ in range(rng.randint(8, 18)):
            created = moment - timedelta(days=day, minutes=rng.randint(0, 24 * 60 - 1))
            trade = trades[rng.choices(list(weights), weights=list(weights.values()))[0]]
            ward = rng.choice(wards)
            ticket = _new_ticket(rng, created, ward, trade, nurses.get(ward.id))
            tech = rng.choice(by_trade[trade.code])
            late = 0.12 if ticket.priority > 1 else 0.06
            assigned = created + timedelta(minutes=ticket.acknowledge_target_minutes * rng.uniform(0.05, 0.4))
            ack = created + timedelta(minutes=_minutes_around(rng, ticket.acknowledge_target_minutes, late))
            ack = max(ack, assigned + timedelta(seconds=30))
            attend = max(ack + timedelta(minutes=2), created + timedelta(minutes=_minutes_around(rng, ticket.attend_target_minutes, late)))
            resolve = max(attend + timedelta(minutes=10), created + timedelta(minutes=_minutes_around(rng, ticket.resolve_target_minutes, late)))
            if resolve > moment:
                # Not finished by now: drop it, or it would sit on the board as "new" for days. The jobs in
                # flight come from _seed_open_tickets.
                for event in list(ticket.events):
                    db.session.expunge(event)
                db.session.expunge(ticket)
                continue
            ticket.assignee_id, ticket.assigned_at = tech.id, assigned
            ticket.acknowledged_at, ticket.attended_at, ticket.resolved_at = ack, attend, resolve
            ticket.labour_minutes = int((resolve - attend).total_seconds() // 60) if ticket.priority <= 2 else rng.randint(15, 120)
            ticket.resolution_note = rng.choice(["Replaced fuse", "Reset breaker", "Replaced washer", "Cleared blockage",
                                                 "Replaced faulty valve", "Re-gassed unit", "Reset controller"])
            steps = [(assigned, "assigned", dispatcher.id, "new", "assigned"), (ack, "acknowledge", tech.id, "assigned", "acknowledged"),
                     (attend, "attend", tech.id, "acknowledged", "attended"), (resolve, "resolve", tech.id, "attended", "resolved")]
            confirmed = resolve + timedelta(hours=rng.uniform(0.5, 20))
            if confirmed < moment:
                ticket.closed_at, ticket.rating = confirmed, rng.choices([5, 4, 3, 2], weights=[60, 28, 9, 3])[0]
                steps.append((confirmed, "confirm", ticket.reporter_id, "resolved", "closed"))
            ticket.status = steps[-1][4]
            ticket.updated_at = steps[-1][0]
            for name in ("acknowledge", "attend", "resolve"):
                done = {"acknowledge": ack, "attend": attend, "resolve": resolve}[name]
                setattr(ticket, f"{name}_breached", done > getattr(ticket, f"{name}_due_at"))
            for at, kind, actor, before, after in steps:
                db.session.add(TicketEvent(ticket=ticket, at=at, actor_id=actor, kind=kind, from_status=before,
                                           to_status=after, channel="web", note=tech.full_name if kind == "assigned" else None))
            count += 1
        db.session.flush()
    return count


def _seed_open_tickets(rng, moment, wards, trades, by_trade) -> int:
    """Jobs in flight right now, so the board has something to show: some fresh, some close to breach."""
    nurses = {u.ward_id: u for u in db.session.query(User).filter_by(role="nurse")}
    plans = [("power", 0, 3, None), ("water", 4, 40, "assigned"), ("hvac", 5, 90, "acknowledged"),
             ("lift", 6, 25, "attended"), ("power", 1, 7, "assigned"), ("other", 8, 180, None),
             ("water", 3, 12, None), ("hvac", 2, 300, "attended")]
    for code, ward_index, minutes_ago, status in plans:
        created = moment - timedelta(minutes=minutes_ago)
        ticket = _new_ticket(rng, created, wards[ward_index], trades[code], nurses.get(wards[ward_index].id))
        if status:
            tech = by_trade[code][0]
            ticket.assignee_id, ticket.assigned_at, ticket.status = tech.id, created + timedelta(minutes=1), status
            db.session.add(TicketEvent(ticket=ticket, at=ticket.assigned_at, kind="assigned", from_status="new",
                                       to_status="assigned", channel="web", note=tech.full_name))
            if status in ("acknowledged", "attended"):
                ticket.acknowledged_at = created + timedelta(minutes=2)
                db.session.add(TicketEvent(ticket=ticket, at=ticket.acknowledged_at, actor_id=tech.id, kind="acknowledge",
                                           from_status="assigned", to_status="acknowledged", channel="web"))
            if status == "attended":
                ticket.attended_at = created + timedelta(minutes=min(minutes_ago - 1, 20))
                db.session.add(TicketEvent(ticket=ticket, at=ticket.attended_at, actor_id=tech.id, kind="attend",
                                           from_status="acknowledged", to_status="attended", channel="web"))
        for name, is_late in sla.live_breaches(ticket, moment).items():
            setattr(ticket, f"{name}_breached", is_late)
    return len(plans)


def _seed_rota(trades: dict[str, Trade], by_trade: dict[str, list[User]]) -> None:
    """Day (08-20) and night (20-08) primary on call per trade, rotating through its licensed
    technicians, a 24-hour secondary, the shift supervisor and the duty manager around the clock."""
    day, night = time(8), time(20)
    for code, trade in trades.items():
        people = by_trade[code]
        if not people:
            continue
        for weekday in range(7):
            db.session.add(OnCallShift(trade=trade, role="primary", user=people[weekday % len(people)],
                                       weekday=weekday, starts=day, ends=night))
            db.session.add(OnCallShift(trade=trade, role="primary", user=people[(weekday + 1) % len(people)],
                                       weekday=weekday, starts=night, ends=day))
            if len(people) > 2:
                db.session.add(OnCallShift(trade=trade, role="secondary", user=people[(weekday + 2) % len(people)],
                                           weekday=weekday, starts=time(0), ends=time(0)))
    supervisor = db.session.query(User).filter_by(username="supervisor").one()
    manager = db.session.query(User).filter_by(username="manager").one()
    for weekday in range(7):
        db.session.add(OnCallShift(trade=None, role="supervisor", user=supervisor, weekday=weekday, starts=time(0), ends=time(0)))
        db.session.add(OnCallShift(trade=None, role="duty_manager", user=manager, weekday=weekday, starts=time(0), ends=time(0)))
    db.session.flush()
