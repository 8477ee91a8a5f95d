"""CSV and XLSX files from report tables: the same columns the pages show, in numbers a spreadsheet can use."""
from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import date, datetime

from flask import Response, stream_with_context
from flask_babel import gettext as _

from dispatch.services.timezone import local

# Column kinds: text, int, pct (0-100), minutes, hours, money (Decimal, two places), datetime (UTC in, hospital
# time out), date.
XLSX_ROW_LIMIT = 100_000


@dataclass
class Column:
    title: str
    kind: str = "text"


@dataclass
class Sheet:
    name: str  # the XLSX tab (at most 31 characters)
    columns: Sequence[Column]
    rows: Iterable[Sequence]


def _csv_text(value) -> str:
    """Text cells that a spreadsheet would run as a formula get a leading apostrophe (CSV injection)."""
    text = str(value)
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


def _csv_value(value, kind: str) -> str:
    if value is None:
        return ""
    if kind == "datetime":
        return local(value).strftime("%Y-%m-%d %H:%M")
    if kind == "date":
        return value.isoformat()
    if kind == "money":
        return f"{value:.2f}"
    if kind in ("pct", "minutes", "hours"):
        return f"{value:.1f}"
    if kind == "int":
        return str(int(value))
    if isinstance(value, bool):
        return _("yes") if value else _("no")
    return _csv_text(value)


def _csv_lines(sheet: Sheet) -> Iterator[str]:
    buffer = io.StringIO()
    writer = csv.writer(buffer)

    def flush() -> str:
        text = buffer.getvalue()
        buffer.seek(0)
        buffer.truncate()
        return text

    # A byte-order mark so Excel opens UTF-8 (ward names, 中文) correctly.
    writer.writerow([c.title for c in sheet.columns])
    yield "\ufeff" + flush()
    for count, row in enumerate(sheet.rows, 1):
        writer.writerow([_csv_value(v, c.kind) for v, c in zip(row, sheet.columns)])
        if count % 500 == 0:
            yield flush()
    yield flush()


def csv_response(sheet: Sheet, filename: str) -> Response:
    """Streamed, so a long ticket list starts downloading at once and memory stays flat."""
    response = Response(stream_with_context(_csv_lines(sheet)), mimetype="text/csv")
    response.headers["Content-Disposition"] = f'attachment; filename="{filename}.csv"'
    return response


def xlsx_response(sheets: Sequence[Sheet], filename: str) -> Response:
    import xlsxwriter

    output = io.BytesIO()
    book = xlsxwriter.Workbook(output, {"constant_memory": True, "in_memory": True})
    formats = {
        "header": book.add_format({"bold": True, "text_wrap": True, "valign": "top", "bottom": 1}),
        "int": book.add_format({"num_format": "#,##0"}),
        "pct": book.add_format({"num_format": "0.0%"}),
        "minutes": book.add_format({"num_format": "#,##0.0"}),
        "hours": book.add_format({"num_format": "#,##0.0"}),
        "money": book.add_format({"num_format": "#,##0.00"}),
        "datetime": book.add_format({"num_format": "yyyy-mm-dd hh:mm"}),
        "date": book.add_format({"num_format": "yyyy-mm-dd"}),
    }
    for sheet in sheets:
        ws = book.add_worksheet(sheet.name[:31])
        for col, column in enumerate(sheet.columns):
            ws.write_string(0, col, column.title, formats["header"])
            ws.set_column(col, col, 28 if column.kind == "text" else 14)
        ws.freeze_panes(1, 0)
        count = 0
        for count, row in enumerate(sheet.rows, 1):
            if count > XLSX_ROW_LIMIT:
                ws.write_string(count, 0, _("More rows than a workbook page should hold: download the CSV for all."))
                break
            for col, (value, column) in enumerate(zip(row, sheet.columns)):
                _xlsx_cell(ws, count, col, value, column.kind, formats)
    book.close()
    response = Response(output.getvalue(),
                        mimetype="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")
    response.headers["Content-Disposition"] = f'attachment; filename="{filename}.xlsx"'
    return response


def _xlsx_cell(ws, row: int, col: int, value, kind: str, formats) -> None:
    if value is None:
        return
    if kind == "datetime":
        ws.write_datetime(row, col, local(value).replace(tzinfo=None), formats["datetime"])
    elif kind == "date":
        ws.write_datetime(row, col, datetime.combine(value, datetime.min.time()) if isinstance(value, date) else value,
                          formats["date"])
    elif kind == "pct":
        ws.write_number(row, col, value / 100.0, formats["pct"])
    elif kind in ("int", "minutes", "hours"):
        ws.write_number(row, col, value, formats[kind])
    elif kind == "money":
        ws.write_number(row, col, float(value), formats["money"])
    elif isinstance(value, bool):
        ws.write_string(row, col, _("yes") if value else _("no"))
    else:
        ws.write_string(row, col, str(value))  # never a formula, whatever the text says
