"""The monthly leadership report as an A4 PDF, printed from its snapshot in a given language.

Chinese text uses reportlab's built-in CID font STSong-Light: the PDF viewer supplies the glyphs, so no
font file ships with the project and the PDF stays small. In English, runs of Chinese (names entered in
Chinese, licence titles) switch to the same font so they never print as empty boxes.
"""
from __future__ import annotations

import io
import re
from datetime import date, datetime

from flask import g
from flask_babel import force_locale, format_datetime
from flask_babel import gettext as _
from reportlab.graphics.charts.barcharts import VerticalBarChart
from reportlab.graphics.charts.legends import Legend
from reportlab.graphics.shapes import Drawing, Line, String
from reportlab.lib import colors
from reportlab.lib.enums import TA_RIGHT
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.cidfonts import UnicodeCIDFont
from reportlab.platypus import CondPageBreak, KeepTogether, PageBreak, Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle
from xml.sax.saxutils import escape

from dispatch.i18n import month_label
from dispatch.services.report_filters import TARGETS
from dispatch.services.timezone import hospital_zone
from dispatch.templating import duration

CJK_FONT = "STSong-Light"
CJK = re.compile(r"[\u2e80-\u9fff\uf900-\ufaff\uff00-\uffef\u3000-\u303f]+")
# The Okabe-Ito colours of the pages' charts: safe for colour-blind readers.
TARGET_COLOURS = {"acknowledge": colors.HexColor("#56B4E9"), "attend": colors.HexColor("#0072B2"),
                  "resolve": colors.HexColor("#009E73")}
INK, MUTED, LINE, LATE = (colors.HexColor("#1c2430"), colors.HexColor("#5b6673"), colors.HexColor("#c9d1db"),
                          colors.HexColor("#b3261e"))
_registered = False


def _register_fonts() -> None:
    global _registered
    if not _registered:
        pdfmetrics.registerFont(UnicodeCIDFont(CJK_FONT))
        _registered = True


# --- words and numbers, shared with the page -------------------------------------------------------

def target_names() -> dict[str, str]:
    return {"acknowledge": _("Acknowledge"), "attend": _("On site"), "resolve": _("Resolve or make safe")}


def month_title(month: date | str) -> str:
    month = date.fromisoformat(month) if isinstance(month, str) else month
    return month_label(month)


def pct_text(value: float | None) -> str:
    return "—" if value is None else f"{value:.1f}%"


def change_text(value: float | None) -> str:
    """Change in percentage points against last month: '+1.2', '-3.0', '0.0'."""
    return "—" if value is None else f"{value:+.1f}"


def took_text(seconds: float | None) -> str:

    return "—" if seconds is None else duration(seconds)


def when_text(iso: str | None) -> str:
    if not iso:
        return "—"
    return format_datetime(datetime.fromisoformat(iso).astimezone(hospital_zone()), "yyyy-MM-dd HH:mm")


def money_text(value: float | None, signed: bool = False) -> str:
    return "—" if value is None else f"{value:+,.2f}" if signed else f"{value:,.2f}"


def cause_name(row: dict) -> str:
    return row["name"] if row.get("cause_id") else _("No cause recorded yet")


# --- the document ----------------------------------------------------------------------------------

class _Styles:
    def __init__(self, chinese: bool) -> None:
        self.chinese = chinese
        self.font = CJK_FONT if chinese else "Helvetica"
        self.bold = CJK_FONT if chinese else "Helvetica-Bold"
        base = dict(fontName=self.font, textColor=INK, wordWrap="CJK" if chinese else None)
        self.body = ParagraphStyle("body", fontSize=9, leading=12, **base)
        self.small = ParagraphStyle("small", fontSize=7.5, leading=9.5, **{**base, "textColor": MUTED})
        self.cell = ParagraphStyle("cell", fontSize=7.5, leading=9, **base)
        self.cell_right = ParagraphStyle("cell_right", parent=self.cell, alignment=TA_RIGHT)
        self.head = ParagraphStyle("head", fontSize=7.5, leading=9, **{**base, "fontName": self.bold})
        self.head_right = ParagraphStyle("head_right", parent=self.head, alignment=TA_RIGHT)
        self.title = ParagraphStyle("title", fontSize=18, leading=23, **{**base, "fontName": self.bold})
        self.subtitle = ParagraphStyle("subtitle", fontSize=12, leading=16, **base)
        self.h1 = ParagraphStyle("h1", fontSize=13, leading=17, spaceBefore=8, spaceAfter=4,
                                 **{**base, "fontName": self.bold})
        self.h2 = ParagraphStyle("h2", fontSize=10, leading=13, spaceBefore=6, spaceAfter=3,
                                 **{**base, "fontName": self.bold})

    def markup(self, text) -> str:
        """Escaped for reportlab's mini-markup, Chinese runs in the CJK font when the base font is Latin."""
        text = escape("" if text is None else str(text))
        if self.chinese:
            return text
        return CJK.sub(lambda m: f'<font name="{CJK_FONT}">{m.group(0)}</font>', text)

    def p(self, text, style=None) -> Paragraph:
        return Paragraph(self.markup(text), style or self.body)


