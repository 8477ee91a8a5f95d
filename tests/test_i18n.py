"""The Chinese (zh-CN) interface: every template string marked, every message translated and compiled,
every page as each role free of English, SMS in the recipient's language, and the Chinese reply commands."""
from __future__ import annotations

import html
import re
from pathlib import Path

import pytest
from flask import current_app
from babel.messages.mofile import read_mo
from babel.messages.pofile import read_po

from dispatch import ROOT
from dispatch.services.assignment import assign_ticket
from dispatch.services.required_activities import KNOWN_STANDARDS
from dispatch.sms import segments
from dispatch.sms import text as sms_text
from models import OutboundMessage, User, db
from tests.test_sms_replies import file_fault, replies, webhook  # noqa: F401  (fixture)

TRANSLATIONS = ROOT / "translations"
PO = TRANSLATIONS / "zh_CN" / "LC_MESSAGES" / "messages.po"
MO = PO.with_suffix(".mo")
WORD = re.compile(r"[A-Za-z]{2,}")
# Shown as written whatever the language: the language switch itself, and attribute values that are not words.
NOT_TRANSLATED = {"English"}


def _blank(match: re.Match) -> str:
    return "§" + "\n" * match.group(0).count("\n")


def unmarked_text(source: str) -> list[tuple[int, str]]:
    """(line, text) of visible words in a template that are not inside {{ _() }} or {% trans %}."""
    source = re.sub(r"\{%-?\s*trans\b.*?\{%-?\s*endtrans\s*-?%\}", _blank, source, flags=re.S)
    source = re.sub(r"\{%-?\s*block\s+\w*class\s*-?%\}.*?\{%-?\s*endblock", _blank, source, flags=re.S)  # CSS classes
    source = re.sub(r"\{#.*?#\}|\{%.*?%\}|\{\{.*?\}\}", _blank, source, flags=re.S)
    source = re.sub(r"<(script|style|code)\b[^>]*>.*?</\1>", _blank, source, flags=re.S | re.I)
    found = []
    for attribute in re.finditer(r'\b(?:title|placeholder|aria-label|alt|label|data-confirm)\s*=\s*"([^"]*)"', source):
        if WORD.search(attribute.group(1)):
            found.append((source[:attribute.start()].count("\n") + 1, attribute.group(0)))
    text = re.sub(r"<[^>]*>", _blank, source, flags=re.S)
    text = re.sub(r"&[a-z]+;|&#\d+;", " ", text)
    for number, line in enumerate(text.split("\n"), 1):
        words = [w for w in WORD.findall(line) if w not in NOT_TRANSLATED]
        if words:
            found.append((number, line.strip()))
    return found


def test_every_template_string_is_marked_for_translation():
    problems = [f"{path.relative_to(ROOT)}:{line}: {text}"
                for path in sorted((ROOT / "templates").rglob("*.html"))
                for line, text in unmarked_text(path.read_text(encoding="utf-8"))]
    assert not problems, "text not marked for translation:\n" + "\n".join(problems)


def test_the_checker_finds_unmarked_text():
    assert unmarked_text('<p>{{ _("Fine") }}</p>\n<th>Status</th>\n<input placeholder="e.g. bed 4">') == [
        (3, 'placeholder="e.g. bed 4"'), (2, "§Status§")]


def test_every_message_has_a_chinese_translation_and_the_mo_is_compiled():
    with open(TRANSLATIONS / "messages.pot", "rb") as f:
        template = read_po(f)
    with open(PO, "rb") as f:
        catalog = read_po(f, locale="zh_CN")
    missing = []
    for message in template:
        if not message.id:
            continue
        translated = catalog.get(message.id)
        strings = () if translated is None else (translated.string if isinstance(translated.string, tuple)
                                                   else (translated.string,))
        if translated is None or translated.fuzzy or not all(strings):
            missing.append(message.id)
    assert not missing, f"{len(missing)} messages without a zh-CN translation, e.g. {missing[:5]}"
    with open(MO, "rb") as f:
        compiled = read_mo(f)
    def text(message):
        return None if message is None else tuple(message.string) if isinstance(message.string, (list, tuple)) \
            else (message.string,)

    stale = [m.id for m in catalog if m.id and text(compiled.get(m.id)) != text(m)]
    assert not stale, f"messages.mo is older than messages.po (run `make translations`): {stale[:3]}"


