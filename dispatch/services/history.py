"""Years of believable ticket history in minutes: `flask seed-history --tickets N`.

For reports and benchmarks at hospital-group scale. It builds on the demo hospital (wards, trades,
licensed technicians; seeded first when the database is empty) and writes tickets, their history and
breach causes in bulk: PostgreSQL's COPY, or executemany on SQLite, bypassing the ORM. Distributions
follow the demo's idea, per trade and priority: more faults by day than at night, air conditioning in
summer, most jobs within target and a realistic tail of late ones (improving over the years), some
refused, reassigned, put on hold, made safe first, reopened or cancelled, and a few assets that keep
failing. Only the newest unfinished jobs stay open (at most `open_cap`), so the board stays meaningful.
"""
from __future__ import annotations

import json
import random
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from decimal import Decimal

from sqlalchemy import func, select

from dispatch.clock import now as clock_now
from dispatch.seed import FAULTS, seed_demo_hospital
from dispatch.services import report_rollup, sla
from dispatch.services.report_breaches import ensure_default_causes
from dispatch.services.timezone import hospital_zone
from models import (
    CRITICAL_WARDS, Asset, BreachCause, LabourRate, Licence, Location, Part, Store, Ticket, Trade, User, Ward, db,
    trade_licence_type,
)

HOUR_WEIGHTS = (3, 2, 2, 2, 2, 3, 5, 8, 10, 10, 10, 9, 8, 9, 10, 10, 9, 8, 7, 6, 5, 5, 4, 3)
TRADE_WEIGHTS = {"power": 30, "water": 25, "gas": 6, "lift": 12, "hvac": 20, "other": 7}
# Share of jobs that go wrong, by priority, at the start of the history (improving to ~45 % of this by now).
LATE_SHARE = {1: 0.08, 2: 0.13, 3: 0.15, 4: 0.10}
TRADE_LATENESS = {"lift": 1.35, "gas": 0.7, "hvac": 1.1}
PLANNED = ("Planned inspection", "Preventive maintenance visit", "Filter change", "Annual safety test")
NOTES = {
    "power": ("Replaced fuse", "Reset breaker", "Replaced socket", "Tightened connection", "Replaced RCD"),
    "water": ("Replaced washer", "Cleared blockage", "Replaced faulty valve", "Repaired pipe joint"),
    "gas": ("Replaced outlet seal", "Reset alarm panel", "Replaced pressure sensor", "Changed over cylinder"),
    "lift": ("Replaced door sensor", "Reset controller", "Released passenger and reset", "Adjusted levelling"),
    "hvac": ("Re-gassed unit", "Replaced filter", "Reset controller", "Replaced fan belt"),
    "other": ("Replaced lock", "Adjusted window", "Repaired nurse call panel"),
}
PARTS = {"power": "Fuse 10A", "water": "Tap washer", "gas": "Outlet seal", "lift": "Door sensor", "hvac": "Filter"}
# Which causes (by position in models.breach.DEFAULT_BREACH_CAUSES) explain breaches, per trade.
CAUSE_WEIGHTS = {"lift": (1, 3, 1, 3, 6, 1, 1, 1, 1), "gas": (2, 3, 2, 3, 2, 3, 1, 2, 1),
                 "hvac": (1, 3, 1, 5, 3, 2, 1, 1, 1), "default": (2, 5, 2, 3, 1, 3, 1, 2, 1)}
TICKET_COLUMNS = (
    "id", "version", "ward_id", "location_id", "asset_id", "place_detail", "trade_id", "priority", "patient_at_risk",
    "whole_area", "description", "reporter_id", "assignee_id", "auto_assigned", "status", "created_at", "updated_at",
    "assigned_at", "acknowledged_at", "attended_at", "made_safe_at", "resolved_at", "closed_at", "cancelled_at",
    "acknowledge_target_minutes", "attend_target_minutes", "resolve_target_minutes", "acknowledge_due_at",
    "attend_due_at", "resolve_due_at", "on_hold_since", "hold_reason", "held_seconds", "acknowledge_breached",
    "attend_breached", "resolve_breached", "resolution_note", "parts_used", "labour_minutes", "cancel_reason",
    "refusal_count", "reassign_count", "reopen_count", "rating", "feedback", "parts_cost", "labour_cost",
    "labour_out_of_hours_minutes",
)
PART_COLUMNS = ("ticket_id", "part_id", "store_id", "quantity", "returned", "unit_cost", "issued_at", "issued_by_id")
EVENT_COLUMNS = ("ticket_id", "at", "actor_id", "kind", "from_status", "to_status", "note", "channel", "data")
CAUSE_COLUMNS = ("ticket_id", "cause_id", "note", "recorded_by_id", "recorded_at")


