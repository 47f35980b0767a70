"""Consent and identifier changes: the rules, the history, the audit trail.

Views and staff tools call these; they flush and leave the commit to the caller.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from webapp import audit
from webapp.boards import board
from webapp.models import (
    BoardCertification,
    BoardCredit,
    Completion,
    ConsentEvent,
    ConsentSource,
    Learner,
    License,
)
from webapp.notify import outbox as notices
from webapp.pars import outbox
from webapp.pars.policy import Policy


def set_consent(
    session: Session, learner: Learner, granted: bool, *, source: ConsentSource, policy: Policy,
    actor: str, actor_identity_id: int | None = None, wording_version: str | None = None,
    note: str | None = None,
) -> ConsentEvent | None:
    """Record a sharing decision. Returns the new history entry, or None if nothing changed.

    A decision that repeats the current value is still recorded when the value came
    from an import: it is now the physician's own, and no later import may change it.
    """
    if learner.consent_granted is granted and (
            learner.chose_personally or source is ConsentSource.IMPORT):
        return None
    event = ConsentEvent(learner_id=learner.id, granted=granted, source=source,
                         actor_identity_id=actor_identity_id, wording_version=wording_version,
                         note=note)
    session.add(event)
    learner.consent_granted = granted
    learner.consent_source = source
    session.flush()
    audit.record("consent.granted" if granted else "consent.withdrawn", actor=actor,
                 subject_type="learner", subject_id=learner.id, session=session,
                 source=source, consent_event=event.id, wording_version=wording_version)
    notices.consent_receipt(session, event)  # an e-mail receipt, whoever recorded it
    # Held-back credit is queued again, or queued credit held back, in the same transaction.
    outbox.on_consent_changed(session, learner, policy, actor=actor)
    return event


@dataclass(frozen=True)
class IdentifierChange:
    #: Names of what changed (never the values: they go to the audit log).
    fields: tuple[str, ...]

    @property
    def changed(self) -> bool:
        return bool(self.fields)


def update_identifiers(
    session: Session, learner: Learner, *, npi: str | None, birth_month_day: str | None,
    licenses: list[tuple[str, str]], boards: list[tuple[str, str | None]], actor: str,
    policy: Policy, primary_license: tuple[str, str] | None = None,
) -> IdentifierChange:
    """Replace the learner's identifiers with the given (already validated) values.

    ``primary_license`` is one of ``licenses``, the one to report to PARS; None (or
    a license not in the list) keeps the current primary, or takes the next one
    when the primary is removed (see ``_keep_one_primary``).
    """
    changed: list[str] = []
    if (learner.npi or None) != (npi or None):
        learner.npi = npi or None
        changed.append("npi")
    if (learner.birth_month_day or None) != (birth_month_day or None):
        learner.birth_month_day = birth_month_day or None
        changed.append("birth_month_day")

    was_primary = _key(learner.primary_license)
    current = {(lic.state, lic.number): lic for lic in learner.licenses}
    wanted = set(licenses)
    if set(current) != wanted:
        for key, lic in current.items():
            if key not in wanted:
                learner.licenses.remove(lic)
        for state, number in licenses:
            if (state, number) not in current:
                learner.licenses.append(License(state=state, number=number))
        changed.append("licenses")
    _keep_one_primary(session, learner, primary_license, new_order=licenses)
    if _key(learner.primary_license) != was_primary:
        changed.append("primary_license")

    certs = {c.board: c for c in learner.board_certifications}
    wanted_boards = dict(boards)
    if {b: c.board_id for b, c in certs.items()} != wanted_boards:
        for board, cert in certs.items():
            if board not in wanted_boards:
                learner.board_certifications.remove(cert)
            elif cert.board_id != wanted_boards[board]:
                cert.board_id = wanted_boards[board]
        for board, board_id in boards:
            if board not in certs:
                learner.board_certifications.append(
                    BoardCertification(board=board, board_id=board_id))
        changed.append("board_certifications")

    if changed:
        session.flush()
        audit.record("identifiers.updated", actor=actor, subject_type="learner",
                     subject_id=learner.id, session=session, fields=changed)
        # Credit waiting for these details, or rejected for a mismatch, goes back in the queue.
        outbox.on_identifiers_changed(session, learner, policy, actor=actor)
    return IdentifierChange(tuple(changed))


def still_missing(session: Session, learner: Learner) -> tuple[str, ...]:
    """What PARS or a board still needs before all of the learner's credit can be matched,
    in words ("your birth month and day", ...); empty when nothing is missing.

    Mirrors ``webapp.pars.eligibility.assess``: birth month and day for every record, an
    NPI or a state license for the CME part, and a board ID for each board (listed on the
    profile, or named by a credit) that needs one.
    """
    missing = []
    if not learner.birth_month_day:
        missing.append("your birth month and day")
    if not (learner.npi or learner.licenses):
        missing.append("an NPI or a state license")
    credited = session.scalars(
        select(BoardCredit.board).join(Completion, BoardCredit.completion_id == Completion.id)
        .where(Completion.learner_id == learner.id).distinct())
    codes = sorted({c.board for c in learner.board_certifications} | set(credited))
    for code in codes:
        entry = board(code)
        if (entry is None or entry.needs_board_id) and not learner.board_id_for(code):
            missing.append(f"your {code} board ID")
    return tuple(missing)


def in_words(items: tuple[str, ...]) -> str:
    """``a``, ``a, and b``, ``a, b, and c``: the comma before "and" keeps "your birth month
    and day, and an NPI or a state license" from reading as a choice of any one."""
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + ", and " + items[-1]


