"""Physicians' notice preference, and what was sent to a physician (for staff)."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from webapp import audit
from webapp.db import utcnow
from webapp.models import MessageState, Notice, NoticeMessage, NoticePreference
from webapp.models.notify import NoticeKind

#: How the staff console names each kind of notice.
KIND_LABELS = {
    NoticeKind.CONSENT_RECEIPT: "Receipt of a sharing choice",
    NoticeKind.REPORT_ANSWERED: "Report answered",
    NoticeKind.MISSING_IDENTIFIER: "Credit waiting for details",
    NoticeKind.DEADLINE_NEAR: "Deadline near, details still missing",
    NoticeKind.REJECTED: "Record rejected by PARS",
    NoticeKind.BOARD_REJECTED: "Record rejected by a board",
    NoticeKind.STAFF_DIGEST: "Staff digest",
}


def reminders_on(session: Session, learner_id: int) -> bool:
    """Whether the physician gets the reminder and rejection notices (the default)."""
    value = session.scalar(select(NoticePreference.reminders).where(
        NoticePreference.learner_id == learner_id))
    return True if value is None else value


def set_reminders(session: Session, learner_id: int, on: bool, *, actor: str) -> bool:
    """Change the preference; whether it changed. Audited. The caller commits.

    Safe when two requests cross (a double click, the link opened twice): the row is
    inserted only if absent and changed only if it differs, so exactly one of them
    changes it and is audited."""
    values = {"reminders": on, "changed_by": actor[:64]}
    changed = False
    if not on:  # no row means "on": only turning off may need a row
        dialect = session.get_bind().dialect.name
        insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
        changed = session.scalar(
            insert(NoticePreference).values(learner_id=learner_id, changed_at=utcnow(), **values)
            .on_conflict_do_nothing(index_elements=["learner_id"])
            .returning(NoticePreference.learner_id)) is not None
    if not changed:
        changed = session.scalar(
            update(NoticePreference)
            .where(NoticePreference.learner_id == learner_id, NoticePreference.reminders != on)
            .values(**values).returning(NoticePreference.learner_id)
            .execution_options(synchronize_session=False)) is not None
    if not changed:
        return False
    known = session.identity_map.get(session.identity_key(NoticePreference, learner_id))
    if known is not None:
        session.expire(known)
    audit.record("notify.reminders_on" if on else "notify.reminders_off", actor=actor,
                 subject_type="learner", subject_id=learner_id, session=session)
    return True


def send_again(session: Session, message: NoticeMessage, *, actor: str) -> bool:
    """Staff decided a message whose outcome is unknown (or that failed) did not arrive:
    the next ``notify send`` sends it again. Audited. The caller commits."""
    moved = session.scalar(
        update(NoticeMessage)
        .where(NoticeMessage.id == message.id,
               NoticeMessage.state.in_([MessageState.UNKNOWN, MessageState.FAILED]))
        .values(state=MessageState.READY, next_attempt_at=None, claim_token=None,
                error=f"Sent again at the request of CME staff (was {message.state.value}).")
        .returning(NoticeMessage.id).execution_options(synchronize_session=False))
    if moved is None:
        return False
    audit.record("notify.send_again", actor=actor, subject_type="notice_message",
                 subject_id=message.id, session=session)
    return True


@dataclass(frozen=True)
class SentMessage:
    message: NoticeMessage
    kinds: list[str]


def messages_for(session: Session, learner_id: int, limit: int = 30) -> list[SentMessage]:
    """The newest e-mails put together for a physician, with what each carried."""
    messages = session.scalars(
        select(NoticeMessage).where(NoticeMessage.learner_id == learner_id)
        .order_by(NoticeMessage.day.desc(), NoticeMessage.id.desc()).limit(limit)).all()
    by_message: dict[int, list[str]] = {m.id: [] for m in messages}
    if messages:
        for notice in session.scalars(select(Notice).where(
                Notice.message_id.in_(list(by_message))).order_by(Notice.id)):
            assert notice.message_id is not None
            by_message[notice.message_id].append(KIND_LABELS[notice.kind])
    return [SentMessage(m, by_message[m.id]) for m in messages]


def not_sent_for(session: Session, learner_id: int) -> list[Notice]:
    """Notices in no message (turned off, outdated, or waiting), newest first."""
    return list(session.scalars(
        select(Notice).where(Notice.learner_id == learner_id, Notice.message_id.is_(None))
        .order_by(Notice.id.desc()).limit(30)))
