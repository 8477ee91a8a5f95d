"""The Content-Security-Policy in a real browser: the board's refresh, the report form's ongoing-incident check
and the API's Swagger UI page all still work, and no page is refused anything by the policy."""
from __future__ import annotations

from playwright.sync_api import Page, expect

from tests.e2e.test_fault_to_fix import log_in


def watch_for_violations(page: Page) -> list[str]:
    """Every message the browser logs about the policy (Chromium: "Refused to ... Content Security Policy")."""
    seen: list[str] = []
    page.on("console", lambda message: seen.append(message.text)
            if "Content Security Policy" in message.text or "Content-Security-Policy" in message.text else None)
    return seen


def test_the_board_refreshes_its_rows_under_the_policy(app, live_server, new_device, hospital):
    app.config["BOARD_REFRESH_SECONDS"] = 1
    page = new_device(live_server)
    violations = watch_for_violations(page)
    log_in(page, "dispatcher")
    page.goto("/board/")
    with page.expect_response(lambda response: "/board/rows" in response.url and response.status == 200):
        pass  # board.js fetched the rows again on its own
    assert violations == []


def test_the_report_form_asks_about_ongoing_incidents_under_the_policy(live_server, new_device, hospital):
    page = new_device(live_server)
    violations = watch_for_violations(page)
    log_in(page, "nurse.icu")
    page.goto("/report")
    with page.expect_response(lambda response: "/incidents/ongoing" in response.url or "ongoing" in response.url):
        page.locator("input[name=trade_id]").first.check()
    assert violations == []


def test_the_api_documentation_page_works_under_its_own_policy(live_server, new_device):
    page = new_device(live_server)
    violations = watch_for_violations(page)
    response = page.goto("/api/docs")
    assert "'sha256-" in response.headers["content-security-policy"]
    expect(page.locator(".swagger-ui .info .title")).to_contain_text("Dispatch API")
    expect(page.locator(".opblock").first).to_be_visible()
    assert violations == []


def test_pages_with_charts_and_forms_raise_no_violations(live_server, new_device, hospital):
    page = new_device(live_server)
    violations = watch_for_violations(page)
    log_in(page, "admin")
    for path in ("/board/", "/reports/compliance", "/reports/workload", "/oncall/", "/admin/staff", "/report"):
        page.goto(path)
        page.wait_for_load_state("networkidle")
    assert violations == []
