"""Who a verified sign-in is: identity linking, staff marking, and the audit trail.

Identities are found by (issuer, subject), never by e-mail. Only the first
sign-in of an identity (or of one not yet linked to a learner) looks for a
learner by e-mail, and only when the provider says it verified that e-mail;
exactly one learner must match, compared without Unicode folding (a Kelvin
sign is not a ``k``), and that learner must not be linked to another identity
yet (a mailbox given to someone else must not inherit a record). Staff are
recognised by a configured claim and may sign in without being learners. Audit entries name rows by ID only.
"""

from __future__ import annotations

import datetime as dt
import secrets
import string
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from email_validator import EmailNotValidError, validate_email
from sqlalchemy import select

from webapp.audit import record
from webapp.auth.failures import FailureReason
from webapp.db import utcnow
from webapp.extensions import db
from webapp.models import Identity, Learner

#: Support references avoid letters and digits that are easily confused on the phone.
REFERENCE_ALPHABET = "ABCDEFGHJKMNPQRSTVWXYZ23456789"
_ASCII_LOWER = str.maketrans(string.ascii_uppercase, string.ascii_lowercase)


class SignInRefused(Exception):
    """The provider vouched for someone we must not sign in; ``reason`` is the audit code."""

    def __init__(self, reason: FailureReason, identity_id: int | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.identity_id = identity_id


@dataclass(frozen=True)
class SignIn:
    identity: Identity
    is_staff: bool
    #: The identity was created or linked to its learner by this sign-in.
    linked: bool


def claim_value(claims: Mapping[str, Any], name: str) -> Any:
    """A claim by name; a dotted name reaches into nested claims (``realm_access.roles``)."""
    if name in claims:
        return claims[name]
    value: Any = claims
    for part in name.split("."):
        if not isinstance(value, Mapping) or part not in value:
            return None
        value = value[part]
    return value


def is_staff(claims: Mapping[str, Any], claim: str, wanted: str) -> bool:
    """Whether the staff claim holds the staff value, as a string or in a list."""
    if not claim or not wanted:
        return False
    value = claim_value(claims, claim)
    if isinstance(value, str):
        return value == wanted
    if isinstance(value, list | tuple):
        return any(isinstance(item, str) and item == wanted for item in value)
    return False


def verified_email(claims: Mapping[str, Any]) -> str | None:
    """The e-mail in the claims, normalised as imports store it, if the provider verified it."""
    verified = claims.get("email_verified")
    # The standard says boolean; some providers send the string "true".
    if not (verified is True or (isinstance(verified, str) and verified.lower() == "true")):
        return None
    email = claims.get("email")
    if not isinstance(email, str):
        return None
    email = email.strip()
    try:
        validate_email(email, check_deliverability=False)
    except EmailNotValidError:
        return None
    # Only ASCII letters change case; "\u212a".lower() would be "k", and the normalised form
    # email-validator gives folds compatibility characters the same way.
    return email.translate(_ASCII_LOWER)


def _learner_by_email(email: str | None) -> Learner | FailureReason:
    """The single learner with this e-mail, or why there is none."""
    if email is None:
        return FailureReason.EMAIL_NOT_VERIFIED
    matches = db.session.scalars(select(Learner).where(Learner.email == email).limit(2)).all()
    if not matches:
        return FailureReason.NO_MATCHING_LEARNER
    if len(matches) > 1:
        return FailureReason.AMBIGUOUS_LEARNER
    taken = db.session.scalar(select(Identity.id).where(Identity.learner_id == matches[0].id)
                              .limit(1))
    if taken is not None:
        return FailureReason.LEARNER_ALREADY_LINKED
    return matches[0]


def _text(claims: Mapping[str, Any], name: str, limit: int) -> str | None:
    value = claims.get(name)
    return value[:limit] if isinstance(value, str) and value else None


def resolve(
    issuer: str, claims: Mapping[str, Any], *, staff_claim: str, staff_value: str,
    now: dt.datetime | None = None,
) -> SignIn:
    """The identity to sign in for verified ``claims``; ``SignInRefused`` if none may.

    Nothing is written before every refusal has been ruled out.
    """
    now = now or utcnow()
    identity = db.session.scalars(
        select(Identity).where(Identity.issuer == issuer, Identity.subject == claims["sub"])
    ).one_or_none()
    if identity is not None and identity.disabled_at is not None:
        raise SignInRefused(FailureReason.ACCOUNT_DISABLED, identity.id)
    staff = is_staff(claims, staff_claim, staff_value)

    linked = False
    if identity is None or identity.learner_id is None:
        found = _learner_by_email(verified_email(claims))
        learner = found if isinstance(found, Learner) else None
        if isinstance(found, FailureReason) and not staff:
            raise SignInRefused(found, identity.id if identity else None)
        if identity is None:
            identity = Identity(issuer=issuer, subject=claims["sub"], created_at=now)
            db.session.add(identity)
            linked = True
        if learner is not None:
            identity.learner = learner
            linked = True

    identity.email = _text(claims, "email", 320)
    identity.display_name = _text(claims, "name", 255)
    identity.last_login_at = now
    db.session.flush()
    return SignIn(identity=identity, is_staff=staff, linked=linked)


def new_reference() -> str:
    """A short random reference a physician can read out to support."""
    chars = "".join(secrets.choice(REFERENCE_ALPHABET) for _ in range(8))
    return f"{chars[:4]}-{chars[4:]}"


def record_failure(reason: FailureReason, identity_id: int | None = None) -> str:
    """Audit a refused sign-in; returns the support reference shown to the person."""
    reference = new_reference()
    record(
        "auth.login_failed",
        actor=f"identity:{identity_id}" if identity_id else "anonymous",
        subject_type="identity" if identity_id else None,
        subject_id=identity_id,
        reason=reason,
        reference=reference,
    )
    return reference


def record_sign_in(sign_in: SignIn) -> None:
    identity = sign_in.identity
    record(
        "auth.login", actor=f"identity:{identity.id}", subject_type="identity",
        subject_id=identity.id, learner_id=identity.learner_id, staff=sign_in.is_staff,
        linked=sign_in.linked,
    )


def record_sign_out(identity_id: int) -> None:
    record("auth.logout", actor=f"identity:{identity_id}", subject_type="identity",
           subject_id=identity_id)