def _table(s: _Styles, header: list[str], rows: list[list], widths: list[float], numeric: set[int] = frozenset(),
           total_last: bool = False, late_cells: list[tuple[int, int]] = (), groups: list[tuple[str, int, int]] = ()) -> Table:
    """A table with a bold header row (and, with `groups`, a row above it naming column groups: label, first, last)."""
    data = []
    if groups:
        top = [""] * len(header)
        for label, first, _last in groups:
            top[first] = Paragraph(s.markup(label), s.head)
        data.append(top)
    data.append([Paragraph(s.markup(h), s.head_right if i in numeric else s.head) for i, h in enumerate(header)])
    heads = len(data)
    for row in rows:
        data.append([Paragraph(s.markup(v), s.cell_right if i in numeric else s.cell) for i, v in enumerate(row)])
    table = Table(data, colWidths=widths, repeatRows=heads)
    style = [("LINEBELOW", (0, heads - 1), (-1, heads - 1), 0.8, INK), ("LINEBELOW", (0, heads), (-1, -1), 0.25, LINE),
             ("VALIGN", (0, 0), (-1, -1), "TOP"), ("TOPPADDING", (0, 0), (-1, -1), 2),
             ("BOTTOMPADDING", (0, 0), (-1, -1), 2), ("LEFTPADDING", (0, 0), (-1, -1), 2),
             ("RIGHTPADDING", (0, 0), (-1, -1), 2)]
    for _label, first, last in groups:
        style += [("SPAN", (first, 0), (last, 0)), ("LINEBELOW", (first, 0), (last, 0), 0.4, LINE),
                  ("LINEBEFORE", (first, 0), (first, -1), 0.4, LINE)]
    if total_last and rows:
        style += [("LINEABOVE", (0, -1), (-1, -1), 0.8, INK), ("BACKGROUND", (0, -1), (-1, -1), colors.HexColor("#eef2f6"))]
    for column, row in late_cells:
        style.append(("BACKGROUND", (column, row + heads), (column, row + heads), colors.HexColor("#fbe3e1")))
    table.setStyle(TableStyle(style))
    return table


def _compliance_table(s: _Styles, rows: list[dict], first: str, goal: float) -> Table:
    names = target_names()
    header, groups = [first, _("Tickets")], []
    for position, target in enumerate(TARGETS):
        header += [_("Within target (change)"), _("median"), _("90th percentile")]
        groups.append((names[target], 2 + 3 * position, 4 + 3 * position))
    body, late = [], []
    for index, row in enumerate(rows):
        line = [row["label"] if not row["total"] else _("All"), f"{row['tickets']:,}"]
        for position, target in enumerate(TARGETS):
            figures = row["targets"][target]
            line += [f"{pct_text(figures['pct'])} ({change_text(figures['change'])})", took_text(figures["p50"]),
                     took_text(figures["p90"])]
            if figures["pct"] is not None and figures["pct"] < goal:
                late.append((2 + 3 * position, index))
        body.append(line)
    widths = [24 * mm, 12 * mm] + [19 * mm, 14 * mm, 15 * mm] * 3
    return _table(s, header, body, widths, numeric=set(range(1, 11)), total_last=True, late_cells=late, groups=groups)


