"""A believable demo hospital: wards, staff with licences (some expiring), and months of history."""
from __future__ import annotations

import random
from datetime import datetime, time, timedelta

from dispatch import seed_certs, seed_costs, seed_names
from dispatch.seed_permits import seed_permits_demo
from dispatch.seed_rounds import seed_rounds
from dispatch.clock import now as clock_now
from dispatch.services import audit, engine, escalation, licences, sla
from dispatch.services.engine import Past
from dispatch.services.timezone import hospital_date, hospital_zone
from models import (
    Asset, BreachCause, Building, EmergencyPlan, EmergencyPlanVersion, Licence, LicenceType, Location, OnCallShift,
    ServiceTarget, Site, Ticket, TicketBreachCause, TicketEvent, TicketPlanStep, Trade, User, Ward, db,
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
# The trade codes a report names (the API's `trade`); the trade table holds exactly these.
TRADE_CODES = tuple(code for code, *_rest in TRADES)
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
    db.session.flush()
    # The audit trail starts with the accounts the seed made (from the command line: no one acted).
    for user in db.session.query(User).order_by(User.id):
        audit.add(db.session, "user_created", subject_id=user.id, subject=user.username, detail={"role": user.role})
    db.session.commit()

    # Only those the licence rule allows now: the history never shows an unlicensed technician on a job.
    by_trade = {}
    for code, trade in trades.items():
        allowed = {person.id for person in licences.eligible_technicians(trade, moment)}
        by_trade[code] = [t for t in technicians if t.id in allowed]
    _seed_rota(trades, by_trade)
    # The same month last year first (the budget report compares with it), then the recent months, in time
    # order so the store's ledger reads forwards.
    offsets = seed_costs.last_year_days(moment)
    stores = seed_costs.DemoStores(rng, moment - timedelta(days=max(offsets + [days]) + 1),
                                   db.session.query(User).filter_by(username="supervisor").one())
    then = today - timedelta(days=max(offsets))
    by_trade_then = {code: [t for t in people if all(lic.issued_on <= then for lic in t.licences)] or people
                     for code, people in by_trade.items()}
    history = _seed_history(rng, moment, offsets, wards, trades, by_trade_then, assets, stores)
    history += _seed_history(rng, moment, range(days, 0, -1), wards, trades, by_trade, assets, stores)
    stores.finish(moment)
    seed_costs.seed_budgets(moment, today - timedelta(days=days))
    live = _seed_open_tickets(rng, moment, wards, trades, by_trade)
    plans = _seed_plans(moment, trades)
    live += _seed_emergency(moment, wards, trades, by_trade, plans)
    _plans_for_open_emergencies()
    db.session.commit()
    from dispatch.seed_planned import seed_planned_work

    schedules, planned_tickets = seed_planned_work(rng, moment, wards, trades, by_trade)
    db.session.commit()
    seed_rounds(rng, moment)
    _link_assets(seed)
    explained = _seed_breach_causes(rng, moment)
    seed_names.add_chinese_names()
    db.session.commit()
    seed_certs.seed_compliance(moment)
    permits_line = seed_permits_demo(moment, wards)
    # Last month's report for the hospital's leadership, as the scheduler would have kept it on the 1st.
    from dispatch.services.leadership import generate_due

    monthly = generate_due(moment)
    lines = [f"demo hospital seeded: {len(wards)} wards, {len(technicians)} technicians, "
             f"{history} past tickets, {live} open tickets, {schedules} maintenance schedules "
             f"({planned_tickets} planned tickets), {explained} breach causes recorded",
             permits_line,
             f"monthly leadership report kept for {monthly.month:%Y-%m}" if monthly else "monthly leadership report already kept",
             f"demo logins (password {DEMO_PASSWORD}):"]
    lines += [f"  {u:<18} {what}" for u, what in logins]
    return "\n".join(lines)


def _new_fault(rng, ward: Ward, trade: Trade, reporter: User | None) -> dict:
    """A fault as a ward would report it: the ticket's columns, for engine.replay."""
    description, whole = rng.choice(FAULTS[trade.code])
    at_risk = "trapped" in description or (ward.is_critical and rng.random() < 0.1)
    priority = sla.propose_priority(trade, ward, at_risk, whole)
    return dict(ward=ward, trade=trade, trade_id=trade.id, priority=priority, patient_at_risk=at_risk,
                whole_area=whole, description=description, reporter_id=reporter.id if reporter else None,
                location=rng.choice(ward.locations) if ward.locations and rng.random() < 0.7 else None)


def _new_ticket(fields: dict, created: datetime, moment: datetime, history: list[Past] = ()) -> Ticket:
    """The fault reported at `created` and moved through its past by the engine's table (engine.replay)."""
    return engine.replay(db.session, fields, list(history), moment, reported=Past(
        created, "report", fields["reporter_id"], "web", fields["description"], data={"priority": fields["priority"]}))


def _minutes_around(rng, target: int, late_share: float) -> float:
    """A time that meets its target most of the time and misses it by a realistic margin otherwise."""
    if rng.random() < late_share:
        return target * rng.uniform(1.05, 2.5)
    return target * rng.betavariate(2, 5)


def _seed_history(rng, moment, day_offsets, wards, trades, by_trade, assets, stores=None) -> int:
    nurses = {u.ward_id: u for u in db.session.query(User).filter_by(role="nurse")}
    dispatcher = db.session.query(User).filter_by(username="dispatcher").one()
    weights = {"power": 30, "water": 25, "gas": 6, "lift": 12, "hvac": 20, "other": 7}
    count = 0
    for day in day_offsets:
        for _ in range(rng.randint(8, 18)):
            created = moment - timedelta(days=day, minutes=rng.randint(0, 24 * 60 - 1))
            trade = trades[rng.choices(list(weights), weights=list(weights.values()))[0]]
            ward = rng.choice(wards)
            fields = _new_fault(rng, ward, trade, nurses.get(ward.id))
            targets = sla.targets_for(trade.id, fields["priority"])
            tech = rng.choice(by_trade[trade.code])
            late = 0.12 if fields["priority"] > 1 else 0.06
            assigned = created + timedelta(minutes=targets.acknowledge_minutes * rng.uniform(0.05, 0.4))
            ack = created + timedelta(minutes=_minutes_around(rng, targets.acknowledge_minutes, late))
            ack = max(ack, assigned + timedelta(seconds=30))
            attend = max(ack + timedelta(minutes=2), created + timedelta(minutes=_minutes_around(rng, targets.attend_minutes, late)))
            resolve = max(attend + timedelta(minutes=10), created + timedelta(minutes=_minutes_around(rng, targets.resolve_minutes, late)))
            if resolve > moment:
                # Not finished by now: left out, or it would sit on the board as "new" for days. The jobs in
                # flight come from _seed_open_tickets.
                continue
            fields["labour_minutes"] = (int((resolve - attend).total_seconds() // 60) if fields["priority"] <= 2
                                        else rng.randint(15, 120))
            fields["resolution_note"] = rng.choice(["Replaced fuse", "Reset breaker", "Replaced washer", "Cleared blockage",
                                                    "Replaced faulty valve", "Re-gassed unit", "Reset controller"])
            history = [Past(assigned, "assign", dispatcher.id, note=tech.full_name, technician_id=tech.id),
                       Past(ack, "acknowledge", tech.id), Past(attend, "attend", tech.id), Past(resolve, "resolve", tech.id)]
            confirmed = resolve + timedelta(hours=rng.uniform(0.5, 20))
            if confirmed < moment:
                fields["rating"] = rng.choices([5, 4, 3, 2], weights=[60, 28, 9, 3])[0]
                history.append(Past(confirmed, "confirm", fields["reporter_id"]))
            ticket = _new_ticket(fields, created, moment, history)
            if stores is not None:
                stores.cost_job(ticket, trade, moment)
            count += 1
        db.session.flush()
    return count


def _seed_open_tickets(rng, moment, wards, trades, by_trade) -> int:
    """Jobs in flight right now, so the board has something to show: some fresh, some close to breach.
    Each has the escalation timer a report starts, and the ones nobody was given by hand went through
    auto-dispatch when they were reported, as a report does: an urgent job does not sit unassigned in
    the demo while its trade's technician is on call."""
    nurses = {u.ward_id: u for u in db.session.query(User).filter_by(role="nurse")}
    plans = [("power", 0, 3, None), ("water", 4, 40, "assigned"), ("hvac", 5, 90, "acknowledged"),
             ("lift", 6, 25, "attended"), ("power", 1, 7, "assigned"), ("other", 8, 180, None),
             ("water", 3, 12, None), ("hvac", 2, 300, "attended")]
    for code, ward_index, minutes_ago, status in plans:
        created = moment - timedelta(minutes=minutes_ago)
        fields = _new_fault(rng, wards[ward_index], trades[code], nurses.get(wards[ward_index].id))
        history = []
        if status:
            tech = by_trade[code][0]
            history.append(Past(created + timedelta(minutes=1), "assign", note=tech.full_name, technician_id=tech.id))
            if status in ("acknowledged", "attended"):
                history.append(Past(created + timedelta(minutes=2), "acknowledge", tech.id))
            if status == "attended":
                history.append(Past(created + timedelta(minutes=min(minutes_ago - 1, 20)), "attend", tech.id))
        ticket = _new_ticket(fields, created, moment, history)
        if not status:
            db.session.flush()
            escalation.auto_dispatch(db.session, ticket, created)
        escalation.start(db.session, ticket, created)
    return len(plans)


# What the control room wrote when it recorded why a target was missed: the action taken.
BREACH_ACTIONS = {
    "No licensed technician available": "Second licensed electrician added to the night rota",
    "Technician busy on a higher-priority job": "Secondary on call now called after 10 minutes",
    "SMS not delivered or not seen": "Technician's mobile number corrected",
    "Parts not in stock": "Spare parts now kept in the estates store",
    "Specialist contractor needed": "Call-out terms agreed with the contractor in advance",
    "No access: clinical activity or infection control": "Access agreed with the ward sister for out-of-hours work",
}


def _link_assets(seed: int) -> None:
    """Most power, medical-gas and air-conditioning faults concern the ward's own distribution board, gas panel
    or AC unit, so the repeat-fault figures have assets to name. A random stream of its own leaves the rest of
    the demo as it was."""
    rng = random.Random(seed + 1)
    by_ward_trade = {(a.ward_id, a.trade_id): a for a in db.session.query(Asset) if a.ward_id}
    for ticket in db.session.query(Ticket).filter(Ticket.asset_id.is_(None)).order_by(Ticket.id):
        asset = by_ward_trade.get((ticket.ward_id, ticket.trade_id))
        if asset is not None and rng.random() < 0.6:
            ticket.asset_id = asset.id
    db.session.flush()


def _seed_breach_causes(rng, moment) -> int:
    """Causes and actions for about two thirds of last month's breaches, as the control room records them."""
    today = hospital_date(moment)
    first = (today.replace(day=1) - timedelta(days=1)).replace(day=1)
    zone = hospital_zone()
    lower = datetime.combine(first, time.min, zone)
    upper = datetime.combine(today.replace(day=1), time.min, zone)
    causes = {c.name: c for c in db.session.query(BreachCause) if c.name in BREACH_ACTIONS}
    dispatcher = db.session.query(User).filter_by(username="dispatcher").one()
    breached = (db.session.query(Ticket).filter(Ticket.created_at >= lower, Ticket.created_at < upper)
                .filter(Ticket.acknowledge_breached | Ticket.attend_breached | Ticket.resolve_breached)
                .order_by(Ticket.id).all())
    count = 0
    for ticket in breached:
        if not causes or rng.random() > 0.65:
            continue
        cause = causes[rng.choice(sorted(causes))]
        at = (ticket.resolved_at or ticket.created_at) + timedelta(hours=rng.uniform(1, 30))
        if at > moment:
            continue
        db.session.add(TicketBreachCause(ticket_id=ticket.id, cause_id=cause.id, note=BREACH_ACTIONS[cause.name],
                                         recorded_by_id=dispatcher.id, recorded_at=at))
        db.session.add(TicketEvent(ticket_id=ticket.id, at=at, actor_id=dispatcher.id, kind="breach_cause",
                                   channel="web", note=f"{cause.name}: {BREACH_ACTIONS[cause.name]}",
                                   data={"cause_id": cause.id}))
        count += 1
    return count


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


# (trade, criticality, keywords, title, summary, steps, contacts, isolation points). Demo numbers only.
PLANS = [
    ("power", "icu", None, "ICU power loss",
     "Ventilators, pumps and monitors run on battery: restore the essential supply within minutes.",
     ["Phone ICU nurse in charge (ext 3301): confirm which bed spaces have lost power and that ventilators are on battery",
      "Check the ICU UPS panel (A3 plant room): on inverter or bypass, minutes of battery left",
      "At switch room A-B1 check main LV board A: incoming supply, ATS position, tripped breakers",
      "If the mains has failed, confirm the standby generator has started and taken the essential load",
      "Do not reset a tripped ICU breaker before the fault is found: isolate the faulty circuit first",
      "Restore supply to the essential (red) sockets first, then the normal sockets",
      "Tell the duty manager and the control room: cause, time restored, anything still on battery"],
     [("ICU nurse in charge", "3301"), ("Duty electrician (HV)", "+86 139 0000 1000"),
      ("Control room", "2222"), ("Duty manager", "+86 139 0000 1998"), ("Power utility (State Grid) fault line", "95598")],
     [("ICU essential supply (red sockets)", "Switch room A-B1, LV board A, feeder A-07"),
      ("ICU normal supply", "Switch room A-B1, LV board A, feeder A-08"),
      ("ICU UPS bypass switch", "Plant room A3, beside UPS-3")]),
    ("gas", None, "oxygen, O2, 氧", "Medical oxygen low-pressure alarm",
     "Low oxygen pressure threatens every ventilated patient on the line: find the cause before anything is isolated.",
     ["Phone the ward: how many patients on oxygen, any on ventilators; ward to prepare portable cylinders",
      "Read the area alarm panel and the pressure gauge at the zone valve box (AVSU)",
      "Check the oxygen plant: VIE tank level, vaporiser icing, changeover manifold to reserve cylinders",
      "If the main supply has failed, switch the manifold to the reserve bank and confirm pressure at the ward",
      "Never close a zone valve without the nurse in charge agreeing: patients on that zone lose oxygen",
      "Call the gas supplier for an emergency delivery if the tank is below 20%",
      "Record pressures before and after in the ticket; tell the duty manager"],
     [("Duty medical gas technician", "+86 139 0000 1007"), ("Oxygen supplier emergency line", "400 800 1234"),
      ("Control room", "2222"), ("Duty manager", "+86 139 0000 1998")],
     [("Oxygen main to Inpatient Tower", "Gas plant, valve OX-M1 (green handle)"),
      ("ICU oxygen zone valve", "Corridor outside ICU, box AVSU-3-1"),
      ("Reserve cylinder manifold", "Gas plant, manifold room")]),
    ("lift", None, "trapped, 困", "Person trapped in lift",
     "Keep talking to the people inside; only a lift engineer opens the doors.",
     ["Speak to the people inside on the lift intercom: how many, anyone unwell, a patient on a bed?",
      "Tell them help is coming and not to force the doors",
      "Switch the lift to inspection mode at the controller (machine room) before anything else",
      "Bring the car level with the nearest floor using the manual release; only then open the doors",
      "If a patient is unwell, call the resuscitation team to the landing",
      "Keep the lift out of service until the cause is found; report to the lift maintenance company",
      "Record how long people were trapped"],
     [("Lift maintenance company (24 h)", "400 600 5678"), ("Lift emergency platform", "96333"),
      ("Resuscitation team", "2222"), ("Duty manager", "+86 139 0000 1998")],
     [("Bed lifts A1/A2 main switch", "Machine room, roof of Inpatient Tower, panel L-A")]),
    ("hvac", "theatre", None, "Theatre air conditioning failure",
     "Theatre temperature, humidity and pressure hold the sterile field: tell theatre coordinators at once.",
     ["Phone the theatre coordinator (ext 2401): which theatres are in use, any operation that cannot stop",
      "Read the AHU-T1 panel in the plant room: fault code, supply fan, chilled water valve",
      "Check the chilled water supply temperature and the chiller status",
      "If the supply fan has tripped, reset once; if it trips again isolate and call the duty refrigeration engineer",
      "Report temperature and pressure readings to the coordinator every 15 minutes until restored",
      "Infection control to be told before theatres reopen"],
     [("Theatre coordinator", "2401"), ("Duty refrigeration engineer", "+86 139 0000 1013"),
      ("Infection control", "2650"), ("Duty manager", "+86 139 0000 1998")],
     [("AHU-T1 supply fan", "Plant room B-Roof, panel AHU-T1"),
      ("Chilled water to theatres", "Plant room B-Roof, valve CHW-T")]),
    ("water", None, "no water, water loss, 停水, 无水", "Water loss to a clinical area",
     "Without water there is no hand hygiene and no dialysis: bring bottled water and find the cause.",
     ["Phone the ward: which outlets are dry, is hot and cold water affected, any dialysis or theatre scrub affected",
      "Check the booster pump set and the break tank level (basement plant room)",
      "Check for a burst: walk the riser, look for water on floors below",
      "If a burst, isolate the branch at the riser valve and restore the rest of the floor",
      "Arrange bottled water and alcohol hand rub for the ward through the control room",
      "Flush the outlets before the ward uses them again (Legionella control)"],
     [("Duty plumber", "+86 139 0000 1004"), ("Water utility", "96116"), ("Control room", "2222")],
     [("Cold water riser A", "Basement plant room, valve CW-A"), ("Booster pumps", "Basement plant room, panel BP-1")]),
]


def _seed_plans(moment: datetime, trades: dict[str, Trade]) -> dict[str, EmergencyPlanVersion]:
    """The estates department's emergency plans. The ICU one has two versions: tickets from before
    the revision keep version 1."""
    manager = db.session.query(User).filter_by(username="manager").one()
    supervisor = db.session.query(User).filter_by(username="supervisor").one()
    current = {}
    for code, criticality, keywords, title, summary, steps, contacts, points in PLANS:
        plan = EmergencyPlan(trade=trades[code], criticality=criticality, keywords=keywords, active=True,
                             created_at=moment - timedelta(days=120), current_number=0)
        db.session.add(plan)
        versions = [(steps, None, moment - timedelta(days=120))]
        if title == "ICU power loss":
            # Version 1 had no UPS check and no utility number; the revision after an incident added them.
            first = [s for s in steps if "UPS" not in s]
            versions = [(first, None, moment - timedelta(days=120)),
                        (steps, "Added the UPS check and the power utility's fault line after the March outage",
                         moment - timedelta(days=30))]
        for number, (version_steps, note, at) in enumerate(versions, start=1):
            is_last = number == len(versions)
            version = EmergencyPlanVersion(
                plan=plan, number=number, title=title, title_zh=seed_names.in_chinese(title), summary=summary, steps=version_steps,
                contacts=[{"name": n, "phone": p} for n, p in (contacts if is_last else contacts[:-1])],
                isolation_points=[{"what": w, "where": where} for w, where in points],
                change_note=note, published_at=at, published_by=supervisor if number > 1 else manager)
            db.session.add(version)
            plan.current_number = number
            current[f"{title}/v{number}"] = version
        current[title] = version
    db.session.flush()
    return current


def _seed_emergency(moment: datetime, wards: list[Ward], trades: dict[str, Trade], by_trade: dict[str, list[User]],
                    plans: dict[str, EmergencyPlanVersion]) -> int:
    """An ICU power loss in progress: P1, its plan (version 2) at the top, two steps ticked; and one
    handled last month under version 1, which still shows version 1."""
    icu = wards[0]
    nurse = db.session.query(User).filter_by(role="nurse", ward_id=icu.id).first()
    dispatcher = db.session.query(User).filter_by(username="dispatcher").one()
    tech = by_trade["power"][0]
    for version, created, done in ((plans["ICU power loss/v1"], moment - timedelta(days=40), True),
                                   (plans["ICU power loss"], moment - timedelta(minutes=9), False)):
        resolved = created + timedelta(minutes=55)
        note = "Feeder A-07 breaker tripped on a faulty bed-head unit at bed 5; unit isolated, supply restored"
        fields = dict(ward=icu, trade=trades["power"], trade_id=trades["power"].id, priority=1, patient_at_risk=True,
                      whole_area=True, description="No power to bed spaces 3-6, ventilators alarming on battery",
                      reporter_id=nurse.id if nurse else None, location=icu.locations[0] if icu.locations else None,
                      plan_version=version)
        history = [Past(created + timedelta(minutes=1), "assign", dispatcher.id, note=tech.full_name, technician_id=tech.id),
                   Past(created + timedelta(minutes=2), "acknowledge", tech.id, "sms"),
                   Past(created + timedelta(minutes=7), "attend", tech.id)]
        if done:
            fields.update(rating=5, labour_minutes=48, resolution_note=note)
            history += [Past(resolved, "resolve", tech.id, note=note),
                        Past(resolved + timedelta(hours=2), "confirm", fields["reporter_id"], data={"rating": 5})]
        ticket = _new_ticket(fields, created, moment, history)
        db.session.add(TicketEvent(ticket=ticket, at=created, kind="plan_attached", note=version.label, channel="system",
                                   data={"plan_id": version.plan_id, "plan_version_id": version.id,
                                         "number": version.number}))
        db.session.flush()  # the ticket's number, for its ticked steps
        for index in (range(len(version.steps)) if done else range(2)):
            at = created + timedelta(minutes=8 + 3 * index if done else 7 + index)
            db.session.add(TicketPlanStep(ticket_id=ticket.id, plan_version_id=version.id, step_index=index, done_at=at,
                                          done_by_id=tech.id))
            db.session.add(TicketEvent(ticket=ticket, at=at, actor_id=tech.id, kind="plan_step", note=version.steps[index],
                                       channel="web", data={"plan_version_id": version.id, "number": version.number,
                                                            "step": index + 1}))
    return 1  # one of the two is open


def _plans_for_open_emergencies() -> None:
    """The other P1 jobs in flight get the plan that fits them, as report_fault would have given."""
    from dispatch.services.emergency_plans import choose_plan
    from models import OPEN_STATUSES

    db.session.flush()
    for ticket in db.session.query(Ticket).filter(Ticket.priority == 1, Ticket.status.in_(OPEN_STATUSES),
                                                  Ticket.plan_version_id.is_(None)):
        plan = choose_plan(db.session, ticket)
        if plan is not None:
            ticket.plan_version = plan.current
            db.session.add(TicketEvent(ticket=ticket, at=ticket.created_at, kind="plan_attached", channel="system",
                                       note=plan.current.label, data={"plan_id": plan.id, "plan_version_id": plan.current.id,
                                                                      "number": plan.current_number, "automatic": True}))
