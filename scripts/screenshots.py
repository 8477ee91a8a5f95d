"""README screenshots of the demo hospital, taken in headless Chromium.

    .venv/bin/python scripts/screenshots.py [--out docs/screenshots] [--only qr-report-phone.png ...]

Builds a throwaway instance (temporary directory, SQLite, migrated, demo hospital seeded), serves it on a
free local port, logs in as the people who use each page and saves PNGs:

    board.png         dispatcher, control-room board (1400x900)
    report-phone.png  ICU nurse, report form on a phone (390x844)
    jobs-phone.png    electrician, "My jobs" on a phone (390x844), after he accepted a second job
    compliance.png    estates manager, compliance over the last three months
    ticket.png        dispatcher, one job in progress: targets, technician and history
    oncall.png        shift supervisor, who is on call now and next, with tonight's cover for a sick electrician
    plan-phone.png    electrician, the ICU power-loss plan from the SMS link on a phone (390x844), two steps ticked
    qr-report-phone.png  nobody logged in: the short form a room's QR label opens, on a phone (390x844)
    planned.png       shift supervisor, the planned-work calendar: tickets the schedules opened and dates to come
    budget.png        estates manager, this month's cost against budget per trade, and the same month last year
    rounds-phone.png  HVAC technician, the generator's monthly test form on a phone (390x844)
    rounds.png        estates manager, rounds and tests on time over three months, with the failed items and tickets
    board-zh.png, planned-zh.png, plan-ticket-zh.png, budget-zh.png
                      the same people after choosing 中文 in the header: the board, the planned-work calendar,
                      a P1 ticket with its emergency plan, and the budget

Needs Debian's Chromium (/usr/bin/chromium, or $DISPATCH_CHROMIUM) and, for the Chinese pages, a CJK font:
scripts/cjk_font.sh installs fonts-wqy-zenhei when run as root and otherwise stops, saying so; no Redis.
"""
from __future__ import annotations

import argparse
import logging
import os
import shutil
import subprocess
import sys
import tempfile
import threading
from datetime import date, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CHROMIUM_ARGS = ["--no-sandbox", "--disable-background-networking", "--disable-gpu", "--disable-component-update",
                 "--no-first-run", "--disable-sync"]
DESKTOP = {"viewport": {"width": 1400, "height": 900}}
PHONE = {"viewport": {"width": 390, "height": 844}, "device_scale_factor": 2, "is_mobile": True, "has_touch": True}
TIMEOUT_MS = 15_000


def months_back(day: date, months: int) -> date:
    year, month = divmod(day.year * 12 + day.month - 1 - months, 12)
    month += 1
    for d in (day.day, 30, 29, 28):
        try:
            return date(year, month, d)
        except ValueError:
            continue
    raise AssertionError("unreachable")


def build_instance(workdir: Path):
    """A migrated SQLite database with the demo hospital; the environment is set before the app is imported."""
    os.environ["DISPATCH_INSTANCE_DIR"] = str(workdir)
    os.environ["DATABASE_URL"] = f"sqlite:///{workdir / 'dispatch.sqlite3'}"
    os.environ["DISPATCH_ENV"] = "development"
    # No Redis for a throwaway instance: SMS jobs stay pending in its own database instead of reaching a real queue.
    os.environ["REDIS_URL"] = "redis://127.0.0.1:9/0"
    sys.path.insert(0, str(ROOT))
    from flask_migrate import upgrade

    from dispatch import create_app
    from dispatch.seed import seed_demo_hospital

    app = create_app()
    with app.app_context():
        upgrade()
        print(seed_demo_hospital().splitlines()[0])
    return app


def keep_background_alive(app) -> None:
    """The demo runs no scheduler, watchdog or worker; record their rounds so the board shows them as running."""
    from dispatch.services import heartbeats

    with app.app_context():
        for name in heartbeats.SILENCE_LIMITS:
            heartbeats.beat(name, "screenshots")


def give_electrician_a_second_job(app) -> None:
    """Wang Lei has one job waiting to be accepted; the control room also sends him the ICU's power fault and he
    accepts it, so his phone shows two jobs at different steps."""
    from sqlalchemy import select

    from dispatch.services.assignment import assign_ticket
    from dispatch.services.tickets import transition
    from models import Ticket, Trade, User, Ward, db

    with app.app_context():
        wang = db.session.scalar(select(User).where(User.username == "wang.electric"))
        dispatcher = db.session.scalar(select(User).where(User.username == "dispatcher"))
        ticket_id = db.session.scalar(
            select(Ticket.id).join(Ward, Ticket.ward_id == Ward.id).join(Trade, Ticket.trade_id == Trade.id)
            .where(Ticket.status == "new", Trade.code == "power", Ward.criticality == "icu"))
        if ticket_id is None:
            return
        assign_ticket(ticket_id, wang.id, dispatcher)
        transition(ticket_id, "acknowledge", db.session.get(User, wang.id))
        db.session.remove()


