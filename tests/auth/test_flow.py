"""The whole sign-in against a real provider over HTTP, and what it leaves behind."""

from __future__ import annotations

from sqlalchemy import select

from tests.auth.conftest import Browser, audit, live_sessions
from tests.auth.idp import CLIENT_ID, DROP
from webapp.models import Identity


def test_sign_in_links_verified_email_and_shows_learner_signed_in(
    browser, idp, make, db_session, client
):
    learner = make.learner(email="morgan.hale@example.org", first_name="Morgan", last_name="Hale")
    idp.reset(sub="sub-morgan", email="Morgan.Hale@example.org", email_verified=True,
              name="Morgan Hale")

    response = browser.sign_in()

    assert response.status_code == 302
    # A physician's first sign-in shows the sharing notice first (tests/consent/test_notice.py).
    assert response.headers["Location"] == "/sharing-notice?next=/"
    user = client.signed_in_user()
    home = user.response
    assert user.is_authenticated
    assert user.learner_id == learner.id
    assert user.is_staff is False

    assert "Sign out" in home.get_data(as_text=True)
    assert "You are signed in." in home.get_data(as_text=True)

    identity = db_session.scalars(select(Identity).where(Identity.subject == "sub-morgan")).one()
    assert identity.issuer == idp.issuer
    assert identity.learner_id == learner.id
    assert identity.last_login_at is not None
    [session_row] = live_sessions(db_session)
    assert session_row.identity_id == identity.id
    assert session_row.id_token_hint  # kept to end the session at the provider

    [event] = audit(db_session, "auth.login")
    assert event.actor == f"identity:{identity.id}"
    assert event.details == {"learner_id": learner.id, "staff": False, "linked": True}


def test_authorization_request_uses_pkce_state_and_nonce(browser, idp):
    browser.sign_in()
    [request] = idp.authorize_requests
    assert request["code_challenge_method"] == "S256"
    assert len(request["code_challenge"]) >= 43
    assert len(request["state"]) >= 20 and len(request["nonce"]) >= 20
    assert request["client_id"] == CLIENT_ID
    assert request["redirect_uri"] == "http://portal.test/login/callback"
    [token_request] = idp.token_requests
    assert len(token_request["code_verifier"]) >= 43


def test_safe_next_is_followed_after_sign_in(browser, idp, make, client):
    make.learner(email="someone@example.org")
    response = browser.sign_in(next_url="/transcript/?year=2024")
    assert response.status_code == 302
    # Through the sharing notice, which keeps where the physician was going.
    assert response.headers["Location"] == "/sharing-notice?next=/transcript/?year%3D2024"
    notice = client.get(response.headers["Location"]).get_data(as_text=True)
    assert 'name="next" type="hidden" value="/transcript/?year=2024"' in notice
    done = client.post("/sharing-notice", data={"next": "/transcript/?year=2024"})
    assert done.headers["Location"] == "/transcript/?year=2024"
    client.post("/logout")
    # Signing in again goes straight there.
    response = browser.sign_in(next_url="/transcript/?year=2024")
    assert response.headers["Location"] == "/transcript/?year=2024"


def test_later_sign_ins_use_issuer_and_subject_not_email(browser, idp, make, client, db_session):
    first = make.learner(email="someone@example.org")
    browser.sign_in()
    client.post("/logout")
    # The provider now reports another e-mail that belongs to someone else.
    make.learner(email="other@example.org")
    idp.behaviour.user["email"] = "other@example.org"
    browser.sign_in()
    user = client.signed_in_user()
    assert user.learner_id == first.id

    assert db_session.scalar(select(Identity).where(Identity.subject == "idp-user-1")).email == (
        "other@example.org"
    )


