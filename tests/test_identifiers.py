import pytest

from webapp.identifiers import (
    STATE_NAMES,
    US_STATES,
    month_day_is_valid,
    npi_is_valid,
    npi_with_check_digit,
)


@pytest.mark.parametrize("npi", ["1234567893", "1245319599", npi_with_check_digit("198765432")])
def test_valid_npis(npi):
    assert npi_is_valid(npi)


@pytest.mark.parametrize("npi", ["1234567890", "123456789", "12345678931", "abcdefghij", ""])
def test_invalid_npis(npi):
    assert not npi_is_valid(npi)


@pytest.mark.parametrize("value,ok", [
    ("04-17", True), ("02-29", True), ("12-31", True), ("02-30", False), ("13-01", False),
    ("4-17", False), ("00-10", False), ("1980-04-17", False),
])
def test_month_day(value, ok):
    assert month_day_is_valid(value) is ok


def test_every_accepted_state_code_has_its_full_name():
    assert set(STATE_NAMES) == US_STATES
    assert STATE_NAMES["ME"] == "Maine" and STATE_NAMES["DC"] == "District of Columbia"
    assert len(set(STATE_NAMES.values())) == len(STATE_NAMES)