@dataclass
class HistorySummary:
    tickets: int
    events: int
    open: int
    breached: int
    seconds: float
    demo_seeded: bool


@dataclass(frozen=True)
class _Trade:
    id: int
    code: str
    base_priority: int
    always_emergency: bool


@dataclass(frozen=True)
class _Ward:
    id: int
    criticality: str

    @property
    def is_critical(self) -> bool:
        return self.criticality in CRITICAL_WARDS


class _Plan:
    """Reference data the generator draws from, loaded once (as plain values: no session needed later), always
    in the same order, so one seed gives the same history on every database."""

    def __init__(self, rng: random.Random) -> None:
        self.trades = {t.code: _Trade(t.id, t.code, t.base_priority, t.always_emergency)
                       for t in db.session.scalars(select(Trade).order_by(Trade.id))}
        self.wards = [_Ward(w.id, w.criticality) for w in db.session.scalars(select(Ward).order_by(Ward.id))]
        self.locations: dict[int, list[int]] = {}
        for location in db.session.scalars(select(Location).order_by(Location.id)):
            self.locations.setdefault(location.ward_id, []).append(location.id)
        self.assets: dict[tuple[int | None, int], list[tuple[int, int | None, float]]] = {}
        for asset in db.session.scalars(select(Asset).order_by(Asset.id)):
            # A few assets keep failing (a long-tailed propensity): the repeat-fault report has something to find.
            weight = rng.paretovariate(1.3)
            key = (None if asset.trade and asset.trade.code == "lift" else asset.ward_id, asset.trade_id or 0)
            self.assets.setdefault(key, []).append((asset.id, asset.location_id, weight))
        licensed = db.session.execute(
            select(trade_licence_type.c.trade_id, Licence.technician_id)
            .join(Licence, Licence.licence_type_id == trade_licence_type.c.licence_type_id)
            .join(User, User.id == Licence.technician_id).where(User.active.is_(True))
            .order_by(trade_licence_type.c.trade_id, Licence.technician_id)
        ).all()
        technicians = list(db.session.scalars(select(User.id).where(User.role == "technician", User.active.is_(True))
                                               .order_by(User.id)))
        self.crews: dict[int, list[int]] = {}
        for trade_id, tech_id in licensed:
            crew = self.crews.setdefault(trade_id, [])
            if tech_id not in crew:
                crew.append(tech_id)
        for trade in self.trades.values():
            if not self.crews.get(trade.id):
                self.crews[trade.id] = technicians
        self.nurses = {u.ward_id: u.id for u in db.session.scalars(select(User).where(User.role == "nurse").order_by(User.id))}
        self.dispatchers = list(db.session.scalars(select(User.id).where(User.role.in_(("dispatcher", "supervisor")))
                                                   .order_by(User.id)))
        self.causes = [c.id for c in db.session.scalars(select(BreachCause).where(BreachCause.active.is_(True))
                                                        .order_by(BreachCause.sort_order, BreachCause.id))]
        self.targets = {(t.id, p): sla.targets_for(t.id, p) for t in self.trades.values() for p in (1, 2, 3, 4)}
        self.zone = hospital_zone()
        # Cost: each trade's labour rate and the store's parts for it (from the demo's stock list). A rate or
        # part list that is missing simply leaves that cost out.
        from flask import current_app

        self.rates = {r.trade_id: (r.normal_rate, r.out_of_hours_rate) for r in db.session.scalars(select(LabourRate))}
        self.store_id = db.session.scalar(select(Store.id).order_by(Store.id).limit(1))
        self.parts: dict[int, list[tuple[int, Decimal]]] = {}
        for part in db.session.scalars(select(Part).where(Part.active.is_(True), Part.trade_id.is_not(None))
                                       .order_by(Part.id)):
            self.parts.setdefault(part.trade_id, []).append((part.id, part.unit_cost))
        self.day_hours = (current_app.config["NORMAL_HOURS_START"], current_app.config["NORMAL_HOURS_END"])

        self.faults = FAULTS


