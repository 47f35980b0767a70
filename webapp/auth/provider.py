"""The organisation's OpenID Connect provider, reached through Authlib's Flask client.

One client per (issuer, client ID, secret, scopes) so that changing the configuration
(tests do, per test) never reuses another provider's metadata or keys. The
provider's discovery document and keys are cached for an hour, then fetched
again so that rotated keys and moved endpoints are picked up without a restart.
"""

from __future__ import annotations

import logging
import time
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import requests
from authlib.integrations.base_client import OAuthError
from authlib.integrations.flask_client import FlaskIntegration, FlaskOAuth2App
from flask import current_app

from webapp.auth.failures import FailureReason

log = logging.getLogger(__name__)

#: Name of the Authlib client; also the prefix of its state entries in the session.
CLIENT_NAME = "oidc"
#: Seconds to connect and to read, on every call to the provider.
TIMEOUT = (5, 15)
#: Seconds before the discovery document and keys are fetched again.
METADATA_TTL = 3600


class ProviderError(Exception):
    """The provider cannot be used for sign-in right now; ``reason`` is the audit code."""

    def __init__(self, reason: FailureReason, detail: str = "") -> None:
        super().__init__(detail or reason)
        self.reason = reason


def settings() -> tuple[str, str, str]:
    cfg = current_app.config
    return cfg["OIDC_ISSUER"], cfg["OIDC_CLIENT_ID"], cfg["OIDC_CLIENT_SECRET"]


def client() -> FlaskOAuth2App:
    """The Authlib client for the configured provider."""
    issuer, client_id, secret = settings()
    if not (issuer and client_id and secret):
        raise ProviderError(FailureReason.NOT_CONFIGURED, "OIDC_ISSUER, OIDC_CLIENT_ID and "
                            "OIDC_CLIENT_SECRET must all be set")
    scopes = current_app.config["OIDC_SCOPES"]
    clients: dict[tuple[str, ...], FlaskOAuth2App] = current_app.extensions.setdefault(
        "cme_oidc_clients", {}
    )
    key = (issuer, client_id, secret, scopes)
    if key not in clients:
        clients[key] = FlaskOAuth2App(
            FlaskIntegration(CLIENT_NAME),
            CLIENT_NAME,
            client_id=client_id,
            client_secret=secret,
            server_metadata_url=issuer.rstrip("/") + "/.well-known/openid-configuration",
            client_kwargs={
                "scope": scopes,
                "code_challenge_method": "S256",
                "default_timeout": TIMEOUT,
            },
        )
    return clients[key]


def _forget(oidc: FlaskOAuth2App) -> None:
    # A new dict rather than clearing the old one: a request on another thread may
    # still be reading the old document and its keys.
    oidc.server_metadata = {}


def metadata() -> dict[str, Any]:
    """The provider's discovery document, checked to belong to the configured issuer."""
    oidc = client()
    loaded_at = oidc.server_metadata.get("_loaded_at")
    if loaded_at is not None and time.time() - loaded_at > METADATA_TTL:
        _forget(oidc)
    try:
        meta = oidc.load_server_metadata()
    except (requests.RequestException, ValueError) as exc:
        _forget(oidc)
        log.warning("OpenID Connect discovery failed: %s", exc)
        raise ProviderError(FailureReason.PROVIDER_UNAVAILABLE, str(exc)) from exc
    issuer = settings()[0]
    if meta.get("issuer") != issuer:
        # Discovery must name the issuer we asked; anything else is a misconfiguration
        # or a substituted document, and its tokens could not pass the issuer check.
        _forget(oidc)
        log.error("provider metadata names issuer %r, configured issuer is %r",
                  meta.get("issuer"), issuer)
        raise ProviderError(FailureReason.PROVIDER_MISCONFIGURED, "issuer in discovery differs")
    for field in ("authorization_endpoint", "token_endpoint", "jwks_uri"):
        if not meta.get(field):
            _forget(oidc)
            raise ProviderError(FailureReason.PROVIDER_MISCONFIGURED, f"discovery lacks {field}")
    return meta


def key_set(*, refresh: bool = False) -> dict[str, Any]:
    """The provider's published signing keys (JWKS); ``refresh`` fetches them again."""
    metadata()
    try:
        return client().fetch_jwk_set(force=refresh)
    except (requests.RequestException, ValueError) as exc:
        raise ProviderError(FailureReason.PROVIDER_UNAVAILABLE, str(exc)) from exc


def userinfo(token: dict[str, Any]) -> dict[str, Any] | None:
    """Claims from the userinfo endpoint, or None when there is none or it fails."""
    meta = metadata()
    if not meta.get("userinfo_endpoint"):
        return None
    try:
        return dict(client().userinfo(token=token))
    except (requests.RequestException, OAuthError, ValueError) as exc:
        # Userinfo only adds claims; sign-in goes on with those of the ID token.
        log.warning("userinfo request failed: %s", exc)
        return None


def logout_url(*, id_token_hint: str | None, post_logout_redirect_uri: str) -> str | None:
    """Where to end the session at the provider, when it offers RP-initiated logout."""
    try:
        meta = metadata()
    except ProviderError:
        return None
    if not meta.get("end_session_endpoint"):
        return None
    params = {"client_id": settings()[1], "post_logout_redirect_uri": post_logout_redirect_uri}
    if id_token_hint:
        params["id_token_hint"] = id_token_hint
    endpoint = urlsplit(meta["end_session_endpoint"])
    query = urlencode(parse_qsl(endpoint.query) + list(params.items()))
    return urlunsplit(endpoint._replace(query=query))
