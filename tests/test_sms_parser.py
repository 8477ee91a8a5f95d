"""Properties of the reply parser, of the inbound webhook under arbitrary text, and of segment
counting: whatever a phone sends, nothing raises and nothing answers 5xx; what the product counts
is what Twilio bills.
"""
from __future__ import annotations

import re
import uuid

from hypothesis import HealthCheck, example, given, settings, strategies as st
from twilio.request_validator import RequestValidator

from dispatch.fake_twilio.segments import count_segments
from dispatch.services.assignment import assign_ticket
from dispatch.services.tickets import report_fault
from dispatch.sms import segments
from dispatch.sms.commands import KEYWORDS, Command, parse
from models import InboundMessage, db

KINDS = {"accept", "refuse", "site", "done", "jobs", "help", "check", "stop", "start", "unknown"}
SPARKY = "+8613900000001"
_DIGIT = re.compile(r"\d")

# Control characters, CJK, emoji, GSM extension characters and plain ASCII all turn up in real texts.
any_text = st.text() | st.text(alphabet=st.characters(codec="ascii"), max_size=50) | st.text(
    alphabet=st.sampled_from(list("AaRrSsDdJjHh 0123456789#?接拒到完单帮助\x00\t\n\r€[]{}^~|\\😀é")), max_size=40)


# --- the parser -----------------------------------------------------------------------------------

@given(any_text)
@example("A 99999999999999999999999999999")
@example("a #123456789012")
@example("\x00A 1001\x00")
@example("D 1001 " + "x" * 5000)
@example("A ١٠٠١")  # Arabic-Indic digits
@example("A ²")
@example("STOP")
@example("")
def test_parse_never_raises_and_returns_a_known_kind(text):
    command = parse(text)
    assert isinstance(command, Command)
    assert command.kind in KINDS
    assert command.ticket_number is None or 0 <= command.ticket_number < 10 ** 9
    assert len(command.text) <= 1000
    if command.kind in ("stop", "start"):
        assert (command.ticket_number, command.text) == (None, "")


@given(st.integers(min_value=0, max_value=10 ** 40), st.sampled_from(sorted(KEYWORDS)))
def test_huge_numbers_never_raise(number, word):
    command = parse(f"{word} {number}")
    assert command.kind in KINDS
    assert command.ticket_number is None or command.ticket_number < 10 ** 9


def _any_case(word: str, flips: list[bool]) -> str:
    return "".join(c.upper() if flip else c.lower() for c, flip in zip(word, flips + [False] * len(word)))


notes = st.text(min_size=1, max_size=300).map(str.strip).filter(bool)


@st.composite
def valid_commands(draw):
    """A well-formed reply: a keyword in any case, maybe a ticket number, maybe a note."""
    word = draw(st.sampled_from(sorted(KEYWORDS)))
    spelled = _any_case(word, draw(st.lists(st.booleans(), min_size=len(word), max_size=len(word))))
    number = draw(st.none() | st.integers(min_value=1, max_value=999_999_999))
    note = draw(st.none() | notes)
    if number is None and note is not None:
        # Without a number, a note starting with a digit (or '#') would be read as the number.
        note = note if not (_DIGIT.match(note) or note[0].isdigit() or note[0] == "#") else "x" + note
    hash_mark = draw(st.sampled_from(["", "#"])) if number is not None else ""
    parts = [spelled] + ([f"{hash_mark}{number}"] if number is not None else []) + ([note] if note else [])
    return " ".join(parts), KEYWORDS[word], number, note or ""


@given(valid_commands())
@example(("A 1042", "accept", 1042, ""))
@example(("r 1042 no ladder", "refuse", 1042, "no ladder"))
@example(("d fixed it", "done", None, "fixed it"))
@example(("完 1042 更换了断路器", "done", 1042, "更换了断路器"))
def test_valid_commands_round_trip(case):
    body, kind, number, note = case
    command = parse(body)
    assert (command.kind, command.ticket_number, command.text) == (kind, number, note[:1000]), body


# --- the webhook under arbitrary text -----------------------------------------------------------------

@settings(max_examples=50, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(body=any_text)
@example(body="\x00")
@example(body="A 1001\x00 thanks")
@example(body="R 1001 " + "no ladder " * 300)
@example(body="A 99999999999999999999")
@example(body="D")
@example(body="😀" * 500)
def test_the_webhook_never_answers_5xx_to_a_known_technician(app, hospital, redis_conn, body):
    if not db.session.query(InboundMessage).count():
        nurse = hospital.user("nurse.icu")
        ticket = report_fault(nurse, ward_id=hospital.icu.id, trade_id=hospital.trades["power"].id,
                              description="No power to bed 1")
        assign_ticket(ticket.id, hospital.users["sparky"].id, hospital.user("dispatcher"))
    sid = "SM" + uuid.uuid4().hex
    params = {"AccountSid": app.config["TWILIO_ACCOUNT_SID"], "Body": body, "From": SPARKY, "MessageSid": sid,
              "To": "+15005550006"}
    signature = RequestValidator(app.config["TWILIO_AUTH_TOKEN"]).compute_signature("http://localhost/sms/inbound", params)

    response = app.test_client().post("/sms/inbound", data=params, headers={"X-Twilio-Signature": signature})

    assert response.status_code == 200, response.get_data(as_text=True)[:500]
    assert response.mimetype == "application/xml"
    db.session.rollback()
    record = db.session.query(InboundMessage).filter_by(twilio_sid=sid).one()
    assert record.outcome != "received"  # handled to the end, and the outcome written down


# --- segments -------------------------------------------------------------------------------------------

@given(any_text, st.integers(min_value=1, max_value=4))
def test_fit_never_exceeds_the_budget(text, budget):
    fitted = segments.fit(text, budget)
    assert segments.count(fitted) <= budget
    if segments.count(text) <= budget:
        assert fitted == text
    else:
        assert len(fitted) < len(text)


@given(any_text.filter(bool))
@example("a" * 152 + "€" + "a" * 152)  # an escape pair would straddle the first part's end
@example("é" * 69 + "😀")
def test_the_product_counts_segments_as_twilio_does(text):
    assert segments.count(text) == count_segments(text)


@given(any_text, st.integers(min_value=1, max_value=3))
def test_what_fits_is_a_prefix_of_the_text(text, budget):
    fitted = segments.fit(text, budget)
    if fitted != text:
        for mark in ("…", "..."):
            if fitted.endswith(mark):
                assert text.startswith(fitted[: -len(mark)])
                break
        else:
            raise AssertionError(f"shortened without a mark: {fitted!r}")
    assert count_segments(fitted) <= budget  # as Twilio bills it
