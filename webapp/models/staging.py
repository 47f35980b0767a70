"""The credit import's staging area."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from sqlalchemy import Index, Numeric, String
from sqlalchemy.orm import Mapped, mapped_column

from webapp.db import Base, credits, intpk, str64


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
