"""A small stock list and labour rates on top of the test hospital, and helpers that take a job to done."""
from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

from dispatch.services.assignment import assign_ticket
from dispatch.services.tickets import report_fault, transition
from models import Building, LabourRate, Part, StockLevel, Store, db

SHANGHAI = ZoneInfo("Asia/Shanghai")


def local(*args) -> datetime:
    return datetime(*args, tzinfo=SHANGHAI)


def build_stock(hospital, mcb: int = 10, washers: int = 50) -> dict:
    """Main store (Block A) and the workshop; a 16 A breaker at 12.35 and a tap washer at 0.85; power at
    60.00 an hour (90.00 out of hours), water at 50.00 (75.00)."""
    building = db.session.query(Building).filter_by(name="Block A").one()
    main = Store(name="Main store", building=building)
    workshop = Store(name="Workshop")
    breaker = Part(code="P-100", name="MCB 16A", unit="each", unit_cost=Decimal("12.35"), reorder_level=5,
                   trade_id=hospital.trades["power"].id)
    washer = Part(code="W-7", name="Tap washer 1/2in", unit="each", unit_cost=Decimal("0.85"), reorder_level=20,
                  trade_id=hospital.trades["water"].id)
    db.session.add_all([main, workshop, breaker, washer])
    db.session.flush()
    db.session.add_all([StockLevel(part=breaker, store=main, quantity=mcb),
                        StockLevel(part=washer, store=main, quantity=washers),
                        StockLevel(part=washer, store=workshop, quantity=0)])
    db.session.add_all([
        LabourRate(trade_id=hospital.trades["power"].id, normal_rate=Decimal("60.00"), out_of_hours_rate=Decimal("90.00")),
        LabourRate(trade_id=hospital.trades["water"].id, normal_rate=Decimal("50.00"), out_of_hours_rate=Decimal("75.00")),
    ])
    db.session.commit()
    return {"main": main.id, "workshop": workshop.id, "breaker": breaker.id, "washer": washer.id}


def job_on_site(hospital, clock, *, trade="power", ward="icu", tech="sparky", reported: datetime, arrived: datetime,
                asset_id=None) -> int:
    """A fault reported, assigned and the technician on site; returns the ticket number."""
    clock.set(reported)
    ward_obj = hospital.icu if ward == "icu" else hospital.ward3
    nurse = "nurse.icu" if ward == "icu" else "nurse.ward3"
    ticket = report_fault(hospital.user(nurse), ward_id=ward_obj.id, trade_id=hospital.trades[trade].id,
                          description="Fault for costing", asset_id=asset_id)
    if ticket.assignee_id is None or ticket.assignee_id != hospital.users[tech].id:
        assign_ticket(ticket.id, hospital.users[tech].id, hospital.user("dispatcher"))
    clock.set(arrived)
    transition(ticket.id, "attend", hospital.user(tech))
    return ticket.id
