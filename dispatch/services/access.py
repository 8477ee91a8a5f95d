"""Who may see and do what. Every path (page, API, SMS) asks here, so a guessed id gets nowhere."""
from __future__ import annotations

from flask_babel import gettext as _
from sqlalchemy import Select, and_, exists, or_, select

from dispatch.errors import NotFoundError, PermissionDeniedError
from models import EscalationPage, Ticket, User, db

CONTROL_ROOM = ("dispatcher", "supervisor", "admin")
SEES_ALL = ("dispatcher", "supervisor", "manager", "admin")
REPORTERS = ("nurse", "dispatcher", "supervisor", "admin")
REVIEWERS = ("manager", "admin")
# Alarm panels (building management, medical gases) report through the API; the admin maps their points.
ALARM_SENDERS = ("integration", "admin")
# An alarm panel's account works the API with a token; it has no pages and cannot log in to them.
API_ONLY = ("integration",)
ALARM_POINT_EDITORS = ("admin",)
# On call. Nurses are not shown the rota: wards call the control room, which knows who is free,
# rather than ringing a technician's mobile directly.
ONCALL_VIEWERS = ("dispatcher", "technician", "supervisor", "manager", "admin")
GAP_READERS = ("dispatcher", "supervisor", "manager", "admin")
ROTA_EDITORS = ("supervisor", "manager", "admin")
POLICY_READERS = ("supervisor", "manager", "admin")
POLICY_EDITORS = ("manager", "admin")
# Preventive maintenance: supervisors, managers and admins keep the schedules; the control room and
# technicians read them and the calendar of planned work.
PLANNED_EDITORS = ("supervisor", "manager", "admin")
PLANNED_READERS = ("dispatcher", "technician", "supervisor", "manager", "admin")
# Check forms (inspection rounds, test records): managers and admins define them; technicians fill them in,
# and the control room and supervisors on a technician's word; all but nurses read them and their records.
CHECK_FORM_EDITORS = ("manager", "admin")
CHECK_RECORDERS = ("technician", "dispatcher", "supervisor", "admin")
CHECK_READERS = ("dispatcher", "technician", "supervisor", "manager", "admin")
# Emergency plans: the supervisors and managers write them; the control room and technicians read them.
PLAN_EDITORS = ("supervisor", "manager", "admin")
PLAN_READERS = ("dispatcher", "technician", "supervisor", "manager", "admin")
STAFF_EDITORS = ("manager", "admin")  # only an admin may give or take the admin role
# Statutory equipment, certificates and required activities: the estates managers and admins keep them, the
# supervisors read them; the inspector's binder is the estates managers' and admins'.
COMPLIANCE_READERS = ("supervisor", "manager", "admin")
COMPLIANCE_EDITORS = ("manager", "admin")
BINDER_READERS = ("manager", "admin")
# Permits to work and the utility interruption log: the control room and estates managers keep them;
# technicians read them (a permit is also shown to its ticket's technician, who accepts it).
PERMIT_EDITORS = ("dispatcher", "supervisor", "manager", "admin")
PERMIT_READERS = ("dispatcher", "technician", "supervisor", "manager", "admin")
AUDIT_READERS = ("admin",)  # the security trail: who logged in from where, role changes, API tokens


def visible_tickets(user: User, query: Select | None = None) -> Select:
    """Limit a ticket query to what this user may see."""
    query = query if query is not None else select(Ticket)
    if user.role in SEES_ALL:
        return query
    if user.role == "nurse":
        return query.where(Ticket.ward_id == (user.ward_id or -1))
    if user.role == "technician":
        return query.where(or_(Ticket.assignee_id == user.id, awaiting_acceptance_by(user.id)))
    if user.role == "integration":
        return query.where(Ticket.reporter_id == user.id)
    return query.where(False)


def can_view(user: User, ticket: Ticket) -> bool:
    if user.role in SEES_ALL:
        return True
    if user.role == "nurse":
        return user.ward_id is not None and ticket.ward_id == user.ward_id
    if user.role == "technician":
        return ticket.assignee_id == user.id or may_accept_page(user, ticket)
    if user.role == "integration":
        return ticket.reporter_id == user.id
    return False


