"""First sign-in through a certified OpenID Provider behaving like Entra ID, Okta and Google.

The provider is panva's ``oidc-provider`` (devtools/oidc-node), over real HTTP on
127.0.0.1; each test sets the site's settings the README gives for that provider.
"""

from __future__ import annotations

from sqlalchemy import select

from tests.auth.conftest import audit, live_sessions
from webapp.models import Identity

UNMATCHED = "We could not connect your sign-in to a CME record"


def reaches_transcript(client, learner) -> None:
    page = client.get("/transcript")
    assert page.status_code == 200, page.get_data(as_text=True)
    assert f"{learner.first_name} {learner.last_name}" in page.get_data(as_text=True)


def refused(response, db_session, reason: str) -> None:
    assert response.status_code == 403
    assert UNMATCHED in response.get_data(as_text=True)
    assert audit(db_session, "auth.login_failed")[-1].details["reason"] == reason
    assert live_sessions(db_session) == []


def linked_identity(db_session, subject: str) -> Identity:
    return db_session.scalars(select(Identity).where(Identity.subject == subject)).one()


# -- Microsoft Entra ID ------------------------------------------------------


def test_entra_email_with_xms_edov_links(node_idp, node_browser, make, client, db_session):
    """Entra sends no email_verified; the optional claim xms_edov vouches for the domain."""
    node_idp("entra")
    learner = make.learner(email="pat.lee@hospital.org", first_name="Pat", last_name="Lee")
    response = node_browser.sign_in({
        "sub": "entra-pat", "email": "Pat.Lee@hospital.org", "xms_edov": True,
        "preferred_username": "pat.lee@hospital.org", "name": "Pat Lee",
    })
    assert response.status_code == 302, response.get_data(as_text=True)
    assert linked_identity(db_session, "entra-pat").learner_id == learner.id
    reaches_transcript(client, learner)


def test_entra_without_xms_edov_is_refused_by_default(node_idp, node_browser, make, db_session):
    """What every Entra physician saw before: no email_verified, nothing else configured."""
    node_idp("entra")
    make.learner(email="pat.lee@hospital.org")
    refused(node_browser.sign_in({"sub": "entra-pat", "email": "pat.lee@hospital.org"}),
            db_session, "email_not_verified")


def test_entra_preferred_username_in_a_trusted_domain_links(
    node_idp, node_browser, make, client, db_session
):
    node_idp("entra", OIDC_EMAIL_CLAIM="preferred_username",
             OIDC_TRUSTED_EMAIL_DOMAINS=frozenset({"hospital.org"}))
    learner = make.learner(email="sam.ortiz@hospital.org", first_name="Sam", last_name="Ortiz")
    response = node_browser.sign_in({"sub": "entra-sam",
                                     "preferred_username": "Sam.Ortiz@hospital.org"})
    assert response.status_code == 302, response.get_data(as_text=True)
    identity = linked_identity(db_session, "entra-sam")
    assert identity.learner_id == learner.id
    assert identity.email == "Sam.Ortiz@hospital.org"
    reaches_transcript(client, learner)


def test_entra_address_in_an_untrusted_domain_is_refused(node_idp, node_browser, make,
                                                         db_session):
    node_idp("entra", OIDC_EMAIL_CLAIM="preferred_username",
             OIDC_TRUSTED_EMAIL_DOMAINS=frozenset({"hospital.org"}))
    make.learner(email="sam.ortiz@partner-clinic.org")
    refused(node_browser.sign_in({"sub": "entra-guest",
                                  "preferred_username": "sam.ortiz@partner-clinic.org"}),
            db_session, "email_not_verified")
    # xms_edov speaks for the email claim, not for preferred_username.
    refused(node_browser.sign_in({"sub": "entra-guest", "xms_edov": True,
                                  "preferred_username": "sam.ortiz@partner-clinic.org"}),
            db_session, "email_not_verified")


