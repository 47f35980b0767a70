"""What PARS matches a physician on: NPI, birth month and day, state license."""

from __future__ import annotations

import re

from webapp.boards import board

#: States and territories that license physicians (two-letter postal codes).
US_STATES = frozenset(
    "AL AK AZ AR CA CO CT DE DC FL GA HI ID IL IN IA KS KY LA ME MD MA MI MN MS MO MT NE NV NH "
    "NJ NM NY NC ND OH OK OR PA RI SC SD TN TX UT VT VA WA WV WI WY PR GU VI AS MP".split()
)

#: Each code's full name, as ACCME's Excel learner file spells a licensing state.
STATE_NAMES: dict[str, str] = {
    "AL": "Alabama", "AK": "Alaska", "AZ": "Arizona", "AR": "Arkansas", "CA": "California",
    "CO": "Colorado", "CT": "Connecticut", "DE": "Delaware", "DC": "District of Columbia",
    "FL": "Florida", "GA": "Georgia", "HI": "Hawaii", "ID": "Idaho", "IL": "Illinois",
    "IN": "Indiana", "IA": "Iowa", "KS": "Kansas", "KY": "Kentucky", "LA": "Louisiana",
    "ME": "Maine", "MD": "Maryland", "MA": "Massachusetts", "MI": "Michigan", "MN": "Minnesota",
    "MS": "Mississippi", "MO": "Missouri", "MT": "Montana", "NE": "Nebraska", "NV": "Nevada",
    "NH": "New Hampshire", "NJ": "New Jersey", "NM": "New Mexico", "NY": "New York",
    "NC": "North Carolina", "ND": "North Dakota", "OH": "Ohio", "OK": "Oklahoma",
    "OR": "Oregon", "PA": "Pennsylvania", "RI": "Rhode Island", "SC": "South Carolina",
    "SD": "South Dakota", "TN": "Tennessee", "TX": "Texas", "UT": "Utah", "VT": "Vermont",
    "VA": "Virginia", "WA": "Washington", "WV": "West Virginia", "WI": "Wisconsin",
    "WY": "Wyoming", "PR": "Puerto Rico", "GU": "Guam", "VI": "U.S. Virgin Islands",
    "AS": "American Samoa", "MP": "Northern Mariana Islands",
}

_NPI_RE = re.compile(r"^\d{10}$")
_MONTH_DAY_RE = re.compile(r"^(\d{2})-(\d{2})$")
_DAYS_IN_MONTH = (31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31)


def luhn_check_digit(digits: str) -> int:
    """The Luhn check digit for a string of digits."""
    total = 0
    for i, ch in enumerate(reversed(digits)):
        d = int(ch)
        if i % 2 == 0:  # doubled, counting from the digit next to the check digit
            d *= 2
            if d > 9:
                d -= 9
        total += d
    return (10 - total % 10) % 10


def npi_is_valid(npi: str) -> bool:
    """A 10-digit NPI whose last digit is the Luhn check over ``80840`` + first nine."""
    if not _NPI_RE.match(npi):
        return False
    return luhn_check_digit("80840" + npi[:9]) == int(npi[9])


def npi_problem(npi: str) -> str | None:
    """What is wrong with ``npi``, as the end of "This NPI …", or None when it is valid."""
    if not npi.isascii() or not npi.isdigit():
        return "has characters other than digits; an NPI is 10 digits."
    if len(npi) != 10:
        return f"has {len(npi)} digits; an NPI has exactly 10."
    if not npi_is_valid(npi):
        return ("fails its check digit (the last of the 10): a digit is mistyped. Copy it from "
                "your NPPES record.")
    return None


def npi_with_check_digit(first_nine: str) -> str:
    return first_nine + str(luhn_check_digit("80840" + first_nine))


def month_day_is_valid(value: str) -> bool:
    """A birth month and day as ``MM-DD``: a real month and a day it can have (Feb 29 too)."""
    m = _MONTH_DAY_RE.match(value)
    if not m:
        return False
    month, day = int(m.group(1)), int(m.group(2))
    return 1 <= month <= 12 and 1 <= day <= _DAYS_IN_MONTH[month - 1]


#: Longest license number or board ID accepted (both are short codes; a longer value is
#: a paste of something else, and is refused rather than cut).
MAX_ID_LENGTH = 20
#: Separators state boards print inside license numbers (``G-12345``, ``35.012345``,
#: ``ME 12345``); nothing else but ASCII letters and digits.
_SEPARATORS = "-. "
_ID_CHARACTERS = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"
                           + _SEPARATORS)
_SHOWN_CHARACTERS = 5


def _character_names(bad: list[str]) -> str:
    """The refused characters as a reader can tell them apart (spaces and quotes spelled)."""
    shown = []
    for ch in dict.fromkeys(bad):
        if ch.isprintable() and not ch.isspace():
            shown.append(f"“{ch}”")
        else:
            shown.append(f"U+{ord(ch):04X}")
    more = len(shown) - _SHOWN_CHARACTERS
    return ", ".join(shown[:_SHOWN_CHARACTERS]) + (f" and {more} more" if more > 0 else "")


def identifier_problem(value: str, what: str) -> str | None:
    """What is wrong with a license number or board ID, as the end of a sentence that
    starts with its name ("This license number …"), or None when it is acceptable.

    Accepted: 1 to ``MAX_ID_LENGTH`` ASCII letters, digits and the separators states
    use (hyphen, period, space), starting and ending with a letter or digit, with at
    least one digit. Markup, quotes, letters outside A–Z and emoji are refused, not
    removed: what is stored is exactly what PARS or a board would be sent.
    """
    bad = [ch for ch in value if ch not in _ID_CHARACTERS]
    if bad:
        return (f"contains {_character_names(bad)}, which {what} cannot have: use only the "
                "letters A to Z, digits, and hyphens, periods or spaces between them.")
    if len(value) > MAX_ID_LENGTH:
        return (f"is too long: it has {len(value)} characters, and {what} has at most "
                f"{MAX_ID_LENGTH}.")
    if value[:1] in _SEPARATORS or value[-1:] in _SEPARATORS:
        return "must start and end with a letter or a digit."
    if not any(ch.isdigit() for ch in value):
        return f"has no digit; {what} always has at least one. Copy it as it is printed."
    return None


def license_number_problem(value: str) -> str | None:
    """What is wrong with a state license number (see ``identifier_problem``), or None."""
    return identifier_problem(value, "a license number")


def board_id_problem(board_code: str, value: str) -> str | None:
    """What is wrong with ``value`` as the ID a board gave a physician, or None.

    Every board ID follows the rules of ``identifier_problem``; a board whose ID
    format the registry knows (``Board.id_pattern``) must match it as well.
    """
    problem = identifier_problem(value, "a board ID")
    if problem:
        return problem
    entry = board(board_code)
    if entry is not None and not entry.id_is_valid(value):
        return f"is not an {entry.code} ID: {entry.code} IDs are {entry.id_format}."
    return None
