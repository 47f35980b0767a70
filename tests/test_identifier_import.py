"""The credit import checks license numbers and board IDs with the profile form's rules."""

import datetime as dt

import pytest

from webapp.credits.validation import check_row
from webapp.identifiers import board_id_problem, license_number_problem

ROW = {
    "learner_id": "L1", "first_name": "Ana", "last_name": "Diaz", "email": "ana@example.org",
    "degree": "MD", "npi": "", "birth_month_day": "04-17", "license_state": "MI",
    "license_number": "4301012345", "activity_id": "A1", "activity_title": "Sepsis Update",
    "accme_activity_id": "", "completion_date": "2024-05-01", "cme_credits": "1.50",
    "board": "ABIM", "board_id": "284913", "board_credit_type": "Medical Knowledge",
    "board_credits": "1", "consent": "",
}
TODAY = dt.date(2024, 6, 1)


def test_a_good_row_passes():
    assert check_row(2, ROW, TODAY)[1] == []


@pytest.mark.parametrize("column,value,expected", [
    ("license_number", "43<b>01</b>", license_number_problem("43<b>01</b>")),
    ("license_number", "4301'; DROP", license_number_problem("4301'; DROP")),
    ("license_number", "x" * 21, "longer than 20 characters"),
    ("board_id", "abc", board_id_problem("ABIM", "abc")),
    ("board_id", "12A456", "is not an ABIM ID: ABIM IDs are digits only."),
])
def test_bad_identifiers_are_refused_with_the_forms_reason(column, value, expected):
    errors = check_row(2, ROW | {column: value}, TODAY)[1]
    assert [(e.column, e.message) for e in errors] == [(column, expected)]
