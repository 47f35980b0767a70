"""Opening reports, answering them, and the physician's replies: each audited."""

from __future__ import annotations

import secrets
import string

from sqlalchemy import select, update
from sqlalchemy.orm import Session, selectinload
from sqlalchemy.orm.attributes import set_committed_value

from webapp import audit
from webapp.db import utcnow
from webapp.models import Completion, RequestKind, RequestState, SupportRequest
from webapp.models.support import ReplyAuthor, SupportReply
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
    """Staff answer: added to the thread; the report is answered until the physician replies.
    ``AlreadyAnswered`` when another answer was saved since the report was read."""
    now = utcnow()
    _move(session, request, RequestState.OPEN, RequestState.ANSWERED, AlreadyAnswered)
    entry = SupportReply(author=ReplyAuthor.STAFF, identity_id=identity_id,
                         body=answer.strip(), created_at=now)
    request.replies.append(entry)
    request.answered_at = now
    request.answered_by_identity_id = identity_id
    session.flush()
    notices.report_answered(session, request, entry.id)  # the physician is told by e-mail
    audit.record("support.answered", actor=actor, subject_type="support_request",
                 subject_id=request.id, session=session)


class CannotReply(Exception):
    """The report waits for staff: a reply follows an answer."""


class AlreadyAnswered(Exception):
    """Staff answered the report already; the physician has not replied since."""


def _move(session: Session, request: SupportRequest, before: RequestState,
          after: RequestState, refused: type[Exception]) -> None:
    """Change the report's state only if it still is ``before`` in the database (a
    conditional ``UPDATE``): of two requests that read the report at once (a double click),
    the second is refused rather than adding its message twice."""
    session.flush()
    moved = session.scalar(
        update(SupportRequest).where(SupportRequest.id == request.id,
                                     SupportRequest.state == before)
        .values(state=after).returning(SupportRequest.id)
        .execution_options(synchronize_session=False))
    if moved is None:
        raise refused(request.reference)
    set_committed_value(request, "state", after)


def reply(session: Session, request: SupportRequest, *, message: str, identity_id: int,
          actor: str) -> SupportReply:
    """The physician's reply to staff's answer: added to the thread, and the report is open
    for staff again. The caller has checked that the report is the physician's own."""
    if request.state != RequestState.ANSWERED:
        raise CannotReply(request.reference)
    _move(session, request, RequestState.ANSWERED, RequestState.OPEN, CannotReply)
    entry = SupportReply(author=ReplyAuthor.PHYSICIAN, identity_id=identity_id,
                         body=message.strip())
    request.replies.append(entry)
    session.flush()
    audit.record("support.replied", actor=actor, subject_type="support_request",
                 subject_id=request.id, session=session)
    return entry


def for_learner(session: Session, learner_id: int) -> list[SupportRequest]:
    """The learner's reports, newest first, with their threads and credits (a fixed number
    of queries however many there are)."""
    return list(session.scalars(
        select(SupportRequest).where(SupportRequest.learner_id == learner_id)
        .options(selectinload(SupportRequest.replies),
                 selectinload(SupportRequest.completion).selectinload(Completion.activity))
        .order_by(SupportRequest.created_at.desc(), SupportRequest.id.desc())
    ))
