"""Charts as inline SVG, drawn on the server: no JavaScript, nothing fetched, and they print.

Series differ by colour (the Okabe-Ito palette, safe for colour-blind readers) and also by dash pattern
and marker shape, so they stay apart on a black-and-white printout.
"""
from __future__ import annotations

from collections.abc import Sequence

from markupsafe import Markup, escape

PALETTE = ("#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9", "#000000", "#999999")
DASHES = ("", "7 4", "2 3", "9 3 2 3", "4 4", "12 4", "1 4", "6 2 2 2")
MARKERS = ("circle", "square", "triangle", "diamond", "cross", "x", "circle-open", "square-open")
FONT = 'font-family="system-ui, -apple-system, Segoe UI, Noto Sans, Noto Sans CJK SC, sans-serif"'


def _marker(kind: str, x: float, y: float, colour: str) -> str:
    r = 3.6
    if kind == "circle":
        return f'<circle cx="{x:.1f}" cy="{y:.1f}" r="{r}" fill="{colour}"/>'
    if kind == "circle-open":
        return f'<circle cx="{x:.1f}" cy="{y:.1f}" r="{r}" fill="#fff" stroke="{colour}" stroke-width="1.6"/>'
    if kind in ("square", "square-open"):
        fill = colour if kind == "square" else "#fff"
        return (f'<rect x="{x - r:.1f}" y="{y - r:.1f}" width="{2 * r}" height="{2 * r}" fill="{fill}" '
                f'stroke="{colour}" stroke-width="1.4"/>')
    if kind == "triangle":
        return (f'<path d="M{x:.1f} {y - r - 0.8:.1f} L{x + r + 0.6:.1f} {y + r:.1f} L{x - r - 0.6:.1f} {y + r:.1f} Z" '
                f'fill="{colour}"/>')
    if kind == "diamond":
        return (f'<path d="M{x:.1f} {y - r - 1:.1f} L{x + r + 1:.1f} {y:.1f} L{x:.1f} {y + r + 1:.1f} '
                f'L{x - r - 1:.1f} {y:.1f} Z" fill="{colour}"/>')
    if kind == "cross":
        return (f'<path d="M{x - r:.1f} {y:.1f} H{x + r:.1f} M{x:.1f} {y - r:.1f} V{y + r:.1f}" '
                f'stroke="{colour}" stroke-width="2.2"/>')
    return (f'<path d="M{x - r:.1f} {y - r:.1f} L{x + r:.1f} {y + r:.1f} M{x - r:.1f} {y + r:.1f} L{x + r:.1f} {y - r:.1f}" '
            f'stroke="{colour}" stroke-width="2.2"/>')


