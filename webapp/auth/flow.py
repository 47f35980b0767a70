"""The authorization-code flow with PKCE, state and nonce.

``begin`` sends the browser to the provider and remembers, in this browser's
session cookie, what the answer must match: the state, the nonce, the PKCE
verifier, the redirect URI and where to go afterwards (none of it personal).
``complete`` takes the provider's answer, uses that memory exactly once,
exchanges the code and verifies the ID token. Both raise ``LoginFailed`` with
an audit reason code; nothing here touches the database.
"""

from __future__ import annotations

import logging
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import requests
from authlib.integrations.base_client import OAuthError
from flask import current_app, session

from webapp.auth import provider, tokens
from webapp.auth.failures import FailureReason
from webapp.auth.redirects import safe_next

log = logging.getLogger(__name__)

#: Sign-ins started in other tabs that are kept waiting; older ones are dropped
#: so the cookie stays small however often someone clicks "Sign in".
MAX_PENDING = 3


class LoginFailed(Exception):
    """Sign-in cannot go on; ``reason`` is the audit code."""

    def __init__(self, reason: FailureReason) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True)
class VerifiedSignIn:
    """What the provider vouched for, after every check."""

    issuer: str
    claims: dict[str, Any]
    id_token: str
    next_url: str | None


def _state_prefix() -> str:
    return f"_state_{provider.CLIENT_NAME}_"


def _drop_old_pending() -> None:
    pending = sorted(
        (key for key in session if key.startswith(_state_prefix())),
        key=lambda key: session[key].get("exp", 0),
    )
    for key in pending[: max(0, len(pending) - (MAX_PENDING - 1))]:
        session.pop(key)


def needed_claims() -> tuple[str, ...]:
    """The claims the site reads: the e-mail, the staff claim and the learner-ID claim."""
    cfg = current_app.config
    names = (cfg["OIDC_EMAIL_CLAIM"], cfg["OIDC_STAFF_CLAIM"], cfg["OIDC_LEARNER_ID_CLAIM"])
    return tuple(name for name in names if name)


def _top_level(name: str) -> str:
    """``realm_access`` for a dotted ``realm_access.roles``."""
    return name.split(".", 1)[0]


def begin(redirect_uri: str, next_url: str | None) -> str:
    """The provider's authorization URL for a new sign-in."""
    try:
        provider.metadata()
        oidc = provider.client()
        request = oidc.create_authorization_url(redirect_uri, nonce=secrets.token_urlsafe(32))
    except provider.ProviderError as exc:
        raise LoginFailed(exc.reason) from exc
    _drop_old_pending()
    oidc.framework.set_state_data(session, request["state"], {
        "redirect_uri": redirect_uri,
        "code_verifier": request["code_verifier"],
        "nonce": request["nonce"],
        "next": next_url,
    })
    return request["url"]


def _take_pending(state: object) -> dict[str, Any] | None:
    """The remembered request for ``state``, removed so it cannot be used twice."""
    if not isinstance(state, str) or not state:
        return None
    framework = provider.client().framework
    data = framework.get_state_data(session, state)
    framework.clear_state_data(session, state)
    return data


def complete(args: Mapping[str, str]) -> VerifiedSignIn:
    """Check the provider's answer (the callback's query) and verify its ID token."""
    issuer = provider.settings()[0]
    try:
        pending = _take_pending(args.get("state"))
    except provider.ProviderError as exc:
        raise LoginFailed(exc.reason) from exc
    error = args.get("error")
    if error:
        raise LoginFailed(FailureReason.ACCESS_DENIED if error == "access_denied"
                          else FailureReason.PROVIDER_ERROR)
    if pending is None:
        raise LoginFailed(FailureReason.STATE_MISMATCH)
    # RFC 9207: a provider that names itself in the answer must be the one we asked.
    if "iss" in args and args["iss"] != issuer:
        raise LoginFailed(FailureReason.WRONG_ISSUER)
    code = args.get("code")
    if not code:
        raise LoginFailed(FailureReason.INVALID_RESPONSE)

    try:
        meta = provider.metadata()
        token = provider.client().fetch_access_token(
            redirect_uri=pending["redirect_uri"], code=code,
            code_verifier=pending["code_verifier"],
        )
    except provider.ProviderError as exc:
        raise LoginFailed(exc.reason) from exc
    except OAuthError as exc:
        log.info("token endpoint refused the code: %s", exc.error)
        raise LoginFailed(FailureReason.TOKEN_EXCHANGE_FAILED) from exc
    except (requests.RequestException, ValueError) as exc:
        log.warning("token endpoint unreachable: %s", exc)
        raise LoginFailed(FailureReason.PROVIDER_UNAVAILABLE) from exc

    raw = token.get("id_token")
    if not isinstance(raw, str) or not raw:
        raise LoginFailed(FailureReason.INVALID_TOKEN)
    client_id = provider.settings()[1]
    try:
        claims = tokens.verify(
            raw,
            keys=lambda refresh: provider.key_set(refresh=refresh),
            issuer=issuer, client_id=client_id, nonce=pending["nonce"],
            algorithms=tokens.algorithms_for(meta.get("id_token_signing_alg_values_supported")),
        )
    except tokens.InvalidIdToken as exc:
        raise LoginFailed(exc.reason) from exc
    except provider.ProviderError as exc:
        raise LoginFailed(exc.reason) from exc

    if any(name not in claims and _top_level(name) not in claims for name in needed_claims()):
        # Many providers (Okta, Keycloak, Google) put some claims only behind the
        # userinfo endpoint. The ID token's own claims win over userinfo's.
        extra = provider.userinfo(token)
        if extra is not None:
            if extra.get("sub") != claims["sub"]:
                raise LoginFailed(FailureReason.INVALID_CLAIMS)
            claims = {**extra, **claims}
    return VerifiedSignIn(issuer=issuer, claims=claims, id_token=raw,
                          next_url=safe_next(pending.get("next")))
