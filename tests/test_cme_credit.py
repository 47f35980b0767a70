from decimal import Decimal

import pytest

from webapp.cme_credit import parse_credit


@pytest.mark.parametrize("value,allow_zero,expected", [
    ("1.25", False, Decimal("1.25")), ("0", True, Decimal("0.00")), ("0", False, None),
    ("1.3", False, None), ("-1", True, None), ("NaN", True, None), ("x", True, None),
    ("2", False, Decimal("2.00")),
])
def test_parse_credit(value, allow_zero, expected):
    assert parse_credit(value, allow_zero=allow_zero) == expected