def percent_axis(values: Sequence[float | None], guide: float | None = None) -> tuple[float, float]:
    """A y-axis floor and step for percentages: close enough to the data that a change of a few points
    shows, always a round number, and labelled on the chart (it need not start at 0)."""
    present = [v for v in values if v is not None] + ([guide] if guide is not None else [])
    low = min(present) if present else 0.0
    floor = max(0.0, (int(low) - 5) // 10 * 10)
    span = 100.0 - floor
    return floor, 5.0 if span <= 30 else 10.0 if span <= 60 else 25.0


LEGEND_COLUMN = 380  # px per legend entry below a line chart: room for a trade's full name
CHAR_WIDTH = 0.62  # of the font size: a generous average glyph width, for laying labels out without overlap


def text_width(text: str, size: float = 12) -> float:
    """About how wide a label draws (CJK glyphs are square, so count them double)."""
    return sum(2 if ord(ch) > 0x2E80 else 1 for ch in text) * size * CHAR_WIDTH


def line_chart(x_labels: Sequence[str], series: Sequence[tuple], *, title: str,
               y_label: str, y_max: float = 100.0, y_min: float = 0.0, y_step: float = 25.0,
               guide: float | None = None, guide_label: str = "", suffix: str = "%", width: int = 1200,
               height: int = 340, min_count: int = 0, count_label=None) -> Markup:
    """Lines over months (gaps where a month has no value), an optional guide line labelled at the right, and
    the legend below the plot, full names. A series is (name, values) or (name, values, counts): each point
    then tells in its tooltip how many tickets stand behind it, and one resting on fewer than `min_count`
    is drawn hollow and not joined to its neighbours (one late job in a quiet month is not a 0% collapse).
    `count_label(n)` words the count ('3 tickets')."""
    left, top, bottom = 56, 28, 30
    right = max(60, int(text_width(guide_label)) + 16) if guide is not None else 20
    plot_w = width - left - right
    columns = max(1, (width - left) // LEGEND_COLUMN)
    legend_rows = -(-len(series) // columns) if series else 0
    plot_h = height - top - bottom
    height = height + legend_rows * 20 + (10 if legend_rows else 0)
    n = max(len(x_labels), 1)
    count_label = count_label or (lambda c: f"n={c}")

    def x_at(i: int) -> float:
        return left + (plot_w * (i + 0.5) / n)

    def y_at(v: float) -> float:
        return top + plot_h * (1 - (min(max(v, y_min), y_max) - y_min) / (y_max - y_min))

    parts = [f'<svg class="chart" viewBox="0 0 {width} {height}" role="img" aria-label="{escape(title)}" '
             f'xmlns="http://www.w3.org/2000/svg" {FONT} font-size="12">',
             f'<title>{escape(title)}</title>',
             f'<text x="{left}" y="15" font-size="13" font-weight="600" fill="#1c2430">{escape(title)}</text>']
    step = y_step
    value = y_min
    while value <= y_max + 1e-9:
        y = y_at(value)
        parts.append(f'<line x1="{left}" y1="{y:.1f}" x2="{left + plot_w}" y2="{y:.1f}" stroke="#d9dee5"/>')
        parts.append(f'<text x="{left - 6}" y="{y + 4:.1f}" text-anchor="end" fill="#444">{value:g}{suffix}</text>')
        value += step
    parts.append(f'<text transform="translate(13 {top + plot_h / 2:.0f}) rotate(-90)" text-anchor="middle" '
                 f'fill="#444">{escape(y_label)}</text>')
    widest = max([text_width(label) for label in x_labels] + [1])
    every = max(1, -(-int(widest + 8) // max(int(plot_w / n), 1)))  # skip labels rather than let them touch
    for i, label in enumerate(x_labels):
        if i % every == 0:
            parts.append(f'<text x="{x_at(i):.1f}" y="{top + plot_h + 16}" text-anchor="middle" fill="#444">'
                         f'{escape(label)}</text>')
    if guide is not None:
        y = y_at(guide)
        parts.append(f'<line x1="{left}" y1="{y:.1f}" x2="{left + plot_w}" y2="{y:.1f}" stroke="#5f6b7a" '
                     f'stroke-width="1.4" stroke-dasharray="3 3"/>')
        parts.append(f'<text x="{left + plot_w + 6}" y="{y + 4:.1f}" fill="#5f6b7a">{escape(guide_label)}</text>')
    for index, entry in enumerate(series):
        name, values = entry[0], entry[1]
        counts = entry[2] if len(entry) > 2 else None
        colour, dash, marker = (PALETTE[index % len(PALETTE)], DASHES[index % len(DASHES)],
                                MARKERS[index % len(MARKERS)])
        runs, run, points = [], [], []
        for i, v in enumerate(values):
            count = counts[i] if counts is not None and i < len(counts) else None
            thin = v is not None and count is not None and count < min_count
            if v is None or thin:
                if run:
                    runs.append(run)
                run = []
            else:
                run.append((x_at(i), y_at(v)))
            if v is not None:
                points.append((i, v, count, thin))
        if run:
            runs.append(run)
        dash_attr = f' stroke-dasharray="{dash}"' if dash else ""
        for line in runs:
            if len(line) > 1:
                d = " ".join(f"{'M' if k == 0 else 'L'}{px:.1f} {py:.1f}" for k, (px, py) in enumerate(line))
                parts.append(f'<path d="{d}" fill="none" stroke="{colour}" stroke-width="2"{dash_attr}/>')
        for i, v, count, thin in points:
            tip = f"{name} · {x_labels[i] if i < len(x_labels) else ''}: {v:.0f}{suffix}"
            if count is not None:
                tip += f" ({count_label(count)})"
            shape = (f'<circle cx="{x_at(i):.1f}" cy="{y_at(v):.1f}" r="4" fill="#fff" stroke="{colour}" '
                     f'stroke-width="1.8" class="thin-point"/>') if thin else _marker(marker, x_at(i), y_at(v), colour)
            parts.append(f'<g class="point"><title>{escape(tip)}</title>{shape}</g>')
        ly = top + plot_h + 36 + (index // columns) * 20
        lx = left + (index % columns) * LEGEND_COLUMN
        parts.append(f'<line x1="{lx}" y1="{ly}" x2="{lx + 30}" y2="{ly}" stroke="{colour}" stroke-width="2"{dash_attr}/>')
        parts.append(_marker(marker, lx + 15, ly, colour))
        parts.append(f'<text x="{lx + 38}" y="{ly + 4}" fill="#1c2430">'
                     f'{escape(_clip(name, int((LEGEND_COLUMN - 46) / (12 * CHAR_WIDTH))))}</text>')
    parts.append("</svg>")
    return Markup("".join(parts))


def bar_chart(bars: Sequence[tuple[str, int, bool]], *, title: str, y_label: str, x_label: str,
              marker_after: int | None = None, marker_label: str = "", ok_label: str = "", late_label: str = "",
              width: int = 1200, height: int = 300) -> Markup:
    """Counts per band; bars flagged True are within target (solid), the rest late (hatched, for print)."""
    left, right, top, bottom = 52, 20, 40, 58
    plot_w, plot_h = width - left - right, height - top - bottom
    n = max(len(bars), 1)
    scale = _nice_ceiling(max([b[1] for b in bars] + [4]))
    divisions = 4 if scale % 4 == 0 else 5
    band = plot_w / n
    parts = [f'<svg class="chart" viewBox="0 0 {width} {height}" role="img" aria-label="{escape(title)}" '
             f'xmlns="http://www.w3.org/2000/svg" {FONT} font-size="12">',
             f'<title>{escape(title)}</title>',
             '<defs><pattern id="late-hatch" width="6" height="6" patternUnits="userSpaceOnUse" '
             'patternTransform="rotate(45)"><rect width="6" height="6" fill="#D55E00"/>'
             '<line x1="0" y1="0" x2="0" y2="6" stroke="#fff" stroke-width="2"/></pattern></defs>',
             f'<text x="{left}" y="15" font-size="13" font-weight="600" fill="#1c2430">{escape(title)}</text>']
    if ok_label or late_label:
        parts.append(f'<rect x="{left}" y="22" width="12" height="10" fill="#0072B2"/>'
                     f'<text x="{left + 16}" y="31" fill="#1c2430">{escape(ok_label)}</text>'
                     f'<rect x="{left + 190}" y="22" width="12" height="10" fill="url(#late-hatch)"/>'
                     f'<text x="{left + 206}" y="31" fill="#1c2430">{escape(late_label)}</text>')
    for k in range(divisions + 1):
        value = scale * k / divisions
        y = top + plot_h * (1 - k / divisions)
        parts.append(f'<line x1="{left}" y1="{y:.1f}" x2="{left + plot_w}" y2="{y:.1f}" stroke="#d9dee5"/>')
        parts.append(f'<text x="{left - 6}" y="{y + 4:.1f}" text-anchor="end" fill="#444">{value:,.0f}</text>')
    parts.append(f'<text transform="translate(13 {top + plot_h / 2:.0f}) rotate(-90)" text-anchor="middle" '
                 f'fill="#444">{escape(y_label)}</text>')
    for i, (label, count, ok) in enumerate(bars):
        h = plot_h * count / scale
        x = left + i * band + band * 0.15
        fill = "#0072B2" if ok else "url(#late-hatch)"
        parts.append(f'<rect x="{x:.1f}" y="{top + plot_h - h:.1f}" width="{band * 0.7:.1f}" height="{h:.1f}" '
                     f'fill="{fill}" stroke="{"#0072B2" if ok else "#D55E00"}"><title>{escape(label)}: {count}</title></rect>')
        parts.append(f'<text x="{x + band * 0.35:.1f}" y="{top + plot_h - h - 4:.1f}" text-anchor="middle" '
                     f'fill="#1c2430">{count:,}</text>')
        parts.append(f'<text x="{x + band * 0.35:.1f}" y="{top + plot_h + 16}" text-anchor="middle" fill="#444">'
                     f'{escape(label)}</text>')
    if marker_after is not None:
        mx = left + (marker_after + 1) * band
        parts.append(f'<line x1="{mx:.1f}" y1="{top - 4}" x2="{mx:.1f}" y2="{top + plot_h}" stroke="#1c2430" '
                     f'stroke-width="1.6" stroke-dasharray="5 3"/>')
        parts.append(f'<text x="{mx + 4:.1f}" y="{top + 8}" fill="#1c2430" font-weight="600">{escape(marker_label)}</text>')
    parts.append(f'<text x="{left + plot_w / 2:.0f}" y="{height - 10}" text-anchor="middle" fill="#444">'
                 f'{escape(x_label)}</text>')
    parts.append("</svg>")
    return Markup("".join(parts))


def _nice_ceiling(value: float) -> float:
    """The next 'round' number at or above value (1, 2, 2.5, 5 times a power of ten), for axis tops."""
    magnitude = 1.0
    while magnitude * 10 <= value:
        magnitude *= 10
    for factor in (1, 2, 2.5, 5, 10):
        if value <= factor * magnitude:
            return factor * magnitude
    return 10 * magnitude


def _clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def grouped_percent_chart(categories: Sequence[str], series: Sequence[tuple[str, Sequence[float | None]]], *,
                          title: str, goal: float | None = None, goal_label: str = "", width: int = 1000,
                          height: int = 300) -> Markup:
    """% per category (a trade), one bar per series (a target) side by side, 0-100 %, with a dashed goal line.

    Bars differ by colour and by fill pattern (solid, hatched, dotted), so they stay apart in black and white.
    """
    left, right, top, bottom = 48, 200, 34, 40
    plot_w, plot_h = width - left - right, height - top - bottom
    n, k = max(len(categories), 1), max(len(series), 1)
    group = plot_w / n
    bar = group * 0.8 / k
    fills = [PALETTE[0], "url(#bars-hatch)", "url(#bars-dots)"]
    parts = [f'<svg class="chart" viewBox="0 0 {width} {height}" role="img" aria-label="{escape(title)}" '
             f'xmlns="http://www.w3.org/2000/svg" {FONT} font-size="12">', f'<title>{escape(title)}</title>',
             '<defs><pattern id="bars-hatch" width="6" height="6" patternUnits="userSpaceOnUse" '
             f'patternTransform="rotate(45)"><rect width="6" height="6" fill="{PALETTE[1]}"/>'
             '<line x1="0" y1="0" x2="0" y2="6" stroke="#fff" stroke-width="2"/></pattern>'
             f'<pattern id="bars-dots" width="5" height="5" patternUnits="userSpaceOnUse"><rect width="5" height="5" '
             f'fill="{PALETTE[2]}"/><circle cx="2.5" cy="2.5" r="1" fill="#fff"/></pattern></defs>',
             f'<text x="{left}" y="16" font-size="13" font-weight="600" fill="#1c2430">{escape(title)}</text>']
    for value in range(0, 101, 20):
        y = top + plot_h * (1 - value / 100)
        parts.append(f'<line x1="{left}" y1="{y:.1f}" x2="{left + plot_w}" y2="{y:.1f}" stroke="#d9dee5"/>')
        parts.append(f'<text x="{left - 6}" y="{y + 4:.1f}" text-anchor="end" fill="#444">{value}%</text>')
    for i, category in enumerate(categories):
        x0 = left + i * group + group * 0.1
        for j, (name, values) in enumerate(series):
            value = values[i] if i < len(values) else None
            if value is None:
                continue
            h = plot_h * value / 100
            parts.append(f'<rect x="{x0 + j * bar:.1f}" y="{top + plot_h - h:.1f}" width="{bar * 0.92:.1f}" '
                         f'height="{h:.1f}" fill="{fills[j % len(fills)]}" stroke="{PALETTE[j % len(PALETTE)]}">'
                         f'<title>{escape(category)} · {escape(name)}: {value:.1f}%</title></rect>')
        parts.append(f'<text x="{left + i * group + group / 2:.1f}" y="{top + plot_h + 16}" text-anchor="middle" '
                     f'fill="#444">{escape(_clip(category, 18))}</text>')
    if goal is not None:
        y = top + plot_h * (1 - goal / 100)
        parts.append(f'<line x1="{left}" y1="{y:.1f}" x2="{left + plot_w}" y2="{y:.1f}" stroke="#b3261e" '
                     f'stroke-width="1.5" stroke-dasharray="6 4"/>')
        parts.append(f'<text x="{left + plot_w + 6}" y="{y + 4:.1f}" fill="#b3261e">{escape(goal_label)}</text>')
    for j, (name, _values) in enumerate(series):
        y = top + plot_h * 0.4 + j * 20  # below the goal line's label
        parts.append(f'<rect x="{left + plot_w + 6}" y="{y}" width="14" height="12" fill="{fills[j % len(fills)]}" '
                     f'stroke="{PALETTE[j % len(PALETTE)]}"/><text x="{left + plot_w + 26}" y="{y + 10}" '
                     f'fill="#1c2430">{escape(_clip(name, 24))}</text>')
    parts.append("</svg>")
    return Markup("".join(parts))


def budget_chart(rows: Sequence[tuple[str, float | None, float, float]], *, title: str, budget_label: str,
                 actual_label: str, over_label: str, last_year_label: str, width: int = 1200) -> Markup:
    """Per trade, horizontal: the month's actual cost (solid; hatched when over budget), the same month last
    year (thin grey bar) and the budget (a black tick). rows: (trade, budget or None, actual, last year)."""
    left, right, top, row_h = 230, 90, 52, 40
    height = top + row_h * max(len(rows), 1) + 16
    plot_w = width - left - right
    scale = _nice_ceiling(max([v for _t, b, a, ly in rows for v in (b or 0, a, ly)] + [1.0]))
    parts = [f'<svg class="chart" viewBox="0 0 {width} {height}" role="img" aria-label="{escape(title)}" '
             f'xmlns="http://www.w3.org/2000/svg" {FONT} font-size="12">',
             f'<title>{escape(title)}</title>',
             '<defs><pattern id="over-hatch" width="6" height="6" patternUnits="userSpaceOnUse" '
             'patternTransform="rotate(45)"><rect width="6" height="6" fill="#D55E00"/>'
             '<line x1="0" y1="0" x2="0" y2="6" stroke="#fff" stroke-width="2"/></pattern></defs>',
             f'<text x="12" y="15" font-size="13" font-weight="600" fill="#1c2430">{escape(title)}</text>',
             f'<rect x="12" y="24" width="14" height="10" fill="#0072B2"/>'
             f'<text x="30" y="33" fill="#1c2430">{escape(actual_label)}</text>'
             f'<rect x="230" y="24" width="14" height="10" fill="url(#over-hatch)"/>'
             f'<text x="248" y="33" fill="#1c2430">{escape(over_label)}</text>'
             f'<rect x="470" y="27" width="14" height="4" fill="#999999"/>'
             f'<text x="490" y="33" fill="#1c2430">{escape(last_year_label)}</text>'
             f'<line x1="700" y1="22" x2="700" y2="36" stroke="#000" stroke-width="3"/>'
             f'<text x="708" y="33" fill="#1c2430">{escape(budget_label)}</text>']
    for k in range(5):
        x = left + plot_w * k / 4
        parts.append(f'<line x1="{x:.1f}" y1="{top - 6}" x2="{x:.1f}" y2="{height - 16}" stroke="#d9dee5"/>')
        parts.append(f'<text x="{x:.1f}" y="{height - 3}" text-anchor="middle" fill="#444">{scale * k / 4:,.0f}</text>')
    for i, (trade, budget, actual, last_year) in enumerate(rows):
        y = top + i * row_h
        over = budget is not None and actual > budget
        w = plot_w * actual / scale
        parts.append(f'<text x="{left - 8}" y="{y + 17}" text-anchor="end" fill="#1c2430">{escape(_clip(trade, 30))}</text>')
        parts.append(f'<rect x="{left}" y="{y + 4}" width="{w:.1f}" height="18" fill="{"url(#over-hatch)" if over else "#0072B2"}" '
                     f'stroke="{"#D55E00" if over else "#0072B2"}"><title>{escape(trade)}: {actual:,.2f}</title></rect>')
        parts.append(f'<rect x="{left}" y="{y + 25}" width="{plot_w * last_year / scale:.1f}" height="5" fill="#999999">'
                     f'<title>{escape(last_year_label)}: {last_year:,.2f}</title></rect>')
        if budget is not None:
            bx = left + plot_w * budget / scale
            parts.append(f'<line x1="{bx:.1f}" y1="{y}" x2="{bx:.1f}" y2="{y + 32}" stroke="#000" stroke-width="3">'
                         f'<title>{escape(budget_label)}: {budget:,.2f}</title></line>')
        parts.append(f'<text x="{left + max(w, plot_w * (budget or 0) / scale) + 8:.1f}" y="{y + 17}" fill="#1c2430">'
                     f'{actual:,.0f}</text>')
    parts.append("</svg>")
    return Markup("".join(parts))
