"""Claiming queued records for sending, with every rule checked in the same transaction.

The claim is the point of no return for consent: a record is claimed only if
the rules hold in the transaction that marks it ``sending`` (or ``exported``),
and that transaction commits before anything leaves the building.

* PostgreSQL: candidates are locked ``FOR UPDATE SKIP LOCKED`` (two runs never
  claim the same row) and their learners ``FOR SHARE``, so an opt-out either
  committed before the claim read it, or waits for the claim to commit.
* SQLite: the whole claim runs under ``BEGIN IMMEDIATE`` (see
  ``store.engine_session``), which excludes every other writer for its duration.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, cast

from sqlalchemy import ColumnElement, and_, exists, or_, select, update
from sqlalchemy.orm import Session, aliased

from webapp.models import (
    SETTLED,
    Action,
    Batch,
    BatchKind,
    Completion,
    Delivery,
    DeliveryState,
    Learner,
)
from webapp.pars import facts, record, words
from webapp.pars import lifecycle as life
from webapp.pars.board_rules import violations
from webapp.pars.codes import EngineCode
from webapp.pars.eligibility import Rules
from webapp.pars.outbox import verdict
from webapp.pars.store import among, is_postgres

S = DeliveryState
#: How long a delete waits when the record it removes is not settled yet.
DELETE_RECHECK = dt.timedelta(minutes=5)


@dataclass(frozen=True)
class Claimed:
    id: int
    credit_id: str
    action: Action
    #: ``webapp.pars.record`` form; personal data, never logged.
    record: dict[str, Any]
    withdraws_id: int | None
    attempts: int


@dataclass
class ClaimResult:
    items: list[Claimed] = field(default_factory=list)
    #: Records looked at (claimed or set aside); 0 means nothing is due now.
    examined: int = 0
    #: Records set aside, by the state they went to.
    set_aside: Counter[DeliveryState] = field(default_factory=Counter)


#: The add a delete withdraws, and the delete a replacement waits for. Made once: an
#: alias costs more to build than the rest of a claim's query.
_ADD = aliased(Delivery)
_REMOVAL = aliased(Delivery)


def excel_only() -> ColumnElement[bool]:
    """A delete of a record that was uploaded in an Excel file. Such a row carries no
    CreditID, so PARS cannot find the record by one: only another Excel row removes it."""
    return and_(Delivery.action == Action.DELETE,
                exists().where(_ADD.id == Delivery.withdraws_id, Batch.id == _ADD.batch_id,
                               Batch.kind == BatchKind.EXCEL))


def ready(*, web: bool = True) -> tuple[ColumnElement[bool], ...]:
    """Queued and not waiting for the removal of the record it replaces; for the web
    service (``web``), not a delete that only an Excel file can carry."""
    conditions = (
        Delivery.state == S.QUEUED,
        or_(Delivery.depends_on_id.is_(None),
            exists().where(_REMOVAL.id == Delivery.depends_on_id,
                           _REMOVAL.state.in_(SETTLED))),
    )
    return (*conditions, ~excel_only()) if web else conditions


def due_now(now: dt.datetime, *, web: bool = True) -> tuple[ColumnElement[bool], ...]:
    """Ready, and not backing off."""
    return (*ready(web=web),
            or_(Delivery.next_attempt_at.is_(None), Delivery.next_attempt_at <= now))


def claim(session: Session, rules: Rules, *, limit: int, token: str, run_id: int | None,
          now: dt.datetime, transition: life.Transition = life.CLAIM,
          batch_id: int | None = None,
          open_batch: Callable[[int], int] | None = None) -> ClaimResult:
    """Claim up to ``limit`` due records, earliest deadline first, by ``transition``
    (``CLAIM`` to send, ``EXPORT`` for an Excel batch). The caller commits.

    The records go into batch ``batch_id``; or, when any is taken, into the batch
    ``open_batch(count)`` makes (and returns the ID of), so no batch is made for a
    claim that took nothing. An export writes the timeline entries itself, once it
    knows which file and row holds each record."""
    postgres = is_postgres(session)
    # Fresh from the database, as plain values: the rules must see what is committed now.
    query = (
        select(Delivery.id, Delivery.credit_id, Delivery.action, Delivery.withdraws_id,
               Delivery.attempts, Delivery.completion_id, Delivery.completion_revision)
        .where(*due_now(now, web=transition is not life.EXPORT))
        # Earliest due date first (see Rules.due_date): the records whose deadline comes first.
        # Exactly the order of ix_deliveries_state_due, so no claim sorts the queue.
        .order_by(Delivery.due_date, Delivery.id)
        .limit(limit)
    )
    if postgres:
        query = query.with_for_update(skip_locked=True, of=Delivery)
    records = session.execute(query).all()
    result = ClaimResult()
    if not records:
        return result
    ids = [d.id for d in records]
    if postgres:
        session.execute(
            select(Learner.id)
            .where(Learner.id.in_(select(Completion.learner_id).join(Completion.deliveries)
                                  .where(among(session, Delivery.id, ids))))
            .order_by(Learner.id).with_for_update(read=True)
        )
    completions = facts.load(session, (d.completion_id for d in records))
    withdrawn_ids = [d.withdraws_id for d in records if d.withdraws_id]
    withdrawn = {w.id: w for w in session.execute(
        select(Delivery.id, Delivery.state, Delivery.sent_payload)
        .where(Delivery.id.in_(withdrawn_ids)))} if withdrawn_ids else {}
    assessments = {d.id: completions[d.completion_id].assess(rules) for d in records}
    broken = violations(session, [
        (cast(Delivery, _Candidate(d.id, completions[d.completion_id])),
         assessments[d.id].sends_boards)
        for d in records if d.action == Action.ADD and assessments[d.id].sendable])
    taken: list[dict[str, Any]] = []
    for delivery in records:
        result.examined += 1
        completion = completions[delivery.completion_id]
        assessment = assessments[delivery.id]
        withdrawn_add = withdrawn.get(delivery.withdraws_id) if delivery.withdraws_id else None
        if delivery.action == Action.DELETE:
            if withdrawn_add is not None and withdrawn_add.state == S.REMOVED:
                _set_aside(session, delivery.id, life.CANCEL, "The record is no longer in PARS; "
                           "nothing to remove.", run_id=run_id, at=now, error_code=None)
                result.set_aside[S.CANCELLED] += 1
                continue
            if (withdrawn_add is None or not S(withdrawn_add.state).reported
                    or not withdrawn_add.sent_payload):
                # Its add is still being settled; look again shortly.
                session.execute(update(Delivery).where(Delivery.id == delivery.id)
                                .values(next_attempt_at=now + DELETE_RECHECK)
                                .execution_options(synchronize_session=False))
                result.set_aside[S.QUEUED] += 1
                continue
        if not assessment.sendable:
            state, blocker = verdict(delivery.action, assessment, claiming=True)
            if state == S.FAILED:
                _set_aside(session, delivery.id, life.FAIL, "Not sent: PARS closed the reporting "
                           "year before it was sent. CME staff will review it.", run_id=run_id,
                           at=now, error_code=EngineCode.REPORTING_YEAR_CLOSED.value,
                           error_message="The PARS reporting year closed before it was sent.")
            elif state == S.CANCELLED:
                _set_aside(session, delivery.id, life.CANCEL,
                           f"Will not be sent: {words.blocker(blocker)}.", run_id=run_id, at=now,
                           error_code=blocker.value)
            else:
                _set_aside(session, delivery.id, life.HOLD_BACK,
                           f"Not sent yet: {words.blocker(blocker)}.", run_id=run_id, at=now,
                           error_code=blocker.value)
            result.set_aside[state] += 1
            continue
        if delivery.id in broken:
            code, words_for_staff = broken[delivery.id]
            _set_aside(session, delivery.id, life.FAIL, "Not sent: it breaks a certifying "
                       "board's rule. CME staff will review it.", run_id=run_id, at=now,
                       error_code=code.value, error_message=words_for_staff)
            result.set_aside[S.FAILED] += 1
            continue
        if delivery.action == Action.DELETE:
            assert withdrawn_add is not None and withdrawn_add.sent_payload is not None
            payload = record.as_delete(withdrawn_add.sent_payload)
            revision = delivery.completion_revision
        else:
            payload = completion.record(delivery.credit_id, Action.ADD, assessment)
            revision = completion.revision
        attempts = delivery.attempts + 1
        taken.append({"id": delivery.id, "sent_payload": payload,
                      "completion_revision": revision})
        result.items.append(Claimed(delivery.id, delivery.credit_id, Action(delivery.action),
                                    payload, delivery.withdraws_id, attempts))
    if taken and open_batch is not None:
        batch_id = open_batch(len(taken))
    # An export writes the timeline entries itself, once it knows each record's file and row.
    life.move_each(session, transition, taken, None, run_id=run_id, at=now,
                   claim_token=token, claim_run_id=run_id, claimed_at=now, batch_id=batch_id,
                   attempts=Delivery.attempts + 1)
    return result


@dataclass(frozen=True)
class _Candidate:
    """What the board rules read of a record about to be claimed."""

    id: int
    completion: facts.CompletionFacts


def _set_aside(session: Session, delivery_id: int, transition: life.Transition, detail: str,
               **fields: Any) -> None:
    """A record the claim found it may not send now; it holds the record locked."""
    if not life.move_many(session, transition, [delivery_id], detail, **fields):
        raise life.InvalidTransition(f"record {delivery_id} was not queued any more")
