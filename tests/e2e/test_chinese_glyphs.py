"""No tofu: every page, as each role reading Chinese, draws its Chinese characters with a font that has them.

Which platform fonts drew a node's text is Chromium's own answer (Chrome DevTools Protocol,
`CSS.getPlatformFontsForNode`); a Chinese character that no installed font covers is drawn as a box with the
page's first font, so a node with Chinese text whose fonts include no CJK family (fontconfig's `:lang=zh-cn`
list) shows tofu. The check is shown to fail by drawing a page in a Chromium whose fontconfig hides the CJK
fonts. `make test` installs the font (scripts/cjk_font.sh); without one these tests fail, saying so.
"""
from __future__ import annotations

import os
import subprocess

import pytest

from tests.access_policy import PEOPLE, WEB_ROLES
from tests.e2e.conftest import CHROMIUM_ARGS, STEP_TIMEOUT_MS, chromium_path
from tests.e2e.test_accessibility import pages_of
from tests.conftest import PASSWORD
from tests.factories import furnish_hospital
from models import User, db

# Marks the visible elements with Chinese in their own text (not their children's), for the CDP to find.
MARK_CHINESE = """() => {
    let n = 0;
    for (const el of document.body.querySelectorAll('*')) {
        const own = [...el.childNodes].filter(c => c.nodeType === Node.TEXT_NODE).map(c => c.textContent).join('');
        if (/[\\u3400-\\u9fff]/.test(own) && el.getClientRects().length) el.setAttribute('data-cjk', String(n++));
    }
    return n;
}"""


def fontconfig(*args: str) -> list[str]:
    return subprocess.run(["fc-list", *args], capture_output=True, text=True, check=True).stdout.splitlines()


def cjk_families() -> set[str]:
    """The font families fontconfig says cover Chinese ('WenQuanYi Zen Hei', 'Noto Sans CJK SC', ...)."""
    return {name.strip() for line in fontconfig(":lang=zh-cn", "family") for name in line.split(",") if name.strip()}


def tofu_on(page, cjk_fonts: set[str]) -> list[str]:
    """The visible elements whose Chinese text was drawn without any CJK font, as 'tag: text'."""
    if not page.evaluate(MARK_CHINESE):
        return []
    cdp = page.context.new_cdp_session(page)
    try:
        cdp.send("DOM.enable")
        cdp.send("CSS.enable")
        root = cdp.send("DOM.getDocument", {"depth": -1})["root"]["nodeId"]
        found = []
        for node in cdp.send("DOM.querySelectorAll", {"nodeId": root, "selector": "[data-cjk]"})["nodeIds"]:
            fonts = cdp.send("CSS.getPlatformFontsForNode", {"nodeId": node})["fonts"]
            # No fonts at all: laid out but not drawn (inside a closed <details>), so nothing to see.
            if fonts and not any(font["familyName"] in cjk_fonts for font in fonts):
                html = cdp.send("DOM.getOuterHTML", {"nodeId": node})["outerHTML"]
                found.append(f"{html[:80]} drawn with {[f['familyName'] for f in fonts]}")
        return found
    finally:
        cdp.detach()


@pytest.fixture(scope="module")
def chinese_fonts() -> set[str]:
    families = cjk_families()
    if not families:
        pytest.fail("No font covers Chinese, so Chinese pages show boxes: run scripts/cjk_font.sh "
                    "(apt-get install fonts-wqy-zenhei or fonts-noto-cjk); `make test` does it when root.", pytrace=False)
    return families


@pytest.fixture
def chinese_readers(hospital):
    """The furnished hospital, everyone reading Chinese."""
    furnished = furnish_hospital(hospital)
    for user in db.session.query(User):
        user.locale = "zh_CN"
    db.session.commit()
    return furnished


@pytest.fixture
def browser_without_cjk_fonts(browser, tmp_path):
    """A second Chromium whose fontconfig rejects every font file that covers Chinese (the machine as it was
    before the font was installed). Launched by the session's Playwright: a second sync Playwright cannot start
    while the first one runs."""
    files = sorted({line.split(":")[0] for line in fontconfig(":lang=zh-cn", "file")})
    assert files, "no CJK font to hide"
    rejected = "".join(f"<glob>{path}</glob>" for path in files)
    config = tmp_path / "fonts.conf"
    config.write_text(f"""<?xml version="1.0"?><!DOCTYPE fontconfig SYSTEM "fonts.dtd">
<fontconfig><include ignore_missing="yes">/etc/fonts/fonts.conf</include>
<selectfont><rejectfont>{rejected}</rejectfont></selectfont>
<cachedir>{tmp_path / 'cache'}</cachedir></fontconfig>""")
    chromium = browser.browser_type.launch(executable_path=chromium_path(), headless=True, args=CHROMIUM_ARGS,
                                           env={**os.environ, "FONTCONFIG_FILE": str(config)})
    try:
        yield chromium
    finally:
        chromium.close()


def log_in(page, username: str) -> None:
    """The login page speaks English until someone logs in; the pages after it speak their Chinese."""
    page.goto("/login")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.get_by_role("button", name="退出").wait_for()


def open_page(browser, base_url: str):
    context = browser.new_context(base_url=base_url, locale="zh-CN", timezone_id="Asia/Shanghai",
                                  viewport={"width": 1280, "height": 900})
    context.set_default_timeout(STEP_TIMEOUT_MS)
    return context.new_page()


def test_the_check_finds_tofu_when_the_cjk_font_is_hidden(live_server, chinese_readers, chinese_fonts,
                                                          browser_without_cjk_fonts):
    page = open_page(browser_without_cjk_fonts, live_server)
    log_in(page, PEOPLE["dispatcher"])
    page.goto("/board")
    boxes = tofu_on(page, chinese_fonts)
    assert len(boxes) >= 5, boxes  # the navigation, headings and every row's Chinese text
    page.context.close()


@pytest.mark.parametrize("role", WEB_ROLES)
def test_no_page_in_chinese_shows_tofu(app, live_server, browser, chinese_readers, chinese_fonts, role):
    paths = pages_of(app, role, chinese_readers.ids)
    page = open_page(browser, live_server)
    log_in(page, PEOPLE[role])
    found, drawn = [], 0
    for path in paths:
        response = page.goto(path)
        assert response.status == 200, (path, response.status)
        found += [f"{path}: {box}" for box in tofu_on(page, chinese_fonts)]
        drawn += page.evaluate("document.querySelectorAll('[data-cjk]').length")
    page.context.close()
    assert drawn > len(paths), "the pages were not in Chinese"
    assert found == [], "\n".join(found[:40])

