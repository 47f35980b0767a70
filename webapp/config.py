"""Settings read from the environment.

Development gets safe defaults (a SQLite file under ``instance/``, a generated
secret key); production (``APP_ENV=production``) refuses to start without a
real ``SECRET_KEY`` and a server database.
"""

from __future__ import annotations

import datetime as dt
import os
import secrets
from pathlib import Path
from typing import Any

from webapp.dates import DEFAULT_DISPLAY_TIMEZONE, MonthDay, display_zone

ROOT = Path(__file__).resolve().parent.parent
INSTANCE = ROOT / "instance"


class ConfigError(RuntimeError):
    """The environment does not describe a runnable application."""


def _bool(value: str | None, default: bool) -> bool:
    if value is None or value == "":
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def _date(name: str, value: str) -> dt.date:
    try:
        return dt.date.fromisoformat(value)
    except ValueError as exc:
        raise ConfigError(f"{name} must be a date as YYYY-MM-DD, got {value!r}") from exc


def _degrees(value: str) -> frozenset[str]:
    from webapp.models.people import PHYSICIAN_DEGREES, normalise_degree

    given = frozenset(normalise_degree(d) for d in value.split(",") if normalise_degree(d))
    return given or PHYSICIAN_DEGREES


def _int(name: str, value: str) -> int:
    try:
        return int(value)
    except ValueError as exc:
        raise ConfigError(f"{name} must be a whole number, got {value!r}") from exc


def _scopes(value: str) -> str:
    """The scopes to request, always with ``openid`` first."""
    given = value.split() or ["email", "profile"]
    return " ".join(["openid", *dict.fromkeys(s for s in given if s != "openid")])


def _domains(value: str) -> frozenset[str]:
    return frozenset(d.strip().lower().lstrip("@") for d in value.split(",") if d.strip())


def _zone(value: str, name: str = "NOTIFY_TIMEZONE") -> str:
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise ConfigError(f"{name} must be a time zone name such as America/Chicago, "
                          f"got {value!r}") from exc
    return value


