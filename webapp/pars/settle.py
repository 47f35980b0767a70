"""Settling outcomes with PARS's status look-up, and fetching the boards' decisions.

A record whose post got no definite answer (``unknown``), or that a run left
``sending`` when it died, is never sent again before PARS has been asked about
its CreditID: found → it was stored (accepted, or deleted); not found (404) →
it is safe to send again. A look-up is trusted only ``PARS_SETTLE_DELAY_SECONDS``
after the request, so a post PARS is still working on is not mistaken for one
it never got.

Settling claims the records first (a fresh ``claim_token``), so two runs never
settle the same record at once, and every write afterwards is conditional on
that token.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, and_, func, or_, select
from sqlalchemy.orm import Session

from webapp.db import utcnow
from webapp.models import (
    Action,
    Batch,
    BatchKind,
    BoardDecision,
    BoardStatus,
    Delivery,
    DeliveryState,
    EngineRun,
    EventKind,
    RunOutcome,
)
from webapp.notify import outbox as notices
from webapp.pars import lifecycle as life
from webapp.pars import runs
from webapp.pars.client import LookupFailed, ParsClient, RecordStatus, Refused
from webapp.pars.codes import EngineCode, ParsCode
from webapp.pars.settings import Settings
from webapp.pars.store import backoff, is_postgres, new_token

log = logging.getLogger(__name__)
S = DeliveryState
CHUNK = 200


class Breaker:
    """Counts failed requests in a row; open when PARS keeps failing."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.failures = 0

    def failure(self) -> None:
        self.failures += 1

    def success(self) -> None:
        self.failures = 0

    @property
    def open(self) -> bool:
        return self.failures >= self.limit


@dataclass(frozen=True)
class _Item:
    id: int
    credit_id: str
    action: Action
    withdraws_id: int | None
    attempts: int
    #: What was sent (``webapp.pars.record`` form), to read the boards' decisions by.
    record: dict[str, Any] | None


def settle_candidates(run_id: int, cutoff: dt.datetime) -> ColumnElement[bool]:
    """Unknown records (ours, unowned, or a finished run's) and stale claims of finished runs."""
    finished = select(EngineRun.id).where(EngineRun.outcome != RunOutcome.RUNNING)
    return or_(
        and_(Delivery.state == S.UNKNOWN,
             func.coalesce(Delivery.sent_at, Delivery.claimed_at) <= cutoff,
             or_(Delivery.claim_run_id.is_(None), Delivery.claim_run_id == run_id,
                 Delivery.claim_run_id.in_(finished))),
        and_(Delivery.state == S.SENDING, Delivery.claim_run_id != run_id,
             Delivery.claim_run_id.in_(finished), Delivery.claimed_at <= cutoff),
    )


def by_web_service() -> ColumnElement[bool]:
    """Records that went through the web service. A record uploaded in an Excel file
    carries no CreditID in PARS, so PARS cannot be asked about it by one."""
    return Delivery.batch_id.in_(select(Batch.id).where(Batch.kind == BatchKind.WEB))


def check_lookup_is_trustworthy(session: Session, client: ParsClient) -> None:
    """Refuse to trust 404s when PARS cannot find a record it is known to hold.

    A wrong ``PARS_API_URL`` could answer 404 to everything, which would read as
    "never stored" and cause duplicates; one known record guards against that.
    """
    known = session.scalar(
        select(Delivery.credit_id)
        .where(Delivery.action == Action.ADD, Delivery.state == S.ACCEPTED, by_web_service())
        .order_by(Delivery.settled_at.desc()).limit(1)
    )
    session.commit()
    if known is not None and client.status(known) is None:
        raise Refused("PARS's status look-up does not find a record it accepted; check "
                      "PARS_API_URL. No unknown outcome was settled.")


