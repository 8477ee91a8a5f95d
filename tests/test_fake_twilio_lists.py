"""The fake's list filters (DateSent on Messages; StartTime, EndTime and ParentCallSid on Calls) and a
Messaging Service's 'accepted' answer, through the real Twilio SDK as Twilio's OpenAPI description
(shared/twilio/twilio_api_v2010.json) defines them."""
from __future__ import annotations

import json
from datetime import date, datetime, timedelta, timezone
from pathlib import Path

import requests

from tests.test_fake_twilio import ACCOUNT_SID, AUTH_TOKEN, PRODUCT, TECH, client, fake  # noqa: F401  (fixtures)

OPENAPI = Path("/work/shared/twilio/twilio_api_v2010.json")
OTHER = "+447700900999"
UTC = timezone.utc


def at(*parts: int) -> datetime:
    return datetime(*parts, tzinfo=UTC)


def sent_message(fake, client, to: str, body: str, when: datetime | None) -> str:
    """A message delivered by the fake, then given the send time `when` (None: not sent yet)."""
    sid = client.messages.create(to=to, from_=PRODUCT, body=body).sid
    fake.state.wait_for(lambda: fake.state.get_message(sid)["status"] == "delivered", timeout=5)
    fake.state.update_message(sid, date_sent=when)
    return sid


def finished_call(fake, client, start: datetime | None, end: datetime | None, parent: str | None = None) -> str:
    sid = client.calls.create(to=TECH, from_=PRODUCT, twiml="<Response/>").sid
    fake.state.wait_for(lambda: fake.state.get_call(sid)["status"] == "completed", timeout=5)
    fake.state.update_call(sid, start_time=start, end_time=end, parent_call_sid=parent)
    return sid


def list_parameters(path: str) -> set[str]:
    spec = json.loads(OPENAPI.read_text())
    return {p["name"] for p in spec["paths"][f"/2010-04-01/Accounts/{{AccountSid}}/{path}"]["get"]["parameters"]}


def test_the_filters_implemented_are_the_ones_twilio_defines():
    assert {"DateSent", "DateSent<", "DateSent>"} <= list_parameters("Messages.json")
    assert {"StartTime", "StartTime<", "StartTime>", "EndTime", "EndTime<", "EndTime>",
            "ParentCallSid"} <= list_parameters("Calls.json")


def test_messages_are_listed_by_the_time_they_were_sent(fake, client):
    old = sent_message(fake, client, TECH, "old", at(2026, 3, 8, 10, 0, 0))
    late = sent_message(fake, client, TECH, "late", at(2026, 3, 9, 23, 59, 59))
    new = sent_message(fake, client, TECH, "new", at(2026, 3, 10, 0, 0, 30))
    sent_message(fake, client, OTHER, "someone else's", at(2026, 3, 10, 0, 0, 30))
    sent_message(fake, client, TECH, "not sent yet", None)

    def sids(**filters) -> list[str]:
        return [m.sid for m in client.messages.list(to=TECH, **filters)]

    # On and after, on and before: to the second when the SDK sends a datetime; newest first.
    assert sids(date_sent_after=at(2026, 3, 9, 23, 59, 59)) == [new, late]
    assert sids(date_sent_after=at(2026, 3, 10)) == [new]
    assert sids(date_sent_before=at(2026, 3, 9, 23, 59, 59)) == [late, old]
    assert sids(date_sent_before=at(2026, 3, 9, 23, 59, 58)) == [old]
    assert sids(date_sent_after=at(2026, 3, 8, 12), date_sent_before=at(2026, 3, 10)) == [late]
    # A GMT date: the whole day, as a date string or as the SDK sends a date (a midnight datetime).
    assert sids(date_sent="2026-03-09") == [late]
    assert sids(date_sent=date(2026, 3, 9)) == [late]
    assert sids(date_sent_before="2026-03-09") == [late, old]  # on and before that day
    assert sids(date_sent_after="2026-03-09") == [new, late]
    assert len(sids()) == 4  # no filter: every message to the number, sent or not


def test_a_date_filter_is_kept_across_pages_and_a_bad_date_is_refused(fake, client):
    for hour in range(5):
        sent_message(fake, client, TECH, f"m{hour}", at(2026, 3, 10, hour))
    listed = client.messages.list(to=TECH, date_sent_after=at(2026, 3, 10, 2), page_size=1)
    assert [m.body for m in listed] == ["m4", "m3", "m2"]
    answer = requests.get(f"{fake.url}/2010-04-01/Accounts/{ACCOUNT_SID}/Messages.json",
                          params={"DateSent>": "last tuesday"}, auth=(ACCOUNT_SID, AUTH_TOKEN), timeout=5)
    assert answer.status_code == 400 and answer.json()["code"] == 20001