def test_the_template_lists_every_marked_string(tmp_path):
    """messages.pot is up to date with the code: nothing marked since the last `make translations` is missed."""
    from babel.messages.frontend import CommandLineInterface

    fresh = tmp_path / "messages.pot"
    CommandLineInterface().run(["pybabel", "-q", "extract", "-F", str(ROOT / "babel.cfg"), "-k", "_l", "-k",
                                "lazy_gettext", "-o", str(fresh), str(ROOT)])
    with open(fresh, "rb") as f:
        wanted = {m.id for m in read_po(f) if m.id}
    with open(TRANSLATIONS / "messages.pot", "rb") as f:
        have = {m.id for m in read_po(f) if m.id}
    assert not wanted - have, f"run `make translations`: new strings {sorted(map(str, wanted - have))[:5]}"


# --- every page, as each role, in Chinese --------------------------------------------------------

def visible_text(page: str) -> str:
    # Scripts, styles and code (commands, paths, queue names) are not words for a reader to translate.
    page = re.sub(r"<(script|style|code)\b[^>]*>.*?</\1>", " ", page, flags=re.S | re.I)
    titles = " ".join(re.findall(r'\b(?:title|placeholder|aria-label)="([^"]*)"', page))
    return html.unescape(re.sub(r"<[^>]+>", " ", page) + " " + titles)


# Data stays as entered (names of people, wards, trades, the hospital); codes and units are not words to translate.
ALLOWED = {"P1", "P2", "P3", "P4", "SMS", "CSV", "XLSX", "PDF", "Excel", "QR", "API", "KB", "ICU", "STOP", "START",
           "English", "UTF", "Redis", "Prometheus",
           # the directory's own terms, as the hospital's IT knows them
           "Active", "Directory", "LDAP", "CN", "DN", "OpenID", "Connect", "sub",  # sub: the OpenID subject claim
           "AVSU-",  # the area valve service unit's label, as painted on the box "URL", "YYYY", "MM", "DD", "trade", "role", "username", "weekday", "starts", "ends",
           "primary", "secondary", "supervisor", "duty_manager", "mon", "sun"}


def english_left(page: str, data_words: set[str]) -> list[str]:
    return sorted({w for w in re.findall(r"[A-Za-z][A-Za-z'’-]+", visible_text(page))
                   if w not in ALLOWED and w.lower() not in data_words})


# The test hospital's own names in Chinese (the rest are the demo's: dispatch.seed_names).
TEST_NAMES = {"Test campus": "测试院区", "Block A": "A栋", "ICU": "重症监护室", "Ward 3": "3病区", "Bed 1": "1号床",
              "Bay 2": "2号病房区"}


@pytest.fixture
def data_words(hospital) -> set[str]:
    """The words of data that stays as entered: people's names and usernames, codes, licence numbers, the
    hospital's name, a fault as the ward described it. Wards, places, trades, licence types and breach causes
    are given Chinese names here, so their English ones on a Chinese page are left-over English."""
    from dispatch.seed_names import in_chinese
    from models import Building, Location, Site, Trade, Ward
    from models.breach import BreachCause
    from models.staff import Licence
    from models.staff import LicenceType

    for model in (Trade, Ward, Building, Site, LicenceType, Location, BreachCause):
        for row in db.session.query(model):
            row.name_zh = TEST_NAMES.get(row.name) or in_chinese(row.name)
            assert row.name_zh, f"give {row.name!r} a Chinese name in TEST_NAMES"
    db.session.commit()
    names = [u.full_name for u in db.session.query(User)] + [u.username for u in db.session.query(User)]
    names += [t.code for t in db.session.query(Trade)]
    names.append(current_app.config["HOSPITAL_NAME"])
    names += [part for licence in db.session.query(Licence) for part in (licence.number, licence.issuer)]
    names.append("No power to bed 1")  # the fault described by the ward
    names += list(KNOWN_STANDARDS)  # standards are cited by their own names (TSG T5001, NFPA 110)
    return {w.lower() for n in names if n for w in re.findall(r"[A-Za-z][A-Za-z'’-]+", n)}


