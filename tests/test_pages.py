"""The base layout and error pages."""

import re

import pytest
from sqlalchemy import select

from devtools.database import make_app
from webapp.audit import AppendOnlyViolation, record
from webapp.models import AuditEvent


def test_home_page_renders_without_javascript_or_cdn(client, app):
    response = client.get("/")
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert '<html lang="en">' in html
    assert 'href="#main"' in html  # skip link
    assert app.config["INSTITUTION_NAME"] in html
    assert "<script" not in html
    assert "http://" not in html.replace("http://portal.test", "")
    assert "https://" not in html


def test_unknown_page_gets_helpful_404(client):
    response = client.get("/no-such-page")
    assert response.status_code == 404
    assert "Page not found" in response.get_data(as_text=True)


def test_static_css_is_served_locally(client):
    response = client.get("/static/site.css")
    assert response.status_code == 200
    assert "text/css" in response.content_type
    response.close()


@pytest.mark.parametrize("change", ["update", "delete"])
def test_audit_log_is_append_only(db_session, change):
    entry = record("test.event", actor="system", thing=1)
    db_session.flush()
    if change == "update":
        entry.action = "rewritten"
    else:
        db_session.delete(entry)
    with pytest.raises(AppendOnlyViolation):
        db_session.flush()
    db_session.rollback()
    assert db_session.scalars(select(AuditEvent).where(AuditEvent.action == "rewritten")).all() == []


def test_every_page_names_a_favicon_that_is_served(client):
    html = client.get("/").get_data(as_text=True)
    href = re.search(r'<link rel="icon" href="([^"]+)" type="image/svg\+xml">', html).group(1)
    response = client.get(href)
    assert response.status_code == 200 and response.mimetype == "image/svg+xml"
    assert response.data.startswith(b"<svg")
    response.close()


def test_too_many_requests_gets_the_sites_own_page(database_url):
    app = make_app(database_url, RATELIMIT_ENABLED=True, RATELIMIT_DEFAULT="1 per minute",
                   WTF_CSRF_ENABLED=False)
    client = app.test_client()
    client.post("/profile/sharing", data={"share": "no"})
    response = client.post("/profile/sharing", data={"share": "no"})
    assert response.status_code == 429
    html = response.get_data(as_text=True)
    assert "<h1>Too many requests</h1>" in html and "Wait a minute" in html
    assert "/static/site.css" in html and 'class="site-header"' in html
    assert "Retry-After" in response.headers


@pytest.mark.parametrize("staff", [False, True])
def test_header_names_who_is_signed_in(client, login_as, make, staff):
    learner = None if staff else make.learner(first_name="Nadia", last_name="Okafor")
    identity = make.identity(learner, display_name="Nadia Okafor" if staff else None,
                             email="nadia@example.org")
    login_as(learner, staff=staff, identity=identity)
    html = client.get("/faq/").get_data(as_text=True)
    header = html.split("</header>", 1)[0]
    assert "Signed in as <strong>Nadia Okafor</strong>" in header
    assert ("(CME staff)" in header) is staff
    assert "nadia@example.org" not in header
    if learner is not None:
        assert learner.npi not in header and learner.source_id not in header


def test_header_never_shows_an_address_given_as_the_name(client, login_as, make):
    identity = make.identity(None, display_name="office@example.org")
    login_as(None, staff=True, identity=identity)
    header = client.get("/faq/").get_data(as_text=True).split("</header>", 1)[0]
    assert "Signed in (CME staff)" in header and "office@example.org" not in header


def test_signed_out_header_names_no_one(client):
    header = client.get("/").get_data(as_text=True).split("</header>", 1)[0]
    assert "Signed in" not in header


def test_staff_home_link_leads_to_the_console(client, login_as):
    login_as(None, staff=True)
    header = client.get("/faq/").get_data(as_text=True).split("</header>", 1)[0]
    assert 'class="brand" href="/staff/"' in header
