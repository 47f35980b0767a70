"""AMA PRA Category 1 Credit: the credit type's name, and what a credit amount may be."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation

#: The credit type as PARS and the transcript name it.
AMA_CREDIT_TYPE = "AMA PRA Category 1 Credit"

_QUARTER = Decimal("0.25")
_MAXIMUM = Decimal("9999.75")


def parse_credit(value: str, *, allow_zero: bool) -> Decimal | None:
    """A non-negative decimal in steps of 0.25, or None when it is not one.

    The same steps hold for board MOC credit.
    """
    try:
        amount = Decimal(value)
    except InvalidOperation:
        return None
    if not amount.is_finite() or amount < 0 or (amount == 0 and not allow_zero):
        return None
    # The range first: the remainder of a huge exponent (1e400) is itself an error.
    if amount > _MAXIMUM:
        return None
    try:
        if amount % _QUARTER != 0:
            return None
        return amount.quantize(Decimal("0.01"))
    except InvalidOperation:  # e.g. 1e-400: too many digits to test or round
        return None
