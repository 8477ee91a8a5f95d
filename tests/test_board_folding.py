"""A board with many open jobs: urgent and late ones always in full, the soonest of the rest too, the others
folded by trade and ward with counts that always equal the open tickets, each group one click away."""
from __future__ import annotations

from sqlalchemy import select

from dispatch.services import sla
from dispatch.services.assignment import assign_ticket
from dispatch.services.board import must_show, open_board
from dispatch.services.tickets import report_fault, reprioritise
from models import OPEN_STATUSES, Ticket, db
from tests.test_pages import file_fault


def routine(hospital, n: int, ward="icu", trade="water"):
    """Low-priority jobs, as the control room files them."""
    return [report_fault(hospital.user("dispatcher"), ward_id=getattr(hospital, ward).id,
                         trade_id=hospital.trades[trade].id, priority=4, description=f"Tap dripping {i}",
                         whole_area=False) for i in range(n)]


def check_counts(board, now) -> None:
    """Every open job is a row or in exactly one folded group; the counts are the tickets'."""
    tickets = db.session.scalars(select(Ticket).where(Ticket.status.in_(OPEN_STATUSES))).all()
    shown = {row.ticket.id for row in board.rows}
    folded = {(t.trade_id, t.ward_id): 0 for t in tickets}
    for t in tickets:
        if t.id not in shown:
            folded[(t.trade_id, t.ward_id)] += 1
    assert {(g.trade_id, g.ward_id): g.count for g in board.folded} == {k: v for k, v in folded.items() if v}
    assert board.listed == len(tickets) == len(shown) + board.folded_count
    for t in tickets:  # nothing urgent or late is folded away
        if must_show(t.priority, sla.live_breaches(t, now)):
            assert t.id in shown


def test_folded_counts_equal_the_open_tickets_before_and_after_changes(hospital, clock, app):
    urgent = file_fault(hospital, description="Theatre lights out")
    quiet = routine(hospital, 6) + routine(hospital, 3, ward="ward3", trade="power")
    dispatcher = hospital.user("dispatcher")
    board = open_board(clock.now(), shown_soonest=2)
    assert urgent.id in {row.ticket.id for row in board.rows} and board.folded_count == 7
    check_counts(board, clock.now())
    # A change moves a job between the rows and the groups: raised to P2, it is never folded.
    reprioritise(quiet[-1].id, 2, dispatcher, reason="Only theatre sink")
    board = open_board(clock.now(), shown_soonest=2)
    assert quiet[-1].id in {row.ticket.id for row in board.rows} and board.folded_count == 6
    check_counts(board, clock.now())
    # Assigned, a job stays where its time left puts it; the counts stay the tickets'.
    assign_ticket(quiet[0].id, hospital.users["plumb"].id, dispatcher)
    board = open_board(clock.now(), shown_soonest=2)
    check_counts(board, clock.now())
    # Late jobs come out of the fold as soon as they are late.
    clock.advance(days=30)
    board = open_board(clock.now(), shown_soonest=2)
    assert board.folded == [] and len(board.rows) == board.listed
    check_counts(board, clock.now())


def test_a_folded_group_is_one_click_away_and_bad_input_is_named(hospital, login_as, app):
    app.config["BOARD_SHOWN_SOONEST"] = 1
    quiet = routine(hospital, 4)
    dispatcher = login_as("dispatcher")
    page = dispatcher.get("/board/").get_data(as_text=True)
    trade, ward = quiet[0].trade_id, quiet[0].ward_id
    link = f'href="/board/?trade={trade}&amp;ward={ward}"'
    assert link in page and "3 jobs" in page and "3 folded below" in page
    shown = dispatcher.get(f"/board/rows?trade={trade}&ward={ward}").get_data(as_text=True)
    assert all(f'data-ticket="{t.id}"' in shown for t in quiet) and "Fold the group away again" in shown
    for query, field in (("trade=x&ward=1", "trade"), ("trade=1", "ward"), ("ward=1", "trade")):
        response = dispatcher.get(f"/board/?{query}")
        assert response.status_code == 422, query
