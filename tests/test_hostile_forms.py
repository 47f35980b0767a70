"""Hostile form input: control characters, endless lists, oversized posts, search wildcards."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from webapp.models import License, SupportRequest

CONTROL = "contains a control or invisible formatting character"


@pytest.mark.parametrize("text", ["Missing\x00credit", "Missing \u202ecredit", "bell\x07"])
def test_control_characters_in_a_support_message_are_a_field_error(client, login_as, make,
                                                                   db_session, text):
    login_as(make.learner())
    response = client.post("/support", data={"kind": "missing", "message": text})
    assert response.status_code == 422
    assert CONTROL in response.get_data(as_text=True)
    assert db_session.scalar(select(func.count()).select_from(SupportRequest)) == 0


def test_line_breaks_in_a_support_message_are_fine(client, login_as, make, db_session):
    login_as(make.learner())
    response = client.post("/support", data={"kind": "missing", "message": "Line one\r\nLine two"})
    assert response.status_code == 302


def test_a_nul_in_a_license_number_is_a_field_error(client, login_as, make, db_session):
    learner = make.learner()
    before = db_session.scalar(select(func.count()).select_from(License))
    login_as(learner)
    response = client.post("/profile/identifiers", data={
        "npi": learner.npi, "licenses-0-state": "MI", "licenses-0-number": "12\x0034"})
    assert response.status_code == 422
    assert CONTROL in response.get_data(as_text=True)
    assert db_session.scalar(select(func.count()).select_from(License)) == before


def test_the_license_list_has_a_maximum(client, login_as, make, db_session):
    learner = make.learner()
    before = db_session.scalar(select(func.count()).select_from(License))
    login_as(learner)
    data = {"npi": learner.npi}
    for i in range(3000):
        data[f"licenses-{i}-state"] = "MI"
        data[f"licenses-{i}-number"] = f"N{i}"
    response = client.post("/profile/identifiers", data=data)
    assert response.status_code == 422
    assert "At most 20 licenses can be listed." in response.get_data(as_text=True)
    assert len(response.get_data()) < 200_000
    assert db_session.scalar(select(func.count()).select_from(License)) == before


def test_a_large_post_is_refused_unread(client, login_as, make, db_session):
    login_as(make.learner())
    response = client.post("/support", data={"kind": "missing", "message": "x" * (20 * 1024 * 1024)})
    assert response.status_code == 413
    assert db_session.scalar(select(func.count()).select_from(SupportRequest)) == 0


def test_staff_search_treats_percent_and_underscore_literally(client, login_as, make, db_session):
    make.learner(first_name="Ann", last_name="Lee", email="ann.lee@example.org")
    make.learner(first_name="A_n", last_name="Percent%", email="odd@example.org")
    login_as(None, staff=True)
    for query, found in [("%", ["A_n Percent%"]), ("_", ["A_n Percent%"]), ("a_n", ["A_n Percent%"])]:
        html = client.get("/staff/physicians", query_string={"q": query}).get_data(as_text=True)
        assert "Ann Lee" not in html, query
        for name in found:
            assert name in html, query
    response = client.get("/staff/physicians", query_string={"q": "a\x00b"})
    assert response.status_code == 200
