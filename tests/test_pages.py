"""The base layout and error pages."""

import pytest
from sqlalchemy import select

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
