"""The whole access matrix: every route of `app.url_map`, by page and by API, against every role and nobody,
as tests/access_policy.py says. Ids in URLs are real ones of the furnished hospital; a ticket route is also
tried with another ward's ticket and a missing one, which must look alike. A refused POST changes nothing."""
from __future__ import annotations

import json
import re
from urllib.parse import parse_qs, urlsplit

import pytest

from dispatch.services.tickets import TRANSITIONS
from models import ROLES
from tests.access_policy import (
    ACTS_BY_ACTION, API_ACTS_BY_ACTION, API_ROLES, BEARER, LOGIN, MISSING, NOT_SET_UP, PEOPLE, POLICY, PUBLIC, SIGNED, WEB_ROLES,
    build_path, expected, may_see_ticket, url_values,
)
from tests.conftest import changed_tables, csrf_token
from tests.forms import endpoint_of

# Who sees less than everything, and so is who a guessed id is tried on.
LIMITED = ("nurse", "technician", "integration")


def test_the_policy_names_every_route_of_the_app_and_nothing_else(read_only_hospital):
    endpoints = {rule.endpoint for rule in read_only_hospital.app.url_map.iter_rules()}
    assert sorted(endpoints - set(POLICY)) == [], "routes with no line in tests/access_policy.py"
    assert sorted(set(POLICY) - endpoints) == [], "lines in tests/access_policy.py for routes that are gone"


def test_the_policy_covers_every_role_and_every_ticket_action():
    assert set(PEOPLE) == set(ROLES) == set(API_ROLES)
    assert set(ACTS_BY_ACTION) == set(TRANSITIONS)
    assert {a.replace("-", "_") for a in API_ACTS_BY_ACTION} == set(TRANSITIONS)


def test_each_line_describes_the_methods_its_routes_take(read_only_hospital):
    wrong = []
    for rule in read_only_hospital.app.url_map.iter_rules():
        access, methods = POLICY[rule.endpoint], rule.methods - {"HEAD", "OPTIONS"}
        if ("GET" in methods) != (access.get is not None) or ("POST" in methods) != (access.post is not None):
            wrong.append(f"{rule.endpoint} {rule.rule} takes {sorted(methods)}")
    assert wrong == []


# --- the matrix -----------------------------------------------------------------------------------

def _variants(endpoint: str, access, rule, ids: dict):
    """(label, URL values, which ticket or swap, action) for each way the matrix tries this rule."""
    base = url_values(endpoint, rule.arguments, ids)
    actions = list(access.acts) if isinstance(access.acts, dict) else [None]
    for name in actions:
        values = {**base, "action": name} if name else base
        if access.scope == "ticket":
            key = "number" if "number" in rule.arguments else "ticket_id"
            yield "", values, "icu", name
            yield "another ward's ticket", {**values, key: ids["ward3_ticket"]}, "ward3", name
            yield "a missing ticket", {**values, key: MISSING}, "missing", name
        elif access.scope == "swap":
            yield "", values, "own", name
            yield "someone else's swap", {**values, "request_id": ids["others_swap"]}, "others", name
        else:
            yield "", values, None, name


def _visible(role: str, which: str | None) -> bool:
    if which is None:
        return True
    if which in ("own", "others"):
        return which == "own" and role == "technician"
    return may_see_ticket(role, which)


def _fill(template: dict, ids: dict) -> dict:
    return {k: (int(ids[v[1:-1]]) if isinstance(v, str) and v.startswith("{") else v) for k, v in template.items()}


def _form_data(site_crawl, app, endpoint: str, path: str) -> dict:
    """What an allowed person's page sends to this route (the same address if one was rendered), so a refused
    POST is refused with data that would have done something; {} for a route no page shows a form for."""
    forms = [form for crawl in site_crawl.values() for form in crawl.forms
             if form.method == "post" and endpoint_of(app, form) == endpoint]
    same = [form for form in forms if form.action.split("?")[0] == path]
    # Else a form for the same ticket (another action on its page carries its current version).
    stem = path.rsplit("/", 1)[0]
    near = [form for form in forms if form.action.split("?")[0].rsplit("/", 1)[0] == stem]
    chosen = (same or near or forms)[:1]
    return chosen[0].submission() if chosen else {}


