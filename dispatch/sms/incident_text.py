"""What the phone shows for a major incident: one message per person, naming the incident and how many wards."""
from __future__ import annotations

from flask_babel import gettext as _

from dispatch.sms import segments
from dispatch.sms.text import MAX_SEGMENTS, fit_description, reply_tail


def team(incident, lead, wards: int, patient_at_risk: bool, plan_link: str | None = None) -> str:
    """To each person of the incident's team: the lead's number is the one to reply to. `patient_at_risk`:
    any of the incident's tickets puts a patient at risk."""
    head = _("P%(p)d INCIDENT #%(n)d %(trade)s, %(building)s: %(wards)d wards affected.", p=lead.priority,
             n=lead.number, trade=incident.trade.display_name, building=incident.building.display_name, wards=wards)
    if patient_at_risk:
        head = _("PATIENT AT RISK") + " " + head
    return fit_description(head, lead.description, reply_tail(lead, plan_link))


def opened(incident, lead, reports: int, wards: int, minutes: int) -> str:
    """To the duty manager on call when an incident opens."""
    who = lead.assignee.full_name if lead.assignee else _("not yet assigned")
    return segments.fit(_("MAJOR INCIDENT #%(n)d P%(p)d %(trade)s, %(building)s: %(reports)d reports from %(wards)d "
                          "wards in %(minutes)d min. Team: %(who)s. No reply needed.", n=lead.number, p=lead.priority,
                          trade=incident.trade.display_name, building=incident.building.display_name, reports=reports, wards=wards,
                          minutes=minutes, who=who), MAX_SEGMENTS)


def released(incident, numbers: list[int]) -> str:
    """To a technician whose jobs were taken into an incident another team handles."""
    listed = ", ".join(f"#{n}" for n in numbers[:8]) + ("…" if len(numbers) > 8 else "")
    return segments.fit(_("%(tickets)s now part of INCIDENT #%(n)d (%(trade)s, %(building)s), handled by its team. "
                          "No action needed from you on them.", tickets=listed, n=incident.number,
                          trade=incident.trade.display_name, building=incident.building.display_name), MAX_SEGMENTS)
