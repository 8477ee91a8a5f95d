"""Every form under arbitrary input (hypothesis). Field names are read from the rendered form; each example
changes up to three of them (text, unicode, huge, empty, negative, NaN, dates that are not, a missing field)
in an otherwise valid submission, sent with a valid CSRF token by someone allowed. Whatever comes: never a 5xx;
either it is saved, and saved exactly as accepted, or the answer names the problem and nothing at all was
written (every table compared before and after). Redirects never leave the site.

The SMS webhook has its own fuzzing in tests/test_sms_parser.py. Cases that once gave a 500 are kept as
explicit examples next to the form they broke."""
from __future__ import annotations

import html
import io
import re
from datetime import date
from decimal import Decimal
from urllib.parse import urlsplit

import pytest
from hypothesis import HealthCheck, example, given, settings, strategies as st
from sqlalchemy import func, select

from dispatch.services.assignment import assign_ticket
from dispatch.services.tickets import report_fault, transition
from models import (
    EmergencyPlan, EscalationPolicy, Licence, OnCallShift, Part, ShiftOverride, StockMovement, Store, Ticket,
    TicketEvent, TicketPart, TradeBudget, User, db,
)
from tests.conftest import PASSWORD, changed_tables, database_fingerprint, text_of
from tests.costs_data import build_stock
from tests.forms import Field, forms_on

EXAMPLES = 25
FUZZ = settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture,
                                                                             HealthCheck.too_slow,
                                                                             HealthCheck.data_too_large])
OMIT = "<field left out>"  # the field is not sent at all

# What people (and scripts) put into forms: numbers that are not, dates that are not, Unicode digits that
# str.isdigit() accepts and int() refuses, NULs, right-to-left marks, markup, and text far past any limit.
SPECIAL = [
    "", " ", "\t", "0", "-1", "-0", "+1", "1.5", "1e3", "1e309", "NaN", "nan", "-inf", "Infinity", "0x10", "1_000",
    "99999999999999999999", "2147483648", "9223372036854775808", "-2147483649", "²", "١٢٣", "𝟏𝟐", "Ⅻ", "½",
    "\x00", "a\x00b", "\x1b[31m", "\u202e", "\ufeff", "😀", "中文描述", "<script>alert(1)</script>", "' OR '1'='1",
    "2026-02-30", "2026-13-01", "0000-00-00", "9999-12-31", "99999-01-01", "1900-01-01", "24:00", "12:60",
    "2026-03-10T25:00", "//evil.example/", "https://evil.example/", "/\\evil.example", "javascript:alert(1)",
    "x" * 5000, "  padded  ", "\r\n", "a\r\nb",
]
JUNK = st.one_of(
    st.sampled_from(SPECIAL),
    st.text(alphabet=st.characters(exclude_categories=("Cs",)), max_size=120),
    st.integers(min_value=-(2 ** 70), max_value=2 ** 70).map(str),
    st.floats(allow_nan=True, allow_infinity=True).map(str),
    st.builds(lambda ch, n: ch * n, st.sampled_from(["a", "9", "中", "😀", " ", "-"]), st.integers(1000, 50000)),
)


def changes(fields: list[Field], extra: dict[str, list[str]] | None = None):
    """Up to three fields given something else: junk, one of the values the form offers, or nothing at all."""
    offered: dict[str, list[str]] = {}
    for item in fields:
        if item.name.endswith("csrf_token"):
            continue
        values = offered.setdefault(item.name, [])
        values += [value for value, _selected in item.options]
        if item.kind in ("radio", "checkbox", "submit"):
            values.append(item.value)
    for name, values in (extra or {}).items():
        offered.setdefault(name, []).extend(values)

    def value_for(name: str):
        good = offered[name]
        return st.one_of(JUNK, st.just(OMIT), *([st.sampled_from(good)] if good else []))

    pair = st.sampled_from(sorted(offered)).flatmap(lambda name: st.tuples(st.just(name), value_for(name)))
    return st.lists(pair, max_size=3).map(dict)


@pytest.fixture(autouse=True)
def no_incident_grouping(app):
    """Every example files another report in the same building within minutes: left alone, the board would
    group them into an incident, and an incident's tickets are not assigned one by one."""
    app.config.update(MAJOR_INCIDENT_THRESHOLD=0, MAJOR_INCIDENT_AUTO_THRESHOLD=10 ** 6)


# --- sending a form and reading the answer ------------------------------------------------------------------

