"""The compliance trend chart's layout: no two labels overlap, the legend keeps clear of the goal label and names
each trade in full, and each point says how many tickets stand behind it; thin months are hollow and unjoined."""
from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from itertools import combinations

from dispatch.charts import line_chart, text_width

SVG = "{http://www.w3.org/2000/svg}"
TRADES = ["Electrical power", "Water & drainage", "Air conditioning & ventilation", "Medical gases", "Lifts",
          "Nurse call & alarms", "Doors, locks & windows", "Other"]
MONTHS = ["Jan 26", "Feb 26", "Mar 26", "Apr 26", "May 26", "Jun 26", "Jul 26", "Aug 26", "Sep 26", "Oct 26",
          "Nov 26", "Dec 26"]


def chart(min_count=5, names=TRADES, months=MONTHS):
    series = []
    for k, name in enumerate(names):
        values = [90.0 - k + (i % 3) for i in range(len(months))]
        counts = [40] * len(months)
        values[5], counts[5] = 0.0, 1  # one ticket, late: a lone 0% that must not drag the line down
        series.append((name, values, counts))
    svg = str(line_chart(months, series, title="Attend within target, by month and trade", y_label="% within target",
                         y_min=0, y_step=25, guide=90, guide_label="goal 90%", min_count=min_count,
                         count_label=lambda n: f"{n} tickets"))
    return ET.fromstring(svg)


def text_boxes(root) -> list[tuple[str, float, float, float, float]]:
    """(text, x0, y0, x1, y1) of each horizontal label, from its position, anchor and an ample glyph width."""
    boxes = []
    for node in root.iter(f"{SVG}text"):
        if "transform" in node.attrib:
            continue  # the rotated axis title, alone at the far left
        size = float(node.get("font-size", 12))
        x, y, width = float(node.get("x")), float(node.get("y")), text_width(node.text or "", size)
        x0 = {"end": x - width, "middle": x - width / 2}.get(node.get("text-anchor"), x)
        boxes.append((node.text, x0, y - size, x0 + width, y + size * 0.25))
    return boxes


def overlap(a, b) -> bool:
    return a[1] < b[3] and b[1] < a[3] and a[2] < b[4] and b[2] < a[4]


def test_no_two_labels_overlap_and_all_fit_inside_the_chart():
    root = chart()
    width, height = (float(v) for v in root.get("viewBox").split()[2:])
    boxes = text_boxes(root)
    clashes = [(a[0], b[0]) for a, b in combinations(boxes, 2) if overlap(a, b)]
    assert clashes == []
    assert all(0 <= b[1] and b[3] <= width and 0 <= b[2] and b[4] <= height for b in boxes), boxes


def test_the_legend_keeps_clear_of_the_goal_label_and_names_trades_in_full():
    root = chart()
    texts = [n.text for n in root.iter(f"{SVG}text")]
    assert "Air conditioning & ventilation" in texts and not any("…" in (t or "") for t in texts)
    goal = next(b for b in text_boxes(root) if b[0] == "goal 90%")
    legend_marks = [n for n in root.iter(f"{SVG}line") if n.get("x2") and float(n.get("x2")) - float(n.get("x1")) == 30]
    assert len(legend_marks) == len(TRADES)
    for mark in legend_marks:  # a legend swatch is not drawn over the goal label either
        x1, x2, y = float(mark.get("x1")), float(mark.get("x2")), float(mark.get("y1"))
        assert not overlap(("swatch", x1, y - 5, x2, y + 5), goal)


def test_each_point_tells_how_many_tickets_stand_behind_it():
    root = chart()
    tips = [g.find(f"{SVG}title").text for g in root.iter(f"{SVG}g") if g.get("class") == "point"]
    assert len(tips) == len(TRADES) * len(MONTHS)
    assert "Lifts · Feb 26: 87% (40 tickets)" in tips
    assert "Lifts · Jun 26: 0% (1 tickets)" in tips


def test_a_thin_month_is_hollow_and_not_joined_by_the_line():
    root = chart(min_count=5)
    hollow = [n for n in root.iter(f"{SVG}circle") if n.get("class") == "thin-point"]
    assert len(hollow) == len(TRADES) and all(n.get("fill") == "#fff" for n in hollow)
    paths = [n.get("d") for n in root.iter(f"{SVG}path") if n.get("fill") == "none"]
    # Each trade's line breaks at June: two runs, and no path reaches the 0% line.
    assert len(paths) == 2 * len(TRADES)
    bottom = max(float(y) for d in paths for y in re.findall(r"[ML][\d.]+ ([\d.]+)", d))
    zero_y = float(next(n for n in root.iter(f"{SVG}text") if n.text == "0%").get("y")) - 4
    assert bottom < zero_y - 50

    joined = chart(min_count=0)  # with no minimum, the point is solid and joined as before
    assert not [n for n in joined.iter(f"{SVG}circle") if n.get("class") == "thin-point"]
    assert len([n for n in joined.iter(f"{SVG}path") if n.get("fill") == "none"]) == len(TRADES)
