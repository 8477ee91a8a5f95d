"""Preventive maintenance pages: the schedules (supervisors, managers and admins keep them; the
control room and technicians read them), each schedule's dates, the calendar of planned work per
trade and week, and the checklist ticked off on a planned ticket."""
from __future__ import annotations

from datetime import date, timedelta

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import select

from dispatch.auth import roles_required
from dispatch.blueprints.auth.views import safe_next
from dispatch.blueprints.form_choices import options
from dispatch.blueprints.form_errors import shown_on
from dispatch.blueprints.planned.forms import ChecklistForm, ScheduleForm, SkipForm, checklist_lines
from dispatch.clock import now
from dispatch.errors import refusals_return_to
from dispatch.i18n import local_date
from dispatch.services import access, checklists, planned, recurrence
from dispatch.services.timezone import hospital_date
from models import ROLES, Asset, Location, Trade, Ward, db

bp = Blueprint("planned", __name__, url_prefix="/planned")
CALENDAR_WEEKS = 6


def _trades() -> list[Trade]:
    return list(db.session.scalars(select(Trade).order_by(Trade.sort_order, Trade.display_name)))


@bp.route("/")
@roles_required(*access.PLANNED_READERS)
def schedules():
    trade_id = request.args.get("trade", type=int)
    today = hospital_date(now())
    rows = []
    for schedule in planned.list_schedules(trade_id):
        upcoming = (recurrence.next_due_dates(schedule, max(today, schedule.opens_from), 1)
                    if schedule.active else [])
        rows.append((schedule, upcoming[0] if upcoming else None))
    return render_template("planned/schedules.html", rows=rows, trades=_trades(), trade_id=trade_id,
                           may_edit=current_user.role in access.PLANNED_EDITORS)


def _fill_choices(form: ScheduleForm) -> None:
    form.ward_id.choices = options([(w.id, w.display_name) for w in db.session.scalars(select(Ward).order_by(Ward.display_name))])
    form.trade_id.choices = options([(t.id, t.display_name) for t in _trades()])
    form.location_id.choices = options([(0, "—")] + [
        (loc.id, f"{loc.ward.display_name} · {loc.display_name}")
        for loc in db.session.scalars(select(Location).join(Ward).order_by(Ward.display_name, Location.display_name))])
    form.asset_id.choices = options([(0, "—")] + [(a.id, f"{a.tag} · {a.display_name}")
                                          for a in db.session.scalars(select(Asset).order_by(Asset.tag))])


@bp.route("/new", methods=["GET", "POST"])
@bp.route("/<int:schedule_id>/edit", methods=["GET", "POST"])
@roles_required(*access.PLANNED_EDITORS)
def edit(schedule_id: int | None = None):
    schedule = db.session.get(planned.MaintenanceSchedule, schedule_id) if schedule_id else None
    if schedule_id and schedule is None:
        abort(404)
    form = ScheduleForm(obj=schedule) if schedule else ScheduleForm()
    _fill_choices(form)
    if schedule and request.method == "GET":
        form.location_id.data, form.asset_id.data = schedule.location_id or 0, schedule.asset_id or 0
        form.checklist.data = "\n".join(schedule.checklist or [])
        form.checklist_zh.data = "\n".join(schedule.checklist_zh or [])
        form.title.data = schedule.english_name
        form.fixed_dates.data = "\n".join(schedule.fixed_dates or [])
        form.interval_unit.data = schedule.interval_unit or "month"
    if form.validate_on_submit():
        values = planned.ScheduleValues(
            title=form.title.data, title_zh=form.title_zh.data, ward_id=form.ward_id.data, trade_id=form.trade_id.data,
            start_date=form.start_date.data, recurrence=form.recurrence.data, interval_unit=form.interval_unit.data,
            interval_count=form.interval_count.data, fixed_dates=getattr(form.fixed_dates, "parsed", []),
            location_id=form.location_id.data or None, asset_id=form.asset_id.data or None,
            checklist=checklist_lines(form.checklist.data), checklist_zh=checklist_lines(form.checklist_zh.data),
            estimated_minutes=form.estimated_minutes.data,
            lead_days=form.lead_days.data, active=form.active.data)
        with shown_on(form) as outcome:
            saved = planned.save_schedule(current_user, values, schedule_id)
        if outcome.succeeded:
            flash(_("Schedule saved."), "success")
            return redirect(url_for("planned.schedule", schedule_id=saved.id))
    return render_template("planned/edit.html", form=form, schedule=schedule), 422 if form.errors else 200


