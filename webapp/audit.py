"""Writing the audit log, and keeping append-only tables append-only."""

from __future__ import annotations

from typing import Any

from sqlalchemy import event
from sqlalchemy.orm import Session

from webapp.extensions import db
from webapp.models import AuditEvent, ConsentEvent, ConsentNotice, DeliveryEvent, IdentityLink

APPEND_ONLY = (AuditEvent, ConsentEvent, ConsentNotice, DeliveryEvent, IdentityLink)


def record(
    action: str,
    *,
    actor: str = "system",
    subject_type: str | None = None,
    subject_id: object | None = None,
    session: Session | None = None,
    **details: Any,
) -> AuditEvent:
    """Add an audit entry to the current transaction.

    ``details`` must not carry personal identifiers (names, e-mails, NPIs,
    birth dates, license or board numbers): refer to rows by their IDs.
    """
    entry = AuditEvent(
        actor=actor,
        action=action,
        subject_type=subject_type,
        subject_id=None if subject_id is None else str(subject_id),
        details=details or None,
    )
    (session or db.session).add(entry)
    return entry


class AppendOnlyViolation(RuntimeError):
    pass


@event.listens_for(Session, "before_flush")
def _refuse_history_rewrites(session: Session, _ctx: Any, _instances: Any) -> None:
    for obj in list(session.dirty) + list(session.deleted):
        if isinstance(obj, APPEND_ONLY) and (obj in session.deleted or session.is_modified(obj)):
            raise AppendOnlyViolation(f"{type(obj).__name__} rows are never changed or deleted")
