"""The PARS outbox: what is to be reported, what was, and how it went.

A ``Delivery`` is one learner record action (``add`` or ``delete``) for one
completion, under a CreditID that is never reused. PARS cannot edit a record,
so a correction is a ``delete`` of the reported CreditID followed by an
``add`` under a new CreditID that waits for the delete (``depends_on``).

The life of an ``add``::

    waiting <-> queued -> sending -> accepted | rejected
                  ^          |
                  |          v
                  +------ unknown (settled by status look-up: 404 -> queued,
                  |                found -> accepted)
                  +------ exported (Excel) -> accepted | rejected (staff record PARS's
                                                   answer to the uploaded file)

A completion has at most one *live* add (any state but cancelled or removed);
``sequence`` numbers its adds and is unique per completion and action, so two
planners cannot both queue one.
"""

from __future__ import annotations

import datetime as dt
import enum
from typing import TYPE_CHECKING, Any

from sqlalchemy import JSON, Enum, ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from webapp.db import Base, intpk, timestamp, utcnow

if TYPE_CHECKING:
    from webapp.models.catalog import Completion


def _enum(cls: type[enum.Enum], length: int = 16) -> Enum:
    # Stored as plain strings (no native enum type), so adding a value is a code change only.
    return Enum(
        cls, native_enum=False, length=length, values_callable=lambda e: [m.value for m in e]
    )


class Action(enum.StrEnum):
    ADD = "add"
    DELETE = "delete"


class DeliveryState(enum.StrEnum):
    #: Waiting for its turn; eligibility is checked again when it is claimed.
    QUEUED = "queued"
    #: Held back by the physician: opted out, or an identifier PARS needs is missing
    #: (``error_code`` holds the eligibility blocker). Queued again when that changes.
    WAITING = "waiting"
    #: Claimed by a transmit run (committed before the request is made); if the run
    #: died, the outcome is unknown and is settled by status look-up.
    SENDING = "sending"
    #: Sent, no definite answer (timeout, 5xx, crash): settle by status look-up first.
    UNKNOWN = "unknown"
    #: Written to an Excel batch that staff have not yet confirmed uploading.
    EXPORTED = "exported"
    #: Uploaded by staff in an Excel batch confirmed before the portal recorded PARS's
    #: answer to each row. No transition leads here any more: a batch confirmed now makes
    #: its records ``accepted`` or ``rejected``. Kept for the records that got here.
    SENT = "sent"
    ACCEPTED = "accepted"
    REJECTED = "rejected"
    #: Retried until the limit; needs a person.
    FAILED = "failed"
    #: Put on hold by staff.
    HELD = "held"
    #: Will not be sent (superseded before sending, no longer reportable, or resolved
    #: by staff: then ``resolution_note`` says how). A cancelled delete (only ever
    #: resolved by staff) no longer holds back the add that depends on it.
    CANCELLED = "cancelled"
    #: An accepted ``add`` that a later ``delete`` removed from PARS.
    REMOVED = "removed"

    # The classes of states, defined once in ``STATE_CLASSES`` below.

    @property
    def classes(self) -> frozenset[StateClass]:
        return STATE_CLASSES[self]

    @property
    def undelivered(self) -> bool:
        return StateClass.UNDELIVERED in STATE_CLASSES[self]

    @property
    def in_flight(self) -> bool:
        return StateClass.IN_FLIGHT in STATE_CLASSES[self]

    @property
    def needs_attention(self) -> bool:
        return StateClass.NEEDS_ATTENTION in STATE_CLASSES[self]

    @property
    def reported(self) -> bool:
        return StateClass.REPORTED in STATE_CLASSES[self]

    @property
    def settled(self) -> bool:
        return StateClass.SETTLED in STATE_CLASSES[self]

    @property
    def gone(self) -> bool:
        return StateClass.GONE in STATE_CLASSES[self]

    @classmethod
    def of_class(cls, state_class: StateClass) -> frozenset[DeliveryState]:
        """Every state of a class, e.g. for ``Delivery.state.in_(...)``."""
        return frozenset(s for s in cls if state_class in STATE_CLASSES[s])


