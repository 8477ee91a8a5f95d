"""Alarm intake from building-management and medical-gas panels, and the admin's map of their points.

An active alarm opens a ticket through the same report_fault as a nurse's report (so priority,
due times, auto-dispatch, escalation and major-incident grouping all apply); a repeat of the same
active alarm is counted on that ticket instead of opening another; a cleared alarm is recorded on it.
A cleared alarm never closes the ticket: a technician must still attend, find the cause and resolve.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from flask_babel import gettext as _
from sqlalchemy import func, select

from dispatch.clock import now as clock_now
from dispatch.errors import NotFoundError, ValidationError
from dispatch.services import access
from dispatch.services.unit_of_work import write_transaction
from models import ALARM_STATES, SEVERITIES, Alarm, AlarmPoint, Asset, Ticket, TicketEvent, Trade, User, Ward, db
from dispatch.services.tickets import report_fault


class UnmappedAlarmPointError(ValidationError):
    """The panel sent a point the admin has not mapped to a place and a trade (recorded for the admin)."""


@dataclass
class AlarmOutcome:
    outcome: str  # opened, repeat, cleared, cleared_no_ticket
    alarm_id: int
    ticket: Ticket | None
    occurrences: int


def point_key(point_id: str | None, asset_id: int | None) -> str:
    """Panels that know only the asset send its id; such a point is keyed 'asset:<id>'."""
    return (point_id or "").strip() or f"asset:{asset_id}"


def _mapped_point(session, source: str, key: str, asset_id: int | None) -> AlarmPoint | None:
    point = session.scalar(select(AlarmPoint).where(AlarmPoint.source == source, AlarmPoint.point_id == key)
                           .with_for_update())
    if point is None and asset_id is not None:
        point = session.scalar(select(AlarmPoint).where(AlarmPoint.source == source, AlarmPoint.asset_id == asset_id)
                               .order_by(AlarmPoint.id).limit(1).with_for_update())
    return point


def receive_alarm(sender: User, *, source: str, point_id: str | None = None, asset_id: int | None = None,
                  condition: str, severity: str, state: str, occurred_at: datetime) -> AlarmOutcome:
    """Take one alarm message. Raises UnmappedAlarmPointError (after recording it) for a point the
    admin has not mapped, PermissionDeniedError for a sender that is not an alarm panel."""

    access.require_role(sender, access.ALARM_SENDERS)
    source, condition = source.strip(), condition.strip()
    if not source:
        raise ValidationError(_("Name the alarm source."), field="source")
    if not (point_id or "").strip() and asset_id is None:
        raise ValidationError(_("Give the alarm point or the asset id."), field="point_id")
    if state not in ALARM_STATES:
        raise ValidationError(_("State must be active or cleared."), field="state")
    if severity not in SEVERITIES:
        raise ValidationError(_("Unknown severity."), field="severity")
    key = point_key(point_id, asset_id)
    now = clock_now()
    record = dict(source=source, point_id=key, asset_id=asset_id, condition=condition, severity=severity, state=state,
                  occurred_at=occurred_at, received_at=now, sender_id=sender.id)
    with write_transaction() as session:
        point = _mapped_point(session, source, key, asset_id)
        if point is None:
            session.add(Alarm(**record, outcome="unmapped"))
            unmapped = True
        else:
            unmapped = False
            ticket = session.get(Ticket, point.ticket_id) if point.ticket_id else None
            point.last_alarm_at = now
            if state == "cleared":
                return _cleared(session, point, ticket, record, now, sender)
            if ticket is not None and ticket.is_open:
                return _repeat(session, point, ticket, record, now, sender)
            point_id_, ward_id, trade_id = point.id, point.ward_id, point.trade_id
            priority, point_asset = point.priority, point.asset_id
            description = _("Alarm from %(source)s %(point)s (%(what)s): %(condition)s, %(severity)s.",
                            source=source, point=key, what=point.description, condition=condition, severity=severity)
    if unmapped:
        raise UnmappedAlarmPointError(
            _("Alarm point %(point)s of %(source)s is not mapped to a place and trade; it was recorded for the "
              "administrator to map.", point=key, source=source), field="point_id")
    # A new alarm (or the point's previous ticket is finished): a ticket like any report, then tie it to the point.
    ticket = report_fault(sender, ward_id=ward_id, trade_id=trade_id, description=description[:1000],
                          whole_area=True, asset_id=point_asset, priority=priority, channel="alarm")
    with write_transaction() as session:
        point = session.scalars(select(AlarmPoint).where(AlarmPoint.id == point_id_).with_for_update()).one()
        point.ticket_id, point.occurrences, point.alarm_active = ticket.id, 1, True
        alarm = Alarm(**record, alarm_point_id=point.id, ticket_id=ticket.id, outcome="opened")
        session.add(alarm)
        session.flush()
        alarm_id = alarm.id
    return AlarmOutcome("opened", alarm_id, db.session.get(Ticket, ticket.id), 1)


def _repeat(session, point: AlarmPoint, ticket: Ticket, record: dict, now: datetime, sender: User) -> AlarmOutcome:
    point.occurrences += 1
    again = not point.alarm_active
    point.alarm_active = True
    note = (_("Alarm active again (%(count)d times): %(condition)s, %(severity)s.", count=point.occurrences,
              condition=record["condition"], severity=record["severity"]) if again else
            _("Alarm repeated (%(count)d times): %(condition)s, %(severity)s.", count=point.occurrences,
              condition=record["condition"], severity=record["severity"]))
    session.add(TicketEvent(ticket_id=ticket.id, at=now, kind="alarm_repeat", channel="alarm", actor_id=sender.id,
                            note=note, data={"source": record["source"], "point_id": record["point_id"],
                                             "occurrences": point.occurrences,
                                             "occurred_at": record["occurred_at"].isoformat()}))
    alarm = Alarm(**record, alarm_point_id=point.id, ticket_id=ticket.id, outcome="repeat")
    session.add(alarm)
    session.flush()
    return AlarmOutcome("repeat", alarm.id, ticket, point.occurrences)


def _cleared(session, point: AlarmPoint, ticket: Ticket | None, record: dict, now: datetime,
             sender: User) -> AlarmOutcome:
    point.alarm_active = False
    if ticket is None or not ticket.is_open:
        alarm = Alarm(**record, alarm_point_id=point.id, ticket_id=None, outcome="cleared_no_ticket")
        session.add(alarm)
        session.flush()
        return AlarmOutcome("cleared_no_ticket", alarm.id, None, point.occurrences)
    session.add(TicketEvent(
        ticket_id=ticket.id, at=now, kind="alarm_cleared", channel="alarm", actor_id=sender.id,
        note=_("Alarm cleared by %(source)s: %(condition)s. The ticket stays open until a technician has attended "
               "and resolved it.", source=record["source"], condition=record["condition"]),
        data={"source": record["source"], "point_id": record["point_id"], "occurred_at": record["occurred_at"].isoformat()}))
    alarm = Alarm(**record, alarm_point_id=point.id, ticket_id=ticket.id, outcome="cleared")
    session.add(alarm)
    session.flush()
    return AlarmOutcome("cleared", alarm.id, ticket, point.occurrences)


# ---- the admin's map ------------------------------------------------------------------------------

def list_points() -> list[AlarmPoint]:
    return list(db.session.scalars(select(AlarmPoint).order_by(AlarmPoint.source, AlarmPoint.point_id)))


@dataclass
class UnmappedPoint:
    source: str
    point_id: str
    count: int
    last_seen: datetime
    last_condition: str


def unmapped_points(limit: int = 100) -> list[UnmappedPoint]:
    """Points panels sent that nobody has mapped yet, most recently seen first."""
    mapped = select(AlarmPoint.id).where(AlarmPoint.source == Alarm.source, AlarmPoint.point_id == Alarm.point_id)
    rows = db.session.execute(
        select(Alarm.source, Alarm.point_id, func.count(Alarm.id), func.max(Alarm.received_at))
        .where(Alarm.outcome == "unmapped", ~mapped.exists())
        .group_by(Alarm.source, Alarm.point_id).order_by(func.max(Alarm.received_at).desc()).limit(limit)).all()
    result = []
    for source, point_id, count, last_seen in rows:
        condition = db.session.scalar(select(Alarm.condition).where(Alarm.source == source, Alarm.point_id == point_id)
                                      .order_by(Alarm.id.desc()).limit(1))
        if isinstance(last_seen, str):  # SQLite hands an aggregate back as text
            from datetime import timezone

            last_seen = datetime.fromisoformat(last_seen).replace(tzinfo=timezone.utc)
        elif last_seen is not None and last_seen.tzinfo is None:
            from datetime import timezone

            last_seen = last_seen.replace(tzinfo=timezone.utc)
        result.append(UnmappedPoint(source, point_id, count, last_seen, condition or ""))
    return result


def _validate_point(session, *, source: str, point_id: str, ward_id: int, asset_id: int | None, trade_id: int,
                    priority: int | None, description: str, exclude_id: int | None = None) -> dict:
    source, point_id, description = (source or "").strip(), (point_id or "").strip(), (description or "").strip()
    if not source:
        raise ValidationError(_("Name the alarm source."), field="source")
    if not point_id:
        raise ValidationError(_("Give the point's id as the panel sends it."), field="point_id")
    if not description:
        raise ValidationError(_("Say what the point watches."), field="description")
    if session.get(Ward, ward_id) is None:
        raise ValidationError(_("Choose a ward."), field="ward_id")
    if session.get(Trade, trade_id) is None:
        raise ValidationError(_("Choose what has failed."), field="trade_id")
    if asset_id:
        asset = session.get(Asset, asset_id)
        if asset is None or asset.ward_id != ward_id:
            raise ValidationError(_("That asset is not in this ward."), field="asset_id")
    if priority is not None and priority not in (1, 2, 3, 4):
        raise ValidationError(_("Priority must be 1 to 4."), field="priority")
    clash = session.scalar(select(AlarmPoint.id).where(AlarmPoint.source == source, AlarmPoint.point_id == point_id))
    if clash is not None and clash != exclude_id:
        raise ValidationError(_("That point of that source is already mapped."), field="point_id")
    return dict(source=source[:60], point_id=point_id[:120], ward_id=ward_id, asset_id=asset_id or None,
                trade_id=trade_id, priority=priority, description=description[:200])


def save_point(actor: User, alarm_point_id: int | None = None, **values) -> AlarmPoint:
    """Add (alarm_point_id None) or change a mapping. Admin only."""
    with write_transaction() as session:
        actor = session.get(User, actor.id)
        access.require_role(actor, access.ALARM_POINT_EDITORS)
        fields = _validate_point(session, exclude_id=alarm_point_id, **values)
        if alarm_point_id is None:
            point = AlarmPoint(**fields, occurrences=0, alarm_active=False)
            session.add(point)
        else:
            point = session.get(AlarmPoint, alarm_point_id)
            if point is None:
                raise NotFoundError(_("Alarm point not found."))
            for name, value in fields.items():
                setattr(point, name, value)
    return point


def delete_point(actor: User, point_id: int) -> None:
    """Remove a mapping; its alarms stay on record (they keep the source and point they were sent with)."""
    from sqlalchemy import update

    with write_transaction() as session:
        actor = session.get(User, actor.id)
        access.require_role(actor, access.ALARM_POINT_EDITORS)
        point = session.get(AlarmPoint, point_id)
        if point is None:
            raise NotFoundError(_("Alarm point not found."))
        session.execute(update(Alarm).where(Alarm.alarm_point_id == point_id).values(alarm_point_id=None))
        session.delete(point)
