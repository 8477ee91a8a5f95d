"""The monthly leadership report in a real browser: no Content-Security-Policy refusals, and printed (Chromium's
print to PDF, the same layout as printing on paper) it is A4 portrait, without the navigation, each section on a
page of its own."""
from __future__ import annotations

import io

from pypdf import PdfReader

from dispatch.services import leadership
from dispatch.services.report_breaches import ensure_default_causes
from tests.e2e.test_content_security_policy import watch_for_violations
from tests.e2e.test_fault_to_fix import log_in
from tests.report_data import NOW, build_fixed_set
from tests.test_leadership import FIRST_OF_APRIL

A4_POINTS = (595, 842)


def test_the_leadership_report_prints_on_a4_without_navigation(live_server, new_device, hospital, clock, db):
    clock.set(NOW)
    ensure_default_causes()
    build_fixed_set(hospital)
    clock.set(FIRST_OF_APRIL)
    report = leadership.generate_due(FIRST_OF_APRIL)
    page = new_device(live_server)
    violations = watch_for_violations(page)
    log_in(page, "manager")
    page.goto("/reports/leadership")
    page.get_by_role("link", name="Read the report").click()
    page.wait_for_load_state("networkidle")
    assert page.url.endswith(f"/reports/leadership/{report.id}")
    assert page.get_by_role("link", name="Download PDF").is_visible()
    printed = PdfReader(io.BytesIO(page.pdf(prefer_css_page_size=True)))
    assert violations == []
    sizes = {(round(float(p.mediabox.width)), round(float(p.mediabox.height))) for p in printed.pages}
    assert sizes == {A4_POINTS}
    pages = [" ".join(p.extract_text().split()) for p in printed.pages]
    text = " ".join(pages)
    assert "Monthly report for hospital leadership" in text and "March 2026" in text
    for left_out in ("Log out", "Download PDF", "All monthly reports", "Breach causes"):
        assert left_out not in text, left_out
    # Summary and compliance, breaches, cost, repeat faults, licences: each section starts a page.
    for heading in ("Breaches: causes and actions taken", "Cost against budget", "Repeat faults", "Licences"):
        assert any(p.startswith(heading) for p in pages), (heading, [p[:40] for p in pages])