def test_entra_employee_id_links_by_itself(node_idp, node_browser, make, client, db_session):
    node_idp("entra", OIDC_LEARNER_ID_CLAIM="employeeid")
    learner = make.learner(source_id="E-40213", email="someone.else@hospital.org")
    response = node_browser.sign_in({"sub": "entra-emp", "employeeid": "E-40213",
                                     "preferred_username": "x@guest.example"})
    assert response.status_code == 302, response.get_data(as_text=True)
    assert linked_identity(db_session, "entra-emp").learner_id == learner.id
    reaches_transcript(client, learner)


# -- Okta --------------------------------------------------------------------

OKTA = {"OIDC_SCOPES": "openid email profile groups"}


def test_okta_physician_links_from_userinfo(node_idp, node_browser, make, client, db_session):
    """Okta's ID token from the code flow carries no e-mail: it comes from userinfo."""
    node_idp("okta", **OKTA)
    learner = make.learner(email="ana.ruiz@hospital.org", first_name="Ana", last_name="Ruiz")
    response = node_browser.sign_in({"sub": "00u-ana", "email": "ana.ruiz@hospital.org",
                                     "email_verified": True, "name": "Ana Ruiz"})
    assert response.status_code == 302, response.get_data(as_text=True)
    assert linked_identity(db_session, "00u-ana").learner_id == learner.id
    reaches_transcript(client, learner)


def test_okta_staff_reach_the_console(node_idp, node_browser, client, db_session):
    node_idp("okta", **OKTA)
    response = node_browser.sign_in({"sub": "00u-staff", "email": "cme.office@hospital.org",
                                     "email_verified": True, "groups": ["Everyone", "cme-staff"]})
    assert response.status_code == 302, response.get_data(as_text=True)
    assert client.get("/staff/").status_code == 200


def test_okta_groups_need_the_groups_scope(node_idp, node_browser, client, db_session):
    node_idp("okta", OIDC_SCOPES="openid email profile")
    response = node_browser.sign_in({"sub": "00u-staff", "email": "cme.office@hospital.org",
                                     "email_verified": True, "groups": ["cme-staff"]})
    refused(response, db_session, "no_matching_learner")


def test_okta_employee_number_from_userinfo_links(node_idp, node_browser, make, client,
                                                  db_session):
    node_idp("okta", OIDC_LEARNER_ID_CLAIM="employeeNumber", **OKTA)
    learner = make.learner(source_id="77120")
    response = node_browser.sign_in({"sub": "00u-emp", "employeeNumber": "77120",
                                     "email": "other@hospital.org", "email_verified": False})
    assert response.status_code == 302, response.get_data(as_text=True)
    assert linked_identity(db_session, "00u-emp").learner_id == learner.id
    reaches_transcript(client, learner)


# -- Google Workspace --------------------------------------------------------


def test_google_workspace_user_links(node_idp, node_browser, make, client, db_session):
    node_idp("google", OIDC_TRUSTED_EMAIL_DOMAINS=frozenset({"hospital.org"}))
    learner = make.learner(email="lee.park@hospital.org", first_name="Lee", last_name="Park")
    response = node_browser.sign_in({"sub": "1098", "email": "lee.park@hospital.org",
                                     "email_verified": True, "hd": "hospital.org"})
    assert response.status_code == 302, response.get_data(as_text=True)
    assert linked_identity(db_session, "1098").learner_id == learner.id
    reaches_transcript(client, learner)


def test_google_unverified_address_outside_the_workspace_is_refused(node_idp, node_browser,
                                                                    make, db_session):
    node_idp("google", OIDC_TRUSTED_EMAIL_DOMAINS=frozenset({"hospital.org"}))
    make.learner(email="lee.park@hospital.org")
    # A hospital.org address asserted by another Workspace (hd) is not trusted.
    refused(node_browser.sign_in({"sub": "2001", "email": "lee.park@hospital.org",
                                  "email_verified": False, "hd": "elsewhere.org"}),
            db_session, "email_not_verified")
    make.learner(email="lee.park@gmail.com")
    refused(node_browser.sign_in({"sub": "2002", "email": "lee.park@gmail.com",
                                  "email_verified": False}),
            db_session, "email_not_verified")
