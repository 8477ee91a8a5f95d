"""An open board shows a change made elsewhere without being reloaded: through its stream while the stream is up,
by re-reading every few seconds while it is down."""
from __future__ import annotations

from playwright.sync_api import expect

from bench.stack import free_port
from dispatch.services.assignment import assign_ticket
from tests.board_stream_rig import board_stream
from tests.conftest import TEST_REDIS_URL
from tests.e2e.test_fault_to_fix import log_in
from tests.test_pages import file_fault


def test_a_change_made_elsewhere_appears_on_an_open_board_through_its_stream(live_server, new_device, hospital, app,
                                                                              redis_conn):
    first = file_fault(hospital, description="Sockets dead in bay 1")
    # Re-reading is put out of reach for the test: only the stream can bring the change in time.
    app.config["BOARD_REFRESH_SECONDS"] = 600
    with board_stream(TEST_REDIS_URL, app.config["SECRET_KEY"], allowed_origin=live_server) as port:
        app.config["BOARD_STREAM_URL"] = f"http://127.0.0.1:{port}/board/stream"
        page = new_device(live_server)
        log_in(page, "dispatcher")
        page.goto("/board/")
        expect(page.locator("#board.live")).to_have_count(1)
        page.evaluate("window.notReloaded = true")
        expect(page.locator(f'tr[data-ticket="{first.id}"]')).to_contain_text("Sockets dead in bay 1")

        second = file_fault(hospital, ward="ward3", description="Lights flickering in the corridor")
        assign_ticket(first.id, hospital.users["sparky"].id, hospital.user("dispatcher2"))

        expect(page.locator(f'tr[data-ticket="{second.id}"]')).to_contain_text("Lights flickering", timeout=3000)
        expect(page.locator(f'tr[data-ticket="{first.id}"]')).to_contain_text("Wang Sparky", timeout=3000)
        assert page.evaluate("window.notReloaded") is True


def test_a_board_whose_stream_is_down_re_reads_itself(live_server, new_device, hospital, app):
    file_fault(hospital, description="Sockets dead in bay 1")
    app.config["BOARD_REFRESH_SECONDS"] = 1
    app.config["BOARD_STREAM_URL"] = f"http://127.0.0.1:{free_port()}/board/stream"  # nothing listens there
    page = new_device(live_server)
    log_in(page, "dispatcher")
    page.goto("/board/")
    page.evaluate("window.notReloaded = true")
    later = file_fault(hospital, ward="ward3", description="Lights flickering in the corridor")
    expect(page.locator(f'tr[data-ticket="{later.id}"]')).to_contain_text("Lights flickering", timeout=5000)
    expect(page.locator("#board.live")).to_have_count(0)
    assert page.evaluate("window.notReloaded") is True
