"""The state machine: random interleavings of what a hospital does, each through a real entry point, with
every invariant of tests/model/invariants.py checked against the database after every step."""
from __future__ import annotations

from collections import Counter

from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, precondition, rule
from sqlalchemy import select

from dispatch.services import access, escalation, planned, sla
from dispatch.services.tickets import TRANSITIONS
from dispatch.services.timezone import hospital_date
from models import OPEN_STATUSES, Incident, IncidentMember, OutboundMessage, Ticket, db
from tests.conftest import START
from tests.model import hospital as h
from tests.model.invariants import CHECKS, read_world

# What the long search (`make test-model`) prints: how often each rule ran and each invariant was checked,
# the statuses reached, and the counterexamples found. Filled in by every run of the machine.
STATS: dict = {"rules": Counter(), "checks": Counter(), "statuses": set(), "steps": 0, "examples": 0,
               "counterexamples": []}
WORK_ACTIONS = ("acknowledge", "refuse", "attend", "hold", "resume", "make_safe", "resolve")
NOTES = {"refuse": "Busy on another job", "hold": "Waiting for a part", "make_safe": "Isolated",
         "resolve": "Fixed", "reopen": "Still broken", "cancel": "Reported twice"}
MINUTES = (1, 5, 16, 61, 6 * 60, 24 * 60)


