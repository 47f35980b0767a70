"""E-mail notices: the outbox of what physicians and CME staff are told, and the e-mails
that carry it.

A ``Notice`` is one thing to tell one person (a receipt of a sharing choice, an
answered report, credit held back by a missing identifier, a rejected record, the
staff digest), written in the same transaction as the event that causes it. Its
``key`` makes it unique: the same event, or the same reminder stage, is never
noted twice. ``notify send`` gathers a recipient's due notices into at most one
``NoticeMessage`` a day (unique per recipient and day) and sends it.

The life of a message::

    ready -> sending -> sent
      ^         |  \\-> unknown (the connection dropped after the message was handed
      |         |              over, or the run sending it died: never sent again)
      +---------+ (the server refused it for now: tried again later)
                \\-> failed (refused for good, or after NOTIFY_MAX_ATTEMPTS)
"""

from __future__ import annotations

import datetime as dt
import enum
from typing import Any

from sqlalchemy import JSON, ForeignKey, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from webapp.db import Base, intpk, string_enum, timestamp, utcnow


class NoticeKind(enum.StrEnum):
    #: A sharing choice recorded by the physician or by staff on their behalf.
    CONSENT_RECEIPT = "consent_receipt"
    #: CME staff answered a physician's report.
    REPORT_ANSWERED = "report_answered"
    #: Credit started waiting for a missing identifier a deadline depends on.
    MISSING_IDENTIFIER = "missing_identifier"
    #: The same, a few days before the deadline and still missing.
    DEADLINE_NEAR = "deadline_near"
    #: PARS rejected a record.
    REJECTED = "rejected"
    #: A certifying board rejected a record.
    BOARD_REJECTED = "board_rejected"
    #: The daily digest to CME staff.
    STAFF_DIGEST = "staff_digest"

    @property
    def optional(self) -> bool:
        """Turned off with the physician's preference; receipts and answers always go."""
        return self in OPTIONAL_KINDS


OPTIONAL_KINDS = frozenset({NoticeKind.MISSING_IDENTIFIER, NoticeKind.DEADLINE_NEAR,
                            NoticeKind.REJECTED, NoticeKind.BOARD_REJECTED})


class NoticeState(enum.StrEnum):
    #: Due: goes into the recipient's next message.
    PENDING = "pending"
    #: In a message (``message_id``).
    INCLUDED = "included"
    #: Not sent: the physician turned these notices off.
    TURNED_OFF = "turned_off"
    #: Not sent: no longer true when its message was put together (fixed in time).
    OUTDATED = "outdated"


class MessageState(enum.StrEnum):
    READY = "ready"
    #: Claimed by a run, committed before the connection to the mail server is made.
    SENDING = "sending"
    SENT = "sent"
    #: Possibly delivered: never sent again automatically; CME staff see it.
    UNKNOWN = "unknown"
    #: Refused by the mail server for good, or after the most attempts.
    FAILED = "failed"


class NoticeMessage(Base):
    """One e-mail: the notices of one recipient gathered on one day."""

    __tablename__ = "notice_messages"
    __table_args__ = (UniqueConstraint("recipient", "day"),)

    id: Mapped[intpk]
    #: ``learner:<id>`` or ``staff``: one message per recipient and day.
    recipient: Mapped[str] = mapped_column(String(32))
    learner_id: Mapped[int | None] = mapped_column(ForeignKey("learners.id"), index=True)
    #: The day (in ``NOTIFY_TIMEZONE``) it was put together for.
    day: Mapped[dt.date]
    to_address: Mapped[str] = mapped_column(String(320))
    subject: Mapped[str] = mapped_column(String(300))
    text_body: Mapped[str] = mapped_column(Text)
    html_body: Mapped[str] = mapped_column(Text)
    #: The ``Message-ID`` header, the same on every attempt.
    message_id: Mapped[str] = mapped_column(String(255))
    #: The signed one-click link (``List-Unsubscribe``); None for staff.
    unsubscribe_url: Mapped[str | None] = mapped_column(Text)
    state: Mapped[MessageState] = mapped_column(string_enum(MessageState),
                                                default=MessageState.READY, index=True)
    attempts: Mapped[int] = mapped_column(default=0)
    next_attempt_at: Mapped[dt.datetime | None]
    claim_token: Mapped[str | None] = mapped_column(String(36))
    claimed_at: Mapped[dt.datetime | None]
    sent_at: Mapped[dt.datetime | None]
    #: What the mail server said when it refused, or why the outcome is unknown.
    error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[timestamp]
    updated_at: Mapped[timestamp] = mapped_column(onupdate=utcnow)


class Notice(Base):
    """One thing to tell one person. Written with the event that causes it."""

    __tablename__ = "notices"

    id: Mapped[intpk]
    #: What makes it unique, e.g. ``consent:12`` or ``deadline_near:40:PARS:2026-12-05``.
    key: Mapped[str] = mapped_column(String(200), unique=True)
    #: None for the staff digest.
    learner_id: Mapped[int | None] = mapped_column(ForeignKey("learners.id"), index=True)
    kind: Mapped[NoticeKind] = mapped_column(string_enum(NoticeKind, 32))
    #: What the notice is about, as plain values (IDs, dates, words); never identifiers.
    facts: Mapped[dict[str, Any]] = mapped_column(JSON)
    state: Mapped[NoticeState] = mapped_column(string_enum(NoticeState),
                                               default=NoticeState.PENDING, index=True)
    message_id: Mapped[int | None] = mapped_column(ForeignKey("notice_messages.id"), index=True)
    created_at: Mapped[timestamp]


class NoticePreference(Base):
    """A physician's choice about the optional notices (reminders and rejections).

    No row: the notices go (the default)."""

    __tablename__ = "notice_preferences"

    learner_id: Mapped[int] = mapped_column(ForeignKey("learners.id"), primary_key=True)
    #: E-mails about credit held back by a missing identifier, and rejected records.
    reminders: Mapped[bool]
    changed_at: Mapped[timestamp] = mapped_column(onupdate=utcnow)
    #: ``identity:<id>`` (on the profile) or ``unsubscribe-link``.
    changed_by: Mapped[str] = mapped_column(String(64))
