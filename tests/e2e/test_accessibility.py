"""axe-core (WCAG 2.2 AA rules) over every page as each role, in headless Chromium, failing on serious or critical
findings; and at a phone's 375 px no page scrolls sideways. axe-core comes from npm (package.json, installed into
./node_modules by `make test`).

A page that two roles are sent alike (the same template with the same data: the same HTML but for the top bar and
the per-request tokens) is the same document to axe and to the phone's width, so it is walked once, by the first
role in WEB_ROLES that sees it; each role's top bar is the same on all its pages and is checked on the pages its
walk keeps (so one role's test run alone walks only that role's share). The walks share one furnished hospital:
they only read pages (and log in)."""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from tests.access_policy import PEOPLE, POLICY, WEB_ROLES
from tests.conftest import furnished_hospital
from tests.e2e.conftest import STEP_TIMEOUT_MS, serve
from tests.e2e.test_fault_to_fix import log_in

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


# What differs from one request to the next (CSRF tokens, CSP nonces), and the top bar: the role's own, the same on
# each of its pages but for the hidden field that brings the language switch back to the page.
PER_REQUEST = [(re.compile(r'(name="csrf_token"[^>]*value=")[^"]+'), r"\1"), (re.compile(r'nonce="[^"]+"'), 'nonce=""')]
TOP_BAR = re.compile(r'<header class="topbar">.*?</header>', re.S)


def rendering(client, path: str) -> str:
    """The page as the role is sent it, less the per-request tokens and the top bar."""
    response = client.get(path)
    try:
        assert response.status_code == 200, (path, response.status_code)
        page = response.get_data(as_text=True)
    finally:
        response.close()
    for pattern, blank in PER_REQUEST:
        page = pattern.sub(blank, page)
    return TOP_BAR.sub("<header></header>", page, count=1)


def fragments(app, client) -> str:
    """The pieces the pages' scripts fetch (the board's rows, an ongoing incident), as the role gets them: a page
    is only the same document for two roles if these are the same too."""
    pieces = []
    for rule in sorted(app.url_map.iter_rules(), key=lambda rule: rule.rule):
        if rule.endpoint in FRAGMENTS:
            response = client.get(rule.rule)
            pieces.append(f"{rule.rule} {response.status_code} {response.get_data(as_text=True)}")
            response.close()
    return "\n".join(pieces)


@dataclass
class Walks:
    """Each role's pages to put under axe, and the pages it is sent alike with the role that walks them."""

    pages: dict[str, list[str]] = field(default_factory=dict)
    alike: dict[str, list[tuple[str, str]]] = field(default_factory=dict)


def plan_walks(hospital) -> Walks:
    walks, walked_by = Walks(), {}
    for role in WEB_ROLES:
        client = hospital.browser(PEOPLE[role]).client
        scripts_fetch = fragments(hospital.app, client)
        walks.pages[role], walks.alike[role] = [], []
        for path in pages_of(hospital.app, role, hospital.ids):
            seen = walked_by.setdefault((path, rendering(client, path), scripts_fetch), role)
            if seen == role:
                walks.pages[role].append(path)
            else:
                walks.alike[role].append((path, seen))
    return walks


@pytest.fixture(scope="module")
def walk(db_backend, migrated_database, tmp_path_factory):
    """The furnished hospital (tests/factories.py) served over HTTP, and the walks planned on it."""
    with furnished_hospital("axe_walk", db_backend, migrated_database, tmp_path_factory) as hospital, \
            serve(hospital.app) as base_url:
        yield hospital, base_url, plan_walks(hospital)


@pytest.mark.parametrize("role", WEB_ROLES)
def test_no_serious_accessibility_findings_and_no_sideways_scroll_on_a_phone(walk, device, role):
    assert AXE.is_file(), "axe-core is missing: run `npm ci` (make test does)"
    hospital, base_url, walks = walk
    assert len(pages_of(hospital.app, role, hospital.ids)) >= 3
    paths = walks.pages[role]
    assert paths, f"no page of the {role}'s own to check its top bar on"
    # Still sent alike now that the walks before this one have logged in (the proof the pages left out need).
    client = hospital.browser(PEOPLE[role]).client
    others = {other: hospital.browser(PEOPLE[other]).client for _, other in walks.alike[role]}
    scripts_fetch = fragments(hospital.app, client)
    assert all(fragments(hospital.app, others[other]) == scripts_fetch for other in others), sorted(others)
    for path, other in walks.alike[role]:
        assert rendering(client, path) == rendering(others[other], path), (path, other)
    desk, phone = device(base_url), device(base_url, width=375)
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