def ticket_to_show(app) -> int:
    """The newest job with a technician on site: its page has targets met, a countdown and a history."""
    from sqlalchemy import select

    from models import Ticket, db

    with app.app_context():
        return db.session.scalar(select(Ticket.id).where(Ticket.status == "attended").order_by(Ticket.created_at.desc()))


def emergency_with_a_plan(app) -> int:
    """The demo's ICU power loss in progress, handled under its emergency plan."""
    from sqlalchemy import select

    from models import Ticket, db

    with app.app_context():
        return db.session.scalar(select(Ticket.id).where(Ticket.plan_version_id.is_not(None), Ticket.status == "attended",
                                                         Ticket.priority == 1).order_by(Ticket.created_at.desc()))


def cover_for_a_sick_electrician(app) -> None:
    """The power primary on call now goes home sick; another licensed electrician covers the next 12 hours."""
    from datetime import timedelta

    from sqlalchemy import select

    from dispatch.clock import now
    from dispatch.services import licences, rota
    from models import Trade, User, db

    with app.app_context():
        moment = now()
        power = db.session.scalar(select(Trade).where(Trade.code == "power"))
        current = rota.on_call(power.id, ("primary",), moment)
        busy = {u.id for u in rota.on_call(power.id, ("primary", "secondary"), moment)}
        spare = [u for u in licences.eligible_technicians(power, moment) if u.id not in busy]
        supervisor = db.session.scalar(select(User).where(User.username == "supervisor"))
        if current and spare:
            rota.add_override(kind="cover", user_id=spare[0].id, replaces_user_id=current[0].id, trade_id=power.id,
                              starts_at=moment, ends_at=moment + timedelta(hours=12), actor_id=supervisor.id,
                              reason="Sick leave")
        db.session.remove()


def qr_label_path(app) -> str:
    """Where a printed QR label of one of the ICU's rooms points (the path of its signed link)."""
    from urllib.parse import urlsplit

    from sqlalchemy import select

    from dispatch.services import qr_labels
    from models import Location, Ward, db

    with app.app_context():
        icu = db.session.scalar(select(Ward).where(Ward.criticality == "icu").order_by(Ward.id))
        room = db.session.scalar(select(Location).where(Location.ward_id == icu.id).order_by(Location.id))
        return urlsplit(qr_labels.label_url("location", room)).path


def generator_test_form(app) -> int:
    from sqlalchemy import select

    from models import CheckForm, db

    with app.app_context():
        return db.session.scalar(select(CheckForm.id).where(CheckForm.kind == "test").order_by(CheckForm.id))
def live_permit_path(app) -> str:
    """The demo's live permit on the theatre's oxygen valve job."""
    with app.app_context():
        from models import Permit, db

        return f"/permits/{db.session.query(Permit).filter(Permit.state == 'accepted').first().id}"