PAGES = {
    "nurse.icu": ["/report", "/ward", "/tickets/{ticket}", "/f/{ticket}"],
    "dispatcher": ["/board/", "/board/rows", "/tickets/{ticket}", "/oncall/", "/oncall/rota",
                   "/oncall/gaps", "/labels"],
    "supervisor": ["/oncall/overrides", "/oncall/escalation", "/board/", "/planned/",
                   "/planned/calendar", "/planned/new", "/reports/leadership", "/stock/", "/stock/stores",
                   "/stock/parts/new", "/plans/", "/plans/new", "/permits/", "/interruptions/", "/interruptions/new"],
    "sparky": ["/jobs", "/oncall/mine", "/tickets/{ticket}", "/checks/"],
    "manager": ["/reports/planned", "/reports/compliance", "/reports/breaches", "/reports/workload", "/reports/repeats",
                "/reports/licences", "/reports/tickets", "/reports/causes", "/reports/leadership", "/admin/staff",
                "/reports/cost", "/reports/cost?by=month", "/reports/budget", "/reports/budget/edit", "/stock/reorder",
                "/compliance/", "/compliance/binder", "/checks/compliance", "/checks/new"],
    "admin": ["/admin/staff", "/admin/staff/new", "/admin/staff/{sparky}", "/integrations/alarm-points",
              "/integrations/alarm-points/new", "/board/", "/admin/audit", "/admin/directory-groups", "/admin/queues",
              "/oncall/escalation/new"],
}
# Pages that are not for reading in a language: exports, machine endpoints, fragments, the entry redirects.
NOT_PAGES = {"/", "/login", "/metrics", "/incidents/ongoing", "/api/docs", "/api/openapi.json", "/api/v1/tickets",
             "/api/v1/check-forms", "/api/v1/check-compliance", "/api/v1/permits", "/api/v1/interruptions",
             "/reports/", "/oncall/rota.csv", "/kiosk",
             "/login/oidc", "/login/oidc/callback", "/compliance/binder.pdf", "/compliance/binder.xlsx",
             "/api/v1/certificates", "/api/v1/required-activities/compliance", "/api/v1/required-activities/occurrences"}


def test_the_chinese_walk_covers_every_page_without_arguments(app):
    walked = {path.split("?")[0] for paths in PAGES.values() for path in paths}
    pages = {rule.rule for rule in app.url_map.iter_rules()
             if "GET" in rule.methods and not rule.arguments and rule.rule not in NOT_PAGES}
    assert sorted(pages - walked) == []


@pytest.mark.parametrize("username", sorted(PAGES))
def test_every_page_is_chinese_for_a_chinese_user(login_as, hospital, data_words, username):
    for person in db.session.query(User):
        person.locale = "zh_CN"
    db.session.commit()
    ticket = file_fault(hospital)
    assign_ticket(ticket.id, hospital.users["sparky"].id, hospital.user("dispatcher"))
    browser = login_as(username)
    for path in PAGES[username]:
        url = path.format(ticket=ticket.id, sparky=hospital.users["sparky"].id)
        response = browser.get(url)
        assert response.status_code == 200, url
        page = response.get_data(as_text=True)
        assert english_left(page, data_words) == [], (url, english_left(page, data_words))


def test_form_errors_come_out_in_chinese(login_as, hospital):
    db.session.get(User, hospital.users["nurse.icu"].id).locale = "zh_CN"
    db.session.commit()
    nurse = login_as("nurse.icu")
    page = nurse.post("/report", {"ward_id": str(hospital.icu.id), "description": ""}).get_data(as_text=True)
    assert "此项为必填项" in page or "请" in page
    assert "This field is required." not in page


def test_the_language_switch_keeps_the_choice_on_the_account(login_as, hospital):
    browser = login_as("dispatcher")
    assert browser.post("/language", {"locale": "zh_CN", "next": "/board/"}).status_code == 302
    assert "调度板" in browser.get("/board/").get_data(as_text=True)
    db.session.rollback()
    assert db.session.get(User, hospital.users["dispatcher"].id).locale == "zh_CN"
    browser.post("/language", {"locale": "en"})
    assert "Board" in browser.get("/board/").get_data(as_text=True)


