"""Reference data and small pure checks shared by imports, forms and the engine."""

from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation

#: Certifying boards that accept MOC credit through PARS.
BOARDS: dict[str, str] = {
    "ABA": "American Board of Anesthesiology",
    "ABIM": "American Board of Internal Medicine",
    "ABOHNS": "American Board of Otolaryngology – Head and Neck Surgery",
    "ABOS": "American Board of Orthopaedic Surgery",
    "ABP": "American Board of Pediatrics",
    "ABPATH": "American Board of Pathology",
    "ABPMR": "American Board of Physical Medicine and Rehabilitation",
    "ABS": "American Board of Surgery",
    "ABTS": "American Board of Thoracic Surgery",
}

#: Boards that do not require the physician's board ID on a record.
BOARD_ID_OPTIONAL = frozenset({"ABS"})

#: Credentials reported to PARS; every other degree is a non-physician learner.
PHYSICIAN_DEGREES = frozenset({"MD", "DO"})

US_STATES = frozenset(
    "AL AK AZ AR CA CO CT DE DC FL GA HI ID IL IN IA KS KY LA ME MD MA MI MN MS MO MT NE NV NH "
    "NJ NM NY NC ND OH OK OR PA RI SC SD TN TX UT VT VA WA WV WI WY PR GU VI AS MP".split()
)

AMA_CREDIT_TYPE = "AMA PRA Category 1 Credit"

_QUARTER = Decimal("0.25")
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


def npi_with_check_digit(first_nine: str) -> str:
    return first_nine + str(luhn_check_digit("80840" + first_nine))


def month_day_is_valid(value: str) -> bool:
    """``MM-DD`` with a real month and a day that month can have (Feb 29 allowed)."""
    m = _MONTH_DAY_RE.match(value)
    if not m:
        return False
    month, day = int(m.group(1)), int(m.group(2))
    return 1 <= month <= 12 and 1 <= day <= _DAYS_IN_MONTH[month - 1]


def parse_credit(value: str, *, allow_zero: bool) -> Decimal | None:
    """A non-negative decimal in steps of 0.25, or None when it is not one."""
    try:
        amount = Decimal(value)
    except InvalidOperation:
        return None
    if not amount.is_finite() or amount < 0 or (amount == 0 and not allow_zero):
        return None
    if amount % _QUARTER != 0 or amount > Decimal("9999.75"):
        return None
    return amount.quantize(Decimal("0.01"))


def is_physician(degree: str) -> bool:
    return degree.strip().upper() in PHYSICIAN_DEGREES
