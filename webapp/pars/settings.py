"""The engine's settings, read once from the application configuration and checked."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit, urlunsplit

#: PARS takes at most this many learner records in one request.
MAX_BATCH = 500


class SettingsError(Exception):
    """The configuration does not allow the engine to run; the message says what to set."""


@dataclass(frozen=True)
class Settings:
    api_url: str
    provider_id: str
    user: str
    password: str
    #: The provider's name as PARS shows it (``ReportingOrganization``): ``INSTITUTION_NAME``.
    reporting_organization: str
    connect_timeout: float
    read_timeout: float
    batch_size: int
    max_attempts: int
    retry_tries: int
    retry_base: float
    max_wait: float
    breaker_failures: int
    settle_delay: float
    stale_run_seconds: float

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> Settings:
        settings = cls(
            api_url=(config.get("PARS_API_URL") or "").rstrip("/"),
            provider_id=config["PARS_PROVIDER_ID"],
            user=config.get("PARS_USER") or "",
            password=config.get("PARS_PASSWORD") or "",
            reporting_organization=(config.get("INSTITUTION_NAME") or "").strip(),
            connect_timeout=float(config.get("PARS_CONNECT_TIMEOUT", 5)),
            read_timeout=float(config.get("PARS_READ_TIMEOUT", 30)),
            batch_size=int(config.get("PARS_BATCH_SIZE", 100)),
            max_attempts=int(config.get("PARS_MAX_ATTEMPTS", 6)),
            retry_tries=int(config.get("PARS_RETRY_TRIES", 4)),
            retry_base=float(config.get("PARS_RETRY_BASE_SECONDS", 1)),
            max_wait=float(config.get("PARS_MAX_WAIT_SECONDS", 120)),
            breaker_failures=int(config.get("PARS_BREAKER_FAILURES", 3)),
            settle_delay=float(config.get("PARS_SETTLE_DELAY_SECONDS", 60)),
            stale_run_seconds=float(config.get("PARS_STALE_RUN_SECONDS", 600)),
        )
        settings._check()
        return settings

    def _check(self) -> None:
        if not 1 <= self.batch_size <= MAX_BATCH:
            raise SettingsError(
                f"PARS_BATCH_SIZE must be between 1 and {MAX_BATCH} (PARS takes at most "
                f"{MAX_BATCH} records per request), got {self.batch_size}"
            )
        for name, value in (("PARS_CONNECT_TIMEOUT", self.connect_timeout),
                            ("PARS_READ_TIMEOUT", self.read_timeout)):
            if value <= 0:
                raise SettingsError(f"{name} must be more than 0 seconds, got {value}")
        for name, value in (("PARS_MAX_ATTEMPTS", self.max_attempts),
                            ("PARS_RETRY_TRIES", self.retry_tries),
                            ("PARS_BREAKER_FAILURES", self.breaker_failures)):
            if value < 1:
                raise SettingsError(f"{name} must be at least 1, got {value}")
        for name, value in (("PARS_RETRY_BASE_SECONDS", self.retry_base),
                            ("PARS_MAX_WAIT_SECONDS", self.max_wait),
                            ("PARS_SETTLE_DELAY_SECONDS", self.settle_delay),
                            ("PARS_STALE_RUN_SECONDS", self.stale_run_seconds)):
            if value < 0:
                raise SettingsError(f"{name} must not be negative, got {value}")

    def require_web_service(self) -> None:
        """Stop with a clear message when the web service is not configured."""
        missing = [name for name, value in (("PARS_API_URL", self.api_url),
                                            ("PARS_USER", self.user),
                                            ("PARS_PASSWORD", self.password)) if not value]
        if missing:
            raise SettingsError(
                "the PARS web service is not configured: set " + ", ".join(missing)
                + " (or use `flask pars export` for the Excel upload)"
            )
        if not self.api_url.startswith(("https://", "http://")):
            raise SettingsError(f"PARS_API_URL must be an http(s) URL, got {_redacted(self.api_url)!r}")
        if urlsplit(self.api_url).username or urlsplit(self.api_url).password:
            raise SettingsError("PARS_API_URL must not carry credentials; set PARS_USER and "
                                f"PARS_PASSWORD instead (got {_redacted(self.api_url)!r})")
        if not self.reporting_organization:
            raise SettingsError("INSTITUTION_NAME must be set: PARS shows it as the reporting "
                                "organisation of every record")


def _redacted(url: str) -> str:
    """The URL without any user name or password in it, to quote in a message."""
    parts = urlsplit(url)
    if "@" not in parts.netloc:
        return url
    return urlunsplit(parts._replace(netloc="***@" + parts.netloc.rpartition("@")[2]))