def _chart(s: _Styles, rows: list[dict], goal: float) -> Drawing:
    """% within target by trade, a bar per target, with the department's goal as a dashed line."""
    trades = [r for r in rows if not r["total"]]
    width, height = 180 * mm, 62 * mm
    drawing = Drawing(width, height)
    chart = VerticalBarChart()
    chart.x, chart.y, chart.width, chart.height = 14 * mm, 12 * mm, 120 * mm, 44 * mm
    chart.data = [[(r["targets"][t]["pct"] or 0) for r in trades] or [0] for t in TARGETS]
    chart.categoryAxis.categoryNames = [_clip(r["label"], 14) for r in trades] or [""]
    label_font = CJK_FONT if s.chinese or any(CJK.search(r["label"] or "") for r in trades) else "Helvetica"
    chart.categoryAxis.labels.fontName = label_font
    chart.categoryAxis.labels.fontSize = 6.5
    chart.valueAxis.valueMin, chart.valueAxis.valueMax, chart.valueAxis.valueStep = 0, 100, 20
    chart.valueAxis.labels.fontName, chart.valueAxis.labels.fontSize = "Helvetica", 6.5
    chart.valueAxis.labelTextFormat = "%d%%"
    chart.barSpacing, chart.groupSpacing = 0.5, 6
    for index, target in enumerate(TARGETS):
        chart.bars[index].fillColor = TARGET_COLOURS[target]
        chart.bars[index].strokeColor = None
    drawing.add(chart)
    goal_y = chart.y + chart.height * goal / 100.0
    drawing.add(Line(chart.x, goal_y, chart.x + chart.width, goal_y, strokeColor=LATE, strokeWidth=0.8,
                     strokeDashArray=[3, 2]))
    drawing.add(String(chart.x + chart.width + 2, goal_y - 2, _("goal %(pct)d%%", pct=goal), fontName=s.font,
                       fontSize=6.5, fillColor=LATE))
    legend = Legend()
    legend.x, legend.y = chart.x + chart.width + 8 * mm, chart.y + chart.height * 0.6
    legend.fontName, legend.fontSize = s.font, 7
    legend.alignment, legend.columnMaximum = "right", 3
    legend.colorNamePairs = [(TARGET_COLOURS[t], target_names()[t]) for t in TARGETS]
    drawing.add(legend)
    return drawing


def _clip(text: str | None, limit: int) -> str:
    text = text or ""
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _summary(s: _Styles, figures: dict) -> list:
    total = next(r for r in figures["compliance"]["by_trade"] if r["total"])
    attend = total["targets"]["attend"]
    breaches = figures["breaches"]
    lines = [
        _("Tickets reported: %(n)s", n=f"{total['tickets']:,}"),
        _("On site within target: %(pct)s (%(change)s points against last month)", pct=pct_text(attend["pct"]),
          change=change_text(attend["change"])),
        _("Tickets that missed a target: %(n)d, of which %(explained)d have a recorded cause",
          n=breaches["total"], explained=breaches["explained"]),
        _("Assets with repeat faults: %(n)d", n=figures["repeats"]["asset"]["total"]),
        _("Licences expired while still assigned: %(n)d; expiring within 30 days: %(soon)d",
          n=len(figures["licences"]["expired_assigned"]), soon=len(figures["licences"]["within_30"])),
    ]
    return [s.p("• " + line) for line in lines]


