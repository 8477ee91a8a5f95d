"""The report pages and exports as a manager uses them: figures, links to the tickets behind them, files."""
from __future__ import annotations

import csv
import html
import io
import re
from urllib.parse import parse_qs, urlsplit

import pytest

from tests.conftest import text_of
from tests.report_data import read_xlsx

MARCH = "start=2026-03-01&end=2026-03-31"





def body_rows(page: str, table_class: str) -> list[list[str]]:
    table = re.search(rf'<table class="[^"]*{table_class}[^"]*">(.*?)</table>', page, re.S).group(1)
    rows = []
    for body in re.findall(r"<t(?:body|foot)>(.*?)</t(?:body|foot)>", table, re.S):
        for row in re.findall(r"<tr[^>]*>(.*?)</tr>", body, re.S):
            rows.append([text_of(c) for c in re.findall(r"<t[dh][^>]*>(.*?)</t[dh]>", row, re.S)])
    return rows


def links(page: str) -> list[str]:
    return [html.unescape(h) for h in re.findall(r'href="([^"]+)"', page)]


def ticket_numbers(page: str) -> list[int]:
    return sorted(int(n) for n in re.findall(r'<a href="/tickets/(\d+)">#', page))


def test_the_compliance_page_shows_the_hand_computed_figures(fixed, login_as):
    page = login_as("manager").get(f"/reports/compliance?{MARCH}").get_data(as_text=True)
    rows = body_rows(page, "compliance-table")
    # Trade, priority, tickets, then per target: within (and how many missed), median, 90th; missed; open by age.
    assert rows[0] == ["Power", "P2", "6", "66.7% 2 missed", "12 min", "25 min", "66.7% 2 missed", "45 min",
                       "1 h 18 min", "80.0% 1 missed", "10 h 00 min", "1 d 5 h", "5", "1", "0", "0", "0"]
    assert rows[1] == ["Water", "P3", "1", "0.0% 1 missed", "—", "—", "0.0% 1 missed", "—", "—", "0.0% 1 missed",
                       "—", "—", "3", "0", "0", "1", "0"]
    assert rows[2][:4] == ["All", "", "7", "57.1% 3 missed"]


def test_each_figure_links_to_exactly_the_tickets_behind_it(fixed, login_as):
    manager = login_as("manager")
    page = manager.get(f"/reports/compliance?{MARCH}").get_data(as_text=True)
    missed_ack = next(h for h in links(page) if "target=acknowledge" in h and "outcome=missed" in h and "trade=" in h)
    query = parse_qs(urlsplit(missed_ack).query)
    assert query["priority"] == ["2"] and query["start"] == ["2026-03-01"]
    listed = manager.get(missed_ack).get_data(as_text=True)
    assert ticket_numbers(listed) == sorted([fixed["p4"].id, fixed["p5"].id])
    open_young = next(h for h in links(page) if "backlog=day" in h and "trade=" in h)
    assert ticket_numbers(manager.get(open_young).get_data(as_text=True)) == [fixed["p5"].id]


@pytest.mark.parametrize("by,first_cells", [
    ("technician", ["Li Volt", "2"]),
    ("team", ["Power", "5"]),
    ("ward", ["ICU", "6"]),
    ("month", ["Mar 2026", "7"]),
    ("priority", ["P2", "6"]),
])
def test_compliance_can_be_grouped_by_each_dimension(fixed, login_as, by, first_cells):
    page = login_as("manager").get(f"/reports/compliance?{MARCH}&by={by}").get_data(as_text=True)
    assert body_rows(page, "compliance-table")[0][:2] == first_cells


def test_the_compliance_csv_has_every_figure_as_a_number(fixed, login_as):
    response = login_as("manager").get(f"/reports/compliance.csv?{MARCH}")
    assert response.status_code == 200 and response.mimetype == "text/csv"
    rows = list(csv.reader(io.StringIO(response.get_data(as_text=True).lstrip("\ufeff"))))
    header, power = rows[0], rows[1]
    record = dict(zip(header, power))
    assert record["Trade"] == "Power" and record["Tickets"] == "6"
    assert record["Acknowledge within target (%)"] == "66.7"
    assert record["Acknowledge median (min)"] == "12.5"
    assert record["On site 90th percentile (min)"] == "78.0"
    assert record["Resolve or make safe median (min)"] == "600.0"
    assert rows[-1][0] == "All"


def test_the_compliance_xlsx_opens_with_percentages_and_minutes(fixed, login_as):
    response = login_as("manager").get(f"/reports/compliance.xlsx?{MARCH}&by=trade")
    assert response.status_code == 200
    rows = read_xlsx(response.data)["Compliance"]
    power = dict(zip(rows[0], rows[1]))
    assert power["Trade"] == "Power"
    assert power["Acknowledge within target (%)"] == pytest.approx(4 / 6, abs=1e-3)
    assert power["Acknowledge median (min)"] == 12.5
