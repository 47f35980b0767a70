"""The primary license: chosen on the profile, one per physician, the one reported to PARS."""

from __future__ import annotations

import datetime as dt
import io
import re

from flask import current_app
from sqlalchemy import select

from tests.credits.test_import import BASE, csv_bytes
from webapp.credits.importer import import_credits
from webapp.models import Action, AuditEvent, Learner, License
from webapp.pars import record
from webapp.pars.eligibility import assess
from webapp.pars.policy import Policy


def reload(db_session, learner) -> Learner:
    db_session.expire_all()
    return db_session.get(Learner, learner.id)


def primaries(learner: Learner) -> list[tuple[str, str]]:
    return [(lic.state, lic.number) for lic in learner.licenses if lic.primary]


def form(learner: Learner, licenses: list[tuple[str, str]], primary: int | str | None = None):
    """The identifiers form as a browser posts it, NPI and birth date unchanged."""
    month, _, day = (learner.birth_month_day or "").partition("-")
    data = {"npi": learner.npi or "", "birth_month": month, "birth_day": day}
    for i, (state, number) in enumerate(licenses):
        data[f"licenses-{i}-state"] = state
        data[f"licenses-{i}-number"] = number
    if primary is not None:
        data["primary_license"] = str(primary)
    return data


def two_licenses(make, db_session) -> Learner:
    """MI (added first, primary) and OH (added second)."""
    learner = make.learner(licenses=[])
    learner.licenses.append(License(state="MI", number="43-1", primary=True))
    db_session.flush()
    learner.licenses.append(License(state="OH", number="35-2"))
    db_session.flush()
    return learner


def test_profile_offers_an_accessible_choice_with_the_primary_checked(client, login_as, make,
                                                                     db_session):
    learner = two_licenses(make, db_session)
    login_as(learner)
    html = client.get("/profile").get_data(as_text=True)
    # Licenses are listed by state: MI first, then OH, then an empty row to add one.
    radios = re.findall(r'<input type="radio" name="primary_license" id="(primary_license-\d)" '
                        r'value="(\d)"[^>]*?(checked)?>', html, re.S)
    assert [(r[0], r[1], bool(r[2])) for r in radios] == [
        ("primary_license-0", "0", True), ("primary_license-1", "1", False),
        ("primary_license-2", "2", False)]
    for i in range(3):
        assert f'<label for="primary_license-{i}">Primary license</label>' in html
    assert "<legend>State medical licenses</legend>" in html
    assert "<legend>License 1</legend>" in html and "<legend>Add a license</legend>" in html


def test_choosing_another_primary_saves_it_and_pars_gets_it(client, login_as, make, db_session,
                                                           policy):
    learner = two_licenses(make, db_session)
    completion = make.completion(learner)
    login_as(learner)
    response = client.post("/profile/identifiers",
                           data=form(learner, [("MI", "43-1"), ("OH", "35-2")], primary=1))
    assert response.status_code == 302
    saved = reload(db_session, learner)
    assert primaries(saved) == [("OH", "35-2")]
    assert (saved.primary_license.state, saved.primary_license.number) == ("OH", "35-2")
    sent = record.build("ccid:x:y", Action.ADD, completion, saved,
                        assess(completion, saved, policy.rules))
    assert (sent["license_state"], sent["license_number"]) == ("OH", "35-2")
    audit = db_session.scalars(select(AuditEvent).where(
        AuditEvent.action == "identifiers.updated")).one()
    assert audit.details == {"fields": ["primary_license"]}
    html = client.get("/profile").get_data(as_text=True)
    assert re.search(r'value="1"[^>]*checked', html)


def test_the_first_license_added_is_primary_until_changed(client, login_as, make, db_session):
    learner = make.learner(licenses=[])
    login_as(learner)
    client.post("/profile/identifiers", data=form(learner, [("WI", "55-9")]))
    assert primaries(reload(db_session, learner)) == [("WI", "55-9")]
    # A second license does not take over without being chosen.
    client.post("/profile/identifiers", data=form(learner, [("WI", "55-9"), ("AK", "1")],
                                                  primary=0))
    saved = reload(db_session, learner)
    assert primaries(saved) == [("WI", "55-9")]
    assert len(saved.licenses) == 2


