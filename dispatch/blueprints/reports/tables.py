"""Each report table as columns and rows for the CSV and XLSX exports (the pages render the same data)."""
from __future__ import annotations

from collections.abc import Iterable

from flask_babel import gettext as _

from dispatch.blueprints.reports.export import Column, Sheet
from dispatch.services.report_breaches import CauseCount
from dispatch.services.report_filters import TARGETS
from dispatch.services.report_planned import PlannedRow
from dispatch.services.report_tickets import TicketLine
from dispatch.services.report_workload import HandoverRow, LicenceRow, RepeatRow, WorkloadRow
from dispatch.services.reports import ComplianceReport
from dispatch.services.tickets import status_label


def target_names() -> dict[str, str]:
    return {"acknowledge": _("Acknowledge"), "attend": _("On site"), "resolve": _("Resolve or make safe")}


def backlog_names() -> dict[str, str]:
    return {"day": _("Open < 1 day"), "week": _("Open 1–7 days"), "month": _("Open 7–30 days"),
            "older": _("Open > 30 days")}


def _minutes(seconds: float | None) -> float | None:
    return None if seconds is None else seconds / 60.0


def compliance_sheet(report: ComplianceReport) -> Sheet:
    names = target_names()
    columns = [Column(h) for h in report.headers] + [Column(_("Tickets"), "int")]
    for target in TARGETS:
        columns += [Column(_("%(target)s within target (%%)", target=names[target]), "pct"),
                    Column(_("%(target)s met", target=names[target]), "int"),
                    Column(_("%(target)s missed", target=names[target]), "int"),
                    Column(_("%(target)s median (min)", target=names[target]), "minutes"),
                    Column(_("%(target)s 90th percentile (min)", target=names[target]), "minutes")]
    columns += [Column(_("Targets missed"), "int")] + [Column(label, "int") for label in backlog_names().values()]

    def rows():
        for row in [*report.rows, report.totals]:
            values = [*row.labels, row.tickets]
            for target in TARGETS:
                f = row.targets[target]
                values += [f.pct, f.met, f.missed, _minutes(f.p50), _minutes(f.p90)]
            values += [row.missed_total, *row.backlog.values()]
            yield values

    return Sheet(_("Compliance"), columns, rows())


def ticket_sheet(lines: Iterable[TicketLine], name: str | None = None) -> Sheet:
    names = target_names()
    columns = [Column(_("Ticket"), "int"), Column(_("Reported"), "datetime"), Column(_("Trade")),
               Column(_("Priority"), "int"), Column(_("Ward")), Column(_("Place")), Column(_("Asset")),
               Column(_("Technician")), Column(_("Status"))]
    for target in TARGETS:
        columns += [Column(_("%(target)s (min)", target=names[target]), "minutes"),
                    Column(_("%(target)s missed", target=names[target]))]
    columns += [Column(_("Breach cause")), Column(_("Cause note"))]

    def rows():
        for line in lines:
            t = line.ticket
            values = [t.id, t.created_at, t.trade.display_name, t.priority, t.ward.display_name, t.place,
                      t.asset.tag if t.asset else "", t.assignee.full_name if t.assignee else "", status_label(t.status)]
            for target in TARGETS:
                values += [_minutes(line.elapsed[target]), line.late[target]]
            values += [line.cause.cause.display_name if line.cause else "", (line.cause.note or "") if line.cause else ""]
            yield values

    return Sheet(name or _("Tickets"), columns, rows())


def causes_sheet(counts: list[CauseCount]) -> Sheet:
    return Sheet(_("Breaches by cause"), [Column(_("Cause")), Column(_("Breached tickets"), "int")],
                 ([c.name, c.breaches] for c in counts))


def workload_sheet(rows: list[WorkloadRow], total: WorkloadRow) -> Sheet:
    columns = [Column(_("Technician")), Column(_("Team")), Column(_("Jobs"), "int"), Column(_("On site"), "int"),
               Column(_("Finished"), "int"), Column(_("Hours on site (recorded)"), "hours"),
               Column(_("Out-of-hours call-outs"), "int"), Column(_("Resolved"), "int"),
               Column(_("First-time fixes"), "int"), Column(_("First-time fix (%)"), "pct"),
               Column(_("Refused"), "int"), Column(_("Reassigned away"), "int")]

    def values(r: WorkloadRow, name: str, team: str):
        return [name, team, r.jobs, r.attended, r.finished, r.labour_minutes / 60.0,
                r.out_of_hours, r.resolved, r.first_time_fixes, r.first_time_fix_pct, r.refused, r.reassigned_away]

    return Sheet(_("Workload"), columns,
                 [*(values(r, r.name, r.team) for r in rows), values(total, _("All"), "")])


def handover_sheet(rows: list[HandoverRow]) -> Sheet:
    columns = [Column(_("Trade")), Column(_("Tickets"), "int"), Column(_("Refused at least once"), "int"),
               Column(_("Refusals"), "int"), Column(_("Reassigned at least once"), "int"),
               Column(_("Reassignments"), "int")]
    return Sheet(_("Refused and reassigned"), columns,
                 ([r.trade, r.tickets, r.refused_tickets, r.refusals, r.reassigned_tickets, r.reassignments]
                  for r in rows))


def repeats_sheet(rows: list[RepeatRow], kind: str) -> Sheet:
    if kind == "asset":
        head = [Column(_("Asset tag")), Column(_("Asset")), Column(_("Ward"))]
        name = _("Repeats by asset")
    else:
        head = [Column(_("Ward")), Column(_("Room or place")), Column(_("Trade"))]
        name = _("Repeats by place")
    columns = [*head, Column(_("Faults"), "int"), Column(_("Repeat faults (within 30 days)"), "int"),
               Column(_("Last fault"), "datetime")]
    return Sheet(name, columns, ([*r.labels, r.faults, r.repeats, r.last_fault] for r in rows))


def licences_sheet(rows: list[LicenceRow]) -> Sheet:
    columns = [Column(_("Technician")), Column(_("Licence")), Column(_("Number")), Column(_("Issuer")),
               Column(_("Issued"), "date"), Column(_("Expires"), "date"), Column(_("Days left"), "int"),
               Column(_("State"))]
    # A list, not a generator: a streamed CSV is written after the request's session has closed, and these
    # rows reach the technician and the licence type through the ORM.
    return Sheet(_("Licences"), columns, [
        [r.licence.technician.full_name, r.licence.licence_type.name, r.licence.number, r.licence.issuer,
         r.licence.issued_on, r.licence.expires_on, r.days_left, _("expired") if r.expired else _("expiring")]
        for r in rows])


def planned_sheet(rows: list[PlannedRow], total: PlannedRow) -> Sheet:
    columns = [Column(_("Month")), Column(_("Trade")), Column(_("Planned dates due"), "int"),
               Column(_("Done on time"), "int"), Column(_("Late"), "int"), Column(_("Skipped"), "int"),
               Column(_("Open"), "int"), Column(_("Compliance (%)"), "pct"),
               Column(_("Resolved with checklist steps unticked"), "int")]
    return Sheet(_("Planned work"), columns, (
        [r.month.strftime("%Y-%m") if r.month else _("All"), r.trade or _("All"), r.due, r.on_time, r.late, r.skipped,
         r.open, r.pct, r.unticked] for r in [*rows, total]))
