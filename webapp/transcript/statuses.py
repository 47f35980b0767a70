"""The delivery statuses a physician can see, in plain words, each with its FAQ answer.

The transcript shows these; ``flask faq check`` fails if any ``faq`` slug here
has no question under ``content/faq/``.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass


class Status(enum.StrEnum):
    BEFORE_START = "before_start"
    NOT_REGISTERED = "not_registered"
    NOT_PHYSICIAN = "not_physician"
    NO_CREDIT = "no_credit"
    YEAR_CLOSED = "year_closed"
    OPTED_OUT = "opted_out"
    MISSING_IDENTIFIER = "missing_identifier"
    QUEUED = "queued"
    IN_BATCH = "in_batch"
    VERIFYING = "verifying"
    SENT = "sent"
    ACCEPTED = "accepted"
    REJECTED = "rejected"
    FAILED = "failed"
    HELD = "held"
    CORRECTING = "correcting"
    REMOVED = "removed"
    RESOLVED = "resolved"
    BOARD_NOT_TAKEN = "board_not_taken"
    BOARD_PENDING = "board_pending"
    BOARD_ACCEPTED = "board_accepted"
    BOARD_REJECTED = "board_rejected"
    #: Uploaded in an Excel file: the board's decision is not seen here.
    BOARD_NOT_SEEN = "board_not_seen"


@dataclass(frozen=True)
class StatusInfo:
    #: Short label for a badge.
    label: str
    #: ``ok``, ``warn``, ``bad`` or ``info``: colour and icon only, never the sole signal.
    tone: str
    #: Slug of the FAQ question that explains it.
    faq: str


CATALOG: dict[Status, StatusInfo] = {
    Status.BEFORE_START: StatusInfo("Not reportable", "info", "credits-before-reporting-start"),
    Status.NOT_REGISTERED: StatusInfo("Not reportable yet", "warn", "activity-not-registered"),
    Status.NOT_PHYSICIAN: StatusInfo("Not reported", "info", "non-physician-credit"),
    Status.NO_CREDIT: StatusInfo("Not reportable", "info", "no-reportable-credit"),
    Status.YEAR_CLOSED: StatusInfo("Reporting year closed", "bad", "reporting-year-closed"),
    Status.OPTED_OUT: StatusInfo("Withheld", "info", "opting-out"),
    Status.MISSING_IDENTIFIER: StatusInfo("Waiting for your details", "warn", "missing-identifiers"),
    Status.QUEUED: StatusInfo("Queued", "info", "when-credit-is-sent"),
    Status.IN_BATCH: StatusInfo("Being uploaded", "info", "batch-upload"),
    Status.VERIFYING: StatusInfo("Being verified", "warn", "delivery-being-verified"),
    Status.SENT: StatusInfo("Sent", "ok", "sent-to-pars"),
    Status.ACCEPTED: StatusInfo("Accepted", "ok", "accepted-by-pars"),
    Status.REJECTED: StatusInfo("Rejected", "bad", "rejected-by-pars"),
    Status.FAILED: StatusInfo("Delivery problem", "bad", "delivery-problem"),
    Status.HELD: StatusInfo("On hold", "warn", "credit-on-hold"),
    Status.CORRECTING: StatusInfo("Correction under way", "info", "corrected-or-removed"),
    Status.REMOVED: StatusInfo("Removed", "info", "corrected-or-removed"),
    Status.RESOLVED: StatusInfo("Handled by CME staff", "info", "handled-by-staff"),
    Status.BOARD_NOT_TAKEN: StatusInfo("Not taken by the board", "info", "board-date-limits"),
    Status.BOARD_PENDING: StatusInfo("Waiting for the board", "info", "board-decision-pending"),
    Status.BOARD_ACCEPTED: StatusInfo("Accepted by the board", "ok", "board-accepted"),
    Status.BOARD_REJECTED: StatusInfo("Rejected by the board", "bad", "board-rejected"),
    Status.BOARD_NOT_SEEN: StatusInfo("Uploaded for the board", "info", "board-decision-not-shown"),
}

#: Further questions the transcript links to (besides each status's).
LINKED_QUESTIONS = ("board-30-day-deadline", "what-identifiers-are-for", "cme-passport")


def faq_slugs() -> set[str]:
    """Every FAQ question the transcript can link to."""
    return {info.faq for info in CATALOG.values()} | set(LINKED_QUESTIONS)