def _story(s: _Styles, figures: dict) -> list:
    goal = figures["goal"]
    month = month_title(figures["month"])
    names = target_names()
    story = [s.p(figures["hospital"], s.subtitle),
             s.p(_("Monthly report for hospital leadership"), s.title),
             s.p(month, s.subtitle),
             s.p(_("Figures as of %(when)s (hospital time). Tickets reported in the month, cancelled ones left out; "
                   "the change against %(previous)s is in percentage points.", when=when_text(figures["as_of"]),
                   previous=month_title(figures["compliance"]["previous_month"])), s.small),
             Spacer(1, 4 * mm), s.p(_("Summary"), s.h1), *_summary(s, figures)]

    story += [CondPageBreak(80 * mm), s.p(_("Compliance with service targets"), s.h1),
              s.p(_("By trade"), s.h2),
              _compliance_table(s, figures["compliance"]["by_trade"], _("Trade"), goal),
              s.p(_("By priority"), s.h2),
              _compliance_table(s, [{**r, "label": f"P{r['key']}" if r["key"] else r["label"]}
                                    for r in figures["compliance"]["by_priority"]], _("Priority"), goal),
              s.p(_("Cells in red are below the department's goal of %(pct)d%% within target.", pct=goal), s.small),
              KeepTogether([s.p(_("Within target by trade"), s.h2), _chart(s, figures["compliance"]["by_trade"], goal)])]

    breaches = figures["breaches"]
    story += [PageBreak(), s.p(_("Breaches: causes and actions taken"), s.h1),
              s.p(_("%(n)d tickets missed at least one target; %(explained)d have a recorded cause.",
                    n=breaches["total"], explained=breaches["explained"]), s.body),
              s.p(_("By cause"), s.h2),
              _table(s, [_("Cause"), _("Breaches")], [[cause_name(c), str(c["breaches"])] for c in breaches["by_cause"]],
                     [120 * mm, 25 * mm], numeric={1})]
    if breaches["listed"]:
        heading = _("Breached tickets, most urgent first")
        if breaches["total"] > len(breaches["listed"]):
            heading = _("The %(n)d most urgent of %(total)d breached tickets", n=len(breaches["listed"]),
                        total=breaches["total"])
        rows = [[str(b["number"]), when_text(b["reported_at"]), f"P{b['priority']}", b["trade"], b["ward"],
                 ", ".join(names[t] for t in b["missed"]), b["cause"] or _("No cause recorded yet"), b["action"] or ""]
                for b in breaches["listed"]]
        story += [s.p(heading, s.h2),
                  _table(s, [_("Ticket"), _("Reported"), _("Priority"), _("Trade"), _("Ward"), _("Missed"), _("Cause"),
                             _("Action taken")], rows,
                         [11 * mm, 25 * mm, 13 * mm, 22 * mm, 22 * mm, 22 * mm, 32 * mm, 33 * mm])]

    costs = figures["costs"]
    story += [CondPageBreak(60 * mm), s.p(_("Cost against budget"), s.h1)]
    if costs["available"]:
        over = []
        rows = []
        for index, c in enumerate([*costs["rows"], costs["total"]]):
            rows.append([c["trade"] or _("All"), money_text(c["budget"]), money_text(c["actual"]),
                         pct_text(c["used_pct"]), money_text(c["last_year"]), money_text(c["variance"], signed=True)])
            if c["variance"] is not None and c["variance"] > 0:
                over.append((5, index))
        story += [s.p(_("Parts and labour, in %(currency)s. Variance is actual minus budget: above zero is over "
                        "budget (shaded).", currency=costs["currency"]), s.small),
                  _table(s, [_("Trade"), _("Budget"), _("Actual"), _("Budget used"), _("Same month last year"),
                             _("Variance")], rows, [45 * mm, 27 * mm, 27 * mm, 22 * mm, 32 * mm, 27 * mm],
                         numeric={1, 2, 3, 4, 5}, total_last=True, late_cells=over)]
    else:
        story.append(s.p(_("Cost data not available: no parts, labour costs or budgets were recorded for this month."),
                         s.body))

    repeats = figures["repeats"]
    story += [CondPageBreak(60 * mm), s.p(_("Repeat faults"), s.h1),
              s.p(_("A repeat fault is a fault reported within 30 days of the previous one on the same asset (or in the "
                    "same room, for the same trade)."), s.small)]
    for kind, title, header in (
            ("asset", _("Assets with most repeat faults"), [_("Asset tag"), _("Asset"), _("Ward")]),
            ("location", _("Rooms and places with most repeat faults"), [_("Ward"), _("Room or place"), _("Trade")])):
        part = repeats[kind]
        story.append(s.p(f"{title} ({part['total']})", s.h2))
        if part["rows"]:
            rows = [[*r["labels"], str(r["faults"]), str(r["repeats"]), when_text(r["last_fault"])] for r in part["rows"]]
            story.append(_table(s, [*header, _("Faults"), _("Repeat faults"), _("Last fault")], rows,
                                [25 * mm, 55 * mm, 30 * mm, 18 * mm, 22 * mm, 28 * mm], numeric={3, 4}))
        else:
            story.append(s.p(_("None this month."), s.body))

    licences = figures["licences"]
    story += [CondPageBreak(60 * mm), s.p(_("Licences (依法持证上岗)"), s.h1),
              s.p(_("As of %(day)s.", day=licences["as_of"]), s.small)]
    for key, title in (("expired_assigned", _("Expired, and the holder still has the trade's open jobs or on-call shifts")),
                       ("within_30", _("Expiring within 30 days")), ("within_60", _("Expiring in 31 to 60 days"))):
        story.append(s.p(f"{title} ({len(licences[key])})", s.h2))
        if not licences[key]:
            story.append(s.p(_("None."), s.body))
            continue
        header = [_("Technician"), _("Licence"), _("Number"), _("Expires")]
        widths = [35 * mm, 70 * mm, 35 * mm, 22 * mm]
        rows = [[lic["technician"], lic["licence"], lic["number"], lic["expires_on"]] for lic in licences[key]]
        if key == "expired_assigned":
            header += [_("Open jobs"), _("On-call shifts")]
            widths = [30 * mm, 60 * mm, 30 * mm, 20 * mm, 18 * mm, 22 * mm]
            for row, lic in zip(rows, licences[key]):
                row += [str(lic["open_jobs"]), str(lic["shifts"])]
        story.append(_table(s, header, rows, widths, numeric={4, 5}))
    if "statutory" in figures:  # reports kept before statutory equipment was recorded have no such part
        story += _statutory_story(s, figures["statutory"])
    return story


