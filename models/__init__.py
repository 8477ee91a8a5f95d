"""The data model. Importing this package registers every table on db.metadata."""
from models.base import Base, UTCDateTime, db
from models.audit import AUDIT_KINDS, AuditEvent
from models.alarm import ALARM_STATES, SEVERITIES, Alarm, AlarmPoint
from models.breach import DEFAULT_BREACH_CAUSES, BreachCause, TicketBreachCause
from models.heartbeat import Heartbeat
from models.leadership import LeadershipReport
from models.incident import INCIDENT_STATES, Incident, IncidentMember
from models.plan import EmergencyPlan, EmergencyPlanVersion, TicketPlanStep
from models.outbox import FINAL_STATES, MESSAGE_STATES, STATE_RANK, InboundMessage, OutboundMessage
from models.rota import (
    OVERRIDE_KINDS, ROTA_ROLES, STEP_PHASES, STEP_TARGETS, EscalationPolicy, EscalationStep, OnCallShift, ShiftOverride,
    SwapRequest, TicketEscalation, EscalationPage,
)
from models.planned import (
    OCCURRENCE_STATES, RECURRENCE_KINDS, RECURRENCE_UNITS, MaintenanceSchedule, PlannedOccurrence, TicketChecklistItem,
)
from models.photo import PHOTO_STAGES, TicketPhoto
from models.compliance import EQUIPMENT_KINDS, NOTICE_KINDS, AssetRegister, Certificate, CertificateNotice, RequiredActivity, RequiredOccurrence
from models.rounds import FORM_KINDS, ITEM_KINDS, CheckForm, CheckItem, CheckRecord, CheckResult
from models.permit import LIVE_PERMIT_STATES, PERMIT_STATES, UTILITIES, Permit, PermitRequirement, UtilityInterruption
from models.report_rollup import ReportMonth, ReportMonthBand, ReportMonthDuration, ReportRollupState
from models.place import CRITICAL_WARDS, WARD_CRITICALITIES, Asset, Building, Location, Site, Ward
from models.stock import MOVEMENT_KINDS, LabourRate, Part, StockLevel, StockMovement, Store, TicketPart, TradeBudget
from models.staff import ROLES, ApiToken, DirectoryGroup, Licence, LicenceLapse, LicenceType, Trade, User, trade_licence_type
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
    "InboundMessage", "OutboundMessage", "OVERRIDE_KINDS", "ROTA_ROLES", "STEP_PHASES", "STEP_TARGETS", "EscalationPolicy",
    "EscalationStep", "OnCallShift", "ShiftOverride", "SwapRequest", "TicketEscalation", "EscalationPage", "CRITICAL_WARDS", "WARD_CRITICALITIES", "Asset", "Building",
    "Location", "Site", "Ward", "ROLES", "ApiToken", "DirectoryGroup", "Licence", "LicenceLapse", "LicenceType", "Trade", "User",
    "trade_licence_type", "OPEN_STATUSES", "PRIORITIES", "STATUSES", "UNASSIGNED_STATUSES",
    "ServiceTarget", "Ticket", "TicketEvent",
    "AUDIT_KINDS", "AuditEvent",
    "MOVEMENT_KINDS", "LabourRate", "Part", "StockLevel", "StockMovement", "Store", "TicketPart", "TradeBudget",
    "ALARM_STATES", "SEVERITIES", "Alarm", "AlarmPoint", "INCIDENT_STATES", "Incident", "IncidentMember",
    "OCCURRENCE_STATES", "RECURRENCE_KINDS", "RECURRENCE_UNITS", "MaintenanceSchedule", "PlannedOccurrence",
    "TicketChecklistItem",
    "EmergencyPlan", "EmergencyPlanVersion", "TicketPlanStep",
    "LeadershipReport",
    "PHOTO_STAGES", "TicketPhoto",
    "EQUIPMENT_KINDS", "NOTICE_KINDS", "AssetRegister", "Certificate", "CertificateNotice", "RequiredActivity", "RequiredOccurrence",
    "FORM_KINDS", "ITEM_KINDS", "CheckForm", "CheckItem", "CheckRecord", "CheckResult",
    "LIVE_PERMIT_STATES", "PERMIT_STATES", "UTILITIES", "Permit", "PermitRequirement", "UtilityInterruption",
    "ReportMonth", "ReportMonthBand", "ReportMonthDuration", "ReportRollupState",
]