def test_calls_are_listed_by_start_end_and_parent(fake, client):
    first = finished_call(fake, client, at(2026, 3, 9, 8), at(2026, 3, 9, 8, 1))
    second = finished_call(fake, client, at(2026, 3, 10, 9), at(2026, 3, 10, 9, 2), parent=first)
    never = finished_call(fake, client, None, at(2026, 3, 10, 9, 3))  # not answered: no start time

    def sids(**filters) -> list[str]:
        return [c.sid for c in client.calls.list(**filters)]

    assert sids(start_time_after=at(2026, 3, 9, 8)) == [second, first]  # on or after
    assert sids(start_time_before=at(2026, 3, 10, 9)) == [first]  # strictly before
    assert sids(start_time="2026-03-10") == [second]
    assert sids(start_time=date(2026, 3, 9)) == [first]
    assert sids(end_time_after=at(2026, 3, 10)) == [never, second]
    assert sids(end_time_before="2026-03-10") == [first]
    assert sids(parent_call_sid=first) == [second]
    assert sids(parent_call_sid="CA" + "0" * 32) == []
    assert client.calls(second).fetch().parent_call_sid == first
    assert len(sids()) == 3


def test_a_message_through_a_messaging_service_is_accepted_then_queued(fake, client):
    service = "MG" + "a" * 32
    message = client.messages.create(to=TECH, messaging_service_sid=service, body="Job 1001 for you")
    assert (message.status, message.num_segments, message.from_) == ("accepted", "0", None)
    fake.state.wait_for(lambda: fake.state.get_message(message.sid)["status"] == "delivered", timeout=5)
    done = client.messages(message.sid).fetch()
    assert (done.num_segments, done.from_, done.messaging_service_sid) == ("1", fake.state.setting("FROM"), service)



# -- the phone page: whose number, and the hospital's clock ---------------------------------------

def test_the_phone_page_names_the_numbers_it_is_told_and_shows_times_in_its_zone(fake, client):
    from zoneinfo import ZoneInfo

    told = requests.post(f"{fake.url}/_fake/names", json={"names": {TECH: "Wang Electric (technician)"}}, timeout=5)
    assert told.status_code == 200 and told.json() == {"names": {TECH: "Wang Electric (technician)"}}
    assert requests.post(f"{fake.url}/_fake/config", json={"TIMEZONE": "Asia/Shanghai"}, timeout=5).status_code == 200
    sid = client.messages.create(to=TECH, from_=PRODUCT, body="Job 1001").sid
    client.messages.create(to=OTHER, from_=PRODUCT, body="Nobody told us whose")
    created = fake.state.message_record(sid).date_created

    index = requests.get(f"{fake.url}/phone", timeout=5).text
    assert '<span class="name">Wang Electric (technician)</span>' in index
    assert index.count('<span class="name">') == 1  # the other number stays bare
    assert "Asia/Shanghai" in index
    page = requests.get(f"{fake.url}/phone/{TECH}", timeout=5).text
    assert "Wang Electric (technician)" in page and "Times are Asia/Shanghai time" in page
    shanghai = created.astimezone(ZoneInfo("Asia/Shanghai")).strftime("%H:%M:%S")
    assert shanghai in page and created.strftime("%H:%M:%S") not in page
    # Its own API still answers in GMT, as Twilio does.
    assert client.messages(sid).fetch().date_created == created


def test_names_and_zone_are_checked_and_names_survive_a_reset(fake):
    bad = requests.post(f"{fake.url}/_fake/config", json={"TIMEZONE": "Mars/Olympus"}, timeout=5)
    assert bad.status_code == 400 and "IANA" in bad.json()["error"]
    assert requests.post(f"{fake.url}/_fake/names", json={"names": ["x"]}, timeout=5).status_code == 400
    fake.state.set_names({TECH: "A"})
    fake.state.set_names({OTHER: "B"}, replace=False)
    requests.post(f"{fake.url}/_fake/reset", timeout=5)
    assert requests.get(f"{fake.url}/_fake/names", timeout=5).json() == {"names": {TECH: "A", OTHER: "B"}}
    fake.state.set_names({TECH: ""}, replace=False)
    assert fake.state.names() == {OTHER: "B"}


def test_the_fake_depends_on_nothing_of_the_app():
    package = Path(__file__).resolve().parent.parent / "dispatch" / "fake_twilio"
    for source in package.glob("*.py"):
        text = source.read_text()
        assert "from models" not in text and "import models" not in text, source.name
        assert "from dispatch." not in text.replace("from dispatch.fake_twilio", ""), source.name
