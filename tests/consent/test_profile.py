"""Consent and identifiers: opt out with confirmation, back in, history, field errors, CSRF."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import select

from webapp.consent import wording
from webapp.identifiers import npi_with_check_digit
from webapp.models import AuditEvent, ConsentEvent, Learner


def reload(db_session, learner) -> Learner:
    db_session.expire_all()
    return db_session.get(Learner, learner.id)


@pytest.fixture
def surgeon(make):
    learner = make.learner(first_name="Morgan", last_name="Hale")
    make.board(learner, "ABS", None)
    make.completion(learner, date=dt.date.today() - dt.timedelta(days=10),
                    board_lines=[("ABS", "Accredited CME", "1")])
    return learner


def test_profile_shows_wording_default_and_empty_history(client, login_as, surgeon, app):
    login_as(surgeon)
    html = client.get("/profile").get_data(as_text=True)
    assert "I provide permission for my CME/MOC completion data to be shared and transmitted" in html
    assert app.config["INSTITUTION_NAME"] in html
    assert "default; you have not chosen yourself" in html
    assert "No choice has been recorded yet" in html
    assert "Credit already sent stays" in html or "does not remove credit already sent" in html
    assert "reporting on March 31 of the following year" in html  # not "03-31"


def test_opting_out_asks_for_confirmation_and_warns_abs(client, login_as, surgeon, db_session):
    login_as(surgeon)
    page = client.post("/profile/sharing", data={"share": "no"})
    html = page.get_data(as_text=True)
    assert page.status_code == 200
    assert "Stop sharing your credit?" in html
    assert "American Board of Surgery no longer accepts self-reported CME" in html
    assert reload(db_session, surgeon).consent_granted is None  # nothing changed yet

    done = client.post("/profile/sharing", data={"share": "no", "confirmed": "yes"})
    assert done.status_code == 302
    learner = reload(db_session, surgeon)
    assert (learner.consent_granted, learner.consent_source) == (False, "physician")
    transcript = client.get("/transcript").get_data(as_text=True)
    assert "Withheld" in transcript


def test_opting_back_in_queues_held_back_credit_and_history_lists_both(client, login_as, surgeon,
                                                                       db_session, app):
    identity = login_as(surgeon)
    client.post("/profile/sharing", data={"share": "no", "confirmed": "yes"})
    client.post("/profile/sharing", data={"share": "yes"})
    learner = reload(db_session, surgeon)
    assert learner.consent_granted is True
    events = db_session.scalars(select(ConsentEvent).where(ConsentEvent.learner_id == learner.id)
                                .order_by(ConsentEvent.id)).all()
    assert [(e.granted, e.source, e.actor_identity_id, e.wording_version) for e in events] == [
        (False, "physician", identity.id, wording.VERSION),
        (True, "physician", identity.id, wording.VERSION),
    ]
    audits = db_session.scalars(select(AuditEvent).where(AuditEvent.action.like("consent.%"))
                                .order_by(AuditEvent.id)).all()
    assert [a.action for a in audits] == ["consent.withdrawn", "consent.granted"]
    assert all(a.actor == f"identity:{identity.id}" and a.subject_id == str(learner.id)
               for a in audits)
    html = client.get("/profile").get_data(as_text=True)
    assert html.count("You, on this site") == 2
    assert "Queued" in client.get("/transcript").get_data(as_text=True)


def test_fixing_a_missing_birth_date_releases_waiting_credit(client, login_as, make, db_session):
    learner = make.learner(birth_month_day=None)
    make.completion(learner)
    login_as(learner)
    assert "Waiting for your details" in client.get("/transcript").get_data(as_text=True)
    response = client.post("/profile/identifiers", data={
        "npi": learner.npi, "birth_month": "04", "birth_day": "17",
        "licenses-0-state": "MI", "licenses-0-number": learner.licenses[0].number,
    })
    assert response.status_code == 302
    saved = reload(db_session, learner)
    assert saved.birth_month_day == "04-17"
    audit = db_session.scalars(select(AuditEvent).where(
        AuditEvent.action == "identifiers.updated")).one()
    assert audit.details == {"fields": ["birth_month_day"]}
    assert "Queued" in client.get("/transcript").get_data(as_text=True)


def test_invalid_identifiers_save_nothing_and_say_why(client, login_as, make, db_session):
    learner = make.learner()
    original = (learner.npi, learner.birth_month_day)
    login_as(learner)
    response = client.post("/profile/identifiers", data={
        "npi": "1234567890", "birth_month": "02", "birth_day": "30",
        "licenses-0-state": "MI", "licenses-0-number": "",
        "boards-0-board": "ABIM", "boards-0-board_id": "1", "boards-1-board": "ABIM",
    })
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert "This NPI fails its check digit" in html
    assert "February has no day 30" in html
    assert "Enter both the state and the license number" in html
    assert "ABIM is listed twice" in html
    assert "Nothing was saved" in html
    saved = reload(db_session, learner)
    assert (saved.npi, saved.birth_month_day) == original
    assert len(saved.licenses) == 1


def test_licenses_and_boards_can_be_added_and_removed(client, login_as, make, db_session):
    learner = make.learner(npi=None)
    login_as(learner)
    npi = npi_with_check_digit("123456789")
    client.post("/profile/identifiers", data={
        "npi": npi, "birth_month": "03", "birth_day": "14",
        "licenses-0-state": "OH", "licenses-0-number": "35-01",
        "licenses-1-state": "MI", "licenses-1-number": "43-02",
        "boards-0-board": "ABIM", "boards-0-board_id": "777",
    })
    saved = reload(db_session, learner)
    assert saved.npi == npi
    assert sorted((x.state, x.number) for x in saved.licenses) == [("MI", "43-02"), ("OH", "35-01")]
    assert [(b.board, b.board_id) for b in saved.board_certifications] == [("ABIM", "777")]
    client.post("/profile/identifiers", data={"npi": npi, "birth_month": "03", "birth_day": "14",
                                             "licenses-0-state": "MI", "licenses-0-number": "43-02"})
    saved = reload(db_session, learner)
    assert [(x.state, x.number) for x in saved.licenses] == [("MI", "43-02")]
    assert saved.board_certifications == []


def test_forged_posts_without_csrf_are_refused(client, login_as, surgeon, db_session):
    login_as(surgeon)
    for url, data in (("/profile/sharing", {"share": "no", "confirmed": "yes"}),
                      ("/profile/identifiers", {"npi": ""})):
        response = client.post(url, data=data, csrf=False)
        assert response.status_code == 400
    assert reload(db_session, surgeon).consent_granted is None


def test_profile_requires_a_physician(client, login_as):
    login_as(None, staff=True)
    assert client.get("/profile").status_code == 403
