"""Who a verified sign-in is: identity linking, staff marking, and the audit trail.

Identities are found by (issuer, subject), never by e-mail. Only the first
sign-in of an identity (or of one not yet linked to a learner) looks for a
learner, on the strongest evidence the provider gives (``LinkRules``): a
learner-ID claim equal to the learner's ``source_id``; else an e-mail the
provider vouches for (``email_verified``, Entra ID's ``xms_edov``) or one in a
domain the organisation owns and trusts its provider for. Exactly one learner
must match, and one no other identity is linked to yet; e-mails are compared
without Unicode folding (only ASCII letters are lower-cased). An identity that
matches no learner is kept unlinked, so that staff can link it by hand from
the support reference. Staff are recognised by a configured claim and may sign
in without being learners. Audit entries name rows by ID only.
"""

from __future__ import annotations

import datetime as dt
import re
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from email_validator import EmailNotValidError, validate_email
from sqlalchemy import String, cast, select

from webapp.audit import record
from webapp.auth.failures import FailureReason
from webapp.db import utcnow
from webapp.extensions import db
from webapp.models import AuditEvent, Identity, IdentityLink, Learner

#: Support references avoid letters and digits that are easily confused on the phone.
REFERENCE_ALPHABET = "ABCDEFGHJKMNPQRSTVWXYZ23456789"
REFERENCE_PATTERN = re.compile(f"[{REFERENCE_ALPHABET}]{{4}}-[{REFERENCE_ALPHABET}]{{4}}")


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


@dataclass(frozen=True)
class LinkRules:
    """What may link a first sign-in to a learner (the ``OIDC_*`` settings)."""

    #: The claim holding the e-mail address.
    email_claim: str = "email"
    #: A claim equal to the learner's ``source_id``; empty when the provider has none.
    learner_id_claim: str = ""
    #: Domains whose addresses the provider asserts for the organisation.
    trusted_domains: frozenset[str] = frozenset()
    #: A trusted domain counts only with a matching ``hd`` claim: at Google anyone can
    #: make a consumer account with any address, and only ``hd`` says it is the Workspace's.
    hosted_domain_required: bool = False

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> LinkRules:
        return cls(email_claim=config["OIDC_EMAIL_CLAIM"],
                   learner_id_claim=config["OIDC_LEARNER_ID_CLAIM"],
                   trusted_domains=frozenset(config["OIDC_TRUSTED_EMAIL_DOMAINS"]),
                   hosted_domain_required=config["OIDC_ISSUER"] in GOOGLE_ISSUERS)


#: Google's issuer (its discovery document names the first).
GOOGLE_ISSUERS = frozenset({"https://accounts.google.com", "accounts.google.com"})

_ASCII_LOWER = str.maketrans("ABCDEFGHIJKLMNOPQRSTUVWXYZ", "abcdefghijklmnopqrstuvwxyz")


def _true(value: Any) -> bool:
    # The standard says boolean; some providers send the string "true".
    return value is True or (isinstance(value, str) and value.lower() == "true")


def claimed_email(claims: Mapping[str, Any], name: str = "email") -> str | None:
    """The address in claim ``name``, as imports store it, or None.

    Only ASCII letters are lower-cased, and an address that normalising would
    change otherwise (a Kelvin sign for a K, a decomposed accent) is not used:
    it is not the address the learning system holds.
    """
    raw = claim_value(claims, name)
    if not isinstance(raw, str) or not raw:
        return None
    try:
        normalized = validate_email(raw, check_deliverability=False).normalized
    except EmailNotValidError:
        return None
    if normalized.translate(_ASCII_LOWER) != raw.translate(_ASCII_LOWER):
        return None
    return normalized.translate(_ASCII_LOWER)


def verified_email(claims: Mapping[str, Any], rules: LinkRules | None = None) -> str | None:
    """The claimed e-mail if the provider vouches that it is the person's, else None.

    ``email_verified`` and Entra ID's ``xms_edov`` speak about the ``email`` claim
    only. Otherwise an address in a trusted domain counts; when Google's ``hd``
    (the Workspace domain) is present it must be that address's domain.
    """
    rules = rules or LinkRules()
    email = claimed_email(claims, rules.email_claim)
    if email is None:
        return None
    if rules.email_claim == "email" and (
        _true(claims.get("email_verified")) or _true(claims.get("xms_edov"))
    ):
        return email
    domain = email.rpartition("@")[2]
    hosted = claims.get("hd")
    if rules.hosted_domain_required and hosted is None:
        return None
    if domain in rules.trusted_domains and (hosted is None or hosted == domain):
        return email
    return None


def claimed_learner_id(claims: Mapping[str, Any], name: str) -> str | None:
    """The learner-ID claim as text, if configured and present."""
    if not name:
        return None
    value = claim_value(claims, name)
    if isinstance(value, int) and not isinstance(value, bool):
        value = str(value)
    if not isinstance(value, str) or not value.strip() or len(value) > 64:
        return None
    return value.strip()


def _unlinked(matches: list[Learner]) -> Learner | FailureReason:
    if not matches:
        return FailureReason.NO_MATCHING_LEARNER
    if len(matches) > 1:
        return FailureReason.AMBIGUOUS_LEARNER
    learner = matches[0]
    taken = db.session.scalars(
        select(Identity.id).where(Identity.learner_id == learner.id).limit(1)
    ).first()
    # Someone else already signs in as this learner: a second account is linked by staff.
    return FailureReason.LEARNER_ALREADY_LINKED if taken is not None else learner