def normalise_database_url(url: str) -> str:
    """Use the psycopg 3 driver for plain ``postgresql://`` URLs."""
    for prefix in ("postgresql://", "postgres://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix):]
    return url


#: Where Debian's fonts-dejavu-core puts DejaVu Sans.
DEFAULT_PDF_FONT_DIR = "/usr/share/fonts/truetype/dejavu"
#: ACCME's standard accreditation statement and the AMA's designation statement; a
#: provider sets its own approved words (jointly provided activities differ).
DEFAULT_ACCREDITATION_STATEMENT = (
    "{institution} is accredited by the Accreditation Council for Continuing Medical Education "
    "(ACCME) to provide continuing medical education for physicians.")
DEFAULT_DESIGNATION_STATEMENT = (
    "{institution} designates each activity listed for a maximum of the AMA PRA Category 1 "
    "Credit(s)™ shown for it. Physicians should claim only the credit commensurate with the "
    "extent of their participation in the activity.")

#: The example provider ID the development settings use; never a real provider's.
EXAMPLE_PROVIDER_ID = "0001234"
#: A random key of 32+ characters has far more different characters than this.
_MIN_DISTINCT_KEY_CHARACTERS = 8


def _refuse_unsafe_production(cfg: dict[str, Any], env: dict[str, str]) -> None:
    """Settings a production site must not run with, each named with what to do."""
    if len(set(cfg["SECRET_KEY"])) < _MIN_DISTINCT_KEY_CHARACTERS:
        raise ConfigError("SECRET_KEY is not random (too few different characters); generate one "
                          "with: python -c 'import secrets; print(secrets.token_urlsafe(48))'")
    for name in ("OIDC_ISSUER", "PARS_API_URL"):
        value = cfg[name]
        if value and not value.lower().startswith("https://"):
            raise ConfigError(f"{name} must be an https:// address in production; over plain "
                              "http:// sign-in codes and the PARS password cross the network "
                              "in clear")
    if cfg["PARS_PROVIDER_ID"] == EXAMPLE_PROVIDER_ID:
        raise ConfigError("PARS_PROVIDER_ID is the example ID; set your ACCME provider ID")
    if not cfg["TRUSTED_HOSTS"]:
        raise ConfigError("production needs TRUSTED_HOSTS, the host name(s) the site answers to "
                          "(e.g. cme.example.org), so a forged Host header cannot reach "
                          "sign-in addresses")
    if not (Path(cfg["PDF_FONT_DIR"]) / "DejaVuSans.ttf").is_file():
        raise ConfigError(f"PDF_FONT_DIR ({cfg['PDF_FONT_DIR']}) has no DejaVuSans.ttf, which the "
                          "PDF transcript needs for the ™ sign and names beyond Latin-1; install "
                          "Debian's fonts-dejavu-core or point PDF_FONT_DIR at DejaVu Sans")
    if cfg["MAIL_SERVER"] and cfg["MAIL_PASSWORD"] and not cfg["MAIL_USE_TLS"]:
        raise ConfigError("MAIL_PASSWORD is set but MAIL_USE_TLS is off: the password would "
                          "cross the network in clear; set MAIL_USE_TLS=yes")
    if cfg["MAIL_SERVER"] and cfg["MAIL_FROM"].lower().endswith("@localhost"):
        raise ConfigError("MAIL_FROM is the development sender; set the address e-mail notices "
                          "come from (e.g. cme-portal@example.org)")
    if cfg["MAIL_SERVER"] and not cfg["PORTAL_URL"].lower().startswith("https://"):
        raise ConfigError("PORTAL_URL must be the site's https:// address in production: "
                          "e-mail notices link to it")
    if cfg["RATELIMIT_STORAGE_URI"].startswith("memory://") and not cfg["RATELIMIT_PER_WORKER"]:
        raise ConfigError("RATELIMIT_STORAGE_URI is memory://, so each worker process counts "
                          "on its own; set it to a shared store such as redis://host:6379/0, "
                          "or RATELIMIT_PER_WORKER=yes to accept per-worker limits")


def rate_limit_warning(cfg: Any) -> str | None:
    """What start-up says when a production site counts rate limits per worker process."""
    if cfg["APP_ENV"] == "production" and cfg["RATELIMIT_ENABLED"] \
            and cfg["RATELIMIT_STORAGE_URI"].startswith("memory://"):
        return ("rate limits are counted by each worker process on its own "
                "(RATELIMIT_STORAGE_URI=memory://, RATELIMIT_PER_WORKER=yes); with N workers "
                "a client gets up to N times the limit")
    return None


def load(environ: dict[str, str] | None = None) -> dict[str, Any]:
    """Build the Flask configuration mapping from ``environ`` (default: os.environ)."""
    env = dict(os.environ if environ is None else environ)
    get = env.get
    app_env = get("APP_ENV", "development").strip().lower()
    if app_env not in {"development", "production", "testing"}:
        raise ConfigError("APP_ENV must be development, production or testing")
    production = app_env == "production"

    secret = get("SECRET_KEY", "")
    database_url = get("DATABASE_URL", "")
    if production:
        required = ("SECRET_KEY", "DATABASE_URL", "OIDC_ISSUER", "OIDC_CLIENT_ID",
                    "OIDC_CLIENT_SECRET")
        missing = [name for name in required if not get(name)]
        if missing:
            raise ConfigError("production needs " + ", ".join(missing) + " to be set")
        if len(secret) < 32:
            raise ConfigError("SECRET_KEY must be at least 32 characters in production")
        if database_url.startswith("sqlite"):
            raise ConfigError("production needs a server database, not SQLite, in DATABASE_URL")
    if not secret:
        # A fresh key per process: sessions do not survive a restart in development.
        secret = secrets.token_hex(32)
    if not database_url:
        database_url = f"sqlite:///{INSTANCE / 'cme.db'}"

    cfg: dict[str, Any] = {
        "APP_ENV": app_env,
        "SECRET_KEY": secret,
        "SQLALCHEMY_DATABASE_URI": normalise_database_url(database_url),
        # Bound values (names, NPIs, birth dates) never appear in database error messages.
        "SQLALCHEMY_ENGINE_OPTIONS": {"hide_parameters": True},
        "SQLALCHEMY_RECORD_QUERIES": _bool(get("SQLALCHEMY_RECORD_QUERIES"), app_env == "testing"),
        "INSTITUTION_NAME": get("INSTITUTION_NAME", "Lakeshore Health"),
        "PORTAL_URL": get("PORTAL_URL", "http://127.0.0.1:5000"),
        "SUPPORT_EMAIL": get("SUPPORT_EMAIL", "cme-support@example.org"),
        "SUPPORT_PHONE": get("SUPPORT_PHONE", ""),
        "REPORTING_START_DATE": _date(
            "REPORTING_START_DATE", get("REPORTING_START_DATE", "2023-07-01")
        ),
        #: Month-day on which PARS closes the previous year's learner data.
        "PARS_YEAR_CLOSE": get("PARS_YEAR_CLOSE", "03-31"),
        #: Days after completion within which ACCME and the boards ask for learner data.
        "BOARD_REPORTING_DAYS": _int("BOARD_REPORTING_DAYS", get("BOARD_REPORTING_DAYS", "30")),
        #: Degrees whose holders are reported to PARS as physicians (comma-separated).
        "PHYSICIAN_DEGREES": _degrees(get("PHYSICIAN_DEGREES", "")),
        #: How often the engine is scheduled, in words physicians read in the FAQ.
        "SUBMISSION_FREQUENCY": get("SUBMISSION_FREQUENCY", "every day"),
        #: Learners who never chose: share (opt-out model) or not (opt-in model).
        "CONSENT_DEFAULT": _bool(get("CONSENT_DEFAULT"), True),
        # Single sign-on
        "OIDC_ISSUER": get("OIDC_ISSUER", ""),
        "OIDC_CLIENT_ID": get("OIDC_CLIENT_ID", ""),
        "OIDC_CLIENT_SECRET": get("OIDC_CLIENT_SECRET", ""),
        "OIDC_STAFF_CLAIM": get("OIDC_STAFF_CLAIM", "groups"),
        "OIDC_STAFF_VALUE": get("OIDC_STAFF_VALUE", "cme-staff"),
        # Single sign-on: what is asked of the provider and what links a first sign-in
        # (README, "Who is signed in as whom" and the per-provider sections).
        "OIDC_SCOPES": _scopes(get("OIDC_SCOPES", "")),
        #: The claim holding the e-mail (``preferred_username`` for Entra ID without
        #: the optional ``email`` claim).
        "OIDC_EMAIL_CLAIM": get("OIDC_EMAIL_CLAIM", "email").strip() or "email",
        #: A claim equal to the learning system's ``learner_id``; links by itself.
        "OIDC_LEARNER_ID_CLAIM": get("OIDC_LEARNER_ID_CLAIM", "").strip(),
        #: Domains the organisation owns whose addresses its provider asserts.
        "OIDC_TRUSTED_EMAIL_DOMAINS": _domains(get("OIDC_TRUSTED_EMAIL_DOMAINS", "")),
        "SESSION_IDLE_MINUTES": _int("SESSION_IDLE_MINUTES", get("SESSION_IDLE_MINUTES", "30")),
        "SESSION_MAX_HOURS": _int("SESSION_MAX_HOURS", get("SESSION_MAX_HOURS", "12")),
        # PARS
        "PARS_API_URL": get("PARS_API_URL", ""),
        "PARS_PROVIDER_ID": get("PARS_PROVIDER_ID", "0001234"),
        "PARS_USER": get("PARS_USER", ""),
        "PARS_PASSWORD": get("PARS_PASSWORD", ""),
        "PARS_CONNECT_TIMEOUT": float(get("PARS_CONNECT_TIMEOUT", "5")),
        "PARS_READ_TIMEOUT": float(get("PARS_READ_TIMEOUT", "30")),
        "PARS_BATCH_SIZE": _int("PARS_BATCH_SIZE", get("PARS_BATCH_SIZE", "100")),
        #: Sends of one record before it is given up as failed (needs a person).
        "PARS_MAX_ATTEMPTS": _int("PARS_MAX_ATTEMPTS", get("PARS_MAX_ATTEMPTS", "6")),
        #: Tries of one request that PARS refused without storing (429, no connection).
        "PARS_RETRY_TRIES": _int("PARS_RETRY_TRIES", get("PARS_RETRY_TRIES", "4")),
        #: First backoff step and the longest wait a run accepts (Retry-After included).
        "PARS_RETRY_BASE_SECONDS": float(get("PARS_RETRY_BASE_SECONDS", "1")),
        "PARS_MAX_WAIT_SECONDS": float(get("PARS_MAX_WAIT_SECONDS", "120")),
        #: Failed requests in a row after which a run stops (circuit breaker).
        "PARS_BREAKER_FAILURES": _int("PARS_BREAKER_FAILURES", get("PARS_BREAKER_FAILURES", "3")),
        #: Seconds after an unanswered request before a status look-up is trusted.
        "PARS_SETTLE_DELAY_SECONDS": float(get("PARS_SETTLE_DELAY_SECONDS", "60")),
        #: Seconds without a heartbeat after which a run is taken for dead.
        "PARS_STALE_RUN_SECONDS": float(get("PARS_STALE_RUN_SECONDS", "600")),
        # Web
        "SESSION_COOKIE_NAME": "cme_session",
        "SESSION_COOKIE_HTTPONLY": True,
        "SESSION_COOKIE_SAMESITE": "Lax",
        "SESSION_COOKIE_SECURE": _bool(get("SESSION_COOKIE_SECURE"), production),
        "WTF_CSRF_TIME_LIMIT": None,
        #: Largest request body read; the biggest form (identifiers) is a few KB.
        "MAX_CONTENT_LENGTH": _int("MAX_CONTENT_LENGTH", get("MAX_CONTENT_LENGTH", str(256 * 1024))),
        # Rate limits (Flask-Limiter syntax); storage shared between instances in production.
        "RATELIMIT_ENABLED": _bool(get("RATELIMIT_ENABLED"), True),
        "RATELIMIT_STORAGE_URI": get("RATELIMIT_STORAGE_URI", "memory://"),
        "RATELIMIT_DEFAULT": get("RATELIMIT_POSTS", "30 per minute"),
        "RATELIMIT_SIGNIN": get("RATELIMIT_SIGNIN", "20 per minute"),
        "RATELIMIT_HEADERS_ENABLED": True,
        #: Reverse proxies in front of the app whose X-Forwarded-* headers are trusted.
        "TRUSTED_PROXIES": _int("TRUSTED_PROXIES", get("TRUSTED_PROXIES", "0")),
        #: Where Excel batches made from the staff console are kept (shared storage when
        #: several instances serve the console).
        "BATCH_DIR": get("BATCH_DIR", str(INSTANCE / "batches")),
        # ACCME's Excel learner file (docs/pars-excel.md): the template a provider downloaded
        # from ACCME to fill (empty: the project's own workbook), the most data rows one file
        # holds (ACCME publishes no limit), and the spellings ACCME has not published.
        "PARS_EXCEL_TEMPLATE": get("PARS_EXCEL_TEMPLATE", ""),
        "PARS_EXCEL_MAX_ROWS": _int("PARS_EXCEL_MAX_ROWS", get("PARS_EXCEL_MAX_ROWS", "5000")),
        "PARS_EXCEL_DELETE_ACTION": get("PARS_EXCEL_DELETE_ACTION", "Delete"),
        "PARS_EXCEL_EXTRA_TYPE_HEADER": get("PARS_EXCEL_EXTRA_TYPE_HEADER",
                                            "Additional Credit Type"),
        "PARS_EXCEL_EXTRA_AMOUNT_HEADER": get("PARS_EXCEL_EXTRA_AMOUNT_HEADER",
                                              "Credits Awarded for Additional Credit Type"),
        "PARS_EXCEL_BOARD_SPELLING": get("PARS_EXCEL_BOARD_SPELLING", ""),
        "PARS_EXCEL_CME_ON_EVERY_ROW": _bool(get("PARS_EXCEL_CME_ON_EVERY_ROW"), False),
        "PARS_EXCEL_ZERO_CME_AS_NUMBER": _bool(get("PARS_EXCEL_ZERO_CME_AS_NUMBER"), False),
        # The transcript (README, "What physicians see").
        #: IANA zone in which pages, the PDF and the CSV show times (dates of days stay as
        #: they are: a completion date is a day, not a moment).
        "DISPLAY_TIMEZONE": get("DISPLAY_TIMEZONE", DEFAULT_DISPLAY_TIMEZONE).strip()
        or DEFAULT_DISPLAY_TIMEZONE,
        #: A deadline this many days away or nearer is marked "Due soon".
        "DEADLINE_SOON_DAYS": _int("DEADLINE_SOON_DAYS", get("DEADLINE_SOON_DAYS", "7")),
        #: Credits per transcript page (the totals, PDF and CSV always cover every credit).
        "TRANSCRIPT_PAGE_SIZE": _int("TRANSCRIPT_PAGE_SIZE", get("TRANSCRIPT_PAGE_SIZE", "50")),
        #: The provider's accreditation and designation statements printed on the PDF, in
        #: the words its accreditor approved; ``{institution}`` is replaced by its name.
        "TRANSCRIPT_ACCREDITATION_STATEMENT": get(
            "TRANSCRIPT_ACCREDITATION_STATEMENT", DEFAULT_ACCREDITATION_STATEMENT),
        "TRANSCRIPT_DESIGNATION_STATEMENT": get(
            "TRANSCRIPT_DESIGNATION_STATEMENT", DEFAULT_DESIGNATION_STATEMENT),
        #: Folder holding DejaVu Sans (DejaVuSans.ttf, DejaVuSans-Bold.ttf, DejaVuSans-Oblique.ttf)
        #: for the PDF: the built-in PDF fonts have no ™ and no letters beyond Latin-1.
        "PDF_FONT_DIR": get("PDF_FONT_DIR", DEFAULT_PDF_FONT_DIR),
        # E-mail notices (``flask notify send``; README "E-mail notices").
        "MAIL_SERVER": get("MAIL_SERVER", "").strip(),
        "MAIL_PORT": _int("MAIL_PORT", get("MAIL_PORT", "25")),
        #: STARTTLS before signing in and sending.
        "MAIL_USE_TLS": _bool(get("MAIL_USE_TLS"), False),
        "MAIL_USERNAME": get("MAIL_USERNAME", ""),
        "MAIL_PASSWORD": get("MAIL_PASSWORD", ""),
        "MAIL_FROM": get("MAIL_FROM", "cme-portal@localhost").strip(),
        "MAIL_TIMEOUT": float(get("MAIL_TIMEOUT", "30")),
        #: Where the daily digest for CME staff goes; empty: no digest.
        "STAFF_EMAIL": get("STAFF_EMAIL", "").strip(),
        #: The time zone whose calendar day limits physicians to one e-mail a day (by
        #: default the one pages show times in).
        "NOTIFY_TIMEZONE": _zone(get("NOTIFY_TIMEZONE", "").strip())
        if get("NOTIFY_TIMEZONE", "").strip()
        else _zone(get("DISPLAY_TIMEZONE", "").strip() or DEFAULT_DISPLAY_TIMEZONE,
                   "DISPLAY_TIMEZONE"),
        #: Days before a deadline when a reminder about a missing identifier goes again.
        "NOTIFY_REMINDER_DAYS": _int("NOTIFY_REMINDER_DAYS", get("NOTIFY_REMINDER_DAYS", "7")),
        #: Tries within one run for a message the mail server refused for now (4xx, no
        #: connection), with exponential backoff from NOTIFY_RETRY_BASE_SECONDS.
        "NOTIFY_RETRY_TRIES": _int("NOTIFY_RETRY_TRIES", get("NOTIFY_RETRY_TRIES", "3")),
        "NOTIFY_RETRY_BASE_SECONDS": float(get("NOTIFY_RETRY_BASE_SECONDS", "2")),
        #: Runs that tried a message before it is given up as failed (staff see it).
        "NOTIFY_MAX_ATTEMPTS": _int("NOTIFY_MAX_ATTEMPTS", get("NOTIFY_MAX_ATTEMPTS", "5")),
        #: Seconds after which a message still marked as being sent is taken for a run
        #: that died mid-way: its outcome is unknown and it is not sent again.
        "NOTIFY_LEASE_SECONDS": float(get("NOTIFY_LEASE_SECONDS", "900")),
        #: Hours within which the staff digest expects a transmit and a sync run.
        "NOTIFY_RUN_EXPECTED_HOURS": _int("NOTIFY_RUN_EXPECTED_HOURS",
                                          get("NOTIFY_RUN_EXPECTED_HOURS", "26")),
        "LOG_FORMAT": get("LOG_FORMAT", ""),
        "LOG_LEVEL": get("LOG_LEVEL", "INFO"),
        "FAQ_DIR": get("FAQ_DIR", str(ROOT / "content" / "faq")),
        "TEMPLATES_AUTO_RELOAD": not production,
        #: Host names the site answers to (Flask checks every request's Host header).
        "TRUSTED_HOSTS": [h.strip() for h in get("TRUSTED_HOSTS", "").split(",") if h.strip()]
        or None,
        #: Production only: accept limits counted by each worker process on its own.
        "RATELIMIT_PER_WORKER": _bool(get("RATELIMIT_PER_WORKER"), False),
    }
    try:
        display_zone(cfg["DISPLAY_TIMEZONE"])
    except ValueError as exc:
        raise ConfigError(f"DISPLAY_TIMEZONE: {exc}") from exc
    if cfg["TRANSCRIPT_PAGE_SIZE"] < 1:
        raise ConfigError("TRANSCRIPT_PAGE_SIZE must be at least 1")
    if cfg["DEADLINE_SOON_DAYS"] < 0:
        raise ConfigError("DEADLINE_SOON_DAYS must be 0 or more")
    if cfg["PARS_EXCEL_MAX_ROWS"] < 1:
        raise ConfigError("PARS_EXCEL_MAX_ROWS must be at least 1")
    if len(cfg["PARS_PROVIDER_ID"]) != 7 or not cfg["PARS_PROVIDER_ID"].isdigit():
        raise ConfigError("PARS_PROVIDER_ID must be the 7-digit ACCME provider ID")
    if production:
        _refuse_unsafe_production(cfg, env)
    try:
        MonthDay.parse(cfg["PARS_YEAR_CLOSE"])
    except ValueError as exc:
        raise ConfigError(f"PARS_YEAR_CLOSE: {exc}") from exc
    return cfg
