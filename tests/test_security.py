"""Security headers on every route, private pages not cached, rate limits, health check."""

from __future__ import annotations

import re

from devtools.database import make_app

STATIC_ARGS = {"filename": "site.css"}


def _urls(app):
    """Every GET route, with sample arguments for the ones that take some."""
    samples = {"completion_id": 1, "slug": "opting-out", "filename": "site.css"}
    for rule in app.url_map.iter_rules():
        if "GET" not in rule.methods:
            continue
        url = rule.rule
        for arg in rule.arguments:
            url = re.sub(rf"<(?:[a-z]+:)?{arg}>", str(samples.get(arg, 1)), url)
        yield rule.endpoint, url


def check_headers(response, private: bool):
    h = response.headers
    csp = h["Content-Security-Policy"]
    for directive in ("default-src 'self'", "object-src 'none'", "base-uri 'none'",
                      "frame-ancestors 'none'", "script-src 'self' 'nonce-"):
        assert directive in csp, directive
    assert "unsafe-inline" not in csp
    assert h["X-Content-Type-Options"] == "nosniff"
    assert h["Referrer-Policy"] == "same-origin"
    if private:
        assert h["Cache-Control"] == "no-store"


def test_every_route_sends_security_headers_signed_out(app, client):
    seen = 0
    for _endpoint, url in _urls(app):
        response = client.get(url)
        check_headers(response, private=url.startswith(("/transcript", "/profile", "/staff")))
        response.close()
        seen += 1
    assert seen >= 5


def test_every_route_sends_security_headers_signed_in(app, client, login_as, make):
    learner = make.learner()
    make.completion(learner)
    login_as(learner)
    for _endpoint, url in _urls(app):
        response = client.get(url)
        check_headers(response, private=not url.startswith("/static/"))
        response.close()


def test_nonce_differs_per_response(client):
    a = client.get("/").headers["Content-Security-Policy"]
    b = client.get("/").headers["Content-Security-Policy"]
    assert re.search(r"nonce-([\w-]+)", a).group(1) != re.search(r"nonce-([\w-]+)", b).group(1)


def test_no_inline_script_or_style_in_pages(client, login_as, make, app):
    learner = make.learner()
    make.completion(learner)
    login_as(learner)
    for _, url in _urls(app):
        if url.startswith("/static/"):
            continue
        response = client.get(url)
        if response.mimetype != "text/html":
            continue
        html = response.get_data(as_text=True)
        assert not re.search(r"<script(?![^>]*\bsrc=)[^>]*>", html), url
        assert " style=" not in html and "<style" not in html, url
        assert not re.search(r"\son[a-z]+=", html), url


def test_hsts_outside_development(tmp_path):
    app = make_app(f"sqlite:///{tmp_path / 'x.db'}")
    assert "max-age" in app.test_client().get("/").headers["Strict-Transport-Security"]
    dev = make_app(f"sqlite:///{tmp_path / 'x.db'}", APP_ENV="development")
    assert "Strict-Transport-Security" not in dev.test_client().get("/").headers


def test_form_posts_are_rate_limited(database_url):
    app = make_app(database_url, RATELIMIT_ENABLED=True, RATELIMIT_DEFAULT="3 per minute",
                   WTF_CSRF_ENABLED=False)
    client = app.test_client()
    codes = [client.post("/profile/sharing", data={"share": "no"}).status_code for _ in range(5)]
    assert 429 not in codes[:3] and codes[3:] == [429, 429]
    assert client.get("/").status_code == 200  # reading is not limited


def test_each_app_gets_its_own_default_limit(database_url):
    # The limiter object is shared by every app of the process; the second app's limit
    # must not be the first one's.
    make_app(database_url, RATELIMIT_ENABLED=True, RATELIMIT_DEFAULT="1 per minute")
    app = make_app(database_url, RATELIMIT_ENABLED=True, RATELIMIT_DEFAULT="2 per minute",
                   WTF_CSRF_ENABLED=False)
    client = app.test_client()
    codes = [client.post("/profile/sharing", data={"share": "no"}).status_code for _ in range(3)]
    assert 429 not in codes[:2] and codes[2] == 429


def test_healthz(client):
    response = client.get("/healthz")
    assert response.status_code == 200 and response.json == {"status": "ok", "database": "ok"}


def test_healthz_reports_an_unreachable_database(tmp_path):
    app = make_app(f"sqlite:///{tmp_path}/missing/dir/x.db")
    response = app.test_client().get("/healthz")
    assert response.status_code == 503
    assert response.json["database"] == "unreachable"