@pytest.fixture
def seen():
    """Forms read once per test: every example's new ticket renders the same fields, only the address differs."""
    return {}


def the_form(browser, page: str, action: str):
    """The form on `page` that posts to `action` (a regular expression), as rendered for this person."""
    response = browser.get(page)
    assert response.status_code == 200, page
    found = [f for f in forms_on(response.get_data(as_text=True), page)
             if f.method == "post" and re.fullmatch(action, f.action)]
    assert found, f"no form to {action} on {page}"
    return found[0]


def messages(page: str) -> list[str]:
    found = re.findall(r'<div class="flash flash-error"[^>]*>(.*?)</div>', page, re.S)
    found += re.findall(r'<p class="field-error"[^>]*>(.*?)</p>', page, re.S)
    return [html.unescape(re.sub(r"<[^>]+>", " ", m)).strip() for m in found]


def main_text(page: str) -> str:
    match = re.search(r"<main[^>]*>(.*?)</main>", page, re.S)
    return text_of(match.group(1) if match else page)


def send(browser, action: str, data: dict, *, allowed_on_refusal: tuple[str, ...] = ()) -> tuple[bool, str]:
    """Post, and check what any answer must be. Returns (saved, where it went or the page)."""
    before = database_fingerprint()
    response = browser.post(action, data=data)
    status, location = response.status_code, response.headers.get("Location", "")
    page = response.get_data(as_text=True)
    response.close()
    assert status < 500, f"{status} for {data!r}"
    if status in (301, 302, 303):
        target = urlsplit(location)
        assert target.netloc in ("", "localhost") and not location.startswith("//"), f"off-site: {location}"
        followed = browser.get(location)
        page = followed.get_data(as_text=True)
        followed.close()
    problems = messages(page)
    if status >= 400 and not problems:
        problems = [main_text(page)]  # the 400 page (CSRF, NUL) or 429 says it in its text
    saved = status < 400 and not problems
    changed = changed_tables(before, database_fingerprint())
    if not saved:
        assert problems and all(problems), f"refused without saying why ({status}): {main_text(page)[:300]}"
        assert set(changed) <= set(allowed_on_refusal), f"refused ({problems}) but {changed} changed"
    return saved, location


def with_changes(base: dict, fuzzed: dict) -> dict:
    data = dict(base)
    for name, value in fuzzed.items():
        if value == OMIT:
            data.pop(name, None)
        else:
            data[name] = value
    return data


def stripped(value) -> str | None:
    text = (value or "").strip() if isinstance(value, str) else None
    return text or None


def count(model) -> int:
    db.session.expire_all()
    return db.session.scalar(select(func.count()).select_from(model))


# --- the ward ------------------------------------------------------------------------------------------------

@pytest.fixture
def nurse(login_as, redis_conn):
    return login_as("nurse.icu")


@pytest.fixture
def report_fields(nurse):
    return the_form(nurse, "/report", "/report").fields


@FUZZ
@given(data=st.data())
def test_report_a_fault(nurse, hospital, report_fields, data):
    fuzzed = data.draw(changes(report_fields))
    sent = with_changes({"ward_id": str(hospital.icu.id), "trade_id": str(hospital.trades["power"].id),
                         "whole_area": "1", "description": "No power to bed 3", "location_id": "0",
                         "place_detail": "Bed 3"}, fuzzed)
    tickets = count(Ticket)
    saved, location = send(nurse, "/report", sent)
    if saved:
        assert count(Ticket) == tickets + 1
        ticket = db.session.get(Ticket, int(urlsplit(location).path.rsplit("/", 1)[1]))
        assert ticket.description == stripped(sent["description"])
        assert ticket.place_detail == stripped(sent.get("place_detail"))
        assert ticket.ward_id == hospital.icu.id


@FUZZ
@given(data=st.data())
def test_comment_on_a_ticket(nurse, hospital, seen, data):
    ticket = seen.get("ticket") or seen.setdefault("ticket", _ticket(hospital))
    form = seen.get("form") or seen.setdefault("form", the_form(nurse, f"/tickets/{ticket}", rf"/tickets/{ticket}/comment"))
    sent = with_changes({"note": "The monitor is on battery"}, data.draw(changes(form.fields)))
    saved, _location = send(nurse, form.action, sent)
    if saved:
        last = db.session.scalars(select(TicketEvent).where(TicketEvent.ticket_id == ticket, TicketEvent.kind == "comment")
                                  .order_by(TicketEvent.id.desc())).first()
        assert last.note == stripped(sent["note"])


