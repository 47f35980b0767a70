"""Activities and the credit physicians earned in them."""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING

from sqlalchemy import ForeignKey, Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from webapp.db import Base, credits, intpk, str64, timestamp, utcnow

if TYPE_CHECKING:
    from webapp.models.delivery import Delivery
    from webapp.models.people import Learner


class Activity(Base):
    """A CME activity of the provider."""

    __tablename__ = "activities"

    id: Mapped[intpk]
    #: The provider's learning system's key (``activity_id`` in imports).
    source_id: Mapped[str64] = mapped_column(unique=True)
    title: Mapped[str] = mapped_column(String(500))
    #: The 9-digit ID PARS assigned at registration; None while not registered.
    accme_activity_id: Mapped[str | None] = mapped_column(String(9), index=True)
    created_at: Mapped[timestamp]
    updated_at: Mapped[timestamp] = mapped_column(onupdate=utcnow)

    completions: Mapped[list[Completion]] = relationship(back_populates="activity")


class Completion(Base):
    """A learner's completion of an activity on a day, with its credit."""

    __tablename__ = "completions"
    __table_args__ = (
        UniqueConstraint("learner_id", "activity_id", "completion_date"),
        Index("ix_completions_learner_date", "learner_id", "completion_date"),
    )

    id: Mapped[intpk]
    learner_id: Mapped[int] = mapped_column(ForeignKey("learners.id"))
    activity_id: Mapped[int] = mapped_column(ForeignKey("activities.id"), index=True)
    completion_date: Mapped[dt.date]
    #: AMA PRA Category 1 Credit.
    cme_credits: Mapped[credits]
    #: Raised on every change to the credit; a reported record older than it is corrected.
    revision: Mapped[int] = mapped_column(default=1)
    created_at: Mapped[timestamp]
    updated_at: Mapped[timestamp] = mapped_column(onupdate=utcnow)

    learner: Mapped[Learner] = relationship(back_populates="completions")
    activity: Mapped[Activity] = relationship(back_populates="completions")
    board_credits: Mapped[list[BoardCredit]] = relationship(
        back_populates="completion",
        cascade="all, delete-orphan",
        order_by="(BoardCredit.board, BoardCredit.credit_type)",
    )
    deliveries: Mapped[list[Delivery]] = relationship(
        back_populates="completion", order_by="Delivery.id"
    )

    @property
    def boards(self) -> list[str]:
        return sorted({line.board for line in self.board_credits})


class BoardCredit(Base):
    """MOC credit of one type that a completion earns with a certifying board."""

    __tablename__ = "board_credits"
    __table_args__ = (UniqueConstraint("completion_id", "board", "credit_type"),)

    id: Mapped[intpk]
    completion_id: Mapped[int] = mapped_column(
        ForeignKey("completions.id", ondelete="CASCADE"), index=True
    )
    board: Mapped[str] = mapped_column(String(8))
    #: The board's credit type, e.g. ``Medical Knowledge`` or ``Self-Assessment``.
    credit_type: Mapped[str] = mapped_column(String(100))
    credits: Mapped[credits]

    completion: Mapped[Completion] = relationship(back_populates="board_credits")
