"""Every way sign-in must fail: no session starts, a clear page, an audit entry."""

from __future__ import annotations

import socket
import time
from collections.abc import Iterator
from contextlib import contextmanager
from urllib.parse import parse_qsl, urlencode, urlsplit

import pytest

from tests.auth.conftest import Browser, audit, live_sessions
from tests.auth.idp import DROP
from webapp.models import Identity


def assert_refused(response, db_session, reason: str, status: int, *, title: str | None = None):
    """The common shape of a refusal; returns the page text."""
    html = response.get_data(as_text=True)
    assert response.status_code == status, html
    assert live_sessions(db_session) == []
    events = audit(db_session, "auth.login_failed")
    assert [e.details["reason"] for e in events] == [reason]
    reference = events[0].details["reference"]
    assert reference in html
    assert 'href="/login"' in html or reason in {"account_disabled", "email_not_verified",
                                                 "no_matching_learner", "ambiguous_learner",
                                                 "learner_already_linked"}
    assert 'href="/"' in html  # a way home
    if title:
        assert title in html
    assert "Sign out" not in html
    return html


@contextmanager
def closed_port() -> Iterator[int]:
    """A port that refuses connections: bound but never listened on, and held while the
    block runs, so no other process can start listening there meanwhile."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        yield probe.getsockname()[1]


def _with_query(path: str, **changes: str) -> str:
    parts = urlsplit(path)
    query = dict(parse_qsl(parts.query))
    query.update(changes)
    return f"{parts.path}?{urlencode(query)}"


def test_tampered_state_is_refused(browser, idp, make, client, db_session):
    make.learner(email="someone@example.org")
    login = browser.start()
    callback = browser.visit_provider(login.headers["Location"])
    response = client.get(_with_query(callback, state="forged-state-value"))
    assert_refused(response, db_session, "state_mismatch", 400,
                   title="We could not finish signing you in")
    assert idp.token_requests == []  # the code was never exchanged


def test_callback_without_a_started_sign_in_is_refused(browser, idp, client, db_session):
    response = client.get("/login/callback?code=abc&state=never-issued")
    assert_refused(response, db_session, "state_mismatch", 400)


def test_replayed_callback_is_refused(browser, idp, make, client, db_session, app):
    make.learner(email="someone@example.org")
    login = browser.start()
    callback = browser.visit_provider(login.headers["Location"])
    cookie_before = client.get_cookie("cme_session", domain="portal.test").value
    assert client.get(callback).status_code == 302
    client.post("/logout")
    db_session.expire_all()

    # The same browser again: the state was used up by the first answer.
    response = client.get(callback)
    assert_refused(response, db_session, "state_mismatch", 400)

    # Someone replaying the cookie from before the callback as well: the code is spent.
    replay = app.test_client()
    replay.set_cookie("cme_session", cookie_before, domain="portal.test")
    response = replay.get(callback)
    assert response.status_code == 400
    assert live_sessions(db_session) == []
    reasons = [e.details["reason"] for e in audit(db_session, "auth.login_failed")]
    assert reasons == ["state_mismatch", "token_exchange_failed"]


@pytest.mark.parametrize("changes,reason", [
    ({"nonce": "not-the-nonce-we-sent"}, "nonce_mismatch"),
    ({"nonce": DROP}, "nonce_mismatch"),
    ({"iss": "https://evil.example"}, "wrong_issuer"),
    ({"aud": "another-client"}, "wrong_audience"),
    ({"aud": ["another-client", "cme-portal-test"]}, "wrong_audience"),  # several, no azp
    ({"azp": "another-client"}, "wrong_audience"),
    ({"exp": int(time.time()) - 3600, "iat": int(time.time()) - 7200}, "expired_token"),
    ({"iat": int(time.time()) + 3600, "exp": int(time.time()) + 7200}, "invalid_claims"),
    ({"sub": DROP}, "invalid_claims"),
])
def test_bad_id_token_claims_are_refused(browser, idp, make, db_session, changes, reason):
    make.learner(email="someone@example.org")
    idp.behaviour.claim_changes = changes
    assert_refused(browser.sign_in(), db_session, reason, 400)
    assert db_session.query(Identity).count() == 0


def test_expiry_within_leeway_is_accepted(browser, idp, make, db_session):
    make.learner(email="someone@example.org")
    idp.behaviour.claim_changes = {"exp": int(time.time()) - 30}
    assert browser.sign_in().status_code == 302
    assert len(live_sessions(db_session)) == 1


def test_several_audiences_with_azp_naming_us_is_accepted(browser, idp, make, db_session):
    make.learner(email="someone@example.org")
    idp.behaviour.claim_changes = {"aud": ["cme-portal-test", "api"], "azp": "cme-portal-test"}
    assert browser.sign_in().status_code == 302


def test_unsigned_token_is_refused(browser, idp, make, db_session):
    make.learner(email="someone@example.org")
    idp.behaviour.signing = "none"
    # Even a provider that claims to allow it does not get "none" past the allowlist.
    idp.behaviour.discovery_changes = {"id_token_signing_alg_values_supported": ["RS256", "none"]}
    assert_refused(browser.sign_in(), db_session, "disallowed_algorithm", 400)


def test_token_signed_with_unpublished_key_is_refused(browser, idp, make, db_session):
    make.learner(email="someone@example.org")
    idp.behaviour.signing = "unpublished"
    assert_refused(browser.sign_in(), db_session, "bad_signature", 400)


UNMATCHED_TITLE = "We could not connect your sign-in to a CME record"


def test_unverified_email_is_not_linked(browser, idp, make, db_session):
    make.learner(email="someone@example.org")
    idp.behaviour.user["email_verified"] = False
    html = assert_refused(browser.sign_in(), db_session, "email_not_verified", 403,
                          title=UNMATCHED_TITLE)
    assert "cme-support@example.org" in html
    # The identity is kept, unlinked and not signed in, for staff to link by hand.
    (identity,) = db_session.query(Identity).all()
    assert identity.learner_id is None and identity.last_login_at is None
    assert audit(db_session, "auth.login_failed")[-1].subject_id == str(identity.id)
    assert live_sessions(db_session) == []


def test_string_false_email_verified_is_not_verified(browser, idp, make, db_session):
    make.learner(email="someone@example.org")
    idp.behaviour.user["email_verified"] = "false"
    assert_refused(browser.sign_in(), db_session, "email_not_verified", 403)


def test_unknown_and_ambiguous_users_see_the_same_page_as_unverified(
    app, idp, make, db_session
):
    """Nothing on the page tells whether an account with that e-mail exists."""
    pages = {}
    cases = [("email_not_verified", False, 1), ("no_matching_learner", True, 0),
             ("ambiguous_learner", True, 2)]
    for n, (reason, verified, learners) in enumerate(cases):
        email = f"case{n}@example.org"
        for _ in range(learners):
            make.learner(email=email)
        idp.reset(sub=f"idp-user-{n}", email=email, email_verified=verified)
        response = Browser(app.test_client()).sign_in()
        assert response.status_code == 403
        event = audit(db_session, "auth.login_failed")[-1]
        assert event.details["reason"] == reason
        pages[reason] = response.get_data(as_text=True).replace(
            event.details["reference"], "REFERENCE")
    assert live_sessions(db_session) == []
    assert len(set(pages.values())) == 1
    assert UNMATCHED_TITLE in pages["ambiguous_learner"]


def test_disabled_identity_is_refused(browser, idp, make, db_session):
    from webapp.db import utcnow

    learner = make.learner(email="someone@example.org")
    identity = make.identity(learner, issuer=idp.issuer, subject="idp-user-1",
                             disabled_at=utcnow())
    response = browser.sign_in()
    assert_refused(response, db_session, "account_disabled", 403,
                   title="This account cannot be used to sign in")
    [event] = audit(db_session, "auth.login_failed")
    assert event.actor == f"identity:{identity.id}"
    assert event.subject_id == str(identity.id)


def test_user_who_denies_at_the_provider(browser, idp, db_session):
    idp.behaviour.error = "access_denied"
    assert_refused(browser.sign_in(), db_session, "access_denied", 403,
                   title="Sign-in was cancelled")


def test_provider_error_answer(browser, idp, db_session):
    idp.behaviour.error = "server_error"
    assert_refused(browser.sign_in(), db_session, "provider_error", 502)


def test_issuer_in_the_answer_must_be_ours(browser, idp, make, client, db_session):
    make.learner(email="someone@example.org")
    callback = browser.visit_provider(browser.start().headers["Location"])
    response = client.get(_with_query(callback, iss="https://evil.example"))
    assert_refused(response, db_session, "wrong_issuer", 400)


def test_provider_down_at_sign_in(client, app, monkeypatch, db_session):
    with closed_port() as port:
        monkeypatch.setitem(app.config, "OIDC_ISSUER", f"http://127.0.0.1:{port}")
        monkeypatch.setitem(app.config, "OIDC_CLIENT_ID", "x")
        monkeypatch.setitem(app.config, "OIDC_CLIENT_SECRET", "y")
        assert_refused(client.get("/login"), db_session, "provider_unavailable", 503,
                       title="Sign-in is not available right now")


def test_discovery_naming_another_issuer_is_refused(browser, idp, db_session):
    idp.behaviour.discovery_changes = {"issuer": "https://evil.example"}
    assert_refused(browser.start(), db_session, "provider_misconfigured", 503)


def test_sign_in_not_configured(client, app, monkeypatch, db_session):
    monkeypatch.setitem(app.config, "OIDC_ISSUER", "")
    assert_refused(client.get("/login"), db_session, "not_configured", 503)


@pytest.mark.parametrize("target", [
    "//evil.example/",
    "https://evil.example/",
    "http:/evil.example",
    "/\\evil.example",
    "\\\\evil.example",
    "/\t/evil.example",
    "/\n/evil.example",
    "javascript:alert(1)",
    "evil.example",
    "/" + "a" * 2001,
])
def test_unsafe_next_is_refused(browser, idp, db_session, target):
    response = browser.start(next_url=target)
    assert_refused(response, db_session, "unsafe_next", 400,
                   title="This sign-in link is not valid")
    assert idp.authorize_requests == []


def test_audit_entries_hold_no_personal_identifiers(browser, idp, make, db_session):
    make.learner(email="someone@example.org")
    idp.behaviour.user["email_verified"] = False
    browser.sign_in()
    idp.behaviour.user["email_verified"] = True
    browser.sign_in()
    browser.client.post("/logout")
    text = repr([(e.actor, e.subject_id, e.details) for e in audit(db_session, "auth.login_failed")
                 + audit(db_session, "auth.login") + audit(db_session, "auth.logout")])
    for personal in ("someone@example.org", "Some One", "idp-user-1"):
        assert personal not in text


def test_provider_down_when_exchanging_the_code(browser, idp, make, db_session):
    make.learner(email="someone@example.org")
    with closed_port() as port:
        idp.behaviour.discovery_changes = {"token_endpoint": f"http://127.0.0.1:{port}/token"}
        assert_refused(browser.sign_in(), db_session, "provider_unavailable", 503,
                       title="Sign-in is not available right now")
