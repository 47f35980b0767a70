import datetime as dt

import pytest

from webapp.dates import MonthDay, readable_date


def test_a_month_day_is_parsed_placed_in_a_year_and_spelled_out():
    close = MonthDay.parse("03-31")
    assert close == MonthDay(3, 31)
    assert close.on(2026) == dt.date(2026, 3, 31)
    assert close.readable() == "March 31"
    assert str(close) == "03-31"


@pytest.mark.parametrize("value,says", [
    ("3-31", "MM-DD"), ("03/31", "MM-DD"), ("2023-03-31", "MM-DD"), ("", "MM-DD"),
    ("02-30", "every year"), ("02-29", "every year"), ("13-01", "every year"), ("00-10", "every year"),
])
def test_anything_else_is_refused_saying_why(value, says):
    with pytest.raises(ValueError, match=says):
        MonthDay.parse(value)


def test_readable_date():
    assert readable_date(dt.date(2023, 7, 1)) == "July 1, 2023"