# Who may see, on a ticket they can see, the SMS and calls sent about it, the parts taken for it and what it
# cost: the people who do, direct or oversee the work. A ward's nurses see the work done, not those (what a
# job cost is the estates department's business; the messages name technicians' mobiles and their failures).
WORK_DETAIL_VIEWERS = ("dispatcher", "technician", "supervisor", "manager", "admin")
# History lines that carry those details, and the rule that shows each.
_EVENT_DETAIL = {"parts": "parts", "sms_failed": "messages"}


def may_see_messages(user: User, ticket: Ticket | None = None) -> bool:
    """The SMS and calls about a ticket (or, without one, about tickets at all)."""
    return user.role in WORK_DETAIL_VIEWERS and (ticket is None or can_view(user, ticket))


def may_see_parts(user: User, ticket: Ticket | None = None) -> bool:
    """The parts taken from stock for a ticket, and the technician's note of parts used."""
    return user.role in WORK_DETAIL_VIEWERS and (ticket is None or can_view(user, ticket))


def may_see_costs(user: User, ticket: Ticket | None = None) -> bool:
    """What a ticket cost (parts, labour and their total); without a ticket, cost columns in lists and exports."""
    return user.role in WORK_DETAIL_VIEWERS and (ticket is None or can_view(user, ticket))


def visible_events(user: User, ticket: Ticket) -> list:
    """The ticket's history as this person may read it: lines about parts or messages only for those who
    may see them."""
    rules = {"parts": may_see_parts, "messages": may_see_messages}
    shown = {detail: rule(user, ticket) for detail, rule in rules.items()}
    return [e for e in ticket.events if shown.get(_EVENT_DETAIL.get(e.kind), True)]


def ticket_for(user: User, ticket_id: int) -> Ticket:
    """The ticket if this user may see it; otherwise 'not found', so ids of other wards leak nothing."""
    ticket = db.session.get(Ticket, ticket_id)
    if ticket is None or not can_view(user, ticket):
        raise NotFoundError(_("Ticket %(number)s not found.", number=ticket_id))
    return ticket


def require_role(user: User, roles: tuple[str, ...]) -> None:
    if user.role not in roles:
        raise PermissionDeniedError(_("Your role may not do this."))


def may_report_for(user: User, ward_id: int) -> bool:
    if user.role == "nurse":
        return user.ward_id == ward_id
    return user.role in REPORTERS or user.role in ALARM_SENDERS


def may_set_priority(user: User) -> bool:
    """The control room; and alarm panels, whose points carry the priority the admin mapped."""
    return user.role in CONTROL_ROOM or user.role in ALARM_SENDERS


def may_work(user: User, ticket: Ticket) -> bool:
    """The assigned technician, or the control room recording it on their behalf (a phone call)."""
    return (user.role == "technician" and ticket.assignee_id == user.id) or user.role in CONTROL_ROOM


# A job nobody has accepted yet: a technician paged for it may still take it.
UNACCEPTED_STATUSES = ("new", "assigned", "refused", "reopened")


def awaiting_acceptance_by(user_id: int):
    """SQL: the ticket waits for someone to accept it and this person has been paged for it (given it, or
    reached by an escalation step). The one definition: lists filter with it and `may_accept_page` asks
    the database the same question for one ticket, so a page never shows what the API hides."""
    return and_(Ticket.status.in_(UNACCEPTED_STATUSES), Ticket.assignee_id.is_distinct_from(user_id), exists(
        select(EscalationPage.id).where(EscalationPage.ticket_id == Ticket.id, EscalationPage.user_id == user_id,
                                        EscalationPage.closed_at.is_(None))))


def may_accept_page(user: User, ticket: Ticket) -> bool:
    """A technician paged for this job while nobody has accepted it: they may see it and accept it, and the
    first to accept takes it. Someone never paged may not."""
    if user.role != "technician" or ticket.id is None:
        return False
    return db.session.scalar(select(Ticket.id).where(Ticket.id == ticket.id, awaiting_acceptance_by(user.id))) is not None


def may_confirm(user: User, ticket: Ticket) -> bool:
    """The ward that reported it, or the control room on the ward's word."""
    return (user.role == "nurse" and user.ward_id == ticket.ward_id) or user.role in CONTROL_ROOM