def test_staff_who_are_not_learners_sign_in_as_staff(browser, idp, client, db_session):
    idp.reset(sub="staff-1", email="staff@example.org", email_verified=True,
              groups=["faculty", "cme-staff"])
    response = browser.sign_in()
    assert response.status_code == 302
    user = client.signed_in_user()
    assert user.is_authenticated
    assert user.is_staff is True
    assert user.learner_id is None

    identity = db_session.scalars(select(Identity).where(Identity.subject == "staff-1")).one()
    assert identity.learner_id is None
    assert live_sessions(db_session)[0].is_staff is True


def test_staff_claim_and_value_are_configurable(browser, idp, app, client, monkeypatch):
    monkeypatch.setitem(app.config, "OIDC_STAFF_CLAIM", "role")
    monkeypatch.setitem(app.config, "OIDC_STAFF_VALUE", "cme-admin")
    idp.reset(sub="staff-2", email="unknown@example.org", email_verified=False, role="cme-admin",
              groups=["cme-staff"])
    assert browser.sign_in().status_code == 302
    user = client.signed_in_user()
    assert user.is_staff is True



def test_learner_in_staff_group_is_both(browser, idp, make, client):
    learner = make.learner(email="someone@example.org")
    idp.behaviour.user["groups"] = "cme-staff"
    browser.sign_in()
    user = client.signed_in_user()
    assert user.is_staff is True
    assert user.learner_id == learner.id



def test_email_from_userinfo_when_id_token_has_none(browser, idp, make, client):
    learner = make.learner(email="someone@example.org")
    idp.behaviour.claim_changes = {"email": DROP, "email_verified": DROP}
    assert browser.sign_in().status_code == 302
    user = client.signed_in_user()
    assert user.learner_id == learner.id



def test_signed_in_user_visiting_login_goes_on(browser, idp, make, client):
    make.learner(email="someone@example.org")
    browser.sign_in()
    response = client.get("/login?next=/somewhere")
    assert response.status_code == 302
    assert response.headers["Location"] == "/somewhere"


def test_login_page_for_protected_pages_keeps_the_path(app, client):
    with app.test_request_context():
        from flask_login import login_url

        assert login_url("auth.login", next_url="http://portal.test/transcript/") == (
            "/login?next=%2Ftranscript%2F"
        )


def test_rotated_provider_keys_are_fetched_again(app, idp, make, client):
    make.learner(email="someone@example.org")
    assert Browser(app.test_client()).sign_in().status_code == 302  # keys now cached
    idp.rotate_key("test-key-2")
    assert Browser(client).sign_in().status_code == 302
    user = client.signed_in_user()
    assert user.is_authenticated



def test_staff_claim_only_in_userinfo_is_read(browser, idp, client):
    idp.reset(sub="sub-staff", email="office@example.org", email_verified=True,
              groups=["cme-staff"])
    idp.behaviour.claim_changes["groups"] = DROP
    assert browser.sign_in().status_code == 302
    assert client.get("/staff/").status_code == 200


def test_userinfo_for_another_subject_is_refused(browser, idp, db_session):
    idp.reset(sub="sub-a", email="a@example.org", email_verified=True)
    idp.behaviour.claim_changes.update(email=DROP, sub="sub-b")
    assert browser.sign_in().status_code == 400
    assert audit(db_session, "auth.login_failed")[-1].details["reason"] == "invalid_claims"


def test_a_learner_with_an_identity_is_not_linked_to_a_second_one(browser, idp, make,
                                                                  db_session):
    learner = make.learner(email="someone@example.org")
    make.identity(learner)
    response = browser.sign_in()
    assert response.status_code == 403
    assert audit(db_session, "auth.login_failed")[-1].details["reason"] == (
        "learner_already_linked")
    assert live_sessions(db_session) == []


def test_configured_scopes_are_requested(browser, idp, app, monkeypatch):
    monkeypatch.setitem(app.config, "OIDC_SCOPES", "openid email profile groups")
    browser.sign_in()
    assert idp.authorize_requests[-1]["scope"] == "openid email profile groups"