def _answer(response) -> tuple[int, str]:
    try:
        return response.status_code, response.get_data().decode("utf-8", "replace")
    finally:
        response.close()


def _blank(body: str, number) -> str:
    """A page or JSON body with the ticket number and the (per-request) CSRF token blanked, for comparing."""
    body = re.sub(r'(name="csrf_token"[^>]*value=")[^"]+', r"\1", body)
    return body.replace(str(number), "N")


@pytest.mark.parametrize("endpoint", sorted(POLICY))
def test_every_role_gets_what_the_policy_says(read_only_hospital, site_crawl, endpoint):
    hospital, access = read_only_hospital, POLICY[endpoint]
    app, ids = hospital.app, hospital.ids
    problems: list[str] = []
    for role in (API_ROLES if access.api else WEB_ROLES):  # logins and a token's first use are on record
        hospital.token(PEOPLE[role]) if access.api else hospital.browser(PEOPLE[role])
    before = hospital.fingerprint()
    for rule in app.url_map.iter_rules(endpoint):
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            bodies: dict[tuple, tuple[int, str]] = {}
            for label, values, which, action_name in _variants(endpoint, access, rule, ids):
                path = build_path(rule, values)
                where = f"{method} {path}" + (f" ({label})" if label else "")
                data = _form_data(site_crawl, app, endpoint, path) if method == "POST" and not access.api else {}
                for role in (API_ROLES if access.api else WEB_ROLES):
                    if label and role not in LIMITED:
                        continue  # those who see every ticket are tried on the real one
                    want = expected(access, method, role, visible=_visible(role, which), action_name=action_name)
                    if want == "allowed":
                        continue  # a POST that would change things: the feature's own tests send those
                    if access.anonymous == SIGNED:
                        want = 403
                    response = _send(hospital, access, method, path, role, data, ids)
                    status, body = _answer(response)
                    wanted = access.ok if want == "ok" else want
                    if status != wanted:
                        problems.append(f"{where} as {role}: {status}, expected {wanted}")
                    if label:
                        bodies[(role, action_name, which)] = (status, _blank(body, values.get("number",
                                                                                            values.get("ticket_id"))))
                problems += _anonymous(hospital, access, method, path, where)
            # Another ward's ticket and a missing one get the same answer, word for word.
            for (role, action_name, which), (status, body) in bodies.items():
                if which == "ward3" and status == 404 and bodies.get((role, action_name, "missing")) != (status, body):
                    problems.append(f"{method} {rule.rule} as {role}: another ward's ticket is told from a missing one")
    changed = changed_tables(before, hospital.fingerprint())
    assert not problems, "\n".join(problems)
    assert changed == [], f"refused requests changed {changed}"


def _send(hospital, access, method: str, path: str, role: str, data: dict, ids: dict):
    if access.api:
        client, headers = hospital.test_client(), hospital.token(PEOPLE[role])
        if method == "GET":
            return client.get(path, headers=headers)
        return client.post(path, headers=headers, json=_fill(access.json, ids))
    browser = hospital.browser(PEOPLE[role])
    if method == "GET":
        return browser.get(path)
    if access.anonymous == SIGNED:
        return browser.client.post(path, data={"From": "+8613900000001", "Body": "A"})  # no signature
    return browser.post(path, data=data)