def settle(session: Session, client: ParsClient, settings: Settings, run_id: int, *,
           breaker: Breaker, only_ids: list[int] | None = None, ignore_delay: bool = False,
           counts: Counter[str] | None = None,
           progress: Callable[[int], None] | None = None) -> Counter[str]:
    """Settle every record that may be settled now; counts by outcome."""
    counts = counts if counts is not None else Counter()
    last = 0
    while not breaker.open:
        now = utcnow()
        runs.reap(session, settings.stale_run_seconds, run_id)
        runs.heartbeat(session, run_id)
        cutoff = now if ignore_delay else now - dt.timedelta(seconds=settings.settle_delay)
        query = (select(Delivery).where(settle_candidates(run_id, cutoff), Delivery.id > last)
                 .order_by(Delivery.id).limit(CHUNK))
        if only_ids is not None:
            query = query.where(Delivery.id.in_(only_ids))
        if is_postgres(session):
            query = query.with_for_update(skip_locked=True, of=Delivery)
        records = session.scalars(query).all()
        if not records:
            session.commit()
            break
        last = records[-1].id
        token = new_token()
        for d in records:
            if d.state == S.SENDING:
                life.move(session, d, life.MARK_UNKNOWN, "The run sending it stopped before "
                          "PARS's answer was recorded; checking with PARS before anything else.",
                          run_id=run_id, at=now, sent_at=d.claimed_at)
            # Taken for settling: the look-up's answer is written only under this claim.
            d.claim_token, d.claim_run_id, d.claimed_at = token, run_id, now
        items = [_Item(d.id, d.credit_id, d.action, d.withdraws_id, d.attempts, d.sent_payload)
                 for d in records]
        session.commit()
        session.expunge_all()

        answers: list[tuple[_Item, RecordStatus | None]] = []
        for item in items:
            if breaker.open:
                break
            try:
                answers.append((item, client.status(item.credit_id, item.record)))
                breaker.success()
            except LookupFailed as exc:
                log.warning("status look-up failed: %s", exc)
                breaker.failure()
                counts["lookup_failed"] += 1
        _apply(session, settings, run_id, token, answers, counts)
        if progress:
            progress(len(answers))
    return counts


def _apply(session: Session, settings: Settings, run_id: int, token: str,
           answers: list[tuple[_Item, RecordStatus | None]], counts: Counter[str]) -> None:
    now = utcnow()
    held: dict[str, Any] = {"token": token, "run_id": run_id, "at": now}
    for item, found in answers:
        if item.action == Action.ADD and found is not None and found.status == "accepted":
            if life.move_many(session, life.ACCEPT, [item.id], "PARS confirmed it holds the "
                              "record (accepted).", **held, claim_token=None, settled_at=now,
                              error_code=None, error_message=None, next_attempt_at=None):
                board_events: list[tuple[int, EventKind, str]] = []
                store_boards(session, item.id, found, board_events)
                life.note(session, board_events, run_id=run_id, at=now)
                counts["accepted"] += 1
        elif item.action == Action.ADD and found is not None:
            counts["removed"] += len(life.remove_replaced(
                session, [item.id], run_id=run_id, at=now, token=token,
                detail="PARS holds the record as deleted."))
        elif item.action == Action.DELETE and found is not None and found.status == "deleted":
            if life.move_many(session, life.ACCEPT, [item.id], "PARS confirmed the removal.",
                              **held, claim_token=None, settled_at=now, error_code=None,
                              error_message=None, next_attempt_at=None):
                if item.withdraws_id is not None:
                    life.remove_replaced(session, [item.withdraws_id], run_id=run_id, at=now)
                counts["accepted"] += 1
        elif item.action == Action.DELETE and found is None:
            counts["rejected"] += len(life.move_many(
                session, life.REJECT, [item.id], "PARS holds no record to remove; CME staff "
                "will review it.", **held, claim_token=None, settled_at=now,
                error_code=ParsCode.UNKNOWN_CREDIT_ID.value,
                error_message="PARS holds no record under this credit ID."))
        else:
            # An add PARS does not hold, or a delete whose record PARS still holds.
            why = "PARS does not hold it" if item.action == Action.ADD else \
                "PARS still holds the record"
            state = life.send_again_or_fail(
                session, item.id, item.attempts, max_attempts=settings.max_attempts,
                retry_at=now + backoff(settings.retry_base, settings.max_wait, item.attempts),
                reason=why, detail="PARS confirmed it did not store it; it will be sent again."
                if item.action == Action.ADD else "PARS still holds the record; the removal "
                "will be sent again.", token=token, run_id=run_id, at=now)
            if state is not None:
                counts[state.value] += 1
    session.commit()