def seed_history(tickets: int, *, years: float = 5.0, seed: int = 7, open_cap: int = 40, events: bool = True,
                 now: datetime | None = None, progress: Callable[[str], None] | None = None) -> HistorySummary:
    """Add `tickets` tickets reported over the last `years` years, most of them long closed."""

    started = time.monotonic()
    say = progress or (lambda message: None)
    moment = now or clock_now()
    demo = False
    if not db.session.scalar(select(func.count(User.id))):
        say("empty database: building the demo hospital first")
        say(seed_demo_hospital())
        demo = True
    ensure_default_causes()
    rng = random.Random(seed)
    plan = _Plan(rng)
    first_id = (db.session.scalar(select(func.max(Ticket.id))) or 1000) + 1
    db.session.commit()
    end = moment.astimezone(timezone.utc).replace(tzinfo=None) - timedelta(minutes=5)
    start = end - timedelta(days=365.25 * years)
    moments = _report_times(rng, tickets, start, end)
    writer = _Writer(db.engine.dialect.name)
    generator = _Generator(rng, plan, start, end, open_cap, cost_seed=seed)
    chunk = 20_000
    counts = {"events": 0, "open": 0, "breached": 0}
    try:
        for offset in range(0, len(moments), chunk):
            rows, event_rows, cause_rows = [], [], []
            for index, created in enumerate(moments[offset: offset + chunk], start=first_id + offset):
                ticket, ticket_events, cause = generator.ticket(index, created)
                rows.append(ticket)
                if events:
                    event_rows += ticket_events
                if cause:
                    cause_rows.append(cause)
            writer.write(rows, event_rows, cause_rows, generator.part_rows)
            generator.part_rows = []
            counts["events"] += len(event_rows)
            say(f"  {min(offset + chunk, len(moments)):,} / {len(moments):,} tickets")
        writer.finish()
    finally:
        writer.close()
    # The rows went in around the session, so the reports' monthly roll-up is made again from them.
    say("rebuilding the reports' monthly roll-up")
    report_rollup.rebuild(moment)
    db.session.commit()
    return HistorySummary(tickets=len(moments), events=counts["events"], open=generator.open_count,
                          breached=generator.breached, seconds=time.monotonic() - started, demo_seeded=demo)


def _report_times(rng: random.Random, count: int, start: datetime, end: datetime) -> list[datetime]:
    """Report times over the period: more by day than at night, more on weekdays, a little growth."""
    span = (end - start).total_seconds()
    peak = max(HOUR_WEIGHTS)
    zone = hospital_zone()  # hour-of-day weights are in hospital time
    times = []
    while len(times) < count:
        seconds = rng.random() * span
        moment = start + timedelta(seconds=seconds)
        local = moment.replace(tzinfo=timezone.utc).astimezone(zone)
        weight = HOUR_WEIGHTS[local.hour] / peak * (0.8 if local.weekday() >= 5 else 1.0)
        weight *= 0.85 + 0.15 * seconds / span
        if rng.random() < weight:
            times.append(moment.replace(microsecond=0))
    times.sort()
    return times


