"""Physicians' reports of missing or wrong credit, answered by CME staff.

A report is the physician's first message; what follows (staff answers, the
physician's replies) is its thread of ``SupportReply`` rows, oldest first. A
reply from the physician opens the report again for staff.
"""

from __future__ import annotations

import datetime as dt
import enum
from typing import TYPE_CHECKING

from sqlalchemy import ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from webapp.db import Base, intpk, string_enum, timestamp

if TYPE_CHECKING:
    from webapp.models.catalog import Completion
    from webapp.models.people import Learner


class RequestKind(enum.StrEnum):
    MISSING = "missing"  # credit the physician earned that is not on the transcript
    WRONG = "wrong"      # a credit on the transcript that is wrong or not reported


class RequestState(enum.StrEnum):
    OPEN = "open"          # waiting for staff: new, or the physician replied to an answer
    ANSWERED = "answered"  # staff answered last


class ReplyAuthor(enum.StrEnum):
    PHYSICIAN = "physician"
    STAFF = "staff"


class SupportRequest(Base):
    __tablename__ = "support_requests"

    id: Mapped[intpk]
    #: Shown to the physician and quoted in e-mails: ``CME-`` and six letters or digits.
    reference: Mapped[str] = mapped_column(String(16), unique=True)
    learner_id: Mapped[int] = mapped_column(ForeignKey("learners.id"), index=True)
    #: The credit it is about, for reports of a wrong credit.
    completion_id: Mapped[int | None] = mapped_column(ForeignKey("completions.id"))
    kind: Mapped[RequestKind] = mapped_column(string_enum(RequestKind))
    message: Mapped[str] = mapped_column(Text)
    state: Mapped[RequestState] = mapped_column(
        string_enum(RequestState), default=RequestState.OPEN, index=True)
    created_at: Mapped[timestamp]
    #: When staff last answered, and who (the answers themselves are in ``replies``).
    answered_at: Mapped[dt.datetime | None]
    answered_by_identity_id: Mapped[int | None] = mapped_column(ForeignKey("identities.id"))

    learner: Mapped[Learner] = relationship()
    completion: Mapped[Completion | None] = relationship()
    #: Answers and replies after the report, oldest first.
    replies: Mapped[list[SupportReply]] = relationship(
        back_populates="request", order_by="SupportReply.id", cascade="all, delete-orphan")

    @property
    def answer(self) -> str | None:
        """Staff's latest answer while it stands (the report is answered); None while the
        report waits for staff."""
        if self.state != RequestState.ANSWERED:
            return None
        answers = [r.body for r in self.replies if r.author == ReplyAuthor.STAFF]
        return answers[-1] if answers else None


class SupportReply(Base):
    """One message in a report's thread: a staff answer or the physician's reply."""

    __tablename__ = "support_replies"

    id: Mapped[intpk]
    request_id: Mapped[int] = mapped_column(ForeignKey("support_requests.id"), index=True)
    author: Mapped[ReplyAuthor] = mapped_column(string_enum(ReplyAuthor))
    #: The identity that wrote it (empty only for answers whose author was not recorded).
    identity_id: Mapped[int | None] = mapped_column(ForeignKey("identities.id"))
    body: Mapped[str] = mapped_column(Text)
    created_at: Mapped[timestamp]

    request: Mapped[SupportRequest] = relationship(back_populates="replies")
