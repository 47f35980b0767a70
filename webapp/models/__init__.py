"""All mapped classes, importable from one place."""

from webapp.models.audit import AuditEvent
from webapp.models.auth import EndReason, Identity, IdentityLink, UserSession
from webapp.models.catalog import Activity, BoardCredit, Completion
from webapp.models.delivery import (
    GONE,
    IN_FLIGHT,
    NEEDS_ATTENTION,
    REPORTED,
    SETTLED,
    STATE_CLASSES,
    UNDELIVERED,
    Action,
    Batch,
    BatchKind,
    BatchState,
    BoardDecision,
    BoardStatus,
    Delivery,
    DeliveryEvent,
    DeliveryState,
    EngineRun,
    EventKind,
    RunKind,
    RunOutcome,
    StateClass,
)
from webapp.models.notify import (
    MessageState,
    Notice,
    NoticeKind,
    NoticeMessage,
    NoticePreference,
    NoticeState,
)
from webapp.models.people import (
    BoardCertification,
    ConsentEvent,
    ConsentNotice,
    ConsentSource,
    Learner,
    License,
)
from webapp.models.staging import ImportRow
from webapp.models.support import RequestKind, RequestState, SupportRequest

__all__ = [
    "GONE", "IN_FLIGHT", "NEEDS_ATTENTION", "REPORTED", "SETTLED", "STATE_CLASSES", "UNDELIVERED",
    "Action", "BoardDecision", "EventKind", "RunKind", "RunOutcome", "StateClass", "Activity",
    "AuditEvent", "Batch", "BatchKind",
    "BatchState", "BoardCertification", "BoardCredit", "BoardStatus", "Completion",
    "ConsentEvent", "ConsentNotice", "ConsentSource", "Delivery", "DeliveryEvent", "DeliveryState",
    "EndReason", "EngineRun", "Identity", "IdentityLink", "ImportRow", "Learner", "License",
    "MessageState", "Notice", "NoticeKind", "NoticeMessage", "NoticePreference", "NoticeState",
    "RequestKind", "RequestState",
    "SupportRequest", "UserSession",
]