def test_the_login_page_speaks_the_chosen_language(client, hospital):
    assert "登录" in client.get("/login?lang=zh_CN").get_data(as_text=True)
    assert "Log in" in client.get("/login").get_data(as_text=True)


def test_dates_read_naturally_in_chinese(app):
    from datetime import datetime, timezone

    from flask_babel import force_locale

    from dispatch.templating import local_time

    with app.test_request_context(), force_locale("zh_CN"):
        assert local_time(datetime(2026, 11, 24, 6, 5, tzinfo=timezone.utc)) == "11月24日 14:05"


# --- SMS in the recipient's language ------------------------------------------------------------------

def test_a_chinese_technicians_assignment_sms_is_chinese_and_fits_two_segments(app, hospital):
    db.session.get(User, hospital.users["sparky"].id).locale = "zh_CN"
    db.session.commit()
    ticket = file_fault(hospital, description="4 床旁边的插座全部没电，监护仪在用电池供电，请尽快来处理。" * 3)
    assign_ticket(ticket.id, hospital.users["sparky"].id, hospital.user("dispatcher"))
    db.session.rollback()
    body = db.session.query(OutboundMessage).filter_by(kind="assignment").one().body
    assert "回复 接" in body and f"接 {ticket.number}" in body
    assert segments.units(body)[0] == "ucs2" and segments.count(body) <= 2


def test_an_english_technician_still_gets_english_whoever_assigns(app, hospital):
    db.session.get(User, hospital.users["dispatcher"].id).locale = "zh_CN"
    db.session.commit()
    ticket = file_fault(hospital)
    with app.test_request_context():
        assign_ticket(ticket.id, hospital.users["sparky"].id, hospital.user("dispatcher"))
    db.session.rollback()
    assert "Reply A" in db.session.query(OutboundMessage).filter_by(kind="assignment").one().body


def test_for_user_uses_the_hospital_default_when_the_person_has_none(app, hospital):
    app.config["BABEL_DEFAULT_LOCALE"] = "zh_CN"
    assert sms_text.for_user(hospital.user("volt"), sms_text.test_message, "Li Volt") == "Li Volt 的调度测试短信，无需回复。"


@pytest.mark.parametrize("body, reply", [("接 {n}", "已接单 #{n}。到场后请回复 到 {n}。"),
                                         ("接", "已接单 #{n}。到场后请回复 到 {n}。"),
                                         ("拒 {n} 没有梯子", "已拒单 #{n}，退回调度。")])
def test_chinese_reply_commands_are_answered_in_chinese(webhook, hospital, body, reply):
    from tests.test_sms_replies import SPARKY, job_for

    db.session.get(User, hospital.users["sparky"].id).locale = "zh_CN"
    db.session.commit()
    ticket_id = job_for(hospital)
    db.session.rollback()
    from models import Ticket

    number = db.session.get(Ticket, ticket_id).number
    assert replies(webhook(SPARKY, body.format(n=number))) == [reply.format(n=number)]


def test_on_site_and_done_in_chinese(webhook, hospital):
    from models import Ticket
    from tests.test_sms_replies import SPARKY, job_for

    db.session.get(User, hospital.users["sparky"].id).locale = "zh_CN"
    db.session.commit()
    ticket_id = job_for(hospital, status="acknowledged")
    db.session.rollback()
    n = db.session.get(Ticket, ticket_id).number
    assert replies(webhook(SPARKY, f"到 {n}")) == [f"已记录到场 #{n}。完工后请回复 完 {n} 备注。"]
    assert replies(webhook(SPARKY, f"完 {n} 换了空开")) == [f"#{n} 已完工，谢谢。"]
    assert replies(webhook(SPARKY, "帮助"))[0].startswith("调度短信回复")


def test_webhook_fixture_is_shared():
    # The signed-webhook fixture lives in tests/test_sms_replies.py; importing it here keeps one copy.
    from tests import test_sms_replies

    assert Path(test_sms_replies.__file__).exists()