def _statutory_story(s: _Styles, part: dict) -> list:
    """Certificates lapsed in the month (with the assets out of use now) and required activities' compliance."""
    certificates, required = part["certificates"], part["required"]
    story = [CondPageBreak(60 * mm), s.p(_("Statutory equipment and required activities"), s.h1),
             s.p(_("Certificates lapsed in the month (%(n)d)", n=len(certificates["lapsed"])), s.h2)]
    if certificates["lapsed"]:
        story.append(_table(s, [_("Asset tag"), _("Asset"), _("Certificate"), _("Lapsed on"), _("Renewed on")],
                            [[c["tag"], c["asset"], c["number"], c["lapsed_on"], c["renewed_on"] or _("Not renewed")]
                             for c in certificates["lapsed"]], [28 * mm, 62 * mm, 32 * mm, 28 * mm, 30 * mm]))
    else:
        story.append(s.p(_("None this month."), s.body))
    story.append(s.p(_("Must not be used as of %(day)s (%(n)d)", day=certificates["as_of"],
                       n=len(certificates["out_of_use"])), s.h2))
    story.append(_table(s, [_("Asset tag"), _("Asset"), _("Since")], [[c["tag"], c["asset"], c["since"] or "—"]
                                                                         for c in certificates["out_of_use"]],
                        [35 * mm, 100 * mm, 45 * mm]) if certificates["out_of_use"] else s.p(_("None."), s.body))
    story.append(s.p(_("Required activities by standard"), s.h2))
    rows = [[label, str(t["on_time"]), str(t["late"]), str(t["missed"]), pct_text(t["pct"])]
            for label, t in [*((t["label"], t) for t in required["by_standard"]), (_("All"), required["total"])]]
    story.append(_table(s, [_("Standard"), _("On time"), _("Late"), _("Missed"), _("Share on time")], rows,
                        [70 * mm, 25 * mm, 25 * mm, 25 * mm, 30 * mm], numeric={1, 2, 3, 4}, total_last=True))
    if required["breaches"]:
        story += [s.p(_("Late and missed required activities (%(n)d)", n=len(required["breaches"])), s.h2),
                  _table(s, [_("Activity"), _("Standard"), _("Due"), _("Result"), _("Ticket"), _("Cause")],
                         [[b["title"], b["standard"], b["due"], _("Done late") if b["state"] == "late" else _("Missed"),
                           str(b["ticket"]) if b["ticket"] else "—", b["cause"] or _("No cause recorded yet")]
                          for b in required["breaches"]],
                         [50 * mm, 28 * mm, 22 * mm, 20 * mm, 16 * mm, 44 * mm])]
    return story


def render_pdf(figures: dict, locale: str) -> bytes:
    """The snapshot as an A4 PDF in `locale`."""
    _register_fonts()
    g.setdefault("dispatch_language", None)  # force_locale works outside a request too (see dispatch.i18n)
    with force_locale(locale):
        s = _Styles(chinese=locale.startswith("zh"))
        story = _story(s, figures)
        footer = f"{figures['hospital']} · {_('Monthly report for hospital leadership')} · {month_title(figures['month'])}"
        buffer = io.BytesIO()

        def on_page(canvas, document):
            canvas.saveState()
            canvas.setFont(CJK_FONT if s.chinese or CJK.search(footer) else "Helvetica", 7)
            canvas.setFillColor(MUTED)
            canvas.drawString(15 * mm, 9 * mm, footer)
            canvas.drawRightString(A4[0] - 15 * mm, 9 * mm, _("Page %(n)d", n=document.page))
            canvas.restoreState()

        document = SimpleDocTemplate(buffer, pagesize=A4, leftMargin=15 * mm, rightMargin=15 * mm, topMargin=15 * mm,
                                     bottomMargin=16 * mm, title=f"{_('Monthly report for hospital leadership')} "
                                     f"{month_title(figures['month'])}", author=figures["hospital"])
        document.build(story, onFirstPage=on_page, onLaterPages=on_page)
    return buffer.getvalue()
