"""Explicit fixtures for browser tests: headless Chromium (Debian's, never Playwright's download) and the
real app served over HTTP from a thread, on the test database the suite's fixtures prepared."""
from __future__ import annotations

import os
import shutil
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from werkzeug.serving import make_server

CHROMIUM_ARGS = ["--no-sandbox", "--disable-background-networking", "--disable-gpu", "--disable-component-update",
                 "--no-first-run", "--disable-sync"]
STEP_TIMEOUT_MS = 10_000


def chromium_path() -> str:
    """Debian's Chromium: $DISPATCH_CHROMIUM, else `chromium` on PATH, else /usr/bin/chromium."""
    return os.environ.get("DISPATCH_CHROMIUM") or shutil.which("chromium") or "/usr/bin/chromium"


@pytest.fixture(scope="session")
def browser():
    """One headless Chromium for the session. A missing browser is a failure, never a skip."""
    executable = chromium_path()
    if not Path(executable).is_file():
        pytest.fail(f"Chromium not found at {executable}: install it (apt-get install chromium) "
                    "or set DISPATCH_CHROMIUM; the browser test must run.", pytrace=False)
    from playwright.sync_api import expect, sync_playwright

    expect.set_options(timeout=STEP_TIMEOUT_MS)
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=executable, headless=True, args=CHROMIUM_ARGS)
        try:
            yield chromium
        finally:
            chromium.close()


@pytest.fixture
def live_server(app) -> Iterator[str]:
    """The app from the `app` fixture (test database, frozen clock) on a free local port."""
    with serve(app) as url:
        yield url


@contextmanager
def serve(app) -> Iterator[str]:
    """The app on a free local port (its base URL) for as long as the block runs."""
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, name="dispatch-live-server", daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


@pytest.fixture
def new_device(browser):
    """Open a fresh browser context (a separate device: own cookies, own viewport); all are closed after."""
    contexts = []

    def open_device(base_url: str, *, phone: bool = False):
        options = {"viewport": {"width": 390, "height": 844}, "is_mobile": True, "has_touch": True} if phone else \
            {"viewport": {"width": 1280, "height": 900}}
        context = browser.new_context(base_url=base_url, locale="en-GB", timezone_id="Asia/Shanghai", **options)
        context.set_default_timeout(STEP_TIMEOUT_MS)
        context.set_default_navigation_timeout(STEP_TIMEOUT_MS)
        contexts.append(context)
        return context.new_page()

    yield open_device
    for context in contexts:
        context.close()
