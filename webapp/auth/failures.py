"""What a person is told when sign-in stops, by audit reason code.

Messages say what happened and what to do, never which check failed in a way
that would help an attacker, and never whether an account exists: an unverified
e-mail, no matching record and several matching records read the same.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Failure:
    title: str
    message: str
    status: int
    #: Which help the page offers: ``retry``, ``later``, ``support`` or ``unmatched``.
    help: str


_RETRY = Failure(
    "We could not finish signing you in",
    "The answer from the sign-in service could not be accepted. This happens when a "
    "sign-in page was left open for a long time, opened twice, or reached through an "
    "old link. Starting again usually works.",
    400, "retry",
)
_UNAVAILABLE = Failure(
    "Sign-in is not available right now",
    "We could not reach your organisation's sign-in service. Nothing was changed. "
    "Please try again in a few minutes.",
    503, "later",
)
_UNMATCHED = Failure(
    "We could not connect your sign-in to a CME record",
    "You signed in with your organisation, but we could not match that account to a "
    "CME transcript automatically.",
    403, "unmatched",
)

FAILURES: dict[str, Failure] = {
    "access_denied": Failure(
        "Sign-in was cancelled",
        "The sign-in service says sign-in was cancelled or not allowed, so you are not "
        "signed in. You can try again whenever you are ready.",
        403, "retry",
    ),
    "provider_error": Failure(
        "The sign-in service reported a problem",
        "Your organisation's sign-in service could not complete the sign-in. Please try "
        "again; if it keeps happening, contact us.",
        502, "retry",
    ),
    "provider_unavailable": _UNAVAILABLE,
    "provider_misconfigured": _UNAVAILABLE,
    "not_configured": _UNAVAILABLE,
    "account_disabled": Failure(
        "This account cannot be used to sign in",
        "Sign-in with this account has been turned off. If you think this is a mistake, "
        "please contact us.",
        403, "support",
    ),
    "unsafe_next": Failure(
        "This sign-in link is not valid",
        "The link you followed would have taken you to another site after signing in, "
        "so we stopped. If you did not expect this, someone may have sent you a "
        "misleading link. You can still sign in from this site.",
        400, "retry",
    ),
    "email_not_verified": _UNMATCHED,
    "no_matching_learner": _UNMATCHED,
    "ambiguous_learner": _UNMATCHED,
}


def failure_for(reason: str) -> Failure:
    """Token and state problems all read as "start again"; the reason stays in the audit log."""
    return FAILURES.get(reason, _RETRY)