def _anonymous(hospital, access, method: str, path: str, where: str) -> list[str]:
    client = hospital.test_client()
    if access.anonymous == NOT_SET_UP:
        status, _body = _answer(client.get(path))
        return [] if status == 404 else [f"{where} by nobody: {status}, expected 404"]
    if access.anonymous == PUBLIC:
        if method == "POST":
            return []  # open to anyone, and it would change things (a login, a language)
        status, _body = _answer(client.get(path))
        return [] if status == 200 else [f"{where} by nobody: {status}, expected 200"]
    if method == "GET":
        response = client.get(path)
    else:
        token = csrf_token(_answer(client.get("/login"))[1]) if access.anonymous == LOGIN else None
        response = client.post(path, data={"csrf_token": token} if token else {"Body": "A"})
    location, is_json, authenticate = (response.headers.get("Location", ""), response.is_json,
                                       response.headers.get("WWW-Authenticate", ""))
    status, body = _answer(response)
    if access.anonymous == LOGIN:
        target = urlsplit(location)
        if status != 302 or target.path != "/login" or parse_qs(target.query).get("next") != [path]:
            return [f"{where} by nobody: {status} to {location!r}, expected the login page coming back here"]
    elif access.anonymous == BEARER:
        if status != 401 or not is_json or not json.loads(body).get("message") or not authenticate.startswith("Bearer"):
            return [f"{where} by nobody: {status}, expected 401 JSON asking for a bearer token"]
    elif access.anonymous == SIGNED and status != 403:
        return [f"{where} by nobody: {status}, expected 403"]
    return []


# --- beyond the table -----------------------------------------------------------------------------

@pytest.mark.parametrize("role", WEB_ROLES)
def test_a_logged_in_browser_is_nobody_to_the_api(read_only_hospital, role):
    """The API reads bearer tokens only: a session cookie (which a cross-site request could carry) opens nothing."""
    client = read_only_hospital.browser(PEOPLE[role]).client
    for path in ("/api/v1/tickets", f"/api/v1/tickets/{read_only_hospital.ids['icu_ticket']}"):
        status, _body = _answer(client.get(path))
        assert status == 401, path
    status, _body = _answer(client.post("/api/v1/tickets", json={"ward_id": read_only_hospital.ids["icu"],
                                                                 "trade": "power", "description": "No power"}))
    assert status == 401


def test_a_wrong_calendar_link_is_not_found_for_anyone(read_only_hospital):
    for client in (read_only_hospital.test_client(), read_only_hospital.browser("sparky").client):
        status, _body = _answer(client.get("/oncall/calendar/not-the-secret.ics"))
        assert status == 404


@pytest.mark.parametrize("path", ["/tickets/99999999999999999999", "/planned/2147483648", "/stock/parts/9223372036854775808",
                                  "/admin/staff/18446744073709551616", "/p/99999999999999999999"])
def test_an_id_past_the_largest_key_is_simply_not_found(read_only_hospital, path):
    # SQLite cannot bind an integer past 2**63, PostgreSQL's integer ends at 2**31 - 1: neither is a 500.
    status, _body = _answer(read_only_hospital.browser("admin").get(path))
    assert status == 404


def test_an_alarm_panel_cannot_log_in_to_the_pages(read_only_hospital):
    from tests.conftest import PASSWORD

    client = read_only_hospital.test_client()
    token = csrf_token(_answer(client.get("/login"))[1])
    status, page = _answer(client.post("/login", data={"username": "bms", "password": PASSWORD, "csrf_token": token}))
    assert status == 200 and "alarm panel" in page
    status, _body = _answer(client.get("/"))
    assert status == 302  # still nobody
    # A session made for it some other way opens nothing either.
    with client.session_transaction() as session:
        session["_user_id"] = str(read_only_hospital.users["bms"])
        session["_fresh"] = True
    response = client.get(f"/tickets/{read_only_hospital.ids['icu_ticket']}")
    assert response.status_code == 302 and urlsplit(response.headers["Location"]).path == "/login"
    response.close()


def test_looking_at_every_page_as_everyone_changes_nothing(read_only_hospital, site_crawl):
    """GET is safe: the crawl behind the forms above went everywhere each role can, and the matrix opened every
    page; reading must never write (beyond the first login and token use, done before anything is compared)."""
    before = read_only_hospital.fingerprint()
    for role in WEB_ROLES:
        client = read_only_hospital.browser(PEOPLE[role]).client
        for page in list(site_crawl[role].pages)[:60]:
            _answer(client.get(page))
    assert changed_tables(before, read_only_hospital.fingerprint()) == []
    assert all(len(site_crawl[role].pages) > 3 for role in WEB_ROLES)
