"""The inspector's binder as an A4 landscape PDF: a contents page with each section's summary, then each
section's table and its deficiencies. Chinese is drawn in reportlab's built-in CID font (as the leadership
report is), so the text stays extractable and no glyph prints as an empty box."""
from __future__ import annotations

import io
from xml.sax.saxutils import escape

from flask_babel import force_locale
from flask_babel import gettext as _
from reportlab.lib import colors
from reportlab.lib.pagesizes import A4, landscape
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.cidfonts import UnicodeCIDFont
from reportlab.platypus import PageBreak, Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle

from dispatch.services.binder import Binder
from dispatch.services.leadership_pdf import CJK, CJK_FONT, INK, LATE, LINE, MUTED

PAGE = landscape(A4)
MARGIN = 12 * mm


class Styles:
    def __init__(self, chinese: bool) -> None:
        if CJK_FONT not in pdfmetrics.getRegisteredFontNames():
            pdfmetrics.registerFont(UnicodeCIDFont(CJK_FONT))
        self.chinese = chinese
        font, bold = (CJK_FONT, CJK_FONT) if chinese else ("Helvetica", "Helvetica-Bold")
        base = dict(fontName=font, textColor=INK, wordWrap="CJK" if chinese else None)
        self.body = ParagraphStyle("body", fontSize=9, leading=12, **base)
        self.small = ParagraphStyle("small", fontSize=7.5, leading=9.5, **{**base, "textColor": MUTED})
        self.cell = ParagraphStyle("cell", fontSize=7, leading=8.5, **base)
        self.head = ParagraphStyle("head", fontSize=7, leading=8.5, **{**base, "fontName": bold})
        self.title = ParagraphStyle("title", fontSize=18, leading=23, **{**base, "fontName": bold})
        self.h1 = ParagraphStyle("h1", fontSize=13, leading=17, spaceBefore=6, spaceAfter=4, **{**base, "fontName": bold})
        self.h2 = ParagraphStyle("h2", fontSize=10, leading=13, spaceBefore=6, spaceAfter=3,
                                 **{**base, "fontName": bold, "textColor": LATE})

    def p(self, text, style=None) -> Paragraph:
        text = escape("" if text is None else str(text))
        if not self.chinese:
            text = CJK.sub(lambda m: f'<font name="{CJK_FONT}">{m.group(0)}</font>', text)
        return Paragraph(text, style or self.body)


def _table(s: Styles, columns: list[str], rows: list[list]) -> Table:
    width = (PAGE[0] - 2 * MARGIN) / max(1, len(columns))
    data = [[s.p(c, s.head) for c in columns]] + [[s.p(v, s.cell) for v in row] for row in rows]
    table = Table(data, colWidths=[width] * len(columns), repeatRows=1)
    table.setStyle(TableStyle([("LINEBELOW", (0, 0), (-1, 0), 0.8, INK), ("LINEBELOW", (0, 1), (-1, -1), 0.25, LINE),
                               ("VALIGN", (0, 0), (-1, -1), "TOP"), ("TOPPADDING", (0, 0), (-1, -1), 1.5),
                               ("BOTTOMPADDING", (0, 0), (-1, -1), 1.5), ("LEFTPADDING", (0, 0), (-1, -1), 2),
                               ("RIGHTPADDING", (0, 0), (-1, -1), 2)]))
    return table


def render(binder: Binder) -> bytes:
    with force_locale(binder.locale):
        s = Styles(chinese=binder.locale.startswith("zh"))
        story = [s.p(binder.hospital, s.body), s.p(binder.title, s.title), s.p(binder.period, s.body),
                 s.p(_("Made %(when)s (UTC).", when=binder.made_at.strftime("%Y-%m-%d %H:%M")), s.small),
                 Spacer(1, 6 * mm), s.p(_("Contents"), s.h1),
                 _table(s, [_("Section"), _("Summary")], [[x.title, x.summary] for x in binder.sections])]
        for section in binder.sections:
            story += [PageBreak(), s.p(section.title, s.h1), s.p(section.summary, s.body), Spacer(1, 2 * mm)]
            story.append(_table(s, section.columns, section.rows) if section.rows else s.p(_("None in this period.")))
            if section.deficiency_columns:
                story.append(s.p(_("Deficiencies (%(n)d)", n=len(section.deficiencies)), s.h2))
                story.append(_table(s, section.deficiency_columns, section.deficiencies) if section.deficiencies
                             else s.p(_("None in this period.")))
        footer = f"{binder.hospital} · {binder.title} · {binder.period}"
        buffer = io.BytesIO()

        def on_page(canvas, document):
            canvas.saveState()
            canvas.setFont(CJK_FONT if s.chinese or CJK.search(footer) else "Helvetica", 7)
            canvas.setFillColor(colors.HexColor("#5b6673"))
            canvas.drawString(MARGIN, 7 * mm, footer)
            canvas.drawRightString(PAGE[0] - MARGIN, 7 * mm, _("Page %(n)d", n=document.page))
            canvas.restoreState()

        document = SimpleDocTemplate(buffer, pagesize=PAGE, leftMargin=MARGIN, rightMargin=MARGIN, topMargin=MARGIN,
                                     bottomMargin=14 * mm, title=f"{binder.title} {binder.period}", author=binder.hospital)
        document.build(story, onFirstPage=on_page, onLaterPages=on_page)
    return buffer.getvalue()
