"""The data model. Importing this package registers every table on db.metadata."""
from models.base import Base, UTCDateTime, db
from models.alarm import ALARM_STATES, SEVERITIES, Alarm, AlarmPoint
from models.breach import DEFAULT_BREACH_CAUSES, BreachCause, TicketBreachCause
from models.heartbeat import Heartbeat
from models.incident import INCIDENT_STATES, Incident, IncidentMember
from models.outbox import FINAL_STATES, MESSAGE_STATES, STATE_RANK, InboundMessage, OutboundMessage
from models.rota import (
    OVERRIDE_KINDS, ROTA_ROLES, STEP_TARGETS, EscalationPolicy, EscalationStep, OnCallShift, ShiftOverride,
    SwapRequest, TicketEscalation,
)
from models.place import CRITICAL_WARDS, WARD_CRITICALITIES, Asset, Building, Location, Site, Ward
from models.staff import ROLES, ApiToken, Licence, LicenceType, Trade, User, trade_licence_type
from models.ticket import (
    OPEN_STATUSES,
    PRIORITIES,
    STATUSES,
    UNASSIGNED_STATUSES,
    ServiceTarget,
    Ticket,
    TicketEvent,
)

__all__ = [
    "Base", "UTCDateTime", "db", "DEFAULT_BREACH_CAUSES", "BreachCause", "TicketBreachCause", "Heartbeat", "FINAL_STATES", "MESSAGE_STATES", "STATE_RANK",
    "InboundMessage", "OutboundMessage", "OVERRIDE_KINDS", "ROTA_ROLES", "STEP_TARGETS", "EscalationPolicy",
    "EscalationStep", "OnCallShift", "ShiftOverride", "SwapRequest", "TicketEscalation", "CRITICAL_WARDS", "WARD_CRITICALITIES", "Asset", "Building",
    "Location", "Site", "Ward", "ROLES", "ApiToken", "Licence", "LicenceType", "Trade", "User",
    "trade_licence_type", "OPEN_STATUSES", "PRIORITIES", "STATUSES", "UNASSIGNED_STATUSES",
    "ServiceTarget", "Ticket", "TicketEvent",
    "ALARM_STATES", "SEVERITIES", "Alarm", "AlarmPoint", "INCIDENT_STATES", "Incident", "IncidentMember",
]
