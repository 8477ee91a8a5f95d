"""A permit to work printed on one A4 page, to be posted at the isolation point and signed on paper too.

Chinese uses reportlab's built-in CID font STSong-Light (as the leadership report does: the viewer supplies
the glyphs). The whole permit is set in one frame that shrinks to fit, so however long the isolation list it
stays one page: a permit split over two sheets gets half of it lost from the board.
"""
from __future__ import annotations

import io
import re
from xml.sax.saxutils import escape

from flask import g
from flask_babel import force_locale
from flask_babel import gettext as _
from reportlab.lib import colors
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.cidfonts import UnicodeCIDFont
from reportlab.platypus import KeepInFrame, Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle

from dispatch.i18n import local_datetime
from dispatch.services.permits import STATE_LABELS
from models import Permit

CJK_FONT = "STSong-Light"
CJK = re.compile(r"[\u2e80-\u9fff\uf900-\ufaff\uff00-\uffef\u3000-\u303f]+")
INK, LINE = colors.HexColor("#1c2430"), colors.HexColor("#c9d1db")
MARGIN = 15 * mm


class _Styles:
    def __init__(self, chinese: bool) -> None:
        pdfmetrics.registerFont(UnicodeCIDFont(CJK_FONT))  # registering again is harmless and cheap
        self.chinese = chinese
        font, bold = (CJK_FONT, CJK_FONT) if chinese else ("Helvetica", "Helvetica-Bold")
        base = dict(fontName=font, textColor=INK, wordWrap="CJK" if chinese else None)
        self.body = ParagraphStyle("body", fontSize=10, leading=13, **base)
        self.head = ParagraphStyle("head", fontSize=10, leading=13, **{**base, "fontName": bold})
        self.title = ParagraphStyle("title", fontSize=18, leading=23, **{**base, "fontName": bold})
        self.h2 = ParagraphStyle("h2", fontSize=12, leading=15, spaceBefore=8, spaceAfter=3,
                                 **{**base, "fontName": bold})

    def p(self, text, style=None) -> Paragraph:
        text = escape("" if text is None else str(text))
        if not self.chinese:
            text = CJK.sub(lambda m: f'<font name="{CJK_FONT}">{m.group(0)}</font>', text)
        return Paragraph(text, style or self.body)


def _when(value) -> str:
    return local_datetime(value, "short") if value is not None else "—"


def _grid(s: _Styles, rows: list[tuple[str, str]], widths: list[float]) -> Table:
    table = Table([[s.p(label, s.head), s.p(value)] for label, value in rows], colWidths=widths)
    table.setStyle(TableStyle([("GRID", (0, 0), (-1, -1), 0.4, LINE), ("VALIGN", (0, 0), (-1, -1), "TOP")]))
    return table


def _story(s: _Styles, permit: Permit) -> list:
    ticket = permit.ticket
    width = A4[0] - 2 * MARGIN
    story = [s.p(_("Permit to work %(number)d", number=permit.id), s.title),
             s.p(_("%(trade)s · ticket %(ticket)d · %(place)s", trade=permit.trade.name, ticket=ticket.id,
                   place=ticket.place)), Spacer(1, 4 * mm),
             _grid(s, [(_("State"), str(STATE_LABELS[permit.state])), (_("Work"), permit.work),
                       (_("Valid from"), _when(permit.valid_from)), (_("Valid until"), _when(permit.valid_until)),
                       (_("Wards affected"), ", ".join(w.name for w in permit.wards))], [45 * mm, width - 45 * mm])]
    for heading, lines in ((_("Isolation points"), permit.isolation_list), (_("Precautions"), permit.precaution_list)):
        story += [s.p(heading, s.h2)] + [s.p(f"{n}. {line}") for n, line in enumerate(lines, 1)]
    signatures = [
        (_("Issued by (Authorised Person)"), permit.issued_by, permit.issued_at),
        (_("Accepted by (Competent Person)"), permit.accepted_by, permit.accepted_at),
        (_("Cancelled by: supply restored"), permit.cancelled_by, permit.cancelled_at),
    ]
    story += [s.p(_("Signatures"), s.h2),
              _grid(s, [(label, f"{person.full_name if person else ''}   {_when(at) if at else ''}   "
                                f"{_('Signature')}: ________________") for label, person, at in signatures],
                    [60 * mm, width - 60 * mm])]
    if permit.restored:
        story += [s.p(_("Restored"), s.h2), s.p(permit.restored)]
    return story


def render_permit(permit: Permit, locale: str) -> bytes:
    """The permit as a one-page A4 PDF in `locale`."""
    g.setdefault("dispatch_language", None)  # force_locale works outside a request too (see dispatch.i18n)
    with force_locale(locale):
        s = _Styles(chinese=locale.startswith("zh"))
        buffer = io.BytesIO()
        document = SimpleDocTemplate(buffer, pagesize=A4, leftMargin=MARGIN, rightMargin=MARGIN, topMargin=MARGIN,
                                     bottomMargin=MARGIN, title=_("Permit to work %(number)d", number=permit.id))
        frame = KeepInFrame(document.width, document.height - 1, _story(s, permit), mode="shrink")
        document.build([frame])
    return buffer.getvalue()