class StateClass(enum.StrEnum):
    """What a state means for the people and rules that read it."""

    #: Not (yet) in PARS and not given up: a deadline still matters. Every state is
    #: either undelivered or settled.
    UNDELIVERED = "undelivered"
    #: The record's own journey is over (a delete in such a state no longer holds
    #: back the add that replaces the record).
    SETTLED = "settled"
    #: Possibly in PARS or on its way there; the outcome is not known yet.
    IN_FLIGHT = "in_flight"
    #: A person must act (CME staff, or the physician for their identifiers).
    NEEDS_ATTENTION = "needs_attention"
    #: In PARS (accepted) or uploaded to it by staff.
    REPORTED = "reported"
    #: An add in such a state is not, and never will be, in PARS under its CreditID.
    GONE = "gone"


_U, _S = StateClass.UNDELIVERED, StateClass.SETTLED
#: The one definition of every state's classes. ``tests/pars/test_lifecycle.py`` fails
#: when a state is missing here, in the transcript's statuses, the staff console's
#: labels or ``pars status``.
STATE_CLASSES: dict[DeliveryState, frozenset[StateClass]] = {
    DeliveryState.QUEUED: frozenset({_U}),
    DeliveryState.WAITING: frozenset({_U}),
    DeliveryState.HELD: frozenset({_U}),
    DeliveryState.SENDING: frozenset({_U, StateClass.IN_FLIGHT}),
    DeliveryState.UNKNOWN: frozenset({_U, StateClass.IN_FLIGHT}),
    DeliveryState.EXPORTED: frozenset({_U, StateClass.IN_FLIGHT}),
    DeliveryState.REJECTED: frozenset({_U, StateClass.NEEDS_ATTENTION}),
    DeliveryState.FAILED: frozenset({_U, StateClass.NEEDS_ATTENTION}),
    DeliveryState.ACCEPTED: frozenset({_S, StateClass.REPORTED}),
    DeliveryState.SENT: frozenset({_S, StateClass.REPORTED}),
    DeliveryState.CANCELLED: frozenset({_S, StateClass.GONE}),
    DeliveryState.REMOVED: frozenset({_S, StateClass.GONE}),
}

#: States in which the record may be in PARS or on its way there.
IN_FLIGHT = DeliveryState.of_class(StateClass.IN_FLIGHT)
#: States that need a person.
NEEDS_ATTENTION = DeliveryState.of_class(StateClass.NEEDS_ATTENTION)
#: Not (yet) in PARS, so a deadline still matters.
UNDELIVERED = DeliveryState.of_class(StateClass.UNDELIVERED)
#: Done: nothing more happens to the record unless PARS or staff change it.
SETTLED = DeliveryState.of_class(StateClass.SETTLED)
#: A reported add: in PARS (or uploaded to it by staff).
REPORTED = DeliveryState.of_class(StateClass.REPORTED)
#: Adds in these states are not (and will not be) in PARS under their CreditID.
GONE = DeliveryState.of_class(StateClass.GONE)


class EventKind(enum.StrEnum):
    """What a timeline entry records."""

    QUEUED = "queued"
    WAITING = "waiting"
    REQUEUED = "requeued"
    UPDATED = "updated"
    CORRECTING = "correcting"
    UNKNOWN = "unknown"
    EXPORTED = "exported"
    SENT = "sent"
    ACCEPTED = "accepted"
    REJECTED = "rejected"
    FAILED = "failed"
    REMOVED = "removed"
    CANCELLED = "cancelled"
    RETRIED = "retried"
    HELD = "held"
    RELEASED = "released"
    RESOLVED = "resolved"
    WARNING = "warning"
    BOARD_ACCEPTED = "board_accepted"
    BOARD_REJECTED = "board_rejected"


class BoardDecision(enum.StrEnum):
    """A certifying board's answer on a reported record, as PARS relays it."""

    PENDING = "pending"
    ACCEPTED = "accepted"
    REJECTED = "rejected"