def _ticket(hospital, ward="icu", trade="power") -> int:
    nurse = hospital.user("nurse.icu" if ward == "icu" else "nurse.ward3")
    return report_fault(nurse, ward_id=getattr(hospital, ward).id, trade_id=hospital.trades[trade].id,
                        description="No power to bed 1").id


# --- the control room and the technician ---------------------------------------------------------------------

@FUZZ
@given(data=st.data())
def test_assign_from_the_board(login_as, hospital, redis_conn, seen, data):
    dispatcher = login_as("dispatcher")
    ticket = _ticket(hospital, ward="ward3", trade="water")
    form = seen.get("form") or seen.setdefault("form", the_form(dispatcher, "/board/", rf"/board/{ticket}/assign"))
    plumb = str(hospital.users["plumb"].id)
    fuzzed = data.draw(changes(form.fields, {"technician_id": [plumb, str(hospital.users["sparky"].id)]}))
    sent = with_changes({**form.submission(), "technician_id": plumb, "version": "1"}, fuzzed)
    saved, _location = send(dispatcher, f"/board/{ticket}/assign", sent)
    db.session.expire_all()
    assigned = db.session.get(Ticket, ticket).assignee_id
    assert assigned == (int(sent["technician_id"]) if saved else None)


@pytest.fixture
def stocked(hospital):
    return build_stock(hospital)


def _on_site(hospital) -> Ticket:
    ticket_id = _ticket(hospital)
    db.session.rollback()
    ticket = db.session.get(Ticket, ticket_id)
    if ticket.assignee_id != hospital.users["sparky"].id:
        assign_ticket(ticket_id, hospital.users["sparky"].id, hospital.user("dispatcher"),
                      expected_version=ticket.version if ticket.assignee_id else None)
    return transition(ticket_id, "attend", hospital.user("sparky"))


@FUZZ
@given(data=st.data())
def test_finish_a_job_with_note_labour_and_parts(login_as, hospital, stocked, redis_conn, seen, data):
    sparky = login_as("sparky")
    ticket = _on_site(hospital)
    form = seen.get("form") or seen.setdefault("form", the_form(sparky, "/jobs", rf"/tickets/{ticket.id}/resolve"))
    parts = {f"part-{i}": ["P-100", "W-7", "p-100"] for i in range(3)}
    fuzzed = data.draw(changes(form.fields, {**parts, **{f"quantity-{i}": ["1", "2", ""] for i in range(3)},
                                             "store-0": [str(stocked["main"]), str(stocked["workshop"])]}))
    sent = with_changes({**form.submission(), "version": str(ticket.version), "note": "Breaker reset",
                         "labour_minutes": "45", "part-0": "P-100", "quantity-0": "1"}, fuzzed)
    lines = count(TicketPart)
    saved, _location = send(sparky, f"/tickets/{ticket.id}/resolve", sent)
    db.session.expire_all()
    done = db.session.get(Ticket, ticket.id)
    assert (done.status == "resolved") == saved
    if saved:
        assert done.resolution_note == stripped(sent["note"])
        minutes = (sent.get("labour_minutes") or "").strip()
        assert done.labour_minutes == (int(minutes) if minutes else None)
        assert done.parts_used == stripped(sent.get("parts_used"))
        assert count(TicketPart) == lines + sum(1 for i in range(3) if (sent.get(f"part-{i}") or "").strip())


@FUZZ
@given(data=st.data())
def test_refuse_or_hold_with_a_note(login_as, hospital, redis_conn, seen, data):
    sparky = login_as("sparky")
    ticket = _on_site(hospital)
    action = data.draw(st.sampled_from(["hold", "make_safe"]))
    form = seen.get(action) or seen.setdefault(action, the_form(sparky, "/jobs", rf"/tickets/{ticket.id}/{action}"))
    sent = with_changes({**form.submission(), "version": str(ticket.version), "note": "Waiting for a breaker"},
                        data.draw(changes(form.fields)))
    saved, _location = send(sparky, f"/tickets/{ticket.id}/{action}", sent)
    db.session.expire_all()
    after = db.session.get(Ticket, ticket.id)
    assert (after.status != "attended") == saved
    if saved:
        last = db.session.scalars(select(TicketEvent).where(TicketEvent.ticket_id == ticket.id)
                                  .order_by(TicketEvent.id.desc())).first()
        assert last.note == stripped(sent["note"])