def _key(lic: License | None) -> tuple[str, str] | None:
    return None if lic is None else (lic.state, lic.number)


def _keep_one_primary(session: Session, learner: Learner, chosen: tuple[str, str] | None, *,
                      new_order: list[tuple[str, str]]) -> None:
    """Mark exactly one of the learner's licenses primary (none when there are none).

    ``chosen`` wins when it is one of them. Otherwise the current primary stays; if
    it was removed, the next one takes over: the oldest remaining license, or, when
    all are new, the first in ``new_order``. The first license a learner adds is
    therefore primary until they choose another.
    """
    if not learner.licenses:
        return
    by_key = {(lic.state, lic.number): lic for lic in learner.licenses}
    marked = [lic for lic in learner.licenses if lic.primary]
    target = by_key.get(chosen) if chosen else None
    if target is None and marked:
        target = marked[0]
    if target is None:
        saved = sorted((lic for lic in learner.licenses if lic.id is not None), key=lambda x: x.id)
        target = saved[0] if saved else by_key[next(k for k in new_order if k in by_key)]
    if marked == [target]:
        return
    # One statement at a time: the unique index on the primary license allows one
    # per learner at every step, so removals and the old flag go first.
    for lic in marked:
        lic.primary = False
    session.flush()
    target.primary = True
    session.flush()


SOURCE_WORDS = {
    ConsentSource.PHYSICIAN: "You, on this site",
    ConsentSource.STAFF: "CME staff, on your behalf",
    ConsentSource.IMPORT: "Imported from the learning system",
}
#: The same, as staff read them on the physician's record.
STAFF_SOURCE_WORDS = {
    **SOURCE_WORDS,
    ConsentSource.PHYSICIAN: "The physician, on this site",
}


def source_words(source: ConsentSource) -> str:
    return SOURCE_WORDS[source]


@dataclass(frozen=True)
class HistoryEntry:
    """One line of the sharing history: a choice, or the sharing notice shown."""

    at: dt.datetime
    what: str
    by: str
    wording_version: str | None
    note: str | None = None
    notice: bool = False


def history(learner: Learner, *, for_staff: bool = False) -> list[HistoryEntry]:
    """Choices and notices shown, newest first (needs ``consent_events`` and ``consent_notices``)."""
    words = STAFF_SOURCE_WORDS if for_staff else SOURCE_WORDS
    entries = [
        HistoryEntry(at=e.created_at, what="Share" if e.granted else "Do not share",
                     by=words[e.source], wording_version=e.wording_version, note=e.note)
        for e in reversed(learner.consent_events)
    ]
    for n in reversed(learner.consent_notices):
        kept = "sharing" if n.sharing else "not sharing"
        entries.append(HistoryEntry(
            at=n.shown_at, notice=True,
            what=f"Sharing notice shown; continued ({kept})",
            by="The physician, after signing in" if for_staff else "You, after signing in",
            wording_version=n.wording_version,
            note=f"Continued {n.acknowledged_at:%b %-d, %Y %H:%M} UTC" if for_staff else None,
        ))
    # Stable: entries at the same instant keep choices before notices, newest first.
    return sorted(entries, key=lambda entry: entry.at, reverse=True)