def find_learner(claims: Mapping[str, Any], rules: LinkRules) -> Learner | FailureReason:
    """The single learner the evidence points to, or why there is none."""
    learner_id = claimed_learner_id(claims, rules.learner_id_claim)
    if learner_id is not None:
        by_id = list(db.session.scalars(select(Learner).where(Learner.source_id == learner_id)))
        if by_id:
            return _unlinked(by_id)
    email = verified_email(claims, rules)
    if email is None:
        return FailureReason.EMAIL_NOT_VERIFIED
    return _unlinked(list(db.session.scalars(
        select(Learner).where(Learner.email == email).limit(2))))


def _text(claims: Mapping[str, Any], name: str, limit: int) -> str | None:
    value = claims.get(name)
    return value[:limit] if isinstance(value, str) and value else None


def resolve(
    issuer: str, claims: Mapping[str, Any], *, staff_claim: str, staff_value: str,
    rules: LinkRules | None = None, now: dt.datetime | None = None,
) -> SignIn:
    """The identity to sign in for verified ``claims``; ``SignInRefused`` if none may.

    A refused sign-in writes nothing, except that an identity which matches no
    learner is kept, unlinked and never signed in, for staff to link by hand.
    """
    rules = rules or LinkRules()
    now = now or utcnow()
    identity = db.session.scalars(
        select(Identity).where(Identity.issuer == issuer, Identity.subject == claims["sub"])
    ).one_or_none()
    if identity is not None and identity.disabled_at is not None:
        raise SignInRefused(FailureReason.ACCOUNT_DISABLED, identity.id)
    staff = is_staff(claims, staff_claim, staff_value)

    linked = False
    if identity is None or identity.learner_id is None:
        found = find_learner(claims, rules)
        learner = found if isinstance(found, Learner) else None
        if identity is None:
            identity = Identity(issuer=issuer, subject=claims["sub"], created_at=now)
            db.session.add(identity)
            linked = True
        if isinstance(found, FailureReason) and not staff:
            _describe(identity, claims, rules)
            db.session.flush()
            raise SignInRefused(found, identity.id)
        if learner is not None:
            identity.learner = learner
            linked = True

    _describe(identity, claims, rules)
    identity.last_login_at = now
    db.session.flush()
    return SignIn(identity=identity, is_staff=staff, linked=linked)


def _describe(identity: Identity, claims: Mapping[str, Any], rules: LinkRules) -> None:
    """What staff see of the identity: the address it claims and its name."""
    email = claim_value(claims, rules.email_claim)
    identity.email = email[:320] if isinstance(email, str) and email else _text(claims, "email", 320)
    identity.display_name = _text(claims, "name", 255)


class LinkRefused(Exception):
    """Staff asked for a link or unlink that cannot be made; the message says why."""


def find_refused_identity(reference: str) -> Identity | None:
    """The identity behind a refused sign-in's support reference (``K7QF-2M9D``)."""
    reference = reference.strip().upper()
    if not REFERENCE_PATTERN.fullmatch(reference):
        return None
    for event in db.session.scalars(
        select(AuditEvent).where(AuditEvent.action == "auth.login_failed",
                                 AuditEvent.subject_type == "identity",
                                 cast(AuditEvent.details, String).contains(reference))
        .order_by(AuditEvent.id.desc())
    ):
        if (event.details or {}).get("reference") == reference and event.subject_id:
            return db.session.get(Identity, int(event.subject_id))
    return None


def link_by_hand(identity: Identity, learner: Learner, *, actor: Identity, note: str,
                 now: dt.datetime | None = None) -> IdentityLink:
    """Link ``identity`` to ``learner`` on staff's word, with the note of what they checked."""
    note = note.strip()
    if not note:
        raise LinkRefused("write what you checked before linking")
    if identity.learner_id is not None:
        raise LinkRefused("this sign-in is already linked to a learner; unlink it first")
    entry = IdentityLink(identity_id=identity.id, learner_id=learner.id,
                         actor_identity_id=actor.id, note=note, created_at=now or utcnow())
    identity.learner = learner
    db.session.add(entry)
    db.session.flush()
    record("identity.linked_by_staff", actor=f"identity:{actor.id}", subject_type="identity",
           subject_id=identity.id, learner_id=learner.id, link_id=entry.id)
    return entry


def unlink(identity: Identity, *, actor: Identity, note: str,
           now: dt.datetime | None = None) -> IdentityLink:
    """Take the learner from ``identity``: from its next request it reaches no transcript."""
    note = note.strip()
    if not note:
        raise LinkRefused("write why before unlinking")
    if identity.learner_id is None:
        raise LinkRefused("this sign-in is not linked to a learner")
    was = identity.learner_id
    entry = IdentityLink(identity_id=identity.id, learner_id=None,
                         actor_identity_id=actor.id, note=note, created_at=now or utcnow())
    identity.learner = None
    db.session.add(entry)
    db.session.flush()
    record("identity.unlinked_by_staff", actor=f"identity:{actor.id}", subject_type="identity",
           subject_id=identity.id, learner_id=was, link_id=entry.id)
    return entry


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