@FUZZ
@given(data=st.data())
def test_add_parts_to_a_job(login_as, hospital, stocked, redis_conn, seen, data):
    sparky = login_as("sparky")
    ticket = _on_site(hospital)
    form = seen.get("form") or seen.setdefault("form", the_form(sparky, f"/tickets/{ticket.id}",
                                                                rf"/tickets/{ticket.id}/parts"))
    fuzzed = data.draw(changes(form.fields, {**{f"part-{i}": ["P-100", "W-7"] for i in range(3)},
                                             **{f"quantity-{i}": ["1", "3"] for i in range(3)},
                                             "store-0": [str(stocked["main"])]}))
    sent = with_changes({**form.submission(), "part-0": "W-7", "quantity-0": "2"}, fuzzed)
    lines = count(TicketPart)
    saved, _location = send(sparky, f"/tickets/{ticket.id}/parts", sent)
    if saved:
        added = db.session.scalars(select(TicketPart).where(TicketPart.ticket_id == ticket.id)
                                   .order_by(TicketPart.id)).all()
        assert count(TicketPart) == lines + len(added) and added
        wanted = [int((sent.get(f"quantity-{i}") or "").strip() or 1) for i in range(3)
                  if (sent.get(f"part-{i}") or "").strip()]
        assert [line.quantity for line in added] == wanted


# --- administration: staff, licences, rotas, alarm points --------------------------------------------------

@FUZZ
@given(data=st.data())
def test_add_a_person(login_as, hospital, data):
    admin = login_as("admin")
    form = the_form(admin, "/admin/staff/new", "/admin/staff/new")
    n = count(User)
    sent = with_changes({"username": f"new.person{n}", "full_name": "New Person", "role": "dispatcher",
                         "ward_id": "0", "phone": "", "password": "long-enough-1"}, data.draw(changes(form.fields)))
    saved, location = send(admin, form.action, sent)
    assert count(User) == n + saved
    if saved:
        person = db.session.get(User, int(urlsplit(location).path.rsplit("/", 1)[1]))
        assert (person.username, person.full_name, person.role) == (
            sent["username"].strip(), sent["full_name"].strip(), sent["role"])


@FUZZ
@given(data=st.data())
def test_change_a_person(login_as, hospital, data):
    admin = login_as("admin")
    volt = hospital.users["volt"].id
    form = the_form(admin, f"/admin/staff/{volt}", rf"/admin/staff/{volt}")
    shown = form.submission()
    sent = with_changes(shown, data.draw(changes(form.fields)))
    saved, _location = send(admin, form.action, sent)
    if saved:
        db.session.expire_all()
        person = db.session.get(User, volt)
        # A field left out keeps what the person has; a box left out is unticked.
        assert (person.full_name, person.role, person.active) == (
            sent.get("full_name", shown["full_name"]).strip(), sent.get("role", shown["role"]),
            sent.get("active", "") not in ("", "false"))  # WTForms' BooleanField: "" and "false" are unticked


@FUZZ
@given(data=st.data())
def test_add_a_licence(login_as, hospital, data):
    admin = login_as("admin")
    sparky = hospital.users["sparky"].id
    form = the_form(admin, f"/admin/staff/{sparky}", rf"/admin/staff/{sparky}/licences")
    sent = with_changes({**form.submission(), "number": "LV-2026-001", "issuer": "Shanghai bureau",
                         "issued_on": "2026-01-05", "expires_on": "2029-01-04"}, data.draw(changes(form.fields)))
    licences = count(Licence)
    saved, _location = send(admin, form.action, sent)
    assert count(Licence) == licences + saved
    if saved:
        licence = db.session.scalars(select(Licence).order_by(Licence.id.desc())).first()
        assert (licence.number, licence.issuer, licence.issued_on.isoformat(), licence.expires_on.isoformat()) == (
            sent["number"].strip(), sent["issuer"].strip(), sent["issued_on"].strip(), sent["expires_on"].strip())


