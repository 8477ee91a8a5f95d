"""Every date and time the app writes on a page goes through the one formatter (dispatch/i18n.py): walk every page
each person can reach, in English and in Chinese, and look for a date written in any other shape."""
from __future__ import annotations

import re

import pytest

from models import User, db
from tests.access_policy import PEOPLE, WEB_ROLES, pages_for
from tests.conftest import Browser, text_of
from tests.factories import furnish_hospital
from tests.forms import crawl

MONTHS = "Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec"
WEEKDAYS = "Mon|Tue|Wed|Thu|Fri|Sat|Sun"
# Shapes no page should show, whatever the language: strftime or ISO leftovers.
EVERYWHERE = {
    "an ISO date": re.compile(r"\b\d{4}-\d{2}-\d{2}\b"),
    "an ISO year and month": re.compile(r"\b\d{4}-\d{2}\b(?!-)"),
    "a UTC offset": re.compile(r"\d{2}:\d{2}(?::\d{2})?(?:\.\d+)?(?:[+-]\d{2}:\d{2}|Z)\b"),
    "a strftime directive": re.compile(r"%[YmdHMSaAbBp]"),
}
WRONG_SHAPES = {
    "zh_CN": {
        **EVERYWHERE,
        "an English month": re.compile(rf"\b(?:{MONTHS})\b"),
        "an English weekday": re.compile(rf"\b(?:{WEEKDAYS})\b"),
        "a day before its month (8 12月)": re.compile(r"(?<![\w.:-])\d{1,2} \d{1,2}月(?!\d{1,2}日)"),
        "a weekday before the date (周二 8)": re.compile(r"周[一二三四五六日] \d{1,2}(?![\d:月])"),
    },
    "en": {
        **EVERYWHERE,
        "a Chinese date part": re.compile(r"\d\s*[年月日]|周[一二三四五六日]"),
    },
}


# A planned ticket's description is stored text, written once when its schedule opened it ("Planned: Monthly
# board inspection, due 2026-03-14."): a ticket's words are shown as they were written, not re-dated.
STORED_PLANNED_DESCRIPTION = re.compile(r"Planned: [^.]*?, due \d{4}-\d{2}-\d{2}")
# A form's hint showing the shape to type into a date field ("e.g. 2026-05-01") is the input's format, not a date.
INPUT_FORMAT_HINT = re.compile(r"(?:e\.g\.|格式如)\s*\d{4}-\d{2}-\d{2}")


def visible_text(page: str) -> str:
    """What a reader sees (no scripts or styles), less stored planned-ticket descriptions."""
    page = re.sub(r"<(script|style)\b.*?</\1>", " ", page, flags=re.S)
    return INPUT_FORMAT_HINT.sub(" ", STORED_PLANNED_DESCRIPTION.sub(" ", text_of(page)))


def wrongly_written(page: str, language: str) -> list[str]:
    text = visible_text(page)
    return [f"{name}: …{text[max(m.start() - 40, 0):m.end() + 40]}…"
            for name, shape in WRONG_SHAPES[language].items() for m in shape.finditer(text)]


@pytest.mark.parametrize("language", ["en", "zh_CN"])
@pytest.mark.parametrize("role", WEB_ROLES)
def test_no_page_writes_a_date_in_another_shape(app, hospital, role, language):
    ids = furnish_hospital(hospital).ids
    person = db.session.query(User).filter_by(username=PEOPLE[role]).one()
    person.locale = language
    db.session.commit()
    client = Browser(app.test_client(), PEOPLE[role]).client
    found = crawl(client, pages_for(app, role, ids))
    pages = [path for path, status in found.pages.items() if status == 200]
    assert len(pages) >= 3, found.pages
    problems = []
    for path in pages:
        response = client.get(path)
        if response.mimetype == "text/html":
            problems += [f"{path}: {wrong}" for wrong in wrongly_written(response.get_data(as_text=True), language)]
        response.close()
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize("text, language, wrong", [
    ("周二 8 12月 20:00", "zh_CN", True),
    ("12月8日 周二 20:00", "zh_CN", False),
    ("Tue 8 Dec 20:00", "zh_CN", True),
    ("Tue 8 Dec 20:00", "en", False),
    ("8 12月", "en", True),
    ("2026-03-10 14:05", "en", True),
    ("10:05+08:00", "zh_CN", True),
    ("3月10日 10:05 3月10日 10:00", "zh_CN", False),
    ("v1 3月10日 10:00 · 12.35 3月10日 · 2026-W11 3月9日", "zh_CN", False),
    ("4月12日 周日 4月5日 周日", "zh_CN", False),
    ("due 2026-03-10", "en", True),
    ("March: 2026-03", "en", True),
    ("Fixed dates (e.g. 2026-05-01, one per line)", "en", False),
    ("Planned: Board inspection, due 2026-03-14.", "en", False),
])
def test_the_shapes_looked_for(text, language, wrong):
    assert bool(wrongly_written(f"<p>{text}</p>", language)) is wrong
