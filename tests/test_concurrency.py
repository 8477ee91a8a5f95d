"""Real races with real threads, each with its own app context and database session, released together.

On PostgreSQL the writers queue on SELECT ... FOR UPDATE and the version column; on SQLite on BEGIN
IMMEDIATE. Either way: one winner, the others told plainly, nothing silently overwritten.
"""
from __future__ import annotations

import threading
from collections import Counter

import pytest

from dispatch.errors import ConflictError, IllegalTransitionError
from dispatch.services.assignment import assign_ticket
from dispatch.services.tickets import report_fault, transition
from models import Ticket, TicketEvent, User, db

ROUNDS = 10


def run_together(app, jobs):
    """Run each job in its own thread and app context; all start at once after a barrier.

    A job is (prepare, act): prepare() runs first in the thread (reading what the person sees) and its
    result is handed to act() once every thread is ready. Returns ("ok", value) or ("error", exception) per job.
    """
    barrier = threading.Barrier(len(jobs))
    results: list = [None] * len(jobs)

    def worker(index, prepare, act):
        with app.app_context():
            try:
                try:
                    seen = prepare()
                    db.session.close()  # hand the connection back while waiting at the barrier
                except BaseException:
                    barrier.abort()
                    raise
                barrier.wait(timeout=30)
                results[index] = ("ok", act(seen))
            except BaseException as error:  # noqa: BLE001  (every outcome is inspected by the test)
                results[index] = ("error", error)
            finally:
                db.session.remove()

    threads = [threading.Thread(target=worker, args=(i, *job), daemon=True) for i, job in enumerate(jobs)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=90)
    assert not any(t.is_alive() for t in threads), "a racing thread never finished"
    return results


def file_power_fault(hospital, description="No power to bed 1"):
    return report_fault(hospital.user("nurse.icu"), ward_id=hospital.icu.id, trade_id=hospital.trades["power"].id,
                        description=description)


def fresh(ticket_id: int) -> Ticket:
    """The ticket as committed now: end this thread's read transaction (its snapshot predates the race)."""
    db.session.rollback()
    return db.session.get(Ticket, ticket_id)


def event_kinds(ticket_id: int) -> Counter:
    return Counter(e.kind for e in db.session.query(TicketEvent).filter_by(ticket_id=ticket_id))


def dispatcher_assigning(ticket_id: int, dispatcher_id: int, technician_id: int):
    """A dispatcher looks at the ticket (reading its version), then clicks Assign with that version."""

    def prepare():
        return db.session.get(User, dispatcher_id), db.session.get(Ticket, ticket_id).version

    def act(seen):
        dispatcher, version = seen
        return assign_ticket(ticket_id, technician_id, dispatcher, expected_version=version).assignee_id

    return prepare, act


def describe(results) -> str:
    return "; ".join(f"{kind}: {value!r}" for kind, value in results)


def test_two_dispatchers_assigning_the_same_new_ticket_give_one_winner_and_one_clear_conflict(app, hospital):
    users = hospital.users
    technicians = {users["dispatcher"].id: users["sparky"].id, users["dispatcher2"].id: users["volt"].id}
    winners = Counter()
    for round_number in range(ROUNDS):
        ticket = file_power_fault(hospital, description=f"Race {round_number}")
        ticket_id = ticket.id
        results = run_together(app, [dispatcher_assigning(ticket_id, d, t) for d, t in technicians.items()])

        outcomes = Counter(kind for kind, _ in results)
        assert outcomes == {"ok": 1, "error": 1}, describe(results)
        winner = next(value for kind, value in results if kind == "ok")
        loser = next(value for kind, value in results if kind == "error")
        assert isinstance(loser, ConflictError), describe(results)
        assert f"Ticket {ticket_id}" in loser.message or "Someone else changed this ticket" in loser.message
        assert "Nothing was overwritten" in loser.message or "Reload" in loser.message

        stored = fresh(ticket_id)
        assert stored.assignee_id == winner  # the winner's choice stands
        assert stored.status == "assigned" and stored.version == 2 and stored.reassign_count == 0
        kinds = event_kinds(ticket_id)
        assert kinds["assigned"] == 1 and kinds["reassigned"] == 0
        winners[winner] += 1
        # Withdraw it, so ten reports of one outage are not grouped into a major incident.
        transition(ticket_id, "cancel", hospital.user("dispatcher"), note="Race over")
    assert sum(winners.values()) == ROUNDS