@FUZZ
@given(data=st.data())
def test_add_a_shift_to_the_rota(login_as, hospital, data):
    supervisor = login_as("supervisor")
    form = the_form(supervisor, "/oncall/rota", "/oncall/rota/shifts")
    sent = with_changes({**form.submission(), "trade_id": str(hospital.trades["power"].id), "role": "secondary",
                         "user_id": str(hospital.users["sparky"].id), "weekday": "3", "starts": "08:00",
                         "ends": "20:00"}, data.draw(changes(form.fields)))
    shifts = count(OnCallShift)
    saved, _location = send(supervisor, form.action, sent)
    assert count(OnCallShift) == shifts + saved
    if saved:
        line = db.session.scalars(select(OnCallShift).order_by(OnCallShift.id.desc())).first()
        assert (line.weekday, line.role, line.user_id) == (int(sent["weekday"]), sent["role"], int(sent["user_id"]))


@FUZZ
@given(data=st.data())
def test_change_the_rota_for_a_day(login_as, hospital, data):
    supervisor = login_as("supervisor")
    form = the_form(supervisor, "/oncall/overrides", "/oncall/overrides")
    sent = with_changes({**form.submission(), "kind": "leave", "user_id": str(hospital.users["volt"].id),
                         "starts_at": "2026-03-12T08:00", "ends_at": "2026-03-13T08:00", "reason": "Training"},
                        data.draw(changes(form.fields)))
    overrides = count(ShiftOverride)
    saved, _location = send(supervisor, form.action, sent)
    assert count(ShiftOverride) == overrides + saved
    if saved:
        change = db.session.scalars(select(ShiftOverride).order_by(ShiftOverride.id.desc())).first()
        assert (change.kind, change.reason) == (sent["kind"], stripped(sent.get("reason")))


ROTA_CSV = "trade,role,username,weekday,starts,ends\npower,primary,sparky,mon,08:00,20:00\n"


@FUZZ
@given(text=st.one_of(JUNK, st.builds(lambda cells: "trade,role,username,weekday,starts,ends\n" + ",".join(cells) + "\n",
                                      st.lists(JUNK, min_size=6, max_size=7))),
       replace=st.booleans())
@example(text=ROTA_CSV.replace("mon", "²"), replace=False)  # weekday "²": isdigit() yes, int() no (was a 500)
@example(text=ROTA_CSV.replace("sparky", "spa\rrky"), replace=False)  # a carriage return in a cell (was a 500)
@example(text=ROTA_CSV.replace("sparky", "spa\x00rky"), replace=False)
@example(text=ROTA_CSV, replace=True)
def test_import_a_rota(login_as, hospital, text, replace):
    supervisor = login_as("supervisor")
    data = {"file": (io.BytesIO(text.encode("utf-8", "surrogatepass")), "rota.csv")}
    if replace:
        data["replace_existing"] = "y"
    saved, _location = send(supervisor, "/oncall/rota/import", data)
    if saved:
        assert count(OnCallShift) >= 1


@FUZZ
@given(data=st.data())
def test_write_an_escalation_policy(login_as, hospital, data):
    manager = login_as("manager")
    form = the_form(manager, "/oncall/escalation/new", "/oncall/escalation/new")
    n = count(EscalationPolicy)
    sent = with_changes({**form.submission(), "name": f"Policy {n}", "trade_id": "0", "priority": str(n % 4 + 1),
                         "repeat": "1", "steps-0-target": "supervisor", "steps-0-wait_minutes": "5"},
                        data.draw(changes(form.fields)))
    saved, _location = send(manager, form.action, sent)
    assert count(EscalationPolicy) == n + saved
    if saved:
        policy = db.session.scalars(select(EscalationPolicy).order_by(EscalationPolicy.id.desc())).first()
        assert policy.name == sent["name"].strip()


@FUZZ
@given(data=st.data())
def test_map_an_alarm_point(login_as, hospital, data):
    admin = login_as("admin")
    form = the_form(admin, "/integrations/alarm-points/new", "/integrations/alarm-points/new")
    from models import AlarmPoint

    n = count(AlarmPoint)
    sent = with_changes({**form.submission(), "source": "BMS", "point_id": f"AHU-{n}/filter",
                         "description": "Filter blocked"}, data.draw(changes(form.fields)))
    saved, _location = send(admin, form.action, sent)
    assert count(AlarmPoint) == n + saved
    if saved:
        point = db.session.scalars(select(AlarmPoint).order_by(AlarmPoint.id.desc())).first()
        assert (point.source, point.point_id, point.description) == (
            sent["source"].strip(), sent["point_id"].strip(), sent["description"].strip())


# --- stock, budgets ----------------------------------------------------------------------------------------

