"""Sessions that really end: sign-out, replayed cookies, timeouts, renewal, cookie contents."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from urllib.parse import parse_qs, urlsplit

import time_machine
from sqlalchemy import select

from tests.auth.conftest import Browser, audit, live_sessions
from tests.auth.idp import CLIENT_ID
from webapp.db import utcnow
from webapp.models import UserSession


def signed_in(client) -> bool:
    user = client.signed_in_user()
    html = user.response.get_data(as_text=True)
    authenticated = user.is_authenticated

    assert authenticated == ("Sign out" in html)
    return authenticated


def session_of(db_session, identity) -> UserSession:
    return db_session.scalars(
        select(UserSession).where(UserSession.identity_id == identity.id)).one()


def session_cookie(client) -> str:
    return client.get_cookie("cme_session", domain="portal.test").value


def test_sign_out_ends_the_session_here_and_at_the_provider(browser, idp, make, client,
                                                            db_session, app):
    make.learner(email="someone@example.org")
    browser.sign_in()
    assert signed_in(client)
    old_cookie = session_cookie(client)
    [row] = live_sessions(db_session)

    response = client.post("/logout")

    assert response.status_code == 302
    target = urlsplit(response.headers["Location"])
    assert f"{target.scheme}://{target.netloc}{target.path}" == f"{idp.issuer}/logout"
    params = parse_qs(target.query)
    assert params["id_token_hint"] == [row.id_token_hint]
    assert params["post_logout_redirect_uri"] == ["http://portal.test/signed-out"]
    assert params["client_id"] == [CLIENT_ID]
    assert not signed_in(client)
    db_session.refresh(row)
    assert row.ended_at is not None and row.end_reason == "logout"
    [event] = audit(db_session, "auth.logout")
    assert event.actor == f"identity:{row.identity_id}"

    # A copy of the cookie taken before signing out is worth nothing now.
    thief = app.test_client()
    thief.set_cookie("cme_session", old_cookie, domain="portal.test")
    assert not signed_in(thief)
    # Signing out with it again changes nothing and is not audited twice.
    thief.set_cookie("cme_session", old_cookie, domain="portal.test")
    assert thief.post("/logout", data={"csrf_token": thief.csrf_token()}).status_code == 302
    assert len(audit(db_session, "auth.logout")) == 1


def test_sign_out_without_provider_logout_lands_on_our_page(browser, idp, make, client):
    make.learner(email="someone@example.org")
    idp.behaviour.discovery_changes = {"end_session_endpoint": None}
    browser.sign_in()
    response = client.post("/logout")
    assert response.headers["Location"] == "/signed-out"
    page = client.get("/signed-out")
    assert page.status_code == 200
    assert "You are signed out" in page.get_data(as_text=True)
    assert not signed_in(client)


def test_sign_out_needs_post_with_csrf(login_as, make, client):
    login_as(make.learner())
    assert client.get("/logout").status_code == 405
    refused = client.post("/logout", csrf=False)
    assert refused.status_code == 400
    assert signed_in(client)


def test_sign_in_renews_the_session(browser, idp, make, client, login_as, db_session, app):
    make.learner(email="someone@example.org")
    login = browser.start()
    callback = browser.visit_provider(login.headers["Location"])
    # Meanwhile the same browser got signed in as someone else (another tab).
    login_as(make.learner())
    before = session_cookie(client)

    assert client.get(callback).status_code == 302

    after = app.session_interface.get_signing_serializer(app).loads(session_cookie(client))
    assert session_cookie(client) != before
    assert not any(key.startswith("_state_") for key in after)  # nothing from before survives
    replaced = db_session.scalars(
        select(UserSession).where(UserSession.end_reason == "replaced")).all()
    assert len(replaced) == 1
    stale = app.test_client()
    stale.set_cookie("cme_session", before, domain="portal.test")
    assert not signed_in(stale)
    assert signed_in(client)


def test_idle_sessions_end(login_as, make, client, app, db_session):
    start = dt.datetime(2026, 3, 2, 9, 0, tzinfo=dt.UTC)
    idle = app.config["SESSION_IDLE_MINUTES"]
    with time_machine.travel(start, tick=False) as traveller:
        identity = login_as(make.learner())
        traveller.shift(dt.timedelta(minutes=idle - 5))
        assert signed_in(client)  # activity keeps it alive...
        traveller.shift(dt.timedelta(minutes=idle - 5))
        assert signed_in(client)
        traveller.shift(dt.timedelta(minutes=idle + 1))  # ...silence ends it
        assert not signed_in(client)
    row = session_of(db_session, identity)
    assert row.end_reason == "idle"
    [event] = audit(db_session, "auth.session_ended")
    assert event.details == {"reason": "idle"}


def test_sessions_end_after_the_absolute_limit_however_active(login_as, make, client, app,
                                                             db_session):
    start = dt.datetime(2026, 3, 2, 9, 0, tzinfo=dt.UTC)
    max_hours = app.config["SESSION_MAX_HOURS"]
    with time_machine.travel(start, tick=False) as traveller:
        identity = login_as(make.learner())
        for _ in range(max_hours * 3):
            traveller.shift(dt.timedelta(minutes=20))
            assert signed_in(client)
        traveller.shift(dt.timedelta(minutes=20))
        assert not signed_in(client)
    row = session_of(db_session, identity)
    assert row.end_reason == "expired"


def test_disabling_an_identity_ends_its_sessions(login_as, make, client, db_session):
    identity = login_as(make.learner())
    assert signed_in(client)
    identity.disabled_at = utcnow()
    db_session.flush()
    assert not signed_in(client)
    row = session_of(db_session, identity)
    assert row.end_reason == "disabled"


def _cookie_header(response) -> str:
    [header] = [h for h in response.headers.getlist("Set-Cookie") if h.startswith("cme_session=")]
    return header


def test_session_cookie_holds_only_a_random_token(browser, idp, make, app, db_session):
    learner = make.learner(email="someone@example.org", first_name="Morgan", last_name="Hale")
    idp.reset(sub="subject-4711", email="someone@example.org", email_verified=True,
              name="Morgan Hale", given_name="Morgan", groups=["cme-staff"])
    response = browser.sign_in()

    value = _cookie_header(response).split(";")[0].split("=", 1)[1]
    contents = app.session_interface.get_signing_serializer(app).loads(value)
    assert set(contents) <= {"sid", "_flashes", "csrf_token"}
    assert isinstance(contents["sid"], str) and len(contents["sid"]) >= 40
    text = json.dumps(contents)
    for personal in ("someone@example.org", "Morgan", "Hale", "subject-4711", "cme-staff",
                     f'"{learner.id}"', learner.source_id):
        assert personal not in text
    # The database keeps only a hash of the token, so its rows are no usable cookie.
    [row] = live_sessions(db_session)
    assert row.id == hashlib.sha256(contents["sid"].encode()).hexdigest()


def test_session_cookie_flags(browser, idp, make, app, monkeypatch):
    make.learner(email="someone@example.org")
    header = _cookie_header(browser.sign_in())
    assert "HttpOnly" in header
    assert "SameSite=Lax" in header
    assert "Path=/" in header
    assert "Secure" not in header  # development and tests run on plain http

    monkeypatch.setitem(app.config, "SESSION_COOKIE_SECURE", True)  # as production sets it
    header = _cookie_header(Browser(app.test_client()).sign_in())
    assert "Secure" in header and "HttpOnly" in header and "SameSite=Lax" in header
