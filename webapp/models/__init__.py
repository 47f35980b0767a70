"""All mapped classes, importable from one place."""

from webapp.models.audit import AuditEvent
from webapp.models.auth import EndReason, Identity, UserSession
from webapp.models.catalog import Activity, BoardCredit, Completion
from webapp.models.delivery import (
    IN_FLIGHT,
    NEEDS_ATTENTION,
    Action,
    Batch,
    BatchKind,
    BatchState,
    BoardStatus,
    Delivery,
    DeliveryEvent,
    DeliveryState,
    EngineRun,
)
from webapp.models.people import BoardCertification, ConsentEvent, ConsentSource, Learner, License
from webapp.models.staging import ImportRow
from webapp.models.support import RequestKind, RequestState, SupportRequest

__all__ = [
    "IN_FLIGHT", "NEEDS_ATTENTION", "Action", "Activity", "AuditEvent", "Batch", "BatchKind",
    "BatchState", "BoardCertification", "BoardCredit", "BoardStatus", "Completion",
    "ConsentEvent", "ConsentSource", "Delivery", "DeliveryEvent", "DeliveryState", "EndReason",
    "EngineRun", "Identity", "ImportRow", "Learner", "License", "RequestKind", "RequestState",
    "SupportRequest", "UserSession",
]
