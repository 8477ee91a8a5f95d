"""A service's refusal answered in one place per channel (dispatch/errors.py): a page flashes it and goes
back, or says it there when there is nowhere to go back to; the API answers JSON naming the field; the
guard's 404 and 403 stay 404 and 403; SMS and voice replies say why."""
from __future__ import annotations

from flask import get_flashed_messages
from flask_wtf import FlaskForm
from wtforms import FieldList, FormField, IntegerField, StringField
from wtforms import Form as PlainForm

from dispatch.blueprints.form_errors import shown_on
from dispatch.errors import (
    NotFoundError, PermissionDeniedError, RefusalReply, ValidationError, refusal_as_reply, refusals_return_to,
)

REFUSALS = {
    "invalid": lambda: ValidationError("Nothing to see here.", field="thing"),
    "missing": lambda: NotFoundError("No such thing."),
    "forbidden": lambda: PermissionDeniedError("Your role may not do this."),
}


def refusing_routes(app) -> None:
    def page(kind: str):
        raise REFUSALS[kind]()

    def page_going_back(kind: str):
        refusals_return_to("/where-i-was", missing_is_a_message=True)
        raise REFUSALS[kind]()

    # Forms of their own, not Dispatch's, in this test's app only (exempting the views would exempt them in
    # the process-wide extension): no CSRF token to carry.
    app.config["WTF_CSRF_ENABLED"] = False
    app.add_url_rule("/refuse/<kind>", "refuse", page, methods=["GET", "POST"])
    app.add_url_rule("/refuse-back/<kind>", "refuse_back", page_going_back, methods=["POST"])
    app.add_url_rule("/api/v1/refuse/<kind>", "api_refuse", page)


def test_a_page_refusal_goes_back_to_where_the_view_said_with_the_message(app):
    refusing_routes(app)
    with app.test_client() as client:
        response = client.post("/refuse-back/invalid")
        assert (response.status_code, response.headers["Location"]) == (302, "/where-i-was")
        assert get_flashed_messages(with_categories=True) == [("error", "Nothing to see here.")]
        # Where "not found" is news (closed meanwhile), it is a message too.
        assert client.post("/refuse-back/missing").status_code == 302


def test_without_a_place_to_return_to_it_goes_back_to_the_page_the_form_came_from(app):
    refusing_routes(app)
    response = app.test_client().post("/refuse/invalid", headers={"Referer": "http://localhost/board/?trade=2"})
    assert (response.status_code, response.headers["Location"]) == (302, "/board/?trade=2")
    elsewhere = app.test_client().post("/refuse/invalid", headers={"Referer": "https://evil.example/board/"})
    assert elsewhere.status_code == 422 and "Nothing to see here." in elsewhere.get_data(as_text=True)


def test_with_nowhere_to_go_back_the_page_says_it_there_instead_of_redirecting_to_itself(app):
    refusing_routes(app)
    response = app.test_client().get("/refuse/invalid", headers={"Referer": "http://localhost/refuse/invalid"})
    assert response.status_code == 422
    assert "Nothing to see here." in response.get_data(as_text=True)


def test_not_yours_to_see_and_your_role_may_not_answer_as_the_guard_would(app):
    refusing_routes(app)
    client = app.test_client()
    assert client.post("/refuse/missing").status_code == 404
    assert client.post("/refuse/forbidden").status_code == 403
    assert client.post("/refuse-back/forbidden").status_code == 403


def test_the_api_answers_json_naming_the_field(app):
    refusing_routes(app)
    response = app.test_client().get("/api/v1/refuse/invalid")
    assert response.status_code == 422
    assert response.get_json() == {"error": "ValidationError", "message": "Nothing to see here.",
                                   "errors": {"thing": ["Nothing to see here."]}}


def test_an_sms_or_voice_reply_is_the_refusals_message():
    @refusal_as_reply
    def answer(ok: bool) -> str:
        if not ok:
            raise ValidationError("Job 1042 is resolved; it cannot be accepted.")
        return "Accepted."

    assert answer(True) == "Accepted." and not isinstance(answer(True), RefusalReply)
    refused = answer(False)
    assert refused == "Job 1042 is resolved; it cannot be accepted." and isinstance(refused, RefusalReply)


class Step(PlainForm):
    minutes = IntegerField()


class PolicyLikeForm(FlaskForm):
    name = StringField()
    steps = FieldList(FormField(Step), min_entries=2)


def test_a_form_shows_the_refusal_on_its_field_a_row_field_or_above_the_form(app):
    with app.test_request_context("/", method="POST"):
        form = PolicyLikeForm(meta={"csrf": False})
        with shown_on(form) as outcome:
            raise ValidationError("Taken.", field="name")
        assert outcome.refused and form.name.errors == ["Taken."]
        with shown_on(form) as outcome:
            raise ValidationError("At most 1440.", field="steps-2-minutes")
        assert form.steps[1].minutes.errors == ["At most 1440."]
        with shown_on(form, form_level=("steps",)) as outcome:
            raise ValidationError("A chain needs a step.", field="steps")
        assert form.form_errors == ["A chain needs a step."]
        with shown_on(form) as outcome:
            raise ValidationError("Out of stock.", field="no_such_field")
        assert get_flashed_messages() == ["Out of stock."]
        with shown_on(form) as outcome:
            pass
        assert outcome.succeeded
