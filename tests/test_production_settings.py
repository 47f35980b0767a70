"""Production settings that would be unsafe are refused at start-up, each with what to do."""

from __future__ import annotations

import logging

import pytest

from tests.test_config import OIDC, PRODUCTION_REST, RANDOM_KEY
from webapp import create_app, security
from webapp.config import ConfigError, load

GOOD = {"APP_ENV": "production", "SECRET_KEY": RANDOM_KEY,
        "DATABASE_URL": "postgresql://u@db/cme", **OIDC, **PRODUCTION_REST}


def test_the_good_settings_load():
    cfg = load(GOOD)
    assert cfg["TRUSTED_HOSTS"] == ["cme.example.org"]


@pytest.mark.parametrize("change,needle", [
    ({"PARS_API_URL": "http://pars.example.org/api"}, "PARS_API_URL must be an https:// address"),
    ({"OIDC_ISSUER": "http://sso.example.org"}, "OIDC_ISSUER must be an https:// address"),
    ({"SECRET_KEY": "k" * 40}, "SECRET_KEY is not random"),
    ({"SECRET_KEY": "ab" * 20}, "SECRET_KEY is not random"),
    ({"PARS_PROVIDER_ID": ""}, "PARS_PROVIDER_ID is the example ID"),
    ({"TRUSTED_HOSTS": ""}, "production needs TRUSTED_HOSTS"),
    ({"RATELIMIT_STORAGE_URI": ""}, "each worker process counts on its own"),
    ({"MAIL_SERVER": "smtp.example.org", "MAIL_PASSWORD": "p", "MAIL_FROM": "cme@example.org",
      "PORTAL_URL": "https://cme.example.org"}, "MAIL_PASSWORD is set but MAIL_USE_TLS is off"),
    ({"MAIL_SERVER": "smtp.example.org", "MAIL_FROM": "cme@example.org",
      "PORTAL_URL": "http://cme.example.org"}, "PORTAL_URL must be the site's https:// address"),
    ({"MAIL_SERVER": "smtp.example.org", "PORTAL_URL": "https://cme.example.org"},
     "MAIL_FROM is the development sender"),
])
def test_unsafe_production_settings_are_refused(change, needle):
    env = {k: v for k, v in (GOOD | change).items() if v}
    with pytest.raises(ConfigError, match=needle):
        load(env)


def test_mail_settings_with_tls_and_an_https_portal_load():
    cfg = load(GOOD | {"MAIL_SERVER": "smtp.example.org", "MAIL_PORT": "587", "MAIL_USE_TLS": "yes",
                       "MAIL_FROM": "cme-portal@example.org",
                       "MAIL_USERNAME": "cme", "MAIL_PASSWORD": "p",
                       "PORTAL_URL": "https://cme.example.org"})
    assert (cfg["MAIL_PORT"], cfg["MAIL_USE_TLS"]) == (587, True)


def test_per_worker_limits_are_accepted_only_when_asked_for_and_said_at_start_up(monkeypatch,
                                                                                 caplog):
    env = {k: v for k, v in GOOD.items() if k != "RATELIMIT_STORAGE_URI"}
    env["RATELIMIT_PER_WORKER"] = "yes"
    assert load(env)["RATELIMIT_STORAGE_URI"] == "memory://"
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    monkeypatch.delenv("FLASK_DEBUG", raising=False)
    monkeypatch.delenv("RATELIMIT_STORAGE_URI", raising=False)
    monkeypatch.setenv("LOG_FORMAT", "text")  # json would replace the root handlers
    # The limiter is one shared instance: an app binding it here would change the limits
    # other tests' apps count with.
    monkeypatch.setattr(security, "init_app", lambda app: None)
    with caplog.at_level(logging.WARNING):
        create_app()
    assert "rate limits are counted by each worker process on its own" in caplog.text


def test_the_debugger_is_refused_in_production(monkeypatch):
    for key, value in GOOD.items():
        monkeypatch.setenv(key, value)
    monkeypatch.setenv("LOG_FORMAT", "text")
    monkeypatch.setenv("FLASK_DEBUG", "1")  # what `flask run --debug` sets
    with pytest.raises(ConfigError, match="debug mode"):
        create_app()


def test_a_spoofed_host_never_reaches_the_sign_in_redirect(app, client, monkeypatch):
    monkeypatch.setitem(app.config, "TRUSTED_HOSTS", ["localhost"])
    spoofed = client.get("/login", headers={"Host": "evil.example"})
    assert spoofed.status_code == 400
    assert "evil.example" not in spoofed.headers.get("Location", "")
    assert client.get("/faq", headers={"Host": "localhost"}).status_code == 200
