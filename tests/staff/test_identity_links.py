"""Linking by hand, in the staff console, a sign-in that matched no learner."""

from __future__ import annotations

import re

from sqlalchemy import select

from tests import factories
from tests.auth.conftest import audit
from webapp.models import AuditEvent, Identity, IdentityLink

REFERENCE = re.compile(r"[A-Z2-9]{4}-[A-Z2-9]{4}")


def refused_reference(response) -> str:
    assert response.status_code == 403
    match = REFERENCE.search(response.get_data(as_text=True))
    assert match, "the refusal page shows a support reference"
    return match.group(0)


def staff_client(app, db_session):
    staff = app.test_client()
    factories.sign_in(db_session, staff, None, staff=True)
    return staff


def test_staff_link_a_refused_sign_in_and_the_physician_reaches_the_transcript(
    app, browser, idp, make, client, db_session
):
    learner = make.learner(email="r.osei@example.org", first_name="Rita", last_name="Osei")
    # The provider vouches for nothing that matches: a personal address, unverified.
    idp.reset(sub="sub-rita", email="rita.home@example.net", email_verified=False,
              name="Rita Osei")
    reference = refused_reference(browser.sign_in())
    identity = db_session.scalars(select(Identity).where(Identity.subject == "sub-rita")).one()

    staff = staff_client(app, db_session)
    found = staff.get(f"/staff/sign-ins?ref={reference.lower()}")
    assert found.status_code == 302
    assert found.headers["Location"].endswith(f"/staff/sign-ins/{identity.id}")
    page = staff.get(f"/staff/sign-ins/{identity.id}?q=Osei").get_data(as_text=True)
    assert "rita.home@example.net" in page and "Rita Osei" in page

    refused = staff.post(f"/staff/sign-ins/{identity.id}/link",
                         data={"learner_id": learner.id, "note": ""}, follow_redirects=True)
    assert "Not done" in refused.get_data(as_text=True)
    db_session.expire_all()
    assert identity.learner_id is None

    staff.post(f"/staff/sign-ins/{identity.id}/link",
               data={"learner_id": learner.id, "note": "Called back on the number on file"})
    db_session.expire_all()
    assert identity.learner_id == learner.id
    [link] = db_session.scalars(select(IdentityLink)).all()
    assert link.note == "Called back on the number on file" and link.learner_id == learner.id
    [event] = audit(db_session, "identity.linked_by_staff")
    assert event.subject_id == str(identity.id)
    assert event.details == {"learner_id": learner.id, "link_id": link.id}

    # The physician signs in again and reaches the transcript.
    assert browser.sign_in().status_code == 302
    transcript = client.get("/transcript")
    assert transcript.status_code == 200
    assert "Rita Osei" in transcript.get_data(as_text=True)

    staff.post(f"/staff/sign-ins/{identity.id}/unlink", data={"note": "Wrong person"})
    db_session.expire_all()
    assert identity.learner_id is None
    assert audit(db_session, "identity.unlinked_by_staff")[0].details["learner_id"] == learner.id
    assert client.get("/transcript").status_code == 403


def test_an_unknown_reference_finds_nothing(app, db_session):
    staff = staff_client(app, db_session)
    page = staff.get("/staff/sign-ins?ref=ABCD-EFGH", follow_redirects=True)
    assert "No sign-in that can be linked has that reference" in page.get_data(as_text=True)
    assert db_session.scalars(select(AuditEvent.details).where(
        AuditEvent.action == "staff.sign_in_search")).one() == {"found": False}


def test_only_staff_may_link(make, client, login_as, db_session):
    learner = make.learner()
    other = make.identity(None)
    login_as(make.learner())
    assert client.get("/staff/sign-ins").status_code == 403
    assert client.get(f"/staff/sign-ins/{other.id}").status_code == 403
    response = client.post(f"/staff/sign-ins/{other.id}/link",
                           data={"learner_id": learner.id, "note": "me"})
    assert response.status_code == 403
    db_session.expire_all()
    assert other.learner_id is None


def test_link_needs_the_csrf_token(make, client, login_as, db_session):
    learner = make.learner()
    other = make.identity(None)
    login_as(None, staff=True)
    response = client.post(f"/staff/sign-ins/{other.id}/link",
                           data={"learner_id": learner.id, "note": "checked"}, csrf=False)
    assert response.status_code == 400
    db_session.expire_all()
    assert other.learner_id is None


def test_staff_cannot_link_their_own_sign_in(make, client, login_as, db_session):
    learner = make.learner()
    me = login_as(None, staff=True)
    response = client.post(f"/staff/sign-ins/{me.id}/link",
                           data={"learner_id": learner.id, "note": "it is me"},
                           follow_redirects=True)
    assert "another staff member must" in response.get_data(as_text=True)
    db_session.expire_all()
    assert me.learner_id is None


def test_a_linked_sign_in_is_unlinked_before_linking_again(make, client, login_as, db_session):
    first, second = make.learner(), make.learner()
    other = make.identity(first)
    login_as(None, staff=True)
    response = client.post(f"/staff/sign-ins/{other.id}/link",
                           data={"learner_id": second.id, "note": "checked"},
                           follow_redirects=True)
    assert "unlink it first" in response.get_data(as_text=True)
    db_session.expire_all()
    assert other.learner_id == first.id
