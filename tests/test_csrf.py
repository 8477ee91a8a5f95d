"""CSRF on every form. Every POST route of the pages (from `app.url_map`; the API and Twilio's webhooks have
their own keys) refuses a post without this session's token, by someone allowed to use it, with a 400 page that
says what to do, and changes nothing; and every form a person is shown carries its token."""
from __future__ import annotations

import re

import pytest

from dispatch import create_app
from tests.access_policy import (
    CSRF_EXEMPT_BLUEPRINTS, PEOPLE, POLICY, WEB_ROLES, build_path, expected, url_values,
)
from tests.conftest import PASSWORD, changed_tables, csrf_token
from tests.forms import endpoint_of, forms_on

REFUSED_TITLE = "Form not accepted"
REFUSED_ADVICE = "Go back, reload the page and send it again."


def _post_routes():
    """(endpoint, rule) of every POST route of the pages, read from a bare app's url_map."""
    app = create_app({"TESTING": True, "SECRET_KEY": "x", "SQLALCHEMY_DATABASE_URI": "sqlite://"})
    return sorted(((rule.endpoint, rule.rule) for rule in app.url_map.iter_rules()
                   if "POST" in rule.methods and rule.endpoint.split(".")[0] not in CSRF_EXEMPT_BLUEPRINTS),
                  key=lambda pair: pair[1])


POST_ROUTES = _post_routes()
# Someone allowed, tried in this order (the ICU job is theirs to work or confirm where it matters).
PREFERRED = ("dispatcher", "supervisor", "admin", "manager", "nurse", "technician")


def _allowed_role(endpoint: str) -> str:
    access = POLICY[endpoint]
    action = next(iter(access.acts)) if isinstance(access.acts, dict) else None
    for role in PREFERRED:
        visible = role == "technician" if access.scope == "swap" else True
        if expected(access, "POST", role, visible=visible, action_name=action) == "allowed":
            return role
    raise AssertionError(f"nobody may post to {endpoint}")


def _answer(response) -> tuple[int, str, dict]:
    try:
        return response.status_code, response.get_data(as_text=True), dict(response.headers)
    finally:
        response.close()


def _forms_for(site_crawl, app, endpoint: str, path: str) -> list[dict]:
    """What the pages send there, the same address first; the empty form when no page shows one."""
    forms = [form for crawl in site_crawl.values() for form in crawl.forms
             if form.method == "post" and endpoint_of(app, form) == endpoint]
    forms.sort(key=lambda form: form.action.split("?")[0] != path)
    return [form.submission() for form in forms[:1]] or [{}]


def test_the_exempt_routes_are_the_api_and_the_webhooks_only(read_only_hospital):
    from dispatch.extensions import csrf

    # Flask-WTF keeps what was exempted in these two sets: whole blueprints, and single views (none).
    assert {blueprint.name for blueprint in csrf._exempt_blueprints} == set(CSRF_EXEMPT_BLUEPRINTS)
    assert not csrf._exempt_views
    assert {endpoint.split(".")[0] for endpoint, _rule in POST_ROUTES} & set(CSRF_EXEMPT_BLUEPRINTS) == set()
    assert len(POST_ROUTES) > 40  # the whole of the pages' forms, not a handful


@pytest.mark.parametrize("endpoint, rule_text", POST_ROUTES)
def test_a_post_without_this_sessions_token_is_refused_and_changes_nothing(read_only_hospital, site_crawl, endpoint,
                                                                           rule_text):
    hospital = read_only_hospital
    app = hospital.app
    rule = next(rule for rule in app.url_map.iter_rules(endpoint) if rule.rule == rule_text)
    access = POLICY[endpoint]
    action = next(iter(access.acts)) if isinstance(access.acts, dict) else None
    path = build_path(rule, {**url_values(endpoint, rule.arguments, hospital.ids),
                             **({"action": action} if action else {})})
    if endpoint == "auth.login":
        client = hospital.test_client()
        client.get("/login").close()  # a session of its own, with a token it does not send
        data = {"username": "dispatcher", "password": PASSWORD}
        someone_elses = hospital.browser("dispatcher").token
    else:
        browser = hospital.fresh_browser(PEOPLE[_allowed_role(endpoint)])
        client, [data] = browser.client, _forms_for(site_crawl, app, endpoint, path)
        someone_elses = hospital.browser("admin").token
    before = hospital.fingerprint()
    for token in (None, "forged", someone_elses):
        sent = {**data, "csrf_token": token} if token else data
        status, page, headers = _answer(client.post(path, data=sent))
        assert status == 400, (token, status, page[:300])
        assert REFUSED_TITLE in page and REFUSED_ADVICE in page
        assert headers["Content-Type"].startswith("text/html")
        assert "Set-Cookie" not in headers or "lang=" not in headers["Set-Cookie"]
    assert changed_tables(before, hospital.fingerprint()) == []


