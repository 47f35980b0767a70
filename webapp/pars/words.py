"""Plain words for timeline entries. Never personal identifiers."""

from __future__ import annotations

from webapp.pars.codes import rejection
from webapp.pars.eligibility import Blocker

BLOCKERS: dict[Blocker, str] = {
    Blocker.BEFORE_START: "it was completed before the reporting start date",
    Blocker.NOT_REGISTERED: "the activity is not registered with PARS",
    Blocker.NOT_PHYSICIAN: "the learner is not a physician (MD, DO or an equivalent degree)",
    Blocker.YEAR_CLOSED: "PARS has closed the reporting year",
    Blocker.OPTED_OUT: "the physician has not given permission to share it",
    Blocker.MISSING_BIRTH_DATE: "the birth month and day are missing",
    Blocker.MISSING_LICENSE_OR_NPI: "a license or NPI is missing",
    Blocker.MISSING_BOARD_ID: "a certifying board ID is missing",
}


def blocker(code: str | Blocker | None) -> str:
    if code is None:
        return "it cannot be sent now"
    try:
        return BLOCKERS[Blocker(code)]
    except ValueError:
        return "it cannot be sent now"


def rejected(code: str | None) -> str:
    text = rejection(code).meaning
    return f"Rejected by PARS ({code}): {text}" if code else f"Rejected by PARS: {text}"
