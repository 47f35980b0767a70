"""Checking an ID token before anyone is signed in on it.

Every check OpenID Connect Core (section 3.1.3.7) asks of a client is made here
explicitly rather than left to library defaults: the signature against the
provider's published keys, with an allowlist of asymmetric algorithms (never
``none``, never a shared-secret HMAC a client secret could forge); the issuer
equal to the configured issuer; the audience containing our client ID (and
``azp`` naming us when there are several); expiry and issue time with a small
leeway; the nonce this browser was given. Each failure has its own reason code
for the audit log.
"""

from __future__ import annotations

import hmac
import json
import math
import time
from collections.abc import Callable, Collection
from typing import Any

from joserfc import jws
from joserfc.errors import InvalidKeyIdError, JoseError
from joserfc.jwk import KeySet
from joserfc.jws import JWSRegistry

from webapp.auth.failures import FailureReason

#: Signature algorithms accepted for ID tokens: public-key ones only.
ALLOWED_ALGORITHMS = (
    "RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512",
)
#: Seconds of clock difference tolerated between us and the provider.
LEEWAY = 60


class InvalidIdToken(Exception):
    """The ID token must not be trusted; ``reason`` is the audit code."""

    def __init__(self, reason: FailureReason) -> None:
        super().__init__(reason)
        self.reason = reason


def algorithms_for(advertised: Collection[str] | None) -> tuple[str, ...]:
    """Our allowlist, narrowed to what the provider says it signs with (if it says)."""
    if not advertised:
        return ALLOWED_ALGORITHMS
    return tuple(alg for alg in ALLOWED_ALGORITHMS if alg in advertised)


def verify(
    raw: str,
    *,
    keys: Callable[[bool], dict[str, Any]],
    issuer: str,
    client_id: str,
    nonce: str,
    algorithms: Collection[str] = ALLOWED_ALGORITHMS,
    now: float | None = None,
) -> dict[str, Any]:
    """The claims of ``raw`` once every check passed, else ``InvalidIdToken``.

    ``keys(refresh)`` returns the provider's JWKS; it is called again with
    ``refresh=True`` once when the token names a key we do not have yet, since
    providers publish new keys before they sign with them.
    """
    claims = _verified_payload(raw, keys, algorithms)
    _check_claims(claims, issuer=issuer, client_id=client_id, nonce=nonce,
                  now=time.time() if now is None else now)
    return claims


def _key_set(jwks: dict[str, Any]) -> KeySet:
    """The provider's JWKS as keys; a document without a list of keys is refused."""
    listed = jwks.get("keys")
    if not isinstance(listed, list):
        raise ValueError("the provider's key set lists no keys")
    return KeySet.import_key_set({"keys": listed})


def _verified_payload(
    raw: str, keys: Callable[[bool], dict[str, Any]], algorithms: Collection[str]
) -> dict[str, Any]:
    try:
        obj = jws.extract_compact(raw.encode("ascii"))
        header = obj.headers()
    except (JoseError, ValueError, UnicodeError) as exc:
        raise InvalidIdToken(FailureReason.MALFORMED_TOKEN) from exc
    alg = header.get("alg")
    if not isinstance(alg, str) or alg not in algorithms:
        raise InvalidIdToken(FailureReason.DISALLOWED_ALGORITHM)
    # Providers add header fields of their own; only the algorithm is restricted.
    registry = JWSRegistry(algorithms=[alg], strict_check_header=False)
    for refresh in (False, True):
        try:
            key_set = _key_set(keys(refresh))
            valid = jws.validate_compact(obj, key_set, registry=registry)
        except InvalidKeyIdError:
            if refresh:
                raise InvalidIdToken(FailureReason.UNKNOWN_KEY) from None
            continue
        except (JoseError, ValueError) as exc:
            raise InvalidIdToken(FailureReason.BAD_SIGNATURE) from exc
        if not valid:
            raise InvalidIdToken(FailureReason.BAD_SIGNATURE)
        break
    try:
        claims = json.loads(obj.payload)
    except ValueError as exc:
        raise InvalidIdToken(FailureReason.MALFORMED_TOKEN) from exc
    if not isinstance(claims, dict):
        raise InvalidIdToken(FailureReason.MALFORMED_TOKEN)
    return claims


def _number(claims: dict[str, Any], name: str) -> float:
    value = claims.get(name)
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise InvalidIdToken(FailureReason.INVALID_CLAIMS)
    try:
        number = float(value)
    except OverflowError:  # an integer beyond any date
        raise InvalidIdToken(FailureReason.INVALID_CLAIMS) from None
    # JSON parsers accept NaN and Infinity; NaN compares false with everything, so an
    # expiry of NaN would never expire.
    if not math.isfinite(number):
        raise InvalidIdToken(FailureReason.INVALID_CLAIMS)
    return number


def _check_claims(
    claims: dict[str, Any], *, issuer: str, client_id: str, nonce: str, now: float
) -> None:
    if claims.get("iss") != issuer:
        raise InvalidIdToken(FailureReason.WRONG_ISSUER)

    audience = claims.get("aud")
    audiences = [audience] if isinstance(audience, str) else audience
    if not isinstance(audiences, list) or client_id not in audiences:
        raise InvalidIdToken(FailureReason.WRONG_AUDIENCE)
    azp = claims.get("azp")
    if (len(audiences) > 1 or azp is not None) and azp != client_id:
        raise InvalidIdToken(FailureReason.WRONG_AUDIENCE)

    if now > _number(claims, "exp") + LEEWAY:
        raise InvalidIdToken(FailureReason.EXPIRED_TOKEN)
    if _number(claims, "iat") > now + LEEWAY:
        raise InvalidIdToken(FailureReason.INVALID_CLAIMS)
    if "nbf" in claims and _number(claims, "nbf") > now + LEEWAY:
        raise InvalidIdToken(FailureReason.INVALID_CLAIMS)

    token_nonce = claims.get("nonce")
    if not isinstance(token_nonce, str) or not hmac.compare_digest(
        token_nonce.encode(), nonce.encode()
    ):
        raise InvalidIdToken(FailureReason.NONCE_MISMATCH)

    subject = claims.get("sub")
    if not isinstance(subject, str) or not subject or len(subject) > 255:
        raise InvalidIdToken(FailureReason.INVALID_CLAIMS)
