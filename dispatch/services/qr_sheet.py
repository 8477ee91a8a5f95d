"""One A4 sheet (or more) of QR labels for a ward: the ward itself, each room, each asset. Each label is the
place's name, the QR code of its report link, and a line in English and Chinese. Chinese uses reportlab's
built-in CID font STSong-Light (the PDF viewer supplies the glyphs), as the leadership report does."""
from __future__ import annotations

import io

import segno
from reportlab.lib.pagesizes import A4
from reportlab.lib.units import mm
from reportlab.lib.utils import ImageReader
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.cidfonts import UnicodeCIDFont
from reportlab.pdfgen import canvas

from dispatch.services import qr_labels
from models import Ward

CHINESE_FONT = "STSong-Light"
COLUMNS, ROWS = 3, 4
MARGIN = 10 * mm
PROMPT = "Scan to report a fault · 扫码报修"


def _font() -> str:
    if CHINESE_FONT not in pdfmetrics.getRegisteredFontNames():
        pdfmetrics.registerFont(UnicodeCIDFont(CHINESE_FONT))
    return CHINESE_FONT


def ward_sheet(ward: Ward, hospital_name: str) -> bytes:
    font = _font()
    out = io.BytesIO()
    pdf = canvas.Canvas(out, pagesize=A4, pageCompression=1)
    pdf.setTitle(f"QR labels: {ward.display_name}")
    page_w, page_h = A4
    cell_w, cell_h = (page_w - 2 * MARGIN) / COLUMNS, (page_h - 2 * MARGIN) / ROWS
    places = qr_labels.places_of(ward)
    for index, (kind, obj) in enumerate(places):
        slot = index % (COLUMNS * ROWS)
        if index and slot == 0:
            pdf.showPage()
        x = MARGIN + (slot % COLUMNS) * cell_w
        y = page_h - MARGIN - (slot // COLUMNS + 1) * cell_h
        pdf.setDash(2, 2)
        pdf.rect(x, y, cell_w, cell_h)  # cut lines
        pdf.setDash()
        code = io.BytesIO()
        segno.make(qr_labels.label_url(kind, obj), error="m").save(code, kind="png", scale=8, border=2)
        size = min(cell_w, cell_h) - 22 * mm
        pdf.drawImage(ImageReader(io.BytesIO(code.getvalue())), x + (cell_w - size) / 2, y + 12 * mm, size, size)
        place = ward.display_name if kind == "ward" else f"{ward.display_name} · {obj.display_name}" if kind == "location" else \
            f"{obj.display_name} ({obj.tag})"
        pdf.setFont(font, 10)
        pdf.drawCentredString(x + cell_w / 2, y + cell_h - 7 * mm, place[:48])
        pdf.setFont(font, 8)
        pdf.drawCentredString(x + cell_w / 2, y + 7 * mm, PROMPT)
        pdf.drawCentredString(x + cell_w / 2, y + 3 * mm, hospital_name[:60])
    pdf.showPage()
    pdf.save()
    return out.getvalue()
