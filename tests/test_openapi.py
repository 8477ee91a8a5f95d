"""The API keeps to its own OpenAPI document: schemathesis generates requests (valid and invalid) from the
served document and checks that none is answered 5xx and every answer matches the document."""
from __future__ import annotations

import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from dispatch.services.tickets import report_fault

CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]
EXAMPLES = 60  # per operation and mode; about 700 requests in all


def test_the_document_is_browsable_from_files_the_app_serves(client):
    page = client.get("/api/docs")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert "/api/docs/static/swagger-ui-bundle.js" in html and "/api/openapi.json" in html
    assert "http" not in html.split("<body>")[1].split("config")[0]  # no script from elsewhere
    for name in ("swagger-ui-bundle.js", "swagger-ui.css", "swagger-ui-standalone-preset.js"):
        assert client.get(f"/api/docs/static/{name}").status_code == 200


def test_every_route_declares_its_errors_and_there_is_no_catch_all(client):
    document = client.get("/api/openapi.json").get_json()
    for path, operations in document["paths"].items():
        for method, operation in operations.items():
            if method == "parameters":  # path-level parameters, not an operation
                continue
            codes = set(operation["responses"])
            assert "default" not in codes, (method, path)
            assert "401" in codes, (method, path)
            assert "503" in codes, (method, path)  # the database not answering
            if "requestBody" in operation or operation.get("parameters"):
                assert "422" in codes or "404" in codes, (method, path)
    assert "429" in document["paths"]["/api/v1/alarms"]["post"]["responses"]
    assert document["components"]["securitySchemes"]["bearer"] == {"type": "http", "scheme": "bearer"}


def test_generated_requests_get_no_5xx_and_no_answer_outside_the_document(app, hospital, api_token):
    headers = api_token("dispatcher")
    for n in range(3):
        report_fault(hospital.user("nurse.icu"), ward_id=hospital.icu.id, trade_id=hospital.trades["power"].id,
                     description=f"No power to bed {n}")
    schema = schemathesis.openapi.from_wsgi("/api/openapi.json", app)
    sent = {"requests": 0}
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 7
    for operation in operations:
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
            @given(case=operation.as_strategy(generation_mode=mode))
            @settings(max_examples=EXAMPLES, deadline=None, database=None, derandomize=True,
                      phases=[Phase.explicit, Phase.generate], suppress_health_check=list(HealthCheck))
            def exchange(case):
                response = case.call(headers=headers)
                sent["requests"] += 1
                case.validate_response(response, checks=CHECKS)

            exchange()
    print(f"schemathesis: {sent['requests']} requests")
    assert sent["requests"] >= 500


# What only the hospital's data can decide (does this ward exist, is the technician licensed, is the point
# mapped): a request that fits the document may still be refused for these, and for nothing else.
ABOUT_THE_DATA = {"Choose a ward.", "That asset is not in this ward.", "That room is not in this ward.",
                  "No such technician.", "Unknown entry."}
ABOUT_THE_DATA_KINDS = {"NotLicensedError", "UnmappedAlarmPointError"}
# Rules OpenAPI 3.0 has no way to state: between two fields (a period's end after its start, and its length) and
# a date-time's range (JSON Schema's minimum applies to numbers only). The 422 names the field and says the rule.
BETWEEN_FIELDS = {"The start date is after the end date.", "Choose at most ten years.", "Choose at most three years.",
                  "The interruption must end after it starts.", "Give a time between 2000 and 2100."}
POSITIVE_EXAMPLES = 80  # per operation


def refused_for_the_data(body: dict) -> bool:
    messages = {m for ms in (body.get("errors") or {}).values() for m in ms} or {body.get("message")}
    return body.get("error") in ABOUT_THE_DATA_KINDS or messages <= ABOUT_THE_DATA | BETWEEN_FIELDS or all(
        m.endswith("already has this job.") for m in messages)


def test_a_request_that_fits_the_document_is_not_refused_for_what_the_document_could_say(app, hospital, api_token):
    """Positive cases only: every body, parameter and value the document allows. A 422 is a failure unless it
    is about the hospital's data (a ward id that names no ward, say), which no document can state."""
    from tests.factories import make_user

    make_user("bms", "integration", full_name="Block A BMS")
    for n in range(3):
        report_fault(hospital.user("nurse.icu"), ward_id=hospital.icu.id, trade_id=hospital.trades["power"].id,
                     description=f"No power to bed {n}")
    tokens = {"/api/v1/alarms": api_token("bms")}
    dispatcher = api_token("dispatcher")
    schema = schemathesis.openapi.from_wsgi("/api/openapi.json", app)
    refused: list[str] = []
    answered: dict[int, int] = {}
    for result in schema.get_all_operations():
        operation = result.ok()

        @given(case=operation.as_strategy(generation_mode=GenerationMode.POSITIVE))
        @settings(max_examples=POSITIVE_EXAMPLES, deadline=None, database=None, derandomize=True,
                  phases=[Phase.explicit, Phase.generate], suppress_health_check=list(HealthCheck))
        def exchange(case):
            response = case.call(headers=tokens.get(operation.path, dispatcher))
            answered[response.status_code] = answered.get(response.status_code, 0) + 1
            if response.status_code == 422 and not refused_for_the_data(response.json()):
                refused.append(f"{operation.method.upper()} {operation.path} {case.body!r}: {response.json()}")

        exchange()
    assert refused == [], "\n".join(refused[:10])
    assert answered.get(200, 0) + answered.get(201, 0) > 50, answered  # conforming requests do get through


def test_the_document_names_the_trades_and_where_a_note_is_required(client, hospital):
    from dispatch.services.tickets import ACTIONS_NEEDING_A_NOTE, TRANSITIONS

    document = client.get("/api/openapi.json").get_json()
    schemas, paths = document["components"]["schemas"], document["paths"]
    assert set(schemas["TicketCreate"]["properties"]["trade"]["enum"]) == set(hospital.trades)  # the trade table's codes
    for action in TRANSITIONS:
        body = paths[f"/api/v1/tickets/{{number}}/{action.replace('_', '-')}"]["post"]["requestBody"]
        name = body["content"]["application/json"]["schema"]["$ref"].rsplit("/", 1)[1]
        assert ("note" in schemas[name].get("required", [])) == (action in ACTIONS_NEEDING_A_NOTE), action
    assert {"required": ["asset_id"], "properties": {"asset_id": {"type": "integer"}}} in schemas["Alarm"]["anyOf"]