class _Generator:
    def __init__(self, rng: random.Random, plan: _Plan, start: datetime, end: datetime, open_cap: int,
                 cost_seed: int = 0) -> None:
        self.rng, self.plan, self.start, self.end, self.open_cap = rng, plan, start, end, open_cap
        # Costs draw from a generator of their own, so adding them left the rest of a seed's history unchanged.
        self.cost_rng = random.Random(cost_seed)
        self.part_rows: list[tuple] = []
        self.open_count = 0
        self.breached = 0
        self.trade_codes = [c for c in TRADE_WEIGHTS if c in plan.trades]

    def _trade(self, created: datetime):
        weights = []
        for code in self.trade_codes:
            weight = TRADE_WEIGHTS[code]
            if code == "hvac" and created.month in (6, 7, 8, 9):
                weight *= 2.0  # air conditioning fails in the Shanghai summer
            if code == "water" and created.month in (12, 1, 2):
                weight *= 1.3
            weights.append(weight)
        return self.plan.trades[self.rng.choices(self.trade_codes, weights)[0]]

    def _duration(self, target_minutes: int, late_share: float) -> float:
        """Minutes to a target: usually well within (a skewed spread), sometimes late by a long tail."""
        if self.rng.random() < late_share:
            return target_minutes * (1.0 + self.rng.expovariate(1.6))
        return target_minutes * self.rng.betavariate(2.0, 4.5)

    def _in_working_hours(self, moment: datetime, latest: datetime) -> datetime:
        """Routine and planned visits happen in working hours (Monday to Friday, 08:00-17:00 hospital time)
        when waiting for them still meets the target; otherwise someone goes out of hours."""
        local = moment.replace(tzinfo=timezone.utc).astimezone(self.plan.zone)
        if local.weekday() < 5 and 8 <= local.hour < 17:
            return moment
        day = local.date() if local.weekday() < 5 and local.hour < 8 else local.date() + timedelta(days=1)
        while day.weekday() >= 5:
            day += timedelta(days=1)
        start = datetime.combine(day, datetime.min.time(), self.plan.zone).replace(hour=8)
        moved = start.astimezone(timezone.utc).replace(tzinfo=None) + timedelta(minutes=self.rng.uniform(0, 150))
        return moved if moved <= latest else moment

    def ticket(self, ticket_id: int, created: datetime):
        rng, plan = self.rng, self.plan
        trade = self._trade(created)
        ward = rng.choice(plan.wards)
        planned = rng.random() < 0.08
        if planned:
            description, whole, at_risk, priority = rng.choice(PLANNED), True, False, 4
        else:
            description, whole = rng.choice(plan.faults.get(trade.code, plan.faults["other"]))
            at_risk = "trapped" in description or (ward.is_critical and rng.random() < 0.1)
            priority = sla.propose_priority(trade, ward, at_risk, whole)
        targets = plan.targets[(trade.id, priority)]
        location_id = rng.choice(plan.locations[ward.id]) if plan.locations.get(ward.id) and rng.random() < 0.7 else None
        asset_id = None
        choices = plan.assets.get((None if trade.code == "lift" else ward.id, trade.id))
        if choices and rng.random() < (0.7 if trade.code == "lift" else 0.35):
            asset_id, asset_location, _weight = rng.choices(choices, [c[2] for c in choices])[0]
            location_id = asset_location or location_id
        progress = (created - self.start) / (self.end - self.start)
        trouble = LATE_SHARE[priority] * TRADE_LATENESS.get(trade.code, 1.0) * (1.3 - 0.75 * progress)
        local_hour = created.replace(tzinfo=timezone.utc).astimezone(self.plan.zone).hour
        if local_hour < 8 or local_hour >= 20:
            trouble *= 1.4  # fewer hands at night
        # Lateness comes in runs: a job that goes wrong (nobody free, parts missing) tends to miss more than one target.
        late = 0.6 if rng.random() < trouble else 0.025
        crew = plan.crews[trade.id]
        tech = rng.choice(crew)
        reporter = plan.nurses.get(ward.id)
        dispatcher = rng.choice(plan.dispatchers) if plan.dispatchers else None
        T = timedelta(minutes=1)
        ack_due = created + targets.acknowledge_minutes * T
        attend_due = created + targets.attend_minutes * T
        resolve_due = created + targets.resolve_minutes * T
        assigned = created + max(0.3, targets.acknowledge_minutes * rng.uniform(0.03, 0.35)) * T
        ack = max(assigned + timedelta(seconds=30), created + self._duration(targets.acknowledge_minutes, late) * T)
        attend = max(ack + 2 * T, created + self._duration(targets.attend_minutes, late) * T)
        if priority >= 3:
            attend = self._in_working_hours(attend, attend_due)
        held = 0
        if rng.random() < {1: 0.0, 2: 0.03, 3: 0.08, 4: 0.08}[priority]:
            held = int(rng.uniform(2 * 3600, 4 * 86400))
        resolve = max(attend + 10 * T, created + self._duration(targets.resolve_minutes, late) * T)
        resolve += timedelta(seconds=held)
        made_safe = None
        if priority <= 2 and rng.random() < 0.25:
            made_safe = attend + (resolve - attend) * rng.uniform(0.1, 0.5)
            resolve = made_safe + timedelta(hours=rng.uniform(2, 72))
        steps = {"assigned": assigned, "ack": ack, "attend": attend, "made_safe": made_safe, "resolve": resolve}
        refused_by = previous = None
        if rng.random() < 0.03 and len(crew) > 1:
            refused_by = tech
            tech = rng.choice([c for c in crew if c != refused_by])
        elif rng.random() < 0.04 and len(crew) > 1:
            previous = tech
            tech = rng.choice([c for c in crew if c != previous])
        reopened = rng.random() < 0.02
        if reopened:
            steps["first_resolve"] = resolve if made_safe is None else made_safe
            steps["reopen"] = steps["first_resolve"] + timedelta(hours=rng.uniform(1, 72))
            steps["resolve"] = steps["reopen"] + timedelta(hours=rng.uniform(1, 30))
            steps["made_safe"] = made_safe = None
        cancelled = None
        if rng.random() < 0.015:
            cancelled = created + rng.uniform(1, max(2, targets.acknowledge_minutes)) * T
        closed = steps["resolve"] + timedelta(hours=rng.uniform(0.5, 20)) if rng.random() < 0.97 else None
        finish = steps["resolve"]
        now = self.end + timedelta(minutes=5)
        open_ticket = False
        if cancelled is None and finish > now:
            if created > now - timedelta(hours=8) and self.open_count < self.open_cap:
                open_ticket = True
                self.open_count += 1
            else:
                # Too old to be still open: the same job, done faster, before now.
                done_by = now - min(timedelta(minutes=rng.uniform(1, 30)), (now - created) / 2)
                scale = (done_by - created) / (finish - created)
                for key, value in steps.items():
                    if value is not None:
                        steps[key] = created + (value - created) * scale
                closed = None
                held = int(held * scale)
        return self._rows(ticket_id, created, now, trade, ward, priority, description, whole, at_risk, location_id,
                          asset_id, reporter, dispatcher, tech, refused_by, previous, targets, ack_due, attend_due,
                          resolve_due + timedelta(seconds=held), steps, held, cancelled, closed, open_ticket)

    def _rows(self, ticket_id, created, now, trade, ward, priority, description, whole, at_risk, location_id, asset_id,
              reporter, dispatcher, tech, refused_by, previous, targets, ack_due, attend_due, resolve_due, steps, held,
              cancelled, closed, open_ticket):
        rng = self.rng
        events = [(ticket_id, created, reporter, "reported", None, "new", description, "web", json.dumps({"priority": priority}))]

        def seen(at):
            return at is not None and at <= now and (cancelled is None or at <= cancelled)

        status, assignee = "new", None
        work_note = rng.choice(NOTES.get(trade.code, NOTES["other"]))
        assigned = steps["assigned"]
        if seen(assigned):
            first = refused_by or previous or tech
            events.append((ticket_id, assigned, dispatcher, "assigned", "new", "assigned", None, "web",
                           json.dumps({"technician_id": first})))
            status, assignee = "assigned", first
            if refused_by is not None:
                at = assigned + (steps["ack"] - assigned) * 0.4
                events.append((ticket_id, at, refused_by, "refuse", "assigned", "refused", "On another job", "sms",
                               json.dumps({"technician_id": refused_by})))
                events.append((ticket_id, at + timedelta(minutes=1), dispatcher, "assigned", "refused", "assigned",
                               None, "web", json.dumps({"technician_id": tech})))
                assignee = tech
            elif previous is not None:
                at = assigned + (steps["ack"] - assigned) * 0.5
                events.append((ticket_id, at, dispatcher, "reassigned", "assigned", "assigned", None, "web",
                               json.dumps({"technician_id": tech, "previous_technician_id": previous})))
                assignee = tech
        times = {"acknowledged_at": None, "attended_at": None, "made_safe_at": None, "resolved_at": None,
                 "closed_at": None}
        plan = [("ack", "acknowledge", "acknowledged", "acknowledged_at"), ("attend", "attend", "attended", "attended_at"),
                ("made_safe", "make_safe", "made_safe", "made_safe_at"), ("first_resolve", "resolve", "resolved", None),
                ("reopen", "reopen", "reopened", None), ("resolve", "resolve", "resolved", "resolved_at")]
        for key, kind, to_status, column in plan:
            at = steps.get(key)
            if not seen(at):
                continue
            actor = reporter if kind == "reopen" else assignee
            note = work_note if kind in ("resolve", "make_safe") else ("Still not working" if kind == "reopen" else None)
            events.append((ticket_id, at, actor, kind, status, to_status, note, "sms" if kind in ("acknowledge", "attend") else "web", None))
            if kind == "reopen":
                events.append((ticket_id, at + timedelta(minutes=3), dispatcher, "assigned", "reopened", "assigned", None,
                               "web", json.dumps({"technician_id": assignee})))
                times["made_safe_at"] = None
                to_status = "assigned"
            status = to_status
            if column:
                times[column] = at
        if seen(closed) and times["resolved_at"] is not None:
            events.append((ticket_id, closed, reporter, "confirm", "resolved", "closed", None, "web", None))
            times["closed_at"], status = closed, "closed"
        on_hold_since = hold_reason = None
        if open_ticket and status == "attended" and held:
            on_hold_since, hold_reason, status = times["attended_at"] + timedelta(minutes=20), "Waiting for parts", "on_hold"
            resolve_due -= timedelta(seconds=held)
            held = 0
        if cancelled is not None:
            events.append((ticket_id, cancelled, dispatcher, "cancel", status, "cancelled", "Reported in error", "web", None))
            status = "cancelled"
        done = times["made_safe_at"] or times["resolved_at"]
        breaches = {
            "acknowledge": (times["acknowledged_at"] or now) > ack_due,
            "attend": (times["attended_at"] or now) > attend_due,
            "resolve": (done > resolve_due) if done else (on_hold_since or now) > resolve_due,
        }
        if status == "cancelled":
            breaches = {k: False for k in breaches}
        for name, due in (("acknowledge", ack_due), ("attend", attend_due), ("resolve", resolve_due)):
            if breaches[name]:
                events.append((ticket_id, due + timedelta(seconds=1), None, "breach", None, None, name, "system",
                               json.dumps({"target": name})))
        cause_row = None
        if any(breaches.values()):
            self.breached += 1
            if created < now - timedelta(days=14) and rng.random() < 0.8 and self.plan.causes:
                weights = CAUSE_WEIGHTS.get(trade.code, CAUSE_WEIGHTS["default"])[: len(self.plan.causes)]
                weights = list(weights) + [1] * (len(self.plan.causes) - len(weights))
                cause = rng.choices(self.plan.causes, weights)[0]
                at = (done or created) + timedelta(hours=rng.uniform(1, 72))
                who = self.plan.dispatchers[0] if self.plan.dispatchers else None
                cause_row = (ticket_id, cause, None, who, min(at, now))
                events.append((ticket_id, min(at, now), who, "breach_cause", None, None, None, "web",
                               json.dumps({"cause_id": cause})))
        events.sort(key=lambda e: e[1])
        resolved = times["resolved_at"]
        labour = None
        if resolved is not None and times["attended_at"] is not None:
            labour = max(5, int(((resolved - times["attended_at"]).total_seconds() - held) // 60)) if priority <= 2 \
                else rng.randint(15, 150)
            labour = min(labour, 240)
        rating = rng.choices((5, 4, 3, 2, 1), (60, 27, 9, 3, 1))[0] if times["closed_at"] else None
        updated = max(e[1] for e in events)
        row = (
            ticket_id, 1, ward.id, location_id, asset_id, None, trade.id, priority, at_risk, whole, description, reporter,
            assignee, False, status, created, updated, assigned if seen(assigned) else None, times["acknowledged_at"],
            times["attended_at"], times["made_safe_at"], resolved, times["closed_at"], cancelled,
            targets.acknowledge_minutes, targets.attend_minutes, targets.resolve_minutes, ack_due, attend_due, resolve_due,
            on_hold_since, hold_reason, held, breaches["acknowledge"], breaches["attend"], breaches["resolve"],
            work_note if resolved or times["made_safe_at"] else None, PARTS.get(trade.code) if resolved and rng.random() < 0.15 else None, labour,
            "Reported in error" if cancelled else None, 1 if refused_by else 0, 1 if previous else 0,
            1 if steps.get("reopen") and seen(steps["reopen"]) else 0, rating, None,
            *self._cost(ticket_id, trade.id, times["attended_at"], resolved, labour, assignee),
        )
        return row, events, cause_row

    def _cost(self, ticket_id: int, trade_id: int, attended: datetime | None, resolved: datetime | None,
              labour: int | None, assignee: int | None) -> tuple:
        """(parts cost, labour cost, out-of-hours minutes) priced as the live service does, except that the
        labour of a generated job is all at one rate, decided by the hour it started (cheap at a million
        tickets). The parts are queued for ticket_part; the store ledger is not generated."""
        if resolved is None:
            return None, None, None
        labour_cost = outside = None
        rate = self.plan.rates.get(trade_id)
        if labour and attended is not None:
            local = attended.replace(tzinfo=timezone.utc).astimezone(self.plan.zone)
            start_hour, end_hour = self.plan.day_hours
            late = local.weekday() >= 5 or not start_hour <= local.hour < end_hour
            outside = labour if late else 0
            if rate is not None:
                labour_cost = (Decimal(labour) * (rate[1] if late else rate[0]) / 60).quantize(Decimal("0.01"))
        parts_cost = None
        candidates = self.plan.parts.get(trade_id)
        if candidates and self.plan.store_id and self.cost_rng.random() < 0.4:
            part_id, unit_cost = self.cost_rng.choice(candidates)
            quantity = self.cost_rng.choice((1, 1, 1, 2, 3)) if unit_cost < 50 else 1
            parts_cost = unit_cost * quantity
            self.part_rows.append((ticket_id, part_id, self.plan.store_id, quantity, 0, unit_cost, resolved, assignee))
        return parts_cost, labour_cost, outside


class _Writer:
    """Bulk writes through the driver: COPY on PostgreSQL, executemany on SQLite, one transaction per chunk."""

    def __init__(self, dialect: str) -> None:
        self.dialect = dialect
        db.session.commit()
        self.raw = db.engine.raw_connection()

    def write(self, tickets: list[tuple], events: list[tuple], causes: list[tuple], parts: list[tuple] = ()) -> None:
        tables = (("ticket", TICKET_COLUMNS, tickets), ("ticket_event", EVENT_COLUMNS, events),
                  ("ticket_breach_cause", CAUSE_COLUMNS, causes), ("ticket_part", PART_COLUMNS, parts))
        if self.dialect == "postgresql":
            with self.raw.cursor() as cursor:
                for table, columns, rows in tables:
                    if rows:
                        with cursor.copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN") as copy:
                            for row in rows:
                                copy.write_row(row)
            self.raw.commit()
            return
        cursor = self.raw.cursor()
        cursor.execute("BEGIN IMMEDIATE")
        for table, columns, rows in tables:
            if rows:
                marks = ", ".join("?" for _ in columns)
                cursor.executemany(f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({marks})",
                                   _sqlite_rows(rows, columns))
        cursor.execute("COMMIT")
        cursor.close()

    def finish(self) -> None:
        """Sequences past the new ids, and fresh planner statistics for the bigger tables."""
        if self.dialect == "postgresql":
            with self.raw.cursor() as cursor:
                cursor.execute("SELECT setval('ticket_id_seq', (SELECT max(id) FROM ticket))")
            self.raw.commit()
            # VACUUM cannot run in a transaction; it also sets the visibility map, so index-only scans work.
            self.raw.dbapi_connection.autocommit = True
            with self.raw.cursor() as cursor:
                cursor.execute("VACUUM (ANALYZE) ticket, ticket_event, ticket_breach_cause, ticket_part")
            self.raw.dbapi_connection.autocommit = False
            return
        cursor = self.raw.cursor()
        cursor.execute("BEGIN IMMEDIATE")
        cursor.execute("UPDATE sqlite_sequence SET seq = (SELECT max(id) FROM ticket) WHERE name = 'ticket'")
        cursor.execute("COMMIT")
        # No ANALYZE on SQLite, as in production: without STAT4 histograms (not compiled into Python's
        # SQLite) it averages rows per status, sees 'closed' dominate, and then scans the whole table for
        # the board's few open jobs instead of using ix_ticket_status_priority.
        cursor.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        cursor.close()

    def close(self) -> None:
        self.raw.close()


def _sqlite_rows(rows: list[tuple], columns: tuple[str, ...]) -> list[list]:
    """What SQLAlchemy would store on SQLite: naive UTC as text with microseconds (booleans go in as 0/1)."""
    times = [i for i, c in enumerate(columns) if c.endswith("_at") or c in ("at", "on_hold_since")]
    out = []
    for row in rows:
        row = list(row)
        for i in times:
            value = row[i]
            if value is not None:
                row[i] = value.isoformat(" ", "microseconds")
        out.append([str(v) if isinstance(v, Decimal) else v for v in row])
    return out