def test_two_dispatchers_reassigning_with_the_version_they_both_saw_give_one_winner(app, hospital):
    users = hospital.users
    ticket = file_power_fault(hospital)
    assign_ticket(ticket.id, users["sparky"].id, hospital.user("dispatcher"))
    ticket_id = ticket.id
    results = run_together(app, [
        dispatcher_assigning(ticket_id, users["dispatcher"].id, users["volt"].id),
        dispatcher_assigning(ticket_id, users["dispatcher2"].id, users["volt"].id),
    ])
    assert Counter(kind for kind, _ in results) == {"ok": 1, "error": 1}, describe(results)
    assert isinstance(next(v for k, v in results if k == "error"), ConflictError)
    stored = fresh(ticket_id)
    assert stored.assignee_id == users["volt"].id and stored.reassign_count == 1 and stored.version == 3
    assert event_kinds(ticket_id)["reassigned"] == 1


def technician_pressing(ticket_id: int, actor_id: int, action: str, with_version: bool):
    def prepare():
        version = db.session.get(Ticket, ticket_id).version if with_version else None
        return db.session.get(User, actor_id), version

    def act(seen):
        actor, version = seen
        return transition(ticket_id, action, actor, expected_version=version).status

    return prepare, act


@pytest.mark.parametrize("with_version", [False, True], ids=["button-without-version", "with-the-version-seen"])
def test_twenty_simultaneous_acknowledge_and_attend_presses_change_the_ticket_once_each(app, hospital, with_version):
    users = hospital.users
    ticket = file_power_fault(hospital)
    assign_ticket(ticket.id, users["sparky"].id, hospital.user("dispatcher"))
    ticket_id, start_version = ticket.id, fresh(ticket.id).version
    # Sparky on his phone and the control room on his behalf, hammering both buttons.
    presses = [(users["sparky"].id if i % 2 else users["dispatcher"].id, "acknowledge" if i % 4 < 2 else "attend")
               for i in range(20)]
    results = run_together(app, [technician_pressing(ticket_id, actor, action, with_version)
                                 for actor, action in presses])

    unexpected = [v for k, v in results if k == "error" and not isinstance(v, (ConflictError, IllegalTransitionError))]
    assert not unexpected, describe(results)
    succeeded = Counter(action for (_, action), (kind, _) in zip(presses, results) if kind == "ok")
    assert succeeded["attend"] <= 1 and succeeded["acknowledge"] <= 1
    if with_version:
        assert sum(succeeded.values()) == 1  # everybody saw the same version: exactly one press counts
    else:
        assert succeeded["attend"] == 1  # attending is possible from either state, so one attend always lands

    stored = fresh(ticket_id)
    kinds = event_kinds(ticket_id)
    # No lost update: the history, the version and the status all agree with the presses that succeeded.
    assert kinds["acknowledge"] == succeeded["acknowledge"] and kinds["attend"] == succeeded["attend"]
    assert stored.version == start_version + sum(succeeded.values())
    assert stored.status == ("attended" if succeeded["attend"] else "acknowledged")
    assert stored.acknowledged_at is not None


def test_twenty_simultaneous_api_calls_never_answer_500(app, hospital, api_token):
    users = hospital.users
    ticket = file_power_fault(hospital)
    assign_ticket(ticket.id, users["sparky"].id, hospital.user("dispatcher"))
    ticket_id, version = ticket.id, fresh(ticket.id).version
    headers = {"sparky": api_token("sparky"), "dispatcher": api_token("dispatcher")}

    def caller(who, action):
        def prepare():
            return app.test_client()

        def act(client):
            response = client.post(f"/api/v1/tickets/{ticket_id}/{action}", headers=headers[who], json={"version": version})
            return response.status_code, response.get_json()

        return prepare, act

    jobs = [caller("sparky" if i % 2 else "dispatcher", "acknowledge" if i % 4 < 2 else "attend") for i in range(20)]
    results = run_together(app, jobs)
    assert all(kind == "ok" for kind, _ in results), describe(results)
    codes = Counter(code for _, (code, _) in results)
    assert codes == {200: 1, 409: 19}, describe(results)
    assert all(body["error"] == "ConflictError" for _, (code, body) in results if code == 409)
    stored = fresh(ticket_id)
    assert stored.version == version + 1
    kinds = event_kinds(ticket_id)
    assert kinds["acknowledge"] + kinds["attend"] == 1