def today_in_hospital(app) -> date:
    from dispatch.clock import now
    from dispatch.services.timezone import hospital_date

    with app.app_context():
        return hospital_date(now())


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "screenshots")
    parser.add_argument("--only", action="append", metavar="NAME", help="take only these screenshots (repeatable)")
    args = parser.parse_args()
    chromium = os.environ.get("DISPATCH_CHROMIUM") or shutil.which("chromium") or "/usr/bin/chromium"
    if not Path(chromium).is_file():
        print(f"Chromium not found at {chromium}: apt-get install chromium, or set DISPATCH_CHROMIUM.", file=sys.stderr)
        return 2
    # Chinese screenshots without a CJK font would show boxes: install one (as root) or stop, saying so.
    if subprocess.run([str(ROOT / "scripts" / "cjk_font.sh")]).returncode != 0:
        return 2
    args.out.mkdir(parents=True, exist_ok=True)

    workdir = Path(tempfile.mkdtemp(prefix="dispatch-screenshots-"))
    try:
        app = build_instance(workdir)
        from playwright.sync_api import expect, sync_playwright
        from werkzeug.serving import make_server

        from dispatch.seed import DEMO_PASSWORD

        logging.getLogger("werkzeug").setLevel(logging.WARNING)  # no line per request
        server = make_server("127.0.0.1", 0, app, threaded=True)
        thread = threading.Thread(target=server.serve_forever, daemon=True)
        thread.start()
        base_url = f"http://127.0.0.1:{server.server_port}"
        expect.set_options(timeout=TIMEOUT_MS)
        try:
            with sync_playwright() as playwright:
                browser = playwright.chromium.launch(executable_path=chromium, headless=True, args=CHROMIUM_ARGS)

                def shoot(username: str | None, path: str, name: str, device: dict, *, ready: str,
                          full_page: bool = False, chinese: bool = False):
                    if args.only and name not in args.only:
                        return
                    # The browser speaks the page's language too: its own widgets (a month picker) follow it.
                    context = browser.new_context(base_url=base_url, locale="zh-CN" if chinese else "en-GB",
                                                  timezone_id="Asia/Shanghai", **device)
                    context.set_default_timeout(TIMEOUT_MS)
                    page = context.new_page()
                    if username is not None:  # None: nobody logged in (a QR label's form)
                        page.goto("/login")
                        page.get_by_label("Username").fill(username)
                        page.get_by_label("Password").fill(DEMO_PASSWORD)
                        page.get_by_role("button", name="Log in").click()
                        # The account keeps its language: a user switched to 中文 earlier still reads Chinese.
                        expect(page.locator("form[action$='/logout'] button")).to_be_attached()
                    if chinese:  # as a new user does: the header's language switch, kept on the account
                        page.get_by_role("button", name="中文").click()
                        expect(page.get_by_role("button", name="退出")).to_be_attached()
                    page.goto(path)
                    expect(page.locator(ready).first).to_be_visible()
                    page.evaluate("document.fonts.ready")
                    target = args.out / name
                    page.screenshot(path=str(target), full_page=full_page, animations="disabled", caret="hide")
                    print(f"{target.relative_to(ROOT) if target.is_relative_to(ROOT) else target}: "
                          f"{username or 'nobody'} {path} ({target.stat().st_size // 1024} KB)")
                    context.close()

                keep_background_alive(app)
                shoot("dispatcher", "/board/", "board.png", DESKTOP, ready="#board tr[data-ticket]")
                shoot("nurse.icu", "/report", "report-phone.png", PHONE, ready="text=Send report")
                shoot(None, qr_label_path(app), "qr-report-phone.png", PHONE, ready="text=Send report", full_page=True)
                give_electrician_a_second_job(app)
                shoot("wang.electric", "/jobs", "jobs-phone.png", PHONE, ready="article.job")
                today = today_in_hospital(app)
                shoot("manager", f"/reports/compliance?start={months_back(today, 3).isoformat()}&end={today.isoformat()}",
                      "compliance.png", DESKTOP, ready="table.report-table tbody tr", full_page=True)
                keep_background_alive(app)
                shoot("dispatcher", f"/tickets/{ticket_to_show(app)}", "ticket.png", DESKTOP, ready="ol.timeline li",
                      full_page=True)
                shoot("wang.electric", f"/p/{emergency_with_a_plan(app)}", "plan-phone.png", PHONE,
                      ready="section.plan-panel", full_page=False)
                cover_for_a_sick_electrician(app)
                shoot("supervisor", "/oncall/", "oncall.png", DESKTOP, ready="table.oncall-table tbody tr", full_page=True)
                shoot("supervisor", "/planned/calendar", "planned.png", DESKTOP, ready="table.planned-calendar tbody tr")
                shoot("manager", "/reports/budget", "budget.png", DESKTOP, ready="table.report-table tbody tr",
                      full_page=True)
                shoot("manager", "/compliance/", "certificates.png", DESKTOP, ready="#certificates table tbody tr",
                      full_page=True)
                shoot("lin.hvac", f"/checks/{generator_test_form(app)}/fill", "rounds-phone.png", PHONE,
                      ready="form.check-fill")
                shoot("manager", f"/checks/compliance?start={months_back(today, 3).isoformat()}&end={today.isoformat()}",
                      "rounds.png", DESKTOP, ready="table tbody tr", full_page=True)
                keep_background_alive(app)
                shoot("supervisor", live_permit_path(app), "permit.png", DESKTOP, ready="#issuers", full_page=True)
                shoot("manager", "/interruptions/?start=" + months_back(today, 3).isoformat(), "interruptions-zh.png",
                      DESKTOP, ready="#interruption-figures", full_page=True, chinese=True)
                shoot("dispatcher", "/board/", "board-zh.png", DESKTOP, ready="#board tr[data-ticket]", chinese=True)
                shoot("supervisor", "/planned/calendar", "planned-zh.png", DESKTOP,
                      ready="table.planned-calendar tbody tr", chinese=True)
                shoot("dispatcher", f"/tickets/{emergency_with_a_plan(app)}", "plan-ticket-zh.png", DESKTOP,
                      ready="section.plan-panel", chinese=True)
                shoot("manager", "/reports/budget", "budget-zh.png", DESKTOP, ready="table.report-table tbody tr",
                      full_page=True, chinese=True)
                browser.close()
        finally:
            server.shutdown()
            server.server_close()
            with app.app_context():
                from models import db

                db.session.remove()
                db.engine.dispose()
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
