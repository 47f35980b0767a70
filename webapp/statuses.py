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
    BOARD_PENDING = "board_pending"
    BOARD_ACCEPTED = "board_accepted"
    BOARD_REJECTED = "board_rejected"


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
    Status.BOARD_PENDING: StatusInfo("Waiting for the board", "info", "board-decision-pending"),
    Status.BOARD_ACCEPTED: StatusInfo("Accepted by the board", "ok", "board-accepted"),
    Status.BOARD_REJECTED: StatusInfo("Rejected by the board", "bad", "board-rejected"),
}

#: Further questions the transcript links to (besides each status's).
LINKED_QUESTIONS = ("board-30-day-deadline", "what-identifiers-are-for", "cme-passport")


@dataclass(frozen=True)
class Rejection:
    #: What happened, in words a physician understands.
    meaning: str
    #: What to do about it, and who.
    action: str
    #: Whether the physician can fix it (else CME staff will).
    physician_can_fix: bool


#: PARS and board rejection codes, explained. Unknown codes fall back to ``DEFAULT_REJECTION``.
REJECTIONS: dict[str, Rejection] = {
    "LEARNER_NOT_MATCHED": Rejection(
        "PARS could not match your name, birth date and license or NPI to a physician.",
        "Check your birth month and day, license and NPI on your profile; once you save a "
        "correction, your credit is sent again. If your name is wrong, contact CME support.",
        True),
    "MISSING_IDENTIFIER": Rejection(
        "PARS needs an identifier that was missing from the record.",
        "Add the missing detail on your profile; your credit is then sent again.", True),
    "BOARD_ID_MISMATCH": Rejection(
        "Your certifying board could not match the board ID on the record.",
        "Check your board ID on your profile; after you correct it, the credit is sent again.",
        True),
    "INVALID_ACTIVITY_ID": Rejection(
        "The activity's PARS registration number was not recognised.",
        "Nothing for you to do: CME staff correct the activity and send your credit again.",
        False),
    "ACTIVITY_NOT_REGISTERED": Rejection(
        "The activity is not (yet) registered with PARS.",
        "Nothing for you to do: CME staff register the activity and send your credit again.",
        False),
    "INVALID_CREDIT_AMOUNT": Rejection(
        "PARS did not accept the amount of credit on the record.",
        "Nothing for you to do: CME staff review the credit and send it again.", False),
    "REPORTING_YEAR_CLOSED": Rejection(
        "PARS no longer accepts credit for that year.",
        "Contact CME support: the credit stays on this transcript, which you can download "
        "for your licensing board.", False),
    "DUPLICATE_CREDIT_ID": Rejection(
        "PARS already holds this record.",
        "Nothing for you to do: CME staff check that it appears once.", False),
    "UNKNOWN_CREDIT_ID": Rejection(
        "PARS did not hold the record that was to be removed.",
        "Nothing for you to do: CME staff review it.", False),
    "NOT_DELIVERED": Rejection(
        "PARS did not receive the record after several tries.",
        "Nothing for you to do: CME staff have been alerted and will send it again.", False),
    "MALFORMED": Rejection(
        "PARS could not read the record as it was sent.",
        "Nothing for you to do: CME staff correct it and send it again.", False),
    "NOT_FOUND_IN_PARS": Rejection(
        "PARS no longer holds a record it had accepted.",
        "Nothing for you to do: CME staff check it and send it again if needed.", False),
}
DEFAULT_REJECTION = Rejection(
    "PARS did not accept the record.",
    "Nothing for you to do now: CME staff review every rejection and will contact you if "
    "they need anything.", False)


def rejection(code: str | None) -> Rejection:
    return REJECTIONS.get(code or "", DEFAULT_REJECTION)


def faq_slugs() -> set[str]:
    """Every FAQ question the transcript can link to."""
    return {info.faq for info in CATALOG.values()} | set(LINKED_QUESTIONS)