@bp.route("/<int:schedule_id>")
@roles_required(*access.PLANNED_READERS)
def schedule(schedule_id: int):
    found = planned.get_schedule(schedule_id)
    done, coming = planned.schedule_occurrences(found, now())
    return render_template("planned/schedule.html", schedule=found, done=done, coming=coming, skip_form=SkipForm(),
                           may_edit=current_user.role in access.PLANNED_EDITORS)


@bp.route("/<int:schedule_id>/skip", methods=["POST"])
@roles_required(*access.PLANNED_EDITORS)
def skip(schedule_id: int):
    form = SkipForm()
    back = url_for("planned.schedule", schedule_id=schedule_id)
    try:
        due = date.fromisoformat(form.due_date.data or "")
    except ValueError:
        flash(_("Choose a date to skip."), "error")
        return redirect(back)
    if not form.validate_on_submit():
        flash(_("Say why this date is skipped."), "error")
        return redirect(back)
    refusals_return_to(back)
    planned.skip_occurrence(current_user, schedule_id, due, form.reason.data)
    flash(_("%(date)s skipped.", date=local_date(due)), "success")
    return redirect(back)


@bp.route("/<int:schedule_id>/active", methods=["POST"])
@roles_required(*access.PLANNED_EDITORS)
def set_active(schedule_id: int):
    form = ChecklistForm()  # only the CSRF token matters here
    if not form.validate_on_submit():
        flash(_("The form had expired; try again."), "error")
        return redirect(url_for("planned.schedule", schedule_id=schedule_id))
    active = request.form.get("active") == "1"
    refusals_return_to(url_for("planned.schedule", schedule_id=schedule_id))
    planned.set_active(current_user, schedule_id, active)
    flash(_("Schedule switched on: it opens tickets from today.") if active
          else _("Schedule switched off: it opens no more tickets."), "success")
    return redirect(url_for("planned.schedule", schedule_id=schedule_id))


def _week(text: str | None, today: date) -> tuple[date, str | None]:
    """Monday of an ISO week written 2026-W11; last week when absent or unreadable (what was just done,
    then what is coming)."""
    default = planned.week_start(today) - timedelta(weeks=1)
    if not text:
        return default, None
    try:
        year, week = text.upper().split("-W")
        return date.fromisocalendar(int(year), int(week), 1), None
    except ValueError:
        return default, _("%(text)s is not a week (YYYY-Www, e.g. 2026-W11).", text=text[:20])


def iso_week(day: date) -> str:
    year, week, _weekday = day.isocalendar()
    return f"{year}-W{week:02d}"


@bp.route("/calendar")
@roles_required(*access.PLANNED_READERS)
def calendar():
    moment = now()
    today = hospital_date(moment)
    first, problem = _week(request.args.get("week"), today)
    if problem:
        flash(problem, "error")
    trade_id = request.args.get("trade", type=int)
    grid = planned.calendar(moment, first, CALENDAR_WEEKS, trade_id)
    return render_template("planned/calendar.html", grid=grid, trades=_trades(), trade_id=trade_id, iso_week=iso_week,
                           late=planned.late_work(moment, trade_id),
                           previous=iso_week(first - timedelta(weeks=CALENDAR_WEEKS)),
                           following=iso_week(first + timedelta(weeks=CALENDAR_WEEKS)),
                           this_week=iso_week(today), current_monday=planned.week_start(today))


@bp.route("/tickets/<int:ticket_id>/checklist", methods=["POST"])
@roles_required(*ROLES)
def checklist(ticket_id: int):
    access.ticket_for(current_user, ticket_id)  # whose ticket before what the form says
    form = ChecklistForm()
    back = safe_next(form.next.data) or url_for("tickets.detail", ticket_id=ticket_id)
    if not form.validate_on_submit():
        flash(_("The form had expired; try again."), "error")
        return redirect(back)
    try:
        positions = [int(value) for value in request.form.getlist("done")]
    except ValueError:
        flash(_("The checklist has steps numbered 1, 2, 3 …"), "error")
        return redirect(back)
    refusals_return_to(back)
    result = checklists.save_ticks(ticket_id, current_user, positions)
    flash(_("Checklist saved: %(done)d of %(total)d steps ticked.", done=result.done, total=result.total), "success")
    return redirect(back)


@bp.app_template_global("planned_work")
def planned_work(ticket):
    """For the ticket and job pages: the schedule behind a planned ticket, its checklist, and whether the
    viewer may tick it."""
    items = checklists.items_for(ticket.id)
    occurrence = planned.occurrence_of_ticket(ticket.id)
    if not items and occurrence is None:
        return None
    may_tick = bool(items) and ticket.is_open and access.may_work(current_user, ticket)
    return {"occurrence": occurrence, "items": items, "may_tick": may_tick, "form": ChecklistForm(),
            "done": sum(1 for i in items if i.done_at is not None)}