@FUZZ
@given(data=st.data())
def test_add_a_part_to_the_stock_list(login_as, hospital, stocked, data):
    keeper = login_as("supervisor")
    form = the_form(keeper, "/stock/parts/new", "/stock/parts/new")
    n = count(Part)
    sent = with_changes({**form.submission(), "code": f"F-{n}", "name": "Fuse 13A", "unit": "each",
                         "unit_cost": "0.45", "reorder_level": "10"}, data.draw(changes(form.fields)))
    saved, _location = send(keeper, form.action, sent)
    assert count(Part) == n + saved
    if saved:
        part = db.session.scalars(select(Part).order_by(Part.id.desc())).first()
        assert (part.code, part.name, part.unit_cost) == (
            sent["code"].strip().upper(), sent["name"].strip(), Decimal(sent["unit_cost"].strip().replace(",", "")))


@FUZZ
@given(data=st.data())
def test_receive_and_count_stock(login_as, hospital, stocked, data):
    keeper = login_as("supervisor")
    which = data.draw(st.sampled_from(["receive", "adjust"]))
    part = stocked["breaker"]
    form = the_form(keeper, f"/stock/parts/{part}", rf"/stock/parts/{part}/{which}")
    base = ({"receive-quantity": "6", "receive-reason": "PO 4711"} if which == "receive"
            else {"adjust-counted": "7", "adjust-reason": "Counted on the shelf"})
    sent = with_changes({**form.submission(), **base}, data.draw(changes(form.fields)))
    movements = count(StockMovement)
    saved, _location = send(keeper, form.action, sent)
    if saved and count(StockMovement) > movements:
        movement = db.session.scalars(select(StockMovement).order_by(StockMovement.id.desc())).first()
        if which == "receive":
            assert movement.quantity == int(sent["receive-quantity"].strip())
        else:
            assert movement.balance_after == int(sent["adjust-counted"].strip())


@FUZZ
@given(data=st.data())
def test_add_a_store(login_as, hospital, stocked, data):
    keeper = login_as("supervisor")
    form = the_form(keeper, "/stock/stores", "/stock/stores")
    n = count(Store)
    sent = with_changes({**form.submission(), "name": f"Store {n}"}, data.draw(changes(form.fields)))
    saved, _location = send(keeper, form.action, sent)
    assert count(Store) == n + saved
    if saved:
        assert db.session.scalars(select(Store).order_by(Store.id.desc())).first().name == sent["name"].strip()


@FUZZ
@given(data=st.data())
def test_set_the_budgets_and_labour_rates(login_as, hospital, stocked, data):
    manager = login_as("manager")
    which = data.draw(st.sampled_from(["budgets", "rates"]))
    year = data.draw(st.sampled_from(["2026", "2027", "²", "1999", "99999999999999999999", ""]))
    page = the_form(manager, "/reports/budget/edit", r"/reports/budget/edit\?year=2026")
    forms = [f for f in forms_on(manager.get("/reports/budget/edit").get_data(as_text=True), "/reports/budget/edit")
             if f.method == "post"]
    form = next(f for f in forms if dict((x.name, x.value) for x in f.fields).get("what") == which)
    assert page.action == form.action
    cells = [x for x in form.fields if x.name.startswith(("b-", "rate-"))]
    fuzzed = data.draw(changes(cells, {x.name: ["100", "12.50", "0", ""] for x in cells}))
    sent = with_changes(form.submission(), fuzzed)
    saved, _location = send(manager, f"/reports/budget/edit?year={year}", sent)
    if saved and which == "budgets" and year == "2026":
        budgets = {(b.trade_id, b.month.month): b.amount for b in db.session.scalars(
            select(TradeBudget).where(TradeBudget.month >= date(2026, 1, 1), TradeBudget.month <= date(2026, 12, 1)))}
        for name, value in fuzzed.items():
            if name.startswith("b-") and value != OMIT:
                _b, trade, month = name.split("-")
                raw = value.strip().replace(",", "")
                assert budgets.get((int(trade), int(month))) == (Decimal(raw) if raw else None)


# --- planned maintenance and emergency plans ------------------------------------------------------------------

