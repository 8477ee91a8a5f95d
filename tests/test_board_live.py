"""The live board: a committed change reaches every open board's stream through real Redis, only the control
room may open one, a notice says which tickets changed and nothing more, and a board whose stream is down
falls back to re-reading."""
from __future__ import annotations

import json
import time

from itsdangerous import TimestampSigner, URLSafeTimedSerializer

from dispatch.board_news import TOKEN_SALT, TOKEN_SECONDS, channel, stream_token, stream_viewer
from dispatch.services.assignment import assign_ticket
from dispatch.services.tickets import add_comment
from models import Ticket, db
from tests.board_stream_rig import Stream, board_stream
from tests.conftest import TEST_REDIS_URL
from tests.test_pages import file_fault

SECRET = "test-secret"


def token_of(page: str) -> str:
    return page.split('data-stream-token="', 1)[1].split('"', 1)[0]


def test_a_change_committed_anywhere_reaches_every_open_board_after_the_commit(hospital, login_as, redis_conn):
    ticket = file_fault(hospital)
    token = token_of(login_as("dispatcher").get("/board/").get_data(as_text=True))
    with board_stream(TEST_REDIS_URL, SECRET) as port:
        boards = [Stream(port, token) for _ in range(3)]
        assert [board.status for board in boards] == [200, 200, 200]
        assert all(board.next_event()[0] == "ready" for board in boards)
        assign_ticket(ticket.id, hospital.users["sparky"].id, hospital.user("dispatcher"))
        for board in boards:
            name, notice = board.next_event()
            assert name == "change" and ticket.id in notice["tickets"]
            # Published after the commit: another connection already reads the change.
            with db.engine.connect() as other:
                assignee = other.execute(db.select(Ticket.assignee_id).where(Ticket.id == ticket.id)).scalar()
            assert assignee == hospital.users["sparky"].id
        # A history line alone (a comment) is a change the board shows too.
        add_comment(ticket.id, hospital.user("dispatcher"), "Spare fuse on its way")
        assert [board.next_event()[1]["tickets"] for board in boards] == [[ticket.id]] * 3
        for board in boards:
            board.close()


def test_a_notice_names_ticket_ids_only_and_none_is_sent_for_what_was_rolled_back(hospital, redis_conn, app):
    ticket = file_fault(hospital)
    listener = redis_conn.pubsub()
    listener.subscribe(channel(TEST_REDIS_URL))
    assert listener.get_message(timeout=2)["type"] == "subscribe"
    # A change that is rolled back is never announced.
    db.session.get(Ticket, ticket.id).place_detail = "Bay 9"
    db.session.flush()
    db.session.rollback()
    assert listener.get_message(timeout=0.5) is None
    assign_ticket(ticket.id, hospital.users["sparky"].id, hospital.user("dispatcher"))
    notice = json.loads(listener.get_message(timeout=2)["data"])
    assert set(notice) == {"tickets", "all", "at"} and notice["tickets"] == [ticket.id] and notice["all"] is False
    listener.close()


def test_the_breach_sweep_announces_every_ticket(hospital, redis_conn, clock):
    from datetime import timedelta

    from dispatch.services.sla import sweep_breaches

    file_fault(hospital)
    listener = redis_conn.pubsub()
    listener.subscribe(channel(TEST_REDIS_URL))
    listener.get_message(timeout=2)
    clock.advance(hours=30)
    assert sweep_breaches(clock.now() + timedelta(seconds=1)) > 0
    assert json.loads(listener.get_message(timeout=2)["data"])["all"] is True
    listener.close()


def test_only_the_control_room_gets_a_stream_token_and_a_stream_needs_a_good_one(hospital, login_as, redis_conn):
    for who in ("nurse.icu", hospital.users["sparky"].username, "manager"):
        page = login_as(who).get("/board/")
        assert page.status_code in (302, 403) and b"data-stream-token" not in page.data
    dispatcher_token = token_of(login_as("dispatcher").get("/board/rows").get_data(as_text=True))
    assert stream_viewer(dispatcher_token, SECRET)[0] == hospital.user("dispatcher").id
    forged = stream_token(hospital.user("dispatcher").id, "another-secret")

    class SignedAnHourAgo(TimestampSigner):
        def get_timestamp(self) -> int:
            return int(time.time()) - TOKEN_SECONDS - 60

    expired = URLSafeTimedSerializer(SECRET, salt=TOKEN_SALT, signer=SignedAnHourAgo).dumps(
        {"user": hospital.user("dispatcher").id})
    with board_stream(TEST_REDIS_URL, SECRET) as port:
        for token in (None, "", "rubbish", forged, expired):
            stream = Stream(port, token)
            assert stream.status == 403, token
            stream.close()
        good = Stream(port, dispatcher_token)
        assert good.status == 200 and good.next_event()[0] == "ready"
        good.close()


def test_a_stream_from_another_origin_is_allowed_only_from_the_web_app(hospital, redis_conn):
    token = stream_token(hospital.user("dispatcher").id, SECRET)
    with board_stream(TEST_REDIS_URL, SECRET, allowed_origin="http://127.0.0.1:5000") as port:
        ours = Stream(port, token, origin="http://127.0.0.1:5000")
        assert ours.response.getheader("Access-Control-Allow-Origin") == "http://127.0.0.1:5000"
        assert ours.response.getheader("X-Accel-Buffering") == "no"
        ours.close()
        theirs = Stream(port, token, origin="http://evil.example")
        assert theirs.response.getheader("Access-Control-Allow-Origin") is None
        theirs.close()


def test_the_board_page_opens_its_stream_and_falls_back_to_re_reading(hospital, login_as, app):
    app.config["BOARD_STREAM_URL"] = "http://127.0.0.1:5001/board/stream"
    response = login_as("dispatcher").get("/board/")
    page = response.get_data(as_text=True)
    assert 'data-stream-url="http://127.0.0.1:5001/board/stream"' in page
    assert 'data-refresh="10"' in page  # the re-reading the board falls back to
    assert "connect-src 'self' http://127.0.0.1:5001" in response.headers["Content-Security-Policy"]
    app.config["BOARD_STREAM_URL"] = "/board/stream"
    response = login_as("dispatcher").get("/board/")
    assert "connect-src" not in response.headers["Content-Security-Policy"]
