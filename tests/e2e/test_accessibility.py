"""axe-core (WCAG 2.2 AA rules) over every page as each role, in headless Chromium, failing on serious or critical
findings; and at a phone's 375 px no page scrolls sideways. axe-core comes from npm (package.json, installed into
./node_modules by `make test`)."""
from __future__ import annotations

from pathlib import Path

import pytest

from tests.access_policy import PEOPLE, POLICY, WEB_ROLES
from tests.e2e.conftest import STEP_TIMEOUT_MS
from tests.e2e.test_fault_to_fix import log_in
from tests.factories import furnish_hospital

AXE = Path(__file__).resolve().parents[2] / "node_modules" / "axe-core" / "axe.min.js"
WCAG_22_AA = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa"]
NOT_PAGES = ("/static", "/api", "/metrics", "/sms", "/voice", "/login", "/logout", "/language")
FILES = (".csv", ".xlsx", ".pdf", ".svg", ".ics", ".json", ".png")  # downloads, not pages
# Pieces of a page that its script fetches and puts into the page, not documents of their own.
FRAGMENTS = {"board.rows", "incidents.ongoing"}


def pages_of(app, role: str, ids: dict) -> list[str]:
    """The GET pages without arguments this role may open (app.url_map and the access policy), and a ticket."""
    paths = sorted({rule.rule for rule in app.url_map.iter_rules()
                    if "GET" in rule.methods and not rule.arguments and not rule.rule.startswith(NOT_PAGES)
                    and not rule.rule.endswith(FILES) and rule.endpoint not in FRAGMENTS
                    and (policy := POLICY.get(rule.endpoint)) is not None and not policy.api
                    and policy.get is not None and role in policy.get and policy.ok == 200})
    return paths + [f"/tickets/{ids['icu_ticket']}"]


@pytest.fixture
def device(browser):
    """A browser context of our own: axe is injected as a script, which the app's CSP would refuse."""
    contexts = []

    def open_device(base_url: str, width: int = 1280):
        context = browser.new_context(base_url=base_url, locale="en-GB", timezone_id="Asia/Shanghai",
                                      viewport={"width": width, "height": 900}, bypass_csp=True)
        context.set_default_timeout(STEP_TIMEOUT_MS)
        contexts.append(context)
        return context.new_page()

    yield open_device
    for context in contexts:
        context.close()


def axe_findings(page) -> list[str]:
    page.add_script_tag(path=str(AXE))
    found = page.evaluate("""async (tags) => {
        const result = await axe.run(document, {runOnly: {type: 'tag', values: tags}});
        return result.violations.filter(v => v.impact === 'serious' || v.impact === 'critical')
            .map(v => `${v.impact} ${v.id}: ${v.nodes.slice(0, 3).map(n => n.target.join(' ')).join(' | ')}`);
    }""", WCAG_22_AA)
    return found


def test_axe_core_is_installed():
    assert AXE.is_file(), "axe-core is missing: run `npm ci` (make test does) to install it into node_modules/"


@pytest.mark.parametrize("role", WEB_ROLES)
def test_no_serious_accessibility_findings_and_no_sideways_scroll_on_a_phone(app, live_server, device, hospital,
                                                                             role):
    assert AXE.is_file(), "axe-core is missing: run `npm ci` (make test does)"
    ids = furnish_hospital(hospital).ids
    paths = pages_of(app, role, ids)
    assert len(paths) >= 3, paths
    desk, phone = device(live_server), device(live_server, width=375)
    for page in (desk, phone):
        log_in(page, PEOPLE[role])
    findings, too_wide = [], []
    for path in paths:
        response = desk.goto(path)
        assert response.status == 200, (path, response.status)
        findings += [f"{path}: {finding}" for finding in axe_findings(desk)]
        phone.goto(path)
        width = phone.evaluate("document.documentElement.scrollWidth")
        if width > 375:
            too_wide.append(f"{path}: {width} px")
    assert findings == [], "\n".join(findings)
    assert too_wide == [], "\n".join(too_wide)