@FUZZ
@given(data=st.data())
def test_write_a_planned_schedule(login_as, hospital, data):
    supervisor = login_as("supervisor")
    form = the_form(supervisor, "/planned/new", "/planned/new")
    from dispatch.services.planned import MaintenanceSchedule

    n = count(MaintenanceSchedule)
    sent = with_changes({**form.submission(), "title": "Monthly distribution board inspection",
                         "trade_id": str(hospital.trades["power"].id), "ward_id": str(hospital.icu.id),
                         "recurrence": "interval", "interval_count": "1", "interval_unit": "month",
                         "start_date": "2026-03-20", "lead_days": "7", "estimated_minutes": "45",
                         "checklist": "Check breakers\nTest RCDs"}, data.draw(changes(form.fields)))
    saved, _location = send(supervisor, form.action, sent)
    assert count(MaintenanceSchedule) == n + saved
    if saved:
        schedule = db.session.scalars(select(MaintenanceSchedule).order_by(MaintenanceSchedule.id.desc())).first()
        assert schedule.title == sent["title"].strip()


@pytest.fixture
def plan(hospital):
    from dispatch.services import emergency_plans

    content = emergency_plans.parse_content(title="ICU power loss", summary="Ventilators are on battery.",
                                            steps="Phone ICU nurse in charge\nCheck the ICU UPS panel",
                                            contacts="Duty electrician | +86 139 0000 1000",
                                            isolation_points="ICU essential supply | Switch room A-B1")
    return emergency_plans.create_plan(hospital.user("manager"), trade_id=hospital.trades["power"].id,
                                       criticality="icu", keywords=None, content=content).id


@FUZZ
@given(data=st.data())
def test_edit_an_emergency_plan(login_as, hospital, plan, data):
    manager = login_as("manager")
    form = the_form(manager, f"/plans/{plan}/edit", rf"/plans/{plan}/edit")
    sent = with_changes(form.submission(), data.draw(changes(form.fields)))
    saved, _location = send(manager, form.action, sent)
    if saved:
        db.session.expire_all()
        current = db.session.get(EmergencyPlan, plan).current
        assert current.title == sent["title"].strip()
        assert current.steps == [line.strip() for line in sent["steps"].splitlines() if line.strip()]


# --- logging in and the language -----------------------------------------------------------------------------

@FUZZ
@given(username=st.one_of(JUNK, st.sampled_from(["dispatcher", " dispatcher ", "DISPATCHER", "bms"])),
       password=st.one_of(JUNK, st.just(PASSWORD)))
@example(username="dispatcher", password=PASSWORD)
@example(username="dispatcher\x00", password=PASSWORD)
def test_log_in(app, hospital, redis_conn, username, password):
    from tests.conftest import Browser, csrf_token

    client = app.test_client()

    class Anonymous(Browser):
        def __init__(self):
            self.client = client
            self.token = csrf_token(client.get("/login").get_data(as_text=True))

    visitor = Anonymous()
    saved, location = send(visitor, "/login", {"username": username, "password": password},
                           allowed_on_refusal=("audit_event",))  # a failed attempt is on the security record
    if saved:
        assert username.strip() == "dispatcher" and password == PASSWORD
        assert client.get("/board/").status_code == 200
        client.post("/logout", data={"csrf_token": csrf_token(client.get("/board/").get_data(as_text=True))})


@FUZZ
@given(locale=st.one_of(JUNK, st.sampled_from(["en", "zh_CN"]), st.just(OMIT)),
       target=st.one_of(JUNK, st.sampled_from(["/board/", "/tickets/1001", "//evil.example/x", "https://evil.example"])))
def test_switch_the_language(login_as, hospital, locale, target):
    dispatcher = login_as("dispatcher")
    before = db.session.get(User, hospital.users["dispatcher"].id).locale
    sent = {"next": target, **({} if locale == OMIT else {"locale": locale})}
    saved, location = send(dispatcher, "/language", sent)
    db.session.expire_all()
    after = db.session.get(User, hospital.users["dispatcher"].id).locale
    if not saved:  # only a NUL is refused outright; anything else is a choice kept or ignored
        assert any("\x00" in value for value in sent.values())
        return
    assert after == (locale if locale in ("en", "zh_CN") else before)
    assert not urlsplit(location).netloc and not location.startswith("//")


# --- what once answered 500, or refused without a word -----------------------------------------------------

def _hold(hospital):
    ticket = _on_site(hospital)
    return "sparky", f"/tickets/{ticket.id}/hold", {"version": str(ticket.version), "note": "Waiting for parts"}


def _assign(hospital):
    ticket = _ticket(hospital, ward="ward3", trade="water")
    return "dispatcher", f"/board/{ticket}/assign", {"technician_id": str(hospital.users["plumb"].id), "version": "1"}


