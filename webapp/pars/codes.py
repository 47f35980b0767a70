"""PARS's rejection codes and the engine's own failure codes, each explained in plain words.

``Delivery.error_code`` holds one of these, an eligibility ``Blocker`` value for
a record that waits, or a code PARS sent that this list does not know yet
(explained by ``DEFAULT_REJECTION``).
"""

from __future__ import annotations

import enum
from dataclasses import dataclass


class ParsCode(enum.StrEnum):
    """Codes PARS answers with, per record."""

    LEARNER_NOT_MATCHED = "LEARNER_NOT_MATCHED"
    MISSING_IDENTIFIER = "MISSING_IDENTIFIER"
    BOARD_ID_MISMATCH = "BOARD_ID_MISMATCH"
    INVALID_ACTIVITY_ID = "INVALID_ACTIVITY_ID"
    ACTIVITY_NOT_REGISTERED = "ACTIVITY_NOT_REGISTERED"
    INVALID_CREDIT_AMOUNT = "INVALID_CREDIT_AMOUNT"
    DUPLICATE_CREDIT_ID = "DUPLICATE_CREDIT_ID"
    UNKNOWN_CREDIT_ID = "UNKNOWN_CREDIT_ID"
    MALFORMED = "MALFORMED"


class EngineCode(enum.StrEnum):
    """Codes the engine records itself."""

    #: PARS did not take it after ``PARS_MAX_ATTEMPTS`` sends.
    NOT_DELIVERED = "NOT_DELIVERED"
    #: PARS no longer finds a record it had accepted.
    NOT_FOUND_IN_PARS = "NOT_FOUND_IN_PARS"
    #: The PARS reporting year closed before the record was sent.
    REPORTING_YEAR_CLOSED = "REPORTING_YEAR_CLOSED"
    #: PARS refused the record without a code of its own.
    REJECTED = "REJECTED"
    #: PARS refused the record's row in an Excel file staff uploaded; its message, as
    #: staff copied it from PARS's upload report, is the record's ``error_message``.
    EXCEL_ROW_REJECTED = "EXCEL_ROW_REJECTED"
    #: Not sent: the physician's credit for one day is over the board's daily cap.
    BOARD_DAILY_CAP = "BOARD_DAILY_CAP"
    #: Not sent: learners of the activity have different points with a board that
    #: gives every learner the same.
    BOARD_UNEQUAL_POINTS = "BOARD_UNEQUAL_POINTS"


#: Rejections that a change of the physician's details can fix.
IDENTIFIER_CODES = frozenset({ParsCode.LEARNER_NOT_MATCHED, ParsCode.MISSING_IDENTIFIER,
                              ParsCode.BOARD_ID_MISMATCH})


@dataclass(frozen=True)
class Rejection:
    #: What happened, in words a physician understands.
    meaning: str
    #: What to do about it, and who.
    action: str
    #: Whether the physician can fix it (else CME staff will).
    physician_can_fix: bool


#: PARS and engine codes, explained. Unknown codes fall back to ``DEFAULT_REJECTION``.
REJECTIONS: dict[str, Rejection] = {
    ParsCode.LEARNER_NOT_MATCHED: Rejection(
        "PARS could not match your name, birth date and license or NPI to a physician.",
        "Check your birth month and day, license and NPI on your profile; once you save a "
        "correction, your credit is sent again. If your name is wrong, contact CME support.",
        True),
    ParsCode.MISSING_IDENTIFIER: Rejection(
        "PARS needs an identifier that was missing from the record.",
        "Add the missing detail on your profile; your credit is then sent again.", True),
    ParsCode.BOARD_ID_MISMATCH: Rejection(
        "Your certifying board could not match the board ID on the record.",
        "Check your board ID on your profile; after you correct it, the credit is sent again.",
        True),
    ParsCode.INVALID_ACTIVITY_ID: Rejection(
        "The activity's PARS registration number was not recognised.",
        "Nothing for you to do: CME staff correct the activity and send your credit again.",
        False),
    ParsCode.ACTIVITY_NOT_REGISTERED: Rejection(
        "The activity is not (yet) registered with PARS.",
        "Nothing for you to do: CME staff register the activity and send your credit again.",
        False),
    ParsCode.INVALID_CREDIT_AMOUNT: Rejection(
        "PARS did not accept the amount of credit on the record.",
        "Nothing for you to do: CME staff review the credit and send it again.", False),
    EngineCode.REPORTING_YEAR_CLOSED: Rejection(
        "PARS no longer accepts credit for that year.",
        "Contact CME support: the credit stays on this transcript, which you can download "
        "for your licensing board.", False),
    ParsCode.DUPLICATE_CREDIT_ID: Rejection(
        "PARS already holds this record.",
        "Nothing for you to do: CME staff check that it appears once.", False),
    ParsCode.UNKNOWN_CREDIT_ID: Rejection(
        "PARS did not hold the record that was to be removed.",
        "Nothing for you to do: CME staff review it.", False),
    EngineCode.NOT_DELIVERED: Rejection(
        "PARS did not receive the record after several tries.",
        "Nothing for you to do: it is on CME staff's list of records that need attention, and "
        "they send it again.", False),
    ParsCode.MALFORMED: Rejection(
        "PARS could not read the record as it was sent.",
        "Nothing for you to do: CME staff correct it and send it again.", False),
    EngineCode.EXCEL_ROW_REJECTED: Rejection(
        "PARS did not accept this credit when CME staff uploaded it in a file.",
        "Nothing for you to do now: CME staff read PARS's reason, correct what is needed and "
        "send the credit again. If one of your details must change, they will tell you.",
        False),
    EngineCode.NOT_FOUND_IN_PARS: Rejection(
        "PARS no longer holds a record it had accepted.",
        "Nothing for you to do: CME staff check it and send it again if needed.", False),
    EngineCode.BOARD_DAILY_CAP: Rejection(
        "The certifying board takes no more than a set amount of credit earned on one day, "
        "and this day's credit is over it, so it was not sent.",
        "Nothing for you to do: CME staff review the credit for that day.", False),
    EngineCode.BOARD_UNEQUAL_POINTS: Rejection(
        "The certifying board gives every learner of an activity the same points, and the "
        "activity's records differ, so it was not sent.",
        "Nothing for you to do: CME staff correct the activity's credit.", False),
}
DEFAULT_REJECTION = Rejection(
    "PARS did not accept the record.",
    "Nothing for you to do now: CME staff review every rejection and will contact you if "
    "they need anything.", False)


def rejection(code: str | None) -> Rejection:
    return REJECTIONS.get(code or "", DEFAULT_REJECTION)
