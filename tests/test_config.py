import datetime as dt

import pytest

from webapp.config import ConfigError, load


def test_development_defaults_use_sqlite_under_instance():
    cfg = load({})
    assert cfg["SQLALCHEMY_DATABASE_URI"].startswith("sqlite:///")
    assert cfg["SQLALCHEMY_DATABASE_URI"].endswith("instance/cme.db")
    assert cfg["REPORTING_START_DATE"] == dt.date(2023, 7, 1)
    assert cfg["SESSION_COOKIE_SECURE"] is False
    assert len(cfg["SECRET_KEY"]) >= 32


OIDC = {"OIDC_ISSUER": "https://sso.example.org", "OIDC_CLIENT_ID": "cme",
        "OIDC_CLIENT_SECRET": "s"}


@pytest.mark.parametrize("env,needle", [
    ({}, "SECRET_KEY, DATABASE_URL, OIDC_ISSUER, OIDC_CLIENT_ID, OIDC_CLIENT_SECRET"),
    ({"SECRET_KEY": "k" * 40, **OIDC}, "needs DATABASE_URL to be set"),
    ({"DATABASE_URL": "postgresql://db/cme", **OIDC}, "needs SECRET_KEY to be set"),
    ({"SECRET_KEY": "k" * 40, "DATABASE_URL": "postgresql://db/cme"}, "OIDC_ISSUER"),
    ({"SECRET_KEY": "short", "DATABASE_URL": "postgresql://db/cme", **OIDC}, "at least 32"),
    ({"SECRET_KEY": "k" * 40, "DATABASE_URL": "sqlite:///x.db", **OIDC}, "server database"),
])
def test_production_refuses_to_start_without_secrets(env, needle):
    with pytest.raises(ConfigError, match=needle):
        load({"APP_ENV": "production", **env})


#: What production needs besides the secrets (see tests/test_production_settings.py).
PRODUCTION_REST = {"PARS_PROVIDER_ID": "0007777", "TRUSTED_HOSTS": "cme.example.org",
                   "RATELIMIT_STORAGE_URI": "redis://127.0.0.1:6379/0"}
RANDOM_KEY = "Zq3v9Kx2mP7wLr4tYb8nHc6dJf1gSa5eUo0i"


def test_production_with_secrets():
    cfg = load({"APP_ENV": "production", "SECRET_KEY": RANDOM_KEY,
                "DATABASE_URL": "postgresql://u@db/cme", **OIDC, **PRODUCTION_REST})
    assert cfg["SQLALCHEMY_DATABASE_URI"] == "postgresql+psycopg://u@db/cme"
    assert cfg["SESSION_COOKIE_SECURE"] is True
    assert cfg["SESSION_COOKIE_HTTPONLY"] is True
    assert cfg["SESSION_COOKIE_SAMESITE"] == "Lax"


@pytest.mark.parametrize("env,needle", [
    ({"REPORTING_START_DATE": "July 2023"}, "REPORTING_START_DATE"),
    ({"PARS_PROVIDER_ID": "12"}, "PARS_PROVIDER_ID"),
    ({"PARS_YEAR_CLOSE": "02-30"}, "PARS_YEAR_CLOSE"),
    ({"APP_ENV": "staging"}, "APP_ENV"),
    ({"SESSION_IDLE_MINUTES": "soon"}, "SESSION_IDLE_MINUTES"),
])
def test_bad_settings_are_named(env, needle):
    with pytest.raises(ConfigError, match=needle):
        load(env)


def test_settings_from_environment():
    cfg = load({"REPORTING_START_DATE": "2024-01-01", "INSTITUTION_NAME": "Northfield CME",
                "CONSENT_DEFAULT": "no"})
    assert cfg["REPORTING_START_DATE"] == dt.date(2024, 1, 1)
    assert cfg["INSTITUTION_NAME"] == "Northfield CME"
    assert cfg["CONSENT_DEFAULT"] is False


def test_notice_settings_default_and_check_the_time_zone():
    from webapp.config import ConfigError, load

    cfg = load({})
    assert (cfg["MAIL_SERVER"], cfg["MAIL_PORT"], cfg["MAIL_USE_TLS"]) == ("", 25, False)
    # The day of the one-a-day limit is the display zone's unless set apart.
    assert (cfg["NOTIFY_TIMEZONE"], cfg["STAFF_EMAIL"]) == (cfg["DISPLAY_TIMEZONE"], "")
    assert load({"DISPLAY_TIMEZONE": "UTC"})["NOTIFY_TIMEZONE"] == "UTC"
    assert load({"NOTIFY_TIMEZONE": "America/Chicago"})["NOTIFY_TIMEZONE"] == "America/Chicago"
    with pytest.raises(ConfigError, match="NOTIFY_TIMEZONE must be a time zone name"):
        load({"NOTIFY_TIMEZONE": "Mars/Olympus"})