def _report(hospital):
    return "nurse.icu", "/report", {"ward_id": str(hospital.icu.id), "trade_id": str(hospital.trades["power"].id),
                                    "whole_area": "1", "description": "No power to bed 3", "location_id": "0"}


def _comment(hospital):
    return "nurse.icu", f"/tickets/{_ticket(hospital)}/comment", {"note": "Still no power"}


def _policy(hospital):
    return "manager", "/oncall/escalation/new", {"name": "ICU power", "trade_id": "0", "priority": "1", "repeat": "1",
                                                 "steps-0-target": "supervisor", "steps-0-wait_minutes": "5"}


def _budgets(hospital):
    return "manager", "/reports/budget/edit?year=²", {"what": "budgets", f"b-{hospital.trades['power'].id}-1": "100"}


@pytest.mark.parametrize("form, change", [
    (_hold, {"version": "²"}),  # str.isdigit() says yes, int() says no
    (_hold, {"version": "9" * 4301}),  # past int()'s 4,300 digits
    (_assign, {"version": "²"}),
    (_assign, {"technician_id": "99999999999999999999"}),  # PostgreSQL: integer out of range
    (_policy, {"repeat": "9" * 1000}),  # WTForms' NumberRange: float overflow
    (_comment, {"note": "a\x00b"}),  # PostgreSQL text cannot hold a NUL
    (_budgets, {}),  # the year in the address
    (_report, {"whole_area": ""}),  # the form came back without saying why
    (_report, {"ward_id": OMIT}),
], ids=["version-superscript", "version-4301-digits", "assign-version-superscript", "technician-id-past-int32",
        "repeat-1000-digits", "nul-in-a-comment", "budget-year-superscript", "report-without-scope",
        "report-without-ward"])
def test_what_once_broke_a_form_now_gets_an_answer(login_as, hospital, redis_conn, stocked, form, change):
    username, action, base = form(hospital)
    browser = login_as(username)
    before = database_fingerprint()
    saved, _location = send(browser, action, with_changes(base, change))
    assert not saved or changed_tables(before, database_fingerprint()), "answered as saved, but nothing was"


def test_a_nul_in_the_apis_json_is_refused_not_a_500(app, hospital, api_token, redis_conn):
    client, headers = app.test_client(), api_token("nurse.icu")
    client.get("/api/v1/tickets", headers=headers)  # a token's first use is on record; this is about the second
    before = database_fingerprint()
    response = client.post("/api/v1/tickets", headers=headers, json={
        "ward_id": hospital.icu.id, "trade": "power", "description": "No power\x00 to bed 1"})
    assert response.status_code == 422 and "NUL" in response.get_json()["message"]
    assert changed_tables(before, database_fingerprint()) == []


# --- inspection rounds and test records -------------------------------------------------------------------------

@FUZZ
@given(data=st.data())
def test_define_a_check_form(login_as, hospital, data):
    from models import CheckForm

    admin = login_as("admin")
    form = the_form(admin, "/checks/new", "/checks/new")
    n = count(CheckForm)
    sent = with_changes({**form.submission(), "kind": "test", "title": "Generator 1 monthly test",
                         "trade_id": str(hospital.trades["power"].id), "ward_id": str(hospital.icu.id),
                         "schedule_id": "0", "items": "Minutes run; min 30; unit min\nNo leaks"},
                        data.draw(changes(form.fields)))
    saved, _location = send(admin, form.action, sent)
    assert count(CheckForm) == n + saved


@pytest.fixture
def generator_form(hospital):
    from dispatch.services import check_forms

    return check_forms.save_form(hospital.user("admin"), check_forms.FormValues(
        kind="test", title="Generator 1 monthly test", ward_id=hospital.icu.id, trade_id=hospital.trades["power"].id,
        items=[check_forms.ItemValues("Minutes run", "reading", "min", 30, None),
               check_forms.ItemValues("No leaks")])).id


@FUZZ
@given(data=st.data())
def test_fill_a_check_form_in(login_as, hospital, generator_form, data):
    from models import CheckRecord

    sparky = login_as("sparky")
    form = the_form(sparky, f"/checks/{generator_form}/fill", rf"/checks/{generator_form}/fill")
    n = count(CheckRecord)
    sent = with_changes({**form.submission(), "item_1": "31.5", "item_2": "pass"}, data.draw(changes(form.fields)))
    saved, _location = send(sparky, form.action, sent)
    # One record per due date: after the first, an accepted form is "recorded already" and writes nothing.
    assert count(CheckRecord) == max(n, int(saved))
