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


# -- License numbers and board IDs -------------------------------------------------------

from webapp.identifiers import (  # noqa: E402
    MAX_ID_LENGTH,
    board_id_problem,
    identifier_problem,
    license_number_problem,
    npi_problem,
)


@pytest.mark.parametrize("value", ["4301012345", "G-12345", "35.012345", "ME 12345", "md012345",
                                   "A1", "1" * MAX_ID_LENGTH])
def test_license_numbers_as_states_print_them(value):
    assert license_number_problem(value) is None


@pytest.mark.parametrize("value,expected", [
    ("A-12 345/ß<b>x</b>'; DROP",
     "contains “/”, “ß”, “<”, “>”, “'” and 1 more, which a license number cannot have"),
    ("<b>12</b>", "contains “<”, “>”, “/”"),
    ("12'; DROP TABLE licenses;--", "contains “'”, “;”"),
    ("12\U0001F600", "contains “\U0001F600”"),
    ("１２３", "contains “１”, “２”, “３”"),  # full-width digits are not ASCII digits
    ("12\u00a034", "contains U+00A0"),  # a no-break space, spelled out: it cannot be seen
    ("x" * 300, "is too long: it has 300 characters, and a license number has at most 20."),
    ("-12345", "must start and end with a letter or a digit."),
    ("12345.", "must start and end with a letter or a digit."),
    ("MEDICAL", "has no digit; a license number always has at least one."),
])
def test_license_number_problems_say_what_is_wrong(value, expected):
    problem = license_number_problem(value)
    assert problem is not None and problem.startswith(expected)


def test_refused_characters_name_each_once_and_say_what_is_allowed():
    problem = identifier_problem("1<<<2", "a board ID")
    assert problem == ("contains “<”, which a board ID cannot have: use only the letters A to Z, "
                       "digits, and hyphens, periods or spaces between them.")


@pytest.mark.parametrize("board,value,expected", [
    ("ABIM", "abc", "has no digit"),
    ("ABIM", "12A45", "is not an ABIM ID: ABIM IDs are digits only."),
    ("ABIM", "123-456", "is not an ABIM ID: ABIM IDs are digits only."),
    ("ABIM", "\U0001F600", "contains “\U0001F600”"),
    ("ABIM", "9" * 21, "is too long: it has 21 characters, and a board ID has at most 20."),
    ("ABP", "<script>1", "contains “<”, “>”"),
])
def test_board_id_problems(board, value, expected):
    problem = board_id_problem(board, value)
    assert problem is not None and problem.startswith(expected)


@pytest.mark.parametrize("board,value", [("ABIM", "284913"), ("ABIM", "1"), ("ABP", "P-1234"),
                                         ("ABTS", "55"), ("ABX", "X12")])
def test_board_ids_accepted(board, value):
    assert board_id_problem(board, value) is None


@pytest.mark.parametrize("npi,expected", [
    ("1234567893", None),
    ("12345678a3", "has characters other than digits"),
    ("１２３４５６７８９３", "has characters other than digits"),
    ("123456789", "has 9 digits; an NPI has exactly 10."),
    ("1234567890", "fails its check digit"),
])
def test_npi_problems(npi, expected):
    problem = npi_problem(npi)
    assert problem == expected if expected is None else problem.startswith(expected)