def test_the_refusal_speaks_the_persons_language(read_only_hospital):
    client = read_only_hospital.test_client()
    status, page, _headers = _answer(client.post("/login?lang=zh_CN", data={"username": "x", "password": "y"}))
    assert status == 400
    assert "表单未被接受" in page and REFUSED_TITLE not in page


@pytest.mark.parametrize("role", [*WEB_ROLES, "anonymous"])
def test_every_post_form_a_person_is_shown_carries_its_token(read_only_hospital, site_crawl, role):
    found = site_crawl[role]
    posts = [form for form in found.forms if form.method == "post"]
    assert posts, f"the crawl as {role} found no forms"
    problems = []
    for form in posts:
        endpoint = endpoint_of(read_only_hospital.app, form)
        if endpoint is None:
            problems.append(f"{form.page}: a form posts to {form.action}, which takes no POST")
        elif endpoint.split(".")[0] in CSRF_EXEMPT_BLUEPRINTS:
            problems.append(f"{form.page}: a form posts to {form.action}, which takes no CSRF token")
        elif not form.has_csrf_token():
            problems.append(f"{form.page}: the form to {form.action} has no csrf_token")
    assert problems == []


def test_the_crawl_reaches_the_forms_of_most_post_routes(site_crawl, read_only_hospital):
    """So the check above is about the forms people use: every kind of page with a form was rendered."""
    shown = {endpoint_of(read_only_hospital.app, form) for crawl in site_crawl.values() for form in crawl.forms
             if form.method == "post"}
    routes = {endpoint for endpoint, _rule in POST_ROUTES}
    # A failed job's buttons need a failed job in Redis; the report form's "add to the ongoing incident" gets its
    # address from ongoing.js once the ward's trade is known. A directory group's Remove button needs a mapped group
    # (tests/test_directory_ldap.py sends it with and without its token). A permit's issue, accept and cancel
    # buttons are shown only to a holder of that trade's Authorised or Competent Person licence at that stage
    # (tests/test_permits.py presses each from the page, with its token).
    assert routes - shown <= {"operations.requeue", "operations.delete", "incidents.comment",
                              "admin.remove_directory_group", "permits.issue", "permits.accept",
                              "permits.cancel"}, sorted(routes - shown)


def test_the_form_parser_reads_what_a_browser_would_send():
    page = """<form method="post" action="/x?y=1" id="f"><input type="hidden" name="csrf_token" value="t">
      <input name="a" value="1"><input type="checkbox" name="b" value="y" checked><input type="checkbox" name="c">
      <select name="s"><option value="1">One</option><option value="2" selected>Two</option></select>
      <textarea name="t">
hello</textarea><button name="go" value="save">Save</button><button name="go" value="delete">X</button></form>
      <input name="outside" form="f" value="o"><form method="get" action="/find"><input name="q"></form>"""
    post, get = forms_on(page, "/page")
    assert (post.method, post.action, get.method, get.action) == ("post", "/x?y=1", "get", "/find")
    assert post.has_csrf_token() and not get.has_csrf_token()
    assert post.submission() == {"a": "1", "b": "y", "s": "2", "t": "hello", "go": "save", "outside": "o"}
    assert re.sub(r"\s", "", "".join(post.names)) == "csrf_tokenabcstgooutside"
