"""HTTP as clients and fuzzers send it: every answer the protocol asks for, and text the databases cannot
hold refused by name instead of failing on the way in."""
from __future__ import annotations

from itertools import product

import pytest
from werkzeug.exceptions import MethodNotAllowed, NotFound
from werkzeug.routing import RequestRedirect

# Sample values for the parts of a URL; the first that makes the URL match its own rule is used.
SAMPLES = ("1", "acknowledge", "csv", "x", "2026-03-10")
UNUSUAL = ("PUT", "DELETE", "PATCH", "TRACE")


def _url_for_rule(app, rule) -> str | None:
    adapter = app.url_map.bind("localhost")
    method = next(iter(rule.methods - {"HEAD", "OPTIONS"}), "GET")
    names = sorted(rule.arguments)
    for samples in product(SAMPLES, repeat=len(names)):
        try:
            path = adapter.build(rule.endpoint, dict(zip(names, samples)), method=method,
                                 append_unknown=False)
        except ValueError:  # an <any(...)> part that is not one of its words
            continue
        try:
            endpoint, _values = adapter.match(path, method=method)
        except (NotFound, MethodNotAllowed, RequestRedirect):
            continue
        if endpoint == rule.endpoint:
            return path
    return None


def test_every_405_says_which_methods_the_address_allows(app):
    client = app.test_client()
    checked = 0
    for rule in app.url_map.iter_rules():
        path = _url_for_rule(app, rule)
        assert path is not None, f"no sample URL for {rule.rule}"
        adapter = app.url_map.bind("localhost")
        for method in UNUSUAL:
            try:
                adapter.match(path, method=method)
            except MethodNotAllowed as refused:
                allowed = set(refused.valid_methods)
                break
            except RequestRedirect:
                continue
        else:
            continue  # every unusual method is served here
        response = client.open(path, method=method)
        assert response.status_code == 405, (method, path)
        assert "Allow" in response.headers, (method, path, response.get_data(as_text=True)[:200])
        assert {m.strip() for m in response.headers["Allow"].split(",")} == allowed, (method, path)
        checked += 1
    assert checked > 50  # the pages and the API both


@pytest.mark.parametrize("method", ["PUT", "TRACE"])
def test_the_api_names_the_allowed_methods_on_a_405(client, method):
    response = client.open("/api/v1/tickets", method=method)
    assert response.status_code == 405
    assert {m.strip() for m in response.headers["Allow"].split(",")} >= {"GET", "POST"}
    assert response.get_json()["error"] == "Method Not Allowed"
