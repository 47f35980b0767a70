"""Opening and answering support requests."""

from __future__ import annotations

import secrets
import string

from sqlalchemy import select
from sqlalchemy.orm import Session

from webapp import audit
from webapp.db import utcnow
from webapp.models import RequestKind, RequestState, SupportRequest
from webapp.notify import outbox as notices

_ALPHABET = "".join(c for c in string.ascii_uppercase + string.digits if c not in "O0I1")


def new_reference(session: Session) -> str:
    while True:
        reference = "CME-" + "".join(secrets.choice(_ALPHABET) for _ in range(6))
        if session.scalar(select(SupportRequest.id).where(
                SupportRequest.reference == reference)) is None:
            return reference


def open_request(session: Session, *, learner_id: int, kind: RequestKind, message: str,
                 completion_id: int | None, actor: str) -> SupportRequest:
    request = SupportRequest(reference=new_reference(session), learner_id=learner_id, kind=kind,
                             message=message.strip(), completion_id=completion_id)
    session.add(request)
    session.flush()
    audit.record("support.opened", actor=actor, subject_type="support_request",
                 subject_id=request.id, session=session, kind=kind.value)
    return request


def answer_request(session: Session, request: SupportRequest, *, answer: str,
                   identity_id: int, actor: str) -> None:
    request.answer = answer.strip()
    request.state = RequestState.ANSWERED
    request.answered_at = utcnow()
    request.answered_by_identity_id = identity_id
    session.flush()
    notices.report_answered(session, request)  # the physician is told by e-mail
    audit.record("support.answered", actor=actor, subject_type="support_request",
                 subject_id=request.id, session=session)


def for_learner(session: Session, learner_id: int) -> list[SupportRequest]:
    return list(session.scalars(
        select(SupportRequest).where(SupportRequest.learner_id == learner_id)
        .order_by(SupportRequest.created_at.desc())
    ))