class RunKind(enum.StrEnum):
    TRANSMIT = "transmit"
    SYNC = "sync"
    EXPORT = "export"


class RunOutcome(enum.StrEnum):
    RUNNING = "running"
    #: Everything due was delivered or is legitimately held back.
    OK = "ok"
    #: Records need a person (rejected or failed in this run).
    ATTENTION = "attention"
    #: PARS failed or was slow; the next run finishes the work.
    INCOMPLETE = "incomplete"
    #: Stopped on purpose: credentials, address or configuration.
    STOPPED = "stopped"
    #: Ended by an unexpected error, or found dead (no heartbeat, process gone).
    FAILED = "failed"


class BatchKind(enum.StrEnum):
    WEB = "web"
    EXCEL = "excel"


class BatchState(enum.StrEnum):
    #: Web service: posted. Excel: the file was written, awaiting upload by staff.
    OPEN = "open"
    CONFIRMED = "confirmed"
    CANCELLED = "cancelled"


class Delivery(Base):
    __tablename__ = "deliveries"
    __table_args__ = (
        UniqueConstraint("credit_id", "action"),
        UniqueConstraint("completion_id", "action", "sequence"),
        #: The claim's order: queued records, earliest deadline first.
        Index("ix_deliveries_state_due", "state", "due_date", "id"),
    )

    id: Mapped[intpk]
    completion_id: Mapped[int] = mapped_column(ForeignKey("completions.id"), index=True)
    action: Mapped[Action] = mapped_column(_enum(Action, 8))
    #: 1 for a completion's first add, 2 for the add that replaced it, ...; a delete
    #: carries the sequence of the add it removes.
    sequence: Mapped[int] = mapped_column(default=1, server_default="1")
    #: The ``Completion.revision`` this record reports; a reported add older than the
    #: completion is corrected.
    completion_revision: Mapped[int] = mapped_column(default=1, server_default="1")
    #: ``ccid:<provider id>:<uuid>``; a delete carries the CreditID it removes.
    credit_id: Mapped[str] = mapped_column(String(300))
    state: Mapped[DeliveryState] = mapped_column(_enum(DeliveryState), default=DeliveryState.QUEUED)
    #: For a delete: the accepted add it removes.
    withdraws_id: Mapped[int | None] = mapped_column(ForeignKey("deliveries.id"))
    #: Not to be sent before this delivery (the delete of the record it replaces) is done.
    depends_on_id: Mapped[int | None] = mapped_column(ForeignKey("deliveries.id"))
    #: The date by which it should be in PARS: 30 days after completion for board
    #: credit, otherwise the close of the PARS reporting year. Earliest goes first.
    due_date: Mapped[dt.date]
    has_board_credit: Mapped[bool] = mapped_column(default=False)
    attempts: Mapped[int] = mapped_column(default=0)
    #: Not before this time (backoff after a failure).
    next_attempt_at: Mapped[dt.datetime | None]
    #: The claim that holds the record while it is being sent or settled; every
    #: write after the request is conditional on it.
    claim_token: Mapped[str | None] = mapped_column(String(36))
    #: The run that made the claim: when that run is gone, the claim is stale.
    claim_run_id: Mapped[int | None] = mapped_column(ForeignKey("engine_runs.id"))
    claimed_at: Mapped[dt.datetime | None]
    sent_at: Mapped[dt.datetime | None]
    #: When PARS's answer became definite (accepted, rejected, removed).
    settled_at: Mapped[dt.datetime | None]
    batch_id: Mapped[int | None] = mapped_column(ForeignKey("batches.id"), index=True)
    #: Excel route: the first row of the batch's file that holds this record (data rows
    #: start at 3; a record with credit for several boards has one row per board, in a
    #: run). None for web-service records and for files written before rows were kept.
    batch_row: Mapped[int | None]
    #: Exactly what was sent, to detect a later change that needs a correction.
    sent_payload: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    error_code: Mapped[str | None] = mapped_column(String(64))
    error_message: Mapped[str | None] = mapped_column(Text)
    #: Staff note when a record that needed attention was resolved by hand.
    resolution_note: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[timestamp]
    updated_at: Mapped[timestamp] = mapped_column(onupdate=utcnow)

    completion: Mapped[Completion] = relationship(back_populates="deliveries")
    events: Mapped[list[DeliveryEvent]] = relationship(
        back_populates="delivery", order_by="DeliveryEvent.id"
    )
    board_statuses: Mapped[list[BoardStatus]] = relationship(
        back_populates="delivery", order_by="BoardStatus.board"
    )
    batch: Mapped[Batch | None] = relationship(back_populates="deliveries")


