"""The audit log."""

from __future__ import annotations

from typing import Any

from sqlalchemy import JSON, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from webapp.db import Base, intpk, str64, timestamp


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
