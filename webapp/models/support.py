"""Physicians' reports of missing or wrong credit, answered by CME staff."""

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
    OPEN = "open"
    ANSWERED = "answered"


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
    answer: Mapped[str | None] = mapped_column(Text)
    answered_at: Mapped[dt.datetime | None]
    answered_by_identity_id: Mapped[int | None] = mapped_column(ForeignKey("identities.id"))

    learner: Mapped[Learner] = relationship()
    completion: Mapped[Completion | None] = relationship()
