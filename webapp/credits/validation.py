"""Checks for one row of the credit import file (its columns: README, "Credit import").

Messages name the column and the rule, never the value of a personal
identifier, because they end up on terminals and in tickets.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import re
from dataclasses import dataclass
from typing import Any

from email_validator import EmailNotValidError, validate_email

from webapp.boards import BOARDS, REGISTRY
from webapp.cme_credit import parse_credit
from webapp.identifiers import (
    MAX_ID_LENGTH,
    US_STATES,
    board_id_problem,
    license_number_problem,
    month_day_is_valid,
    npi_is_valid,
)
from webapp.safe_text import MESSAGE as CONTROL_MESSAGE
from webapp.safe_text import has_control_characters, printable

REQUIRED = (
    "learner_id", "first_name", "last_name", "email", "degree",
    "activity_id", "activity_title", "completion_date", "cme_credits",
)
OPTIONAL = (
    "npi", "birth_month_day", "license_state", "license_number", "accme_activity_id",
    "board", "board_id", "board_credit_type", "board_credits", "consent",
)
COLUMNS = REQUIRED + OPTIONAL

#: Columns that must be the same on every row of one learner / activity / completion.
LEARNER_COLUMNS = ("first_name", "last_name", "email", "degree", "npi", "birth_month_day", "consent")
ACTIVITY_COLUMNS = ("activity_title", "accme_activity_id")
COMPLETION_COLUMNS = ("cme_credits",)

_ACCME_ID = re.compile(r"^\d{9}$")
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_DEGREE = re.compile(r"^[A-Z][A-Z0-9-]{0,15}$")
MAX_LENGTH = {
    "learner_id": 64, "activity_id": 64, "first_name": 255, "last_name": 255, "email": 320,
    "activity_title": 500, "license_number": MAX_ID_LENGTH, "board_id": MAX_ID_LENGTH,
    "board_credit_type": 100,
}
#: Every other column holds a code, a date or a number.
DEFAULT_MAX_LENGTH = 100

#: A header longer than this is not the export (it has 19 columns); nothing else is read.
MAX_HEADER_COLUMNS = 64
#: Longest column name shown back in a message.
_SHOWN_NAME = 40


def _shown(name: str) -> str:
    return name if len(name) <= _SHOWN_NAME else name[:_SHOWN_NAME] + "…"


@dataclass(frozen=True)
class RowError:
    line: int
    column: str
    message: str

    def __str__(self) -> str:
        where = f"line {self.line}" if self.line else "file"
        text = f"{where}, {self.column}: {self.message}" if self.column else f"{where}: {self.message}"
        return printable(text)


def digest(values: tuple[Any, ...]) -> str:
    text = "\x1f".join("" if v is None else str(v) for v in values)
    return hashlib.blake2b(text.encode(), digest_size=16).hexdigest()


def check_header(header: list[str]) -> list[RowError]:
    if len(header) > MAX_HEADER_COLUMNS:
        return [RowError(1, "", f"the header has {len(header)} columns; the export has "
                         f"{len(COLUMNS)} ({', '.join(COLUMNS)})")]
    errors = []
    seen: set[str] = set()
    for name in header:
        if has_control_characters(name):
            errors.append(RowError(1, _shown(name), "column name contains a control character"))
            continue
        if name in seen:
            errors.append(RowError(1, _shown(name), "this column appears more than once"))
        elif name not in COLUMNS:
            errors.append(RowError(1, _shown(name) or "(blank)", "unknown column; expected only: "
                                   + ", ".join(COLUMNS)))
        seen.add(name)
    for name in REQUIRED:
        if name not in seen:
            errors.append(RowError(1, name, "required column is missing"))
    return errors


def check_row(line: int, cells: dict[str, str], today: dt.date) -> tuple[dict[str, Any], list[RowError]]:
    """Validate and normalise one row; returns the staging values and the errors."""
    errors: list[RowError] = []
    v: dict[str, Any] = {}

    def fail(column: str, message: str) -> None:
        errors.append(RowError(line, column, message))

    for name in COLUMNS:
        value = cells.get(name, "").strip()
        if has_control_characters(value):
            fail(name, CONTROL_MESSAGE)
            value = ""
        elif name in REQUIRED and not value:
            fail(name, "required, but blank")
        elif len(value) > MAX_LENGTH.get(name, DEFAULT_MAX_LENGTH):
            fail(name, f"longer than {MAX_LENGTH.get(name, DEFAULT_MAX_LENGTH)} characters")
            value = ""
        v[name] = value or None

    if v["email"]:
        try:
            v["email"] = validate_email(v["email"], check_deliverability=False).normalized.lower()
        except EmailNotValidError:
            fail("email", "not a valid e-mail address")
    if v["degree"]:
        v["degree"] = v["degree"].upper().replace(".", "").replace(" ", "")
        if not _DEGREE.match(v["degree"]):
            fail("degree", "expected a credential such as MD, DO, PA, NP or RN")
    if v["npi"] and not npi_is_valid(v["npi"]):
        fail("npi", "not a valid NPI: 10 digits whose last is the check digit")
    if v["birth_month_day"] and not month_day_is_valid(v["birth_month_day"]):
        fail("birth_month_day", "expected month and day as MM-DD, e.g. 04-17")
    if v["license_state"]:
        v["license_state"] = v["license_state"].upper()
        if v["license_state"] not in US_STATES:
            fail("license_state", "not a two-letter U.S. state code")
    # The same rules as the profile form (webapp.identifiers), so an import cannot store
    # what a physician could not type.
    if v["license_number"] and (problem := license_number_problem(v["license_number"])):
        fail("license_number", problem)
    refused = {e.column for e in errors}  # refused cells count as blank below, without a second error
    if bool(v["license_state"]) != bool(v["license_number"]) \
            and not refused & {"license_state", "license_number"}:
        missing = "license_number" if v["license_state"] else "license_state"
        fail(missing, "a license needs both its state and its number")
    if v["accme_activity_id"] and not _ACCME_ID.match(v["accme_activity_id"]):
        fail("accme_activity_id", "expected the 9-digit ACCME Activity ID, or blank")

    raw_date = v["completion_date"]
    if raw_date:
        try:
            if not _DATE.match(raw_date):
                raise ValueError
            v["completion_date"] = dt.date.fromisoformat(raw_date)
        except ValueError:
            fail("completion_date", f"{raw_date!r} is not a date as YYYY-MM-DD")
        else:
            if v["completion_date"] > today + dt.timedelta(days=1):
                fail("completion_date", f"{raw_date} is in the future")
    if v["cme_credits"] is not None:
        amount = parse_credit(v["cme_credits"], allow_zero=True)
        if amount is None:
            fail("cme_credits", f"{v['cme_credits']!r} is not a number ≥ 0 in steps of 0.25")
        v["cme_credits"] = amount

    board = v["board"]
    if board:
        board = v["board"] = board.upper()
        if board not in BOARDS:
            fail("board", f"unknown board {board!r}; expected one of " + ", ".join(BOARDS))
        entry = REGISTRY.get(board)
        if not v["board_credit_type"]:
            if "board_credit_type" not in refused:
                fail("board_credit_type", "required when a board is given")
        elif entry is not None and not entry.takes_credit_type(v["board_credit_type"]):
            fail("board_credit_type", f"{board} has no credit type {v['board_credit_type']!r}; "
                 "expected one of " + ", ".join(entry.credit_types))
        if not v["board_credits"] and "board_credits" not in refused:
            fail("board_credits", "required when a board is given")
        if v["board_id"] and entry is not None \
                and (problem := board_id_problem(board, v["board_id"])):
            fail("board_id", problem)
    else:
        for name in ("board_id", "board_credit_type", "board_credits"):
            if v[name]:
                fail(name, "given without a board")
    if v["board_credits"] is not None:
        amount = parse_credit(v["board_credits"], allow_zero=False)
        if amount is None:
            fail("board_credits", f"{v['board_credits']!r} is not a number > 0 in steps of 0.25")
        v["board_credits"] = amount

    consent = (v["consent"] or "").lower()
    if consent not in ("", "yes", "no"):
        fail("consent", "expected yes, no or blank")
    v["consent"] = {"yes": True, "no": False}.get(consent)

    v["learner_digest"] = digest(tuple(v[c] for c in LEARNER_COLUMNS))
    v["activity_digest"] = digest(tuple(v[c] for c in ACTIVITY_COLUMNS))
    v["completion_digest"] = digest(tuple(v[c] for c in COMPLETION_COLUMNS))
    return v, errors