def test_a_new_license_can_be_made_primary_as_it_is_added(client, login_as, make, db_session):
    learner = two_licenses(make, db_session)
    login_as(learner)
    client.post("/profile/identifiers", data=form(
        learner, [("MI", "43-1"), ("OH", "35-2"), ("IL", "036-3")], primary=2))
    assert primaries(reload(db_session, learner)) == [("IL", "036-3")]


def test_removing_the_primary_makes_the_next_one_primary(client, login_as, make, db_session):
    learner = two_licenses(make, db_session)
    learner.licenses.append(License(state="AK", number="9"))  # added third, listed first
    db_session.flush()
    login_as(learner)
    # MI cleared; its radio stays checked, as it would in a browser.
    client.post("/profile/identifiers", data=form(learner, [("AK", "9"), ("", ""), ("OH", "35-2")],
                                                  primary=1))
    saved = reload(db_session, learner)
    assert sorted((x.state, x.number) for x in saved.licenses) == [("AK", "9"), ("OH", "35-2")]
    assert primaries(saved) == [("OH", "35-2")]  # the next one added, not the first listed
    audit = db_session.scalars(select(AuditEvent).where(
        AuditEvent.action == "identifiers.updated")).one()
    assert audit.details == {"fields": ["licenses", "primary_license"]}


def test_removing_every_license_leaves_no_primary(client, login_as, make, db_session):
    learner = two_licenses(make, db_session)
    login_as(learner)
    client.post("/profile/identifiers", data=form(learner, [], primary=0))
    saved = reload(db_session, learner)
    assert saved.licenses == [] and saved.primary_license is None


def test_an_invalid_choice_is_a_field_error_and_nothing_is_saved(client, login_as, make,
                                                                 db_session):
    learner = two_licenses(make, db_session)
    login_as(learner)
    response = client.post("/profile/identifiers",
                           data=form(learner, [("MI", "43-1"), ("OH", "35-2")], primary="7"))
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert '<p class="field-error" id="primary_license-error">Choose one of your licenses' in html
    assert 'aria-describedby="licenses-hint primary_license-error"' in html
    # A valid choice is not saved either when another field is wrong.
    data = form(learner, [("MI", "43-1"), ("OH", "35-2")], primary=1) | {"npi": "1234567890"}
    response = client.post("/profile/identifiers", data=data)
    assert response.status_code == 422
    assert re.search(r'value="1"[^>]*checked', response.get_data(as_text=True))
    assert primaries(reload(db_session, learner)) == [("MI", "43-1")]


def test_staff_see_which_license_is_primary(client, login_as, make, db_session):
    learner = two_licenses(make, db_session)
    login_as(None, staff=True)
    html = client.get(f"/staff/physicians/{learner.id}").get_data(as_text=True)
    assert "MI 43-1 (primary); OH 35-2" in html


def test_without_a_marked_license_the_oldest_is_reported(make, db_session):
    learner = make.learner(licenses=[])
    learner.licenses.extend([License(state="OH", number="2"), License(state="AK", number="3")])
    db_session.flush()
    assert (learner.primary_license.state, learner.primary_license.number) == ("OH", "2")


def _import(db_session, rows):
    return import_credits(db_session, io.BytesIO(csv_bytes(rows)),
                          policy=Policy.from_config(current_app.config),
                          today=dt.date(2026, 11, 27))


def test_an_imported_license_is_primary_only_for_a_learner_without_one(db_session):
    _import(db_session, [BASE | {"license_state": "OH", "license_number": "35-1"},
                         BASE | {"activity_id": "A2", "license_state": "MI",
                                 "license_number": "43-2"}])
    learner = db_session.scalars(select(Learner)).one()
    assert primaries(learner) == [("OH", "35-1")]
    assert len(learner.licenses) == 2

    # A later import adds a license; the primary stays the one already chosen.
    _import(db_session, [BASE | {"activity_id": "A3", "license_state": "AK",
                                 "license_number": "7"}])
    learner = reload(db_session, learner)
    assert primaries(learner) == [("OH", "35-1")]
    assert len(learner.licenses) == 3
