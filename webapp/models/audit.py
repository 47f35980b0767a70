"""The audit log and the import staging area."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from sqlalchemy import JSON, Index, Numeric, String
from sqlalchemy.orm import Mapped, mapped_column

from webapp.db import Base, credits, intpk, str64, timestamp


class AuditEvent(Base):
    """Who did what, when. Only ever added; details never hold personal identifiers."""

    __tablename__ = "audit_events"
    __table_args__ = (Index("ix_audit_events_subject", "subject_type", "subject_id"),)

    id: Mapped[intpk]
    at: Mapped[timestamp] = mapped_column(index=True)
    #: ``identity:<id>``, ``cli``, ``import`` or ``system``.
    actor: Mapped[str64]
    #: Dotted verb, e.g. ``consent.withdrawn``, ``auth.login_failed``.
    action: Mapped[str64] = mapped_column(index=True)
    subject_type: Mapped[str | None] = mapped_column(String(32))
    subject_id: Mapped[str | None] = mapped_column(String(64))
    details: Mapped[dict[str, Any] | None] = mapped_column(JSON)


class ImportRow(Base):
    """A validated row of an import in progress, checked against the others in SQL.

    Rows live only inside the import's transaction, so memory stays flat however
    large the file; a rejected import leaves none behind.
    """

    __tablename__ = "import_rows"
    __table_args__ = (
        Index("ix_import_rows_learner", "import_key", "learner_id"),
        Index("ix_import_rows_completion", "import_key", "learner_id", "activity_id",
              "completion_date"),
    )

    id: Mapped[intpk]
    import_key: Mapped[str] = mapped_column(String(36))
    line: Mapped[int]
    learner_id: Mapped[str64]
    first_name: Mapped[str] = mapped_column(String(255))
    last_name: Mapped[str] = mapped_column(String(255))
    email: Mapped[str] = mapped_column(String(320))
    degree: Mapped[str] = mapped_column(String(16))
    npi: Mapped[str | None] = mapped_column(String(10))
    birth_month_day: Mapped[str | None] = mapped_column(String(5))
    license_state: Mapped[str | None] = mapped_column(String(2))
    license_number: Mapped[str | None] = mapped_column(String(64))
    activity_id: Mapped[str64]
    activity_title: Mapped[str] = mapped_column(String(500))
    accme_activity_id: Mapped[str | None] = mapped_column(String(9))
    completion_date: Mapped[dt.date]
    cme_credits: Mapped[credits]
    board: Mapped[str | None] = mapped_column(String(8))
    board_id: Mapped[str | None] = mapped_column(String(64))
    board_credit_type: Mapped[str | None] = mapped_column(String(100))
    board_credits: Mapped[Decimal | None] = mapped_column(Numeric(6, 2))
    consent: Mapped[bool | None]
    #: Digests of the columns that must agree across rows of one learner, activity, completion.
    learner_digest: Mapped[str] = mapped_column(String(32))
    activity_digest: Mapped[str] = mapped_column(String(32))
    completion_digest: Mapped[str] = mapped_column(String(32))