def store_boards(session: Session, delivery_id: int, found: RecordStatus,
                 events: list[tuple[int, EventKind, str]]) -> int:
    """Record each board's decision; a timeline entry when one changes. Changes made."""
    existing = {b.board: b for b in session.scalars(
        select(BoardStatus).where(BoardStatus.delivery_id == delivery_id))}
    changed = 0
    for decision in found.boards:
        row = existing.get(decision.board)
        if row is not None and (row.status, row.message) == (decision.status, decision.message):
            continue
        status = BoardDecision(decision.status)
        if row is None:
            session.add(BoardStatus(delivery_id=delivery_id, board=decision.board,
                                    status=status, message=decision.message))
        else:
            row.status, row.message = status, decision.message
        changed += 1
        if status == BoardDecision.REJECTED:
            notices.board_rejected(session, delivery_id, decision.board)
        if status != BoardDecision.PENDING:
            kind = (EventKind.BOARD_ACCEPTED if status == BoardDecision.ACCEPTED
                    else EventKind.BOARD_REJECTED)
            events.append((delivery_id, kind, f"{decision.board}: {status.value} by the board."))
    session.flush()
    return changed


def sync_boards(session: Session, client: ParsClient, settings: Settings, run_id: int, *,
                breaker: Breaker, within_days: int = 90,
                progress: Callable[[int], None] | None = None) -> Counter[str]:
    """Fetch the certifying boards' decisions on accepted records that have board credit.

    Only records sent through the web service: PARS is asked by CreditID, which an Excel
    row does not carry; the board's decision on uploaded credit is not seen here."""
    counts: Counter[str] = Counter()
    final = select(BoardStatus.delivery_id).where(BoardStatus.status != BoardDecision.PENDING)
    pending = select(BoardStatus.delivery_id).where(BoardStatus.status == BoardDecision.PENDING)
    last = 0
    while not breaker.open:
        now = utcnow()
        runs.heartbeat(session, run_id)
        rows = session.execute(
            select(Delivery.id, Delivery.credit_id, Delivery.sent_payload)
            .where(Delivery.action == Action.ADD, Delivery.state == S.ACCEPTED,
                   Delivery.has_board_credit.is_(True), by_web_service(), Delivery.id > last,
                   Delivery.settled_at >= now - dt.timedelta(days=within_days),
                   or_(Delivery.id.in_(pending), Delivery.id.not_in(final)))
            .order_by(Delivery.id).limit(CHUNK)
        ).all()
        session.commit()
        if not rows:
            break
        last = rows[-1].id
        events: list[tuple[int, EventKind, str]] = []
        for delivery_id, credit_id, sent in rows:
            if breaker.open:
                break
            try:
                found = client.status(credit_id, sent)
                breaker.success()
            except LookupFailed as exc:
                log.warning("status look-up failed: %s", exc)
                breaker.failure()
                counts["lookup_failed"] += 1
                continue
            counts["checked"] += 1
            if found is None:
                # Lookups were checked against a known record first, so this one is gone
                # from PARS: a person must look (retrying it sends it again safely).
                counts["missing"] += len(life.move_many(
                    session, life.FAIL, [delivery_id], "PARS no longer finds this record; CME "
                    "staff will review it.", run_id=run_id, at=now,
                    error_code=EngineCode.NOT_FOUND_IN_PARS.value,
                    error_message="PARS no longer holds this record."))
                continue
            if found.status == "deleted":
                counts["removed"] += len(life.remove_replaced(
                    session, [delivery_id], run_id=run_id, at=now,
                    detail="PARS reports the record deleted."))
            counts["board_changes"] += store_boards(session, delivery_id, found, events)
        life.note(session, events, run_id=run_id, at=now)
        session.commit()
        session.expunge_all()
        if progress:
            progress(len(rows))
    return counts
