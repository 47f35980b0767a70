"""The sharing notice after sign-in: once per wording version, recorded, audited, physicians only."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from webapp.audit import AppendOnlyViolation
from webapp.consent import wording
from webapp.models import AuditEvent, ConsentEvent, ConsentNotice, Identity, Learner

FIRST_PAGE = "/sharing-notice?next=/"


def notices(db_session, learner) -> list[ConsentNotice]:
    db_session.expire_all()
    return list(db_session.scalars(select(ConsentNotice).where(
        ConsentNotice.learner_id == learner.id).order_by(ConsentNotice.id)))


@pytest.fixture
def physician(make, idp) -> Learner:
    return make.learner(email="someone@example.org", first_name="Morgan", last_name="Hale")


def test_first_sign_in_shows_the_permission_and_how_to_opt_out(browser, physician, client, app,
                                                               db_session):
    response = browser.sign_in()
    assert response.headers["Location"] == FIRST_PAGE
    page = client.get(FIRST_PAGE)
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert wording.permission(app.config["INSTITUTION_NAME"]) in html
    assert f"wording of {wording.VERSION}" in html
    assert "To opt out," in html and "Stop sharing" in html
    assert "Continue keeps your current choice (sharing)" in html
    assert 'href="/profile#sharing">Change my choice</a>' in html
    assert '<button type="submit" class="primary" aria-describedby="continue-hint">Continue' in html
    # Showing is not acknowledging: nothing is recorded until the physician continues.
    assert notices(db_session, physician) == []


def test_continuing_records_the_notice_keeps_the_choice_and_is_audited(browser, physician, client,
                                                                       db_session):
    browser.sign_in()
    client.get(FIRST_PAGE)
    done = client.post("/sharing-notice", data={"next": "/"})
    assert done.status_code == 302 and done.headers["Location"] == "/"

    [notice] = notices(db_session, physician)
    identity = db_session.scalars(select(Identity).where(
        Identity.learner_id == physician.id)).one()
    assert (notice.identity_id, notice.wording_version, notice.sharing) == (
        identity.id, wording.VERSION, True)
    assert notice.shown_at <= notice.acknowledged_at
    learner = db_session.get(Learner, physician.id)
    assert (learner.consent_granted, learner.consent_source) == (None, None)  # choice kept
    assert db_session.scalars(select(ConsentEvent)).all() == []
    [audit] = db_session.scalars(select(AuditEvent).where(
        AuditEvent.action == "consent.notice_shown")).all()
    assert (audit.actor, audit.subject_type, audit.subject_id) == (
        f"identity:{identity.id}", "learner", str(physician.id))
    assert audit.details == {"consent_notice": notice.id, "wording_version": wording.VERSION,
                             "sharing": True}

    # Continuing again (another tab, the back button) records nothing more.
    client.post("/sharing-notice", data={"next": "/"})
    assert len(notices(db_session, physician)) == 1


def test_shown_once_per_wording_and_again_when_it_changes(browser, physician, client, db_session,
                                                          monkeypatch):
    browser.sign_in()
    client.post("/sharing-notice", data={"next": "/"})
    client.post("/logout")
    assert browser.sign_in().headers["Location"] == "/"
    client.post("/logout")

    monkeypatch.setattr(wording, "VERSION", "2099-01")
    assert browser.sign_in().headers["Location"] == FIRST_PAGE
    assert "wording of 2099-01" in client.get(FIRST_PAGE).get_data(as_text=True)
    client.post("/sharing-notice", data={"next": "/"})
    assert [n.wording_version for n in notices(db_session, physician)] == ["2023-07", "2099-01"]
    client.post("/logout")
    assert browser.sign_in().headers["Location"] == "/"


def test_leaving_without_continuing_shows_it_again_next_time(browser, physician, client):
    browser.sign_in()
    client.get(FIRST_PAGE)
    client.post("/logout")
    assert browser.sign_in().headers["Location"] == FIRST_PAGE


def test_a_choice_made_on_the_profile_under_this_wording_counts(browser, physician, client):
    browser.sign_in()
    client.get("/profile")
    client.post("/profile/sharing", data={"share": "no", "confirmed": "yes"})
    client.post("/logout")
    assert browser.sign_in().headers["Location"] == "/"


def test_an_opted_out_physician_continues_without_sharing(browser, physician, client, db_session):
    physician.consent_granted = False
    db_session.flush()
    browser.sign_in()
    html = client.get(FIRST_PAGE).get_data(as_text=True)
    assert "You are not sharing: nothing is sent." in html
    assert "Continue keeps your current choice (not sharing)" in html
    client.post("/sharing-notice", data={"next": "/"})
    [notice] = notices(db_session, physician)
    assert notice.sharing is False
    assert db_session.get(Learner, physician.id).consent_granted is False


def test_staff_only_identities_are_not_shown_the_notice(browser, idp, client):
    idp.reset(sub="staff-1", email="casey@example.org", email_verified=True, groups=["cme-staff"])
    assert browser.sign_in().headers["Location"] == "/staff/"  # the console, not a notice
    assert client.get("/sharing-notice").status_code == 403  # no transcript, no notice


def test_non_physicians_are_not_shown_the_notice(browser, make, idp, client, db_session):
    nurse = make.learner(email="someone@example.org", degree="NP")
    assert browser.sign_in().headers["Location"] == "/"
    assert client.get("/sharing-notice").headers["Location"] == "/transcript"
    client.post("/sharing-notice", data={"next": "/"})
    assert notices(db_session, nurse) == []


def test_acknowledging_needs_the_csrf_token(browser, physician, client, db_session):
    browser.sign_in()
    client.get(FIRST_PAGE)
    assert client.post("/sharing-notice", data={"next": "/"}, csrf=False).status_code == 400
    assert notices(db_session, physician) == []


def test_only_same_site_addresses_are_followed(login_as, physician, client):
    login_as(physician)
    for unsafe in ("//evil.example", "https://evil.example/", "/\\evil"):
        assert client.post("/sharing-notice", data={"next": unsafe}).headers["Location"] == \
            "/transcript"


def test_the_history_shows_the_notice_to_the_physician_and_to_staff(browser, physician, client,
                                                                   login_as):
    browser.sign_in()
    client.get(FIRST_PAGE)
    client.post("/sharing-notice", data={"next": "/"})
    profile = client.get("/profile").get_data(as_text=True)
    assert "Sharing notice shown; continued (sharing)" in profile
    assert "You, after signing in" in profile

    login_as(None, staff=True)
    html = client.get(f"/staff/physicians/{physician.id}").get_data(as_text=True)
    assert "Sharing notice shown; continued (sharing)" in html
    assert "The physician, after signing in" in html
    assert f"Sharing notice for the current wording ({wording.VERSION}): shown" in html


def test_staff_see_when_the_notice_is_still_to_be_shown(login_as, physician, client):
    login_as(None, staff=True)
    html = client.get(f"/staff/physicians/{physician.id}").get_data(as_text=True)
    assert "not shown yet; the physician sees it at their next sign-in" in html


def test_notices_are_never_changed(browser, physician, client, db_session):
    browser.sign_in()
    client.post("/sharing-notice", data={"next": "/"})
    [notice] = notices(db_session, physician)
    notice.sharing = False
    with pytest.raises(AppendOnlyViolation):
        db_session.flush()


def test_physicians_are_those_of_the_configured_degrees(browser, make, idp, app, monkeypatch):
    make.learner(email="someone@example.org", degree="M.B.B.S.")
    assert browser.sign_in().headers["Location"] == FIRST_PAGE
    monkeypatch.setitem(app.config, "PHYSICIAN_DEGREES", frozenset({"MD", "DO"}))
    browser.client.post("/logout")
    assert browser.sign_in().headers["Location"] == "/"
