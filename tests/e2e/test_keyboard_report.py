"""A nurse files a fault with the keyboard alone, and every stop on the way shows where the focus is: the skip
link first, then each control (a trade choice shows it on the whole choice, not only on its small radio)."""
from __future__ import annotations

import re

from playwright.sync_api import expect

from tests.e2e.test_fault_to_fix import log_in

# The focused element, and whether it (or the choice label around it) draws a visible focus ring.
FOCUS = """() => {
    const el = document.activeElement;
    const ring = (node) => { const s = getComputedStyle(node);
        return s.outlineStyle !== 'none' && parseFloat(s.outlineWidth) >= 2; };
    const label = el.closest('label');
    return {tag: el.tagName, name: el.getAttribute('name') || '', value: el.value || '', text: (el.innerText || '').trim(),
            cls: el.className || '', choice: !!(label && label.classList.contains('trade-choice')),
            visible: ring(el) || !!(label && ring(label))};
}"""


def test_a_fault_is_filed_by_keyboard_with_focus_visible_throughout(live_server, new_device, hospital):
    page = new_device(live_server)
    log_in(page, "nurse.icu")
    page.goto("/report")
    stops = []
    for _ in range(60):
        page.keyboard.press("Tab")
        focus = page.evaluate(FOCUS)
        stops.append(focus)
        assert focus["visible"], f"no visible focus on {focus}"
        if len(stops) == 1:
            assert "skip-link" in focus["cls"], "the first Tab stop is the skip link"
        if focus["name"] == "trade_id":
            assert focus["choice"]
            # Arrow keys move within the radio group; choose Power, the first trade.
            page.keyboard.press("Space")
        elif focus["name"] == "whole_area" and focus["value"] == "1":
            page.keyboard.press("Space")
        elif focus["name"] == "description":
            page.keyboard.type("No power to bed 1 sockets")
        elif focus["tag"] == "BUTTON" and "Send report" in focus["text"]:
            page.keyboard.press("Enter")
            break
    else:
        raise AssertionError(f"never reached Send report: {stops}")
    expect(page).to_have_url(re.compile(r"/tickets/\d+\?filed=1$"))
    expect(page.locator("section.filed")).to_contain_text("P1 emergency")
