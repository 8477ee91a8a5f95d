"""A small fixed set of tickets whose report figures are worked out by hand in the tests.

Times are minutes after each ticket's report. Targets are the brief's defaults: P2 acknowledge 15 min,
attend 60 min, resolve 24 h; P3 2 h, 24 h, 5 days.
"""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

from dispatch.services import engine
from dispatch.services.engine import Past
from models import Ticket, db

# 10:00 on Tuesday 10 March 2026 in Shanghai (UTC+8); the reports look from ten days later.
T0 = datetime(2026, 3, 10, 2, 0, tzinfo=timezone.utc)
NOW = datetime(2026, 3, 20, 2, 0, tzinfo=timezone.utc)


def make_ticket(hospital, created: datetime, *, trade="power", ward="icu", priority=2, assignee=None, status=None,
                ack=None, attend=None, made_safe=None, resolve=None, closed=None, held_minutes=0, cancelled=None,
                asset=None, location=None, reopen_count=0, refusal_count=0, reassign_count=0, labour=None) -> Ticket:
    """A ticket with the given times (minutes after `created`); status follows from the times unless given."""
    at = (lambda minutes: None if minutes is None else created + timedelta(minutes=minutes))
    ward_obj = getattr(hospital, ward)
    # Moved through its past by the engine's table (engine.replay), each step at its time.
    if assignee is None and any(m is not None for m in (ack, attend, made_safe, resolve, closed)):
        # Nobody takes on a job that is not theirs: the table needs it given to someone first.
        assignee = {"water": "plumb"}.get(trade, "sparky")
    tech = hospital.user(assignee).id if assignee else None
    steps = [Past(at(minutes), name, tech) for name, minutes in (
        ("acknowledge", ack), ("attend", attend), ("make_safe", made_safe), ("resolve", resolve), ("confirm", closed),
        ("cancel", cancelled)) if minutes is not None]
    # Given a minute after the report, or with its first step when that comes sooner (replay's sort keeps it first).
    given = min([created + timedelta(minutes=1)] + [step.at for step in steps])
    history = ([Past(given, "assign", technician_id=tech)] if assignee else []) + steps
    ticket = engine.replay(db.session, dict(
        ward_id=ward_obj.id, trade_id=hospital.trades[trade].id, priority=priority, description=f"{trade} fault",
        held_seconds=held_minutes * 60, asset_id=asset, location_id=location, reopen_count=reopen_count,
        refusal_count=refusal_count, reassign_count=reassign_count, labour_minutes=labour,
    ), history, created, reported=Past(created, "report"))
    assert status is None or ticket.status == status, (status, ticket.status)
    db.session.flush()
    return ticket


def build_fixed_set(hospital) -> dict[str, Ticket]:
    """Seven tickets counted in March 2026 (hospital time), one cancelled and one from February that are not."""
    h = timedelta(hours=1)
    tickets = {
        # Power P2 in ICU.
        "p1": make_ticket(hospital, T0, assignee="sparky", ack=5, attend=30, resolve=120, closed=200, labour=60),
        "p2": make_ticket(hospital, T0 + h, assignee="sparky", ack=10, attend=45, made_safe=600, resolve=3000,
                          labour=45),
        # Exactly at each due time: on time.
        "p3": make_ticket(hospital, T0 + 2 * h, assignee="volt", ack=15, attend=60, resolve=1440),
        "p4": make_ticket(hospital, T0 + 3 * h, assignee="volt", ack=20, attend=90, resolve=2000),
        # Reported two hours ago: acknowledged late, not on site (past due), resolve not yet due.
        "p5": make_ticket(hospital, NOW - 2 * h, assignee="sparky", ack=30),
        # 00:10 on 1 March in Shanghai is still 28 February in UTC: counted in March.
        "p9": make_ticket(hospital, datetime(2026, 2, 28, 16, 10, tzinfo=timezone.utc), assignee="plumb",
                          ack=3, attend=20, resolve=100),
        # Water P3 in Ward 3, never touched, ten days old: every target missed, open for 10 days.
        "w1": make_ticket(hospital, T0, trade="water", ward="ward3", priority=3),
        # Not counted: cancelled; and 23:30 on 28 February in Shanghai.
        "cancelled": make_ticket(hospital, T0, assignee="sparky", ack=2, cancelled=4),
        "february": make_ticket(hospital, datetime(2026, 2, 28, 15, 30, tzinfo=timezone.utc), ack=1, attend=2,
                                resolve=3),
    }
    db.session.commit()
    return tickets


def read_xlsx(data: bytes) -> dict[str, list[list]]:
    """Sheet name -> rows of cell values (numbers as floats), read straight from the workbook's XML."""
    import io
    import re
    import zipfile
    from xml.etree import ElementTree

    ns = {"m": "http://schemas.openxmlformats.org/spreadsheetml/2006/main"}
    book = zipfile.ZipFile(io.BytesIO(data))
    shared = []
    if "xl/sharedStrings.xml" in book.namelist():
        for item in ElementTree.fromstring(book.read("xl/sharedStrings.xml")).findall("m:si", ns):
            shared.append("".join(t.text or "" for t in item.iter(f"{{{ns['m']}}}t")))
    workbook = ElementTree.fromstring(book.read("xl/workbook.xml"))
    names = [s.get("name") for s in workbook.find("m:sheets", ns)]
    sheets = {}
    for index, name in enumerate(names, 1):
        rows = []
        for row in ElementTree.fromstring(book.read(f"xl/worksheets/sheet{index}.xml")).iter(f"{{{ns['m']}}}row"):
            values = {}
            for cell in row.findall("m:c", ns):
                column = re.match(r"[A-Z]+", cell.get("r")).group(0)
                position = 0
                for char in column:
                    position = position * 26 + ord(char) - 64
                raw = cell.find("m:v", ns)
                if raw is None:
                    continue
                values[position - 1] = shared[int(raw.text)] if cell.get("t") == "s" else float(raw.text)
            rows.append([values.get(i) for i in range(max(values) + 1)] if values else [])
        sheets[name] = rows
    return sheets