# --- fifty people at once, over HTTP (the test client, each in its own thread and app context) ------------

FIFTY = 50
# Who presses, and the ticket's state before the race: assign a new ticket (the control room), acknowledge an
# assigned one (the technician), confirm a resolved one (the ward that reported it).
RACES = {"assign": ("dispatcher", "new"), "acknowledge": ("sparky", "assigned"), "confirm": ("nurse.icu", "resolved")}


def ticket_ready_for(hospital, action: str) -> Ticket:
    ticket = file_power_fault(hospital, description=f"Fifty at once: {action}")
    if action != "assign":
        assign_ticket(ticket.id, hospital.users["sparky"].id, hospital.user("dispatcher"))
    if action == "confirm":
        sparky = hospital.user("sparky")
        transition(ticket.id, "attend", sparky)
        transition(ticket.id, "resolve", sparky, note="Breaker replaced")
    return fresh(ticket.id)


def flash_messages(page: str) -> list[tuple[str, str]]:
    """(category, text) of the flashed messages on a page."""
    import html
    import re

    return [(category, html.unescape(text).strip())
            for category, text in re.findall(r'<div class="flash flash-(\w+)"[^>]*>(.*?)</div>', page, re.S)]


@pytest.mark.parametrize("channel", ["api", "form"])
@pytest.mark.parametrize("action", list(RACES))
def test_fifty_simultaneous_attempts_at_one_state_change_give_one_winner_and_clear_conflicts(app, hospital, api_token,
                                                                                          action, channel):
    from tests.conftest import Browser

    who, state = RACES[action]
    ticket = ticket_ready_for(hospital, action)
    assert ticket.status == state
    ticket_id, version = ticket.id, ticket.version
    sparky_id = hospital.users["sparky"].id
    headers = api_token(who) if channel == "api" else None
    api_path = f"/api/v1/tickets/{ticket_id}/{action}"
    api_body = {"version": version, **({"technician_id": sparky_id} if action == "assign" else {})}
    form_path = f"/board/{ticket_id}/assign" if action == "assign" else f"/tickets/{ticket_id}/{action}"
    form_body = {"version": str(version), **({"technician_id": str(sparky_id)} if action == "assign" else {})}

    def attempt():
        def prepare():
            return app.test_client() if channel == "api" else Browser(app.test_client(), who)

        def act(client):
            if channel == "api":
                response = client.post(api_path, headers=headers, json=api_body)
                return response.status_code, response.get_json()
            response = client.post(form_path, data=form_body)
            assert response.status_code == 302, response.status_code
            return response.status_code, flash_messages(client.get(response.headers["Location"]).get_data(as_text=True))

        return prepare, act

    results = run_together(app, [attempt() for _ in range(FIFTY)])
    assert all(kind == "ok" for kind, _ in results), describe([r for r in results if r[0] != "ok"][:3])
    answers = [value for _, value in results]
    if channel == "api":
        codes = Counter(code for code, _ in answers)
        assert codes == {200: 1, 409: FIFTY - 1}, codes
        losers = [body for code, body in answers if code == 409]
        assert all(body["error"] == "ConflictError" for body in losers), losers[:3]
        assert all(f"Ticket {ticket_id} was changed meanwhile" in body["message"] for body in losers), losers[:3]
    else:
        categories = Counter(tuple(category for category, _ in flashes) for _, flashes in answers)
        assert categories == {("success",): 1, ("error",): FIFTY - 1}, categories
        losers = [flashes[0][1] for _, flashes in answers if flashes[0][0] == "error"]
        assert all(f"Ticket {ticket_id} was changed meanwhile" in text and "Nothing was overwritten" in text
                   for text in losers), losers[:3]

    stored = fresh(ticket_id)
    assert stored.version == version + 1
    assert stored.status == {"assign": "assigned", "acknowledge": "acknowledged", "confirm": "closed"}[action]
    kinds = event_kinds(ticket_id)
    assert kinds[{"assign": "assigned", "acknowledge": "acknowledge", "confirm": "confirm"}[action]] == 1, kinds
