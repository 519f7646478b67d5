"""The database tables of Trao."""

from backend.models.api_key import ApiKey
from backend.models.audit import AuditEvent
from backend.models.auth import AuthSession
from backend.models.closeout import RunCloseout, RunReturn
from backend.models.dossier import CodeSequence, Dossier, Envelope
from backend.models.events import AppendOnlyError, Event, OutboxMessage, TrackingGuard, TrackingLink
from backend.models.handover import Handover, HandoverItem
from backend.models.org import Agency, PostOffice, Role, User
from backend.models.runs import DeliveryAttempt, DeliveryRun, ProofFile, RunState, RunStop
from backend.models.types import utcnow

__all__ = [
    "Agency",
    "ApiKey",
    "AuditEvent",
    "AuthSession",
    "AppendOnlyError",
    "CodeSequence",
    "DeliveryAttempt",
    "DeliveryRun",
    "Dossier",
    "Envelope",
    "Event",
    "Handover",
    "HandoverItem",
    "OutboxMessage",
    "PostOffice",
    "ProofFile",
    "Role",
    "RunCloseout",
    "RunReturn",
    "RunState",
    "RunStop",
    "TrackingGuard",
    "TrackingLink",
    "User",
    "utcnow",
]