class TicketEngineMachine(RuleBasedStateMachine):
    app = None
    clock = None

    @initialize()
    def open_the_hospital(self) -> None:
        STATS["examples"] += 1
        self.clock.set(START)
        h.empty_the_database()
        self.model = h.furnish(self.app)
        self.viewer_turn = 0
        self.seen = Counter()  # tickets, calls, grouped tickets and open incidents, as of the last check

    # ---- helpers ---------------------------------------------------------------------------------

    def _ran(self, name: str) -> None:
        STATS["rules"][name] += 1
        STATS["steps"] += 1
        db.session.rollback()
        db.session.expire_all()

    def _ticket(self, pick: int, statuses=None, assigned: bool = False) -> Ticket | None:
        """A ticket by position: one in `statuses` (or with a technician) when there is one, so that most steps
        are ones the engine may take; any ticket otherwise, so that refusals are exercised too."""
        query = select(Ticket.id).order_by(Ticket.id)
        ids = h.ticket_ids()
        if statuses is not None:
            ids = list(db.session.scalars(query.where(Ticket.status.in_(statuses)))) or ids
        if assigned:
            ids = list(db.session.scalars(query.where(Ticket.assignee_id.is_not(None)))) or ids
        return db.session.get(Ticket, ids[pick % len(ids)]) if ids else None

    def _people(self, ticket: Ticket) -> dict[str, str | None]:
        assignee = next((n for n in h.TECHNICIANS if self.model.users[n] == ticket.assignee_id), None)
        other = next(n for n in h.TECHNICIANS if n != assignee)
        ward_nurse = "nurse.icu" if ticket.ward_id == self.model.wards["icu"] else "nurse.ward3"
        other_nurse = "nurse.ward3" if ward_nurse == "nurse.icu" else "nurse.icu"
        return {"assignee": assignee, "other_technician": other, "dispatcher": "dispatcher",
                "ward_nurse": ward_nurse, "other_nurse": other_nurse}

    # ---- reports ---------------------------------------------------------------------------------

    @rule(path=st.sampled_from(("page", "page", "api", "alarm")), nurse=st.sampled_from(h.NURSES),
          trade=st.sampled_from(("power", "power", "water", "hvac")), patient_at_risk=st.booleans(),
          whole_area=st.booleans(), api_user=st.sampled_from(("dispatcher", "nurse.icu")),
          priority=st.sampled_from((None, 1, 2, 3)), alarm_state=st.sampled_from(("active", "active", "cleared")))
    def report(self, path, nurse, trade, patient_at_risk, whole_area, api_user, priority, alarm_state):
        if path == "page":
            h.report_by_page(self.model, nurse, trade, patient_at_risk, whole_area)
        elif path == "api":
            trade = "water" if trade == "hvac" else trade
            h.report_by_api(self.model, api_user, "icu" if nurse == "nurse.icu" else "ward3", trade, priority)
        else:
            h.report_by_alarm(self.model, alarm_state, self.clock.now())
        self._ran(f"report_by_{path}")

    # ---- assignment ------------------------------------------------------------------------------

    @precondition(lambda self: self.seen["tickets"] > 0)
    @rule(pick=st.integers(0, 40), technician=st.sampled_from(h.TECHNICIANS), path=st.sampled_from(("board", "api")),
          stale=st.booleans())
    def assign(self, pick, technician, path, stale):
        ticket = self._ticket(pick, ("new", "refused", "reopened", "assigned", "acknowledged"))
        if ticket is None:
            return
        version = ticket.version - 1 if stale else ticket.version
        driver = h.assign_by_board if path == "board" else h.assign_by_api
        driver(self.model, ticket.id, technician, version)
        self._ran(f"assign_by_{path}")

    # ---- technicians answering -------------------------------------------------------------------

    @precondition(lambda self: self.seen["tickets"] > 0)
    @rule(pick=st.integers(0, 40), command=st.sampled_from("ARSDJ"), right_phone=st.booleans(),
          with_number=st.booleans())
    def sms_reply(self, pick, command, right_phone, with_number):
        ticket = self._ticket(pick, assigned=True)
        if ticket is None:
            return
        people = self._people(ticket)
        sender = people["assignee"] if right_phone and people["assignee"] else people["other_technician"]
        words = {"A": "", "R": " busy elsewhere", "S": "", "D": " fixed it", "J": ""}[command]
        number = f" {ticket.id}" if with_number and command != "J" else ""
        h.sms_from(self.model, sender, f"{command}{number}{words}")
        self._ran(f"sms_{command}_{'right' if sender == people['assignee'] else 'wrong'}_phone")

    @precondition(lambda self: self.seen["calls"] > 0)
    @rule(pick=st.integers(0, 40), digit=st.sampled_from("12"))
    def voice_key(self, pick, digit):
        calls = db.session.scalars(select(OutboundMessage).where(OutboundMessage.channel == "voice")
                                   .order_by(OutboundMessage.id)).all()
        if not calls:
            return
        call = calls[pick % len(calls)]
        ticket = db.session.get(Ticket, call.ticket_id)
        right = ticket is not None and ticket.assignee_id == call.recipient_id
        h.voice_key(self.model, call.id, digit)
        self._ran(f"voice_{digit}_{'right' if right else 'wrong'}_phone")

    @precondition(lambda self: self.seen["tickets"] > 0)
    @rule(pick=st.integers(0, 40), action=st.sampled_from(WORK_ACTIONS + ("cancel",)),
          who=st.sampled_from(("assignee", "assignee", "assignee", "dispatcher", "other_technician")))
    def act_by_api(self, pick, action, who):
        ticket = self._ticket(pick, TRANSITIONS[action][0])
        if ticket is None:
            return
        person = self._people(ticket)[who] or "dispatcher"
        h.act_by_api(self.model, person, ticket.id, action, NOTES.get(action))
        self._ran(f"api_{action}")

    @precondition(lambda self: self.seen["tickets"] > 0)
    @rule(pick=st.integers(0, 40), action=st.sampled_from(("confirm", "reopen", "cancel")),
          who=st.sampled_from(("ward_nurse", "ward_nurse", "other_nurse", "dispatcher")))
    def ward_action_by_page(self, pick, action, who):
        ticket = self._ticket(pick, TRANSITIONS[action][0])
        if ticket is None:
            return
        h.act_by_page(self.model, self._people(ticket)[who], ticket.id, action, NOTES.get(action))
        self._ran(f"page_{action}")

    # ---- the control room ------------------------------------------------------------------------

    @precondition(lambda self: self.seen["tickets"] > 0)
    @rule(pick=st.integers(0, 40), priority=st.sampled_from((1, 2, 3, 4)))
    def reprioritise(self, pick, priority):
        ticket = self._ticket(pick, OPEN_STATUSES)
        if ticket is None:
            return
        h.reprioritise_by_board(self.model, ticket.id, priority)
        self._ran("reprioritise")

    @precondition(lambda self: self.seen["tickets"] > 1)
    @rule(trade=st.sampled_from(("power", "water", "hvac")))
    def group(self, trade):
        h.group_by_page(self.model, trade)
        self._ran("group")

    @precondition(lambda self: self.seen["grouped"] > 0)
    @rule(pick=st.integers(0, 40))
    def ungroup(self, pick):
        members = db.session.scalars(select(IncidentMember).where(IncidentMember.ungrouped_at.is_(None))
                                     .order_by(IncidentMember.id)).all()
        if not members:
            return
        h.ungroup_by_page(self.model, members[pick % len(members)].ticket_id)
        self._ran("ungroup")

    @precondition(lambda self: self.seen["incidents"] > 0)
    @rule(pick=st.integers(0, 40))
    def resolve_incident(self, pick):
        incidents = db.session.scalars(select(Incident).where(Incident.state == "open").order_by(Incident.id)).all()
        if not incidents:
            return
        h.resolve_incident_by_page(self.model, incidents[pick % len(incidents)].id)
        self._ran("resolve_incident")

    # ---- time, licences and the rota -------------------------------------------------------------

    @rule(minutes=st.sampled_from(MINUTES))
    def time_passes(self, minutes):
        """The clock moves on and the scheduler's due pass runs: escalation steps, breaches, planned work."""
        now = self.clock.advance(minutes=minutes)
        escalation.run_due(now)
        sla.sweep_breaches(now)
        planned.open_due(now)
        self._ran("time_passes")

    @rule(kind=st.sampled_from(("renew", "leave", "cover", "swap")), who=st.sampled_from(h.TECHNICIANS),
          hours=st.sampled_from((1, 12)))
    def staff_change(self, kind, who, hours):
        """A licence renewed (staff records), or the supervisor's rota change: leave, or a cover or swap for sparky."""
        if kind == "renew":
            h.renew_licence(self.model, who, hospital_date(self.clock.now()))
        elif kind == "leave" or who not in ("sparky", "plumb"):
            h.rota_override(self.model, kind, who, None if kind == "leave" else "sparky", self.clock.now(), hours)
        else:
            return
        self._ran(f"licence_{kind}" if kind == "renew" else f"rota_{kind}")

    # ---- the invariants --------------------------------------------------------------------------

    @invariant()
    def the_engine_holds(self):
        if not hasattr(self, "model"):
            return
        world = read_world()
        self.seen = Counter(tickets=len(world.tickets), calls=sum(m.channel == "voice" for m in world.messages),
                            grouped=sum(m.ungrouped_at is None for m in world.members),
                            incidents=sum(i.state == "open" for i in world.incidents.values()))
        STATS["statuses"].update(t.status for t in world.tickets.values())
        problems = []
        for name, check in CHECKS.items():
            STATS["checks"][name] += 1
            problems += check(world)
        STATS["checks"]["f_visibility"] += 1
        problems += self._visibility(world)
        assert not problems, "\n".join(problems)

    def _visibility(self, world) -> list[str]:
        """(f) One person in turn asks the API for every ticket and for one ticket by number."""
        viewer = h.VIEWERS[self.viewer_turn % len(h.VIEWERS)]
        self.viewer_turn += 1
        user = world.users[self.model.users[viewer]]
        listed = self.model.api(viewer, "get", "/tickets?status=open&limit=500").get_json()
        may = {t.id for t in world.tickets.values() if t.is_open and access.can_view(user, t)}
        problems = [f"(f) {viewer} sees ticket {t['number']} through the API" for t in listed if t["number"] not in may]
        if len(listed) != len(may):
            problems.append(f"(f) {viewer} sees {len(listed)} open tickets through the API, may see {len(may)}")
        for ticket in list(world.tickets.values())[-3:]:
            answer = self.model.api(viewer, "get", f"/tickets/{ticket.id}").status_code
            if answer != (200 if access.can_view(user, ticket) else 404):
                problems.append(f"(f) {viewer} asking for ticket {ticket.id} is answered {answer}")
        return problems

    def teardown(self):
        db.session.rollback()