class DeliveryEvent(Base):
    """One step in a delivery's history, shown as its timeline. Only ever added."""

    __tablename__ = "delivery_events"

    id: Mapped[intpk]
    delivery_id: Mapped[int] = mapped_column(ForeignKey("deliveries.id"), index=True)
    at: Mapped[timestamp]
    kind: Mapped[EventKind] = mapped_column(_enum(EventKind, 32))
    #: Plain words for people; never personal identifiers.
    detail: Mapped[str | None] = mapped_column(Text)
    run_id: Mapped[int | None] = mapped_column(ForeignKey("engine_runs.id"))

    delivery: Mapped[Delivery] = relationship(back_populates="events")


class BoardStatus(Base):
    """A certifying board's decision on a reported record, as PARS relays it."""

    __tablename__ = "board_statuses"
    __table_args__ = (UniqueConstraint("delivery_id", "board"),)

    id: Mapped[intpk]
    delivery_id: Mapped[int] = mapped_column(ForeignKey("deliveries.id"))
    board: Mapped[str] = mapped_column(String(8))
    status: Mapped[BoardDecision] = mapped_column(_enum(BoardDecision))
    message: Mapped[str | None] = mapped_column(Text)
    updated_at: Mapped[timestamp] = mapped_column(onupdate=utcnow)

    delivery: Mapped[Delivery] = relationship(back_populates="board_statuses")


class Batch(Base):
    """Records sent together: one web-service post, or one Excel file for staff to upload."""

    __tablename__ = "batches"

    id: Mapped[intpk]
    kind: Mapped[BatchKind] = mapped_column(_enum(BatchKind, 8))
    state: Mapped[BatchState] = mapped_column(_enum(BatchState), default=BatchState.OPEN)
    record_count: Mapped[int] = mapped_column(default=0)
    #: Excel: the data rows in the file (rows 3 to 2 + row_count); None for web-service
    #: batches and for files written before rows were kept.
    row_count: Mapped[int | None]
    file_name: Mapped[str | None] = mapped_column(String(255))
    created_at: Mapped[timestamp]
    #: ``cli`` or ``identity:<id>``.
    created_by: Mapped[str | None] = mapped_column(String(64))
    confirmed_at: Mapped[dt.datetime | None]
    confirmed_by: Mapped[str | None] = mapped_column(String(64))
    cancelled_at: Mapped[dt.datetime | None]
    cancelled_by: Mapped[str | None] = mapped_column(String(64))
    run_id: Mapped[int | None] = mapped_column(ForeignKey("engine_runs.id"))

    deliveries: Mapped[list[Delivery]] = relationship(back_populates="batch")


class EngineRun(Base):
    """One run of ``pars transmit``, ``pars sync`` or ``pars export``."""

    __tablename__ = "engine_runs"

    id: Mapped[intpk]
    kind: Mapped[RunKind] = mapped_column(_enum(RunKind))
    started_at: Mapped[timestamp]
    finished_at: Mapped[dt.datetime | None]
    outcome: Mapped[RunOutcome] = mapped_column(_enum(RunOutcome), default=RunOutcome.RUNNING)
    summary: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    message: Mapped[str | None] = mapped_column(Text)
    host: Mapped[str | None] = mapped_column(String(255))
    #: Process ID on ``host``: a run whose process is gone left its claims stale.
    pid: Mapped[int | None]
    #: Refreshed while the run works; a run silent for too long is taken for dead.
    heartbeat_at: Mapped[dt.datetime | None]
    updated_at: Mapped[timestamp] = mapped_column(onupdate=utcnow)
