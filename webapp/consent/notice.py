"""The sharing notice: shown to a physician after signing in, once per wording version.

Before their transcript, a physician who has not yet acknowledged the current
permission text (``webapp.consent.wording``) sees it, with how to opt out, and
continues (keeping their choice) or goes to change it. Acknowledging writes a
``ConsentNotice`` row and an audit entry, as consent changes do. A physician who
made a choice on the profile under the current wording has read it there and is
not asked again. Non-physician learners are not reported to PARS and staff
without a learner have no credit: neither is shown the notice.

Functions take the SQLAlchemy session and flush; the caller commits.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select
from sqlalchemy.orm import Session

from webapp import audit
from webapp.consent import wording
from webapp.db import utcnow
from webapp.models import ConsentEvent, ConsentNotice, ConsentSource, Learner
from webapp.models.people import is_physician


def needed(session: Session, learner: Learner | None, *, degrees: frozenset[str],
           version: str | None = None) -> bool:
    """Whether ``learner`` must be shown the sharing notice (of ``version``, default the
    current wording) before anything else.

    ``degrees``: those reported to PARS as physicians (the ``PHYSICIAN_DEGREES`` setting).
    """
    if learner is None or not is_physician(learner.degree, degrees):
        return False
    version = version or wording.VERSION
    acknowledged = session.scalar(
        select(ConsentNotice.id)
        .where(ConsentNotice.learner_id == learner.id, ConsentNotice.wording_version == version)
        .limit(1))
    if acknowledged is not None:
        return False
    chose = session.scalar(
        select(ConsentEvent.id)
        .where(ConsentEvent.learner_id == learner.id, ConsentEvent.wording_version == version,
               ConsentEvent.source == ConsentSource.PHYSICIAN)
        .limit(1))
    return chose is None


def acknowledge(
    session: Session, learner: Learner, *, identity_id: int, shown_at: dt.datetime | None,
    consent_default: bool, degrees: frozenset[str], actor: str, version: str | None = None,
) -> ConsentNotice | None:
    """Record that the physician was shown ``version`` and continued; None if nothing to record.

    Continuing keeps the current choice: the sharing in effect is recorded with the
    notice, and nothing about consent changes.
    """
    version = version or wording.VERSION
    if not needed(session, learner, degrees=degrees, version=version):
        return None
    now = utcnow()
    notice = ConsentNotice(
        learner_id=learner.id, identity_id=identity_id, wording_version=version,
        sharing=learner.shares(consent_default),
        shown_at=min(shown_at, now) if shown_at else now, acknowledged_at=now,
    )
    session.add(notice)
    session.flush()
    audit.record("consent.notice_shown", actor=actor, subject_type="learner",
                 subject_id=learner.id, session=session, consent_notice=notice.id,
                 wording_version=version, sharing=notice.sharing)
    return notice
