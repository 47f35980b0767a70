"""What a person is told when sign-in stops, by audit reason code.

Messages say what happened and what to do, never which check failed in a way
that would help an attacker, and never whether an account exists: an unverified
e-mail, no matching record and several matching records read the same.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass


class FailureReason(enum.StrEnum):
    """Why sign-in stopped: the code in the audit log (``auth.login_failed``)."""

    # The request or the provider's answer
    UNSAFE_NEXT = "unsafe_next"
    ACCESS_DENIED = "access_denied"
    PROVIDER_ERROR = "provider_error"
    STATE_MISMATCH = "state_mismatch"
    WRONG_ISSUER = "wrong_issuer"
    INVALID_RESPONSE = "invalid_response"
    TOKEN_EXCHANGE_FAILED = "token_exchange_failed"
    # The ID token
    INVALID_TOKEN = "invalid_token"
    MALFORMED_TOKEN = "malformed_token"
    DISALLOWED_ALGORITHM = "disallowed_algorithm"
    UNKNOWN_KEY = "unknown_key"
    BAD_SIGNATURE = "bad_signature"
    INVALID_CLAIMS = "invalid_claims"
    WRONG_AUDIENCE = "wrong_audience"
    EXPIRED_TOKEN = "expired_token"
    NONCE_MISMATCH = "nonce_mismatch"
    # The provider itself
    NOT_CONFIGURED = "not_configured"
    PROVIDER_UNAVAILABLE = "provider_unavailable"
    PROVIDER_MISCONFIGURED = "provider_misconfigured"
    # Who signed in
    ACCOUNT_DISABLED = "account_disabled"
    EMAIL_NOT_VERIFIED = "email_not_verified"
    NO_MATCHING_LEARNER = "no_matching_learner"
    AMBIGUOUS_LEARNER = "ambiguous_learner"
    #: The one matching learner already has an identity; staff link a second by hand.
    LEARNER_ALREADY_LINKED = "learner_already_linked"


class Help(enum.StrEnum):
    """Which help the failure page offers."""

    RETRY = "retry"
    LATER = "later"
    SUPPORT = "support"
    UNMATCHED = "unmatched"


@dataclass(frozen=True)
class Failure:
    title: str
    message: str
    status: int
    help: Help


_RETRY = Failure(
    "We could not finish signing you in",
    "The answer from the sign-in service could not be accepted. This happens when a "
    "sign-in page was left open for a long time, opened twice, or reached through an "
    "old link. Starting again usually works.",
    400, Help.RETRY,
)
_UNAVAILABLE = Failure(
    "Sign-in is not available right now",
    "We could not reach your organisation's sign-in service. Nothing was changed. "
    "Please try again in a few minutes.",
    503, Help.LATER,
)
_UNMATCHED = Failure(
    "We could not connect your sign-in to a CME record",
    "You signed in with your organisation, but we could not match that account to a "
    "CME transcript automatically.",
    403, Help.UNMATCHED,
)

FAILURES: dict[FailureReason, Failure] = {
    FailureReason.ACCESS_DENIED: Failure(
        "Sign-in was cancelled",
        "The sign-in service says sign-in was cancelled or not allowed, so you are not "
        "signed in. You can try again whenever you are ready.",
        403, Help.RETRY,
    ),
    FailureReason.PROVIDER_ERROR: Failure(
        "The sign-in service reported a problem",
        "Your organisation's sign-in service could not complete the sign-in. Please try "
        "again; if it keeps happening, contact us.",
        502, Help.RETRY,
    ),
    FailureReason.PROVIDER_UNAVAILABLE: _UNAVAILABLE,
    FailureReason.PROVIDER_MISCONFIGURED: _UNAVAILABLE,
    FailureReason.NOT_CONFIGURED: _UNAVAILABLE,
    FailureReason.ACCOUNT_DISABLED: Failure(
        "This account cannot be used to sign in",
        "Sign-in with this account has been turned off. If you think this is a mistake, "
        "please contact us.",
        403, Help.SUPPORT,
    ),
    FailureReason.UNSAFE_NEXT: Failure(
        "This sign-in link is not valid",
        "The link you followed would have taken you to another site after signing in, "
        "so we stopped. If you did not expect this, someone may have sent you a "
        "misleading link. You can still sign in from this site.",
        400, Help.RETRY,
    ),
    FailureReason.EMAIL_NOT_VERIFIED: _UNMATCHED,
    FailureReason.NO_MATCHING_LEARNER: _UNMATCHED,
    FailureReason.AMBIGUOUS_LEARNER: _UNMATCHED,
    FailureReason.LEARNER_ALREADY_LINKED: _UNMATCHED,
}


def failure_for(reason: FailureReason) -> Failure:
    """Token and state problems all read as "start again"; the reason stays in the audit log."""
    return FAILURES.get(reason, _RETRY)
