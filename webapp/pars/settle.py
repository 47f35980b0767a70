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

from sqlalchemy import and_, func, or_, select, update
from sqlalchemy.orm import Session

from webapp.db import utcnow
from webapp.models import (
    Action,
    Batch,
    BatchKind,
    BoardStatus,
    Delivery,
    DeliveryState,
    EngineRun,
)
from webapp.pars import runs
from webapp.pars.client import LookupFailed, ParsClient, RecordStatus, Refused
from webapp.pars.settings import Settings
from webapp.pars.store import add_events, backoff, is_postgres, new_token

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


def settle_candidates(run_id: int, cutoff: dt.datetime):
    """Unknown records (ours, unowned, or a finished run's) and stale claims of finished runs."""
    finished = select(EngineRun.id).where(EngineRun.outcome != runs.RUNNING)
    return or_(
        and_(Delivery.state == S.UNKNOWN,
             func.coalesce(Delivery.sent_at, Delivery.claimed_at) <= cutoff,
             or_(Delivery.claim_run_id.is_(None), Delivery.claim_run_id == run_id,
                 Delivery.claim_run_id.in_(finished))),
        and_(Delivery.state == S.SENDING, Delivery.claim_run_id != run_id,
             Delivery.claim_run_id.in_(finished), Delivery.claimed_at <= cutoff),
    )


def check_lookup_is_trustworthy(session: Session, client: ParsClient) -> None:
    """Refuse to trust 404s when PARS cannot find a record it is known to hold.

    A wrong ``PARS_API_URL`` could answer 404 to everything, which would read as
    "never stored" and cause duplicates; one known record guards against that.
    """
    known = session.scalar(
        select(Delivery.credit_id).join(Delivery.batch)
        .where(Delivery.action == Action.ADD, Delivery.state == S.ACCEPTED,
               Batch.kind == BatchKind.WEB)
        .order_by(Delivery.settled_at.desc()).limit(1)
    )
    session.commit()
    if known is not None and client.status(known) is None:
        raise Refused("PARS's status look-up does not find a record it accepted; check "
                      "PARS_API_URL. No unknown outcome was settled.")


def settle(session: Session, client: ParsClient, settings: Settings, run_id: int, *,
           breaker: Breaker, only_ids: list[int] | None = None, ignore_delay: bool = False,
           counts: Counter | None = None,
           progress: Callable[[int], None] | None = None) -> Counter:
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
        events = []
        for d in records:
            if d.state == S.SENDING:
                d.sent_at = d.claimed_at
                d.state = S.UNKNOWN
                events.append((d.id, "unknown", "The run sending it stopped before PARS's "
                               "answer was recorded; checking with PARS before anything else."))
            d.claim_token, d.claim_run_id, d.claimed_at = token, run_id, now
        items = [_Item(d.id, d.credit_id, d.action, d.withdraws_id, d.attempts) for d in records]
        session.flush()
        add_events(session, events, run_id, now)
        session.commit()
        session.expunge_all()

        answers: list[tuple[_Item, RecordStatus | None]] = []
        for item in items:
            if breaker.open:
                break
            try:
                answers.append((item, client.status(item.credit_id)))
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
           answers: list[tuple[_Item, RecordStatus | None]], counts: Counter) -> None:
    now = utcnow()
    mine = set(session.scalars(select(Delivery.id).where(
        Delivery.id.in_([i.id for i, _ in answers]), Delivery.claim_token == token,
        Delivery.state == S.UNKNOWN)))
    events = []
    for item, found in answers:
        if item.id not in mine:
            continue
        values: dict = {"claim_token": None}
        if item.action == Action.ADD:
            if found is not None and found.status == "accepted":
                values.update(state=S.ACCEPTED, settled_at=now, error_code=None,
                              error_message=None, next_attempt_at=None)
                events.append((item.id, "accepted", "PARS confirmed it holds the record "
                               "(accepted)."))
                store_boards(session, item.id, found, run_id, events)
                counts["accepted"] += 1
            elif found is not None:
                values.update(state=S.REMOVED, settled_at=now)
                events.append((item.id, "removed", "PARS holds the record as deleted."))
                counts["removed"] += 1
            else:
                values.update(_again(settings, item, now, "PARS does not hold it"))
                events.append(_again_event(item, values))
                counts[values["state"].value] += 1
        else:
            if found is not None and found.status == "deleted":
                values.update(state=S.ACCEPTED, settled_at=now, error_code=None,
                              error_message=None)
                events.append((item.id, "accepted", "PARS confirmed the removal."))
                _mark_removed(session, item.withdraws_id, now, events)
                counts["accepted"] += 1
            elif found is not None:
                values.update(_again(settings, item, now, "PARS still holds the record"))
                events.append(_again_event(item, values))
                counts[values["state"].value] += 1
            else:
                values.update(state=S.REJECTED, settled_at=now, error_code="UNKNOWN_CREDIT_ID",
                              error_message="PARS holds no record under this credit ID.")
                events.append((item.id, "rejected", "PARS holds no record to remove; CME "
                               "staff will review it."))
                counts["rejected"] += 1
        session.execute(update(Delivery).where(Delivery.id == item.id).values(**values))
    add_events(session, events, run_id, now)
    session.commit()


def _again(settings: Settings, item: _Item, now: dt.datetime, why: str) -> dict:
    if item.attempts >= settings.max_attempts:
        return {"state": S.FAILED, "error_code": "NOT_DELIVERED",
                "error_message": f"{why} after {item.attempts} attempts."}
    return {"state": S.QUEUED, "error_message": f"{why}; to be sent again.",
            "next_attempt_at": now + backoff(settings.retry_base, settings.max_wait,
                                             item.attempts)}


def _again_event(item: _Item, values: dict) -> tuple[int, str, str]:
    if values["state"] == S.FAILED:
        return (item.id, "failed", f"Not delivered after {item.attempts} attempts; CME staff "
                "will review it.")
    return (item.id, "requeued", "PARS confirmed it did not store it; it will be sent again.")


def _mark_removed(session: Session, add_id: int | None, now: dt.datetime, events: list) -> None:
    if add_id is None:
        return
    session.execute(update(Delivery).where(Delivery.id == add_id)
                    .values(state=S.REMOVED, settled_at=now))
    events.append((add_id, "removed", "Removed from PARS; the corrected record replaces it."))


def store_boards(session: Session, delivery_id: int, found: RecordStatus, run_id: int | None,
                 events: list) -> int:
    """Record each board's decision; a timeline entry when one changes. Changes made."""
    existing = {b.board: b for b in session.scalars(
        select(BoardStatus).where(BoardStatus.delivery_id == delivery_id))}
    changed = 0
    for decision in found.boards:
        row = existing.get(decision.board)
        if row is not None and (row.status, row.message) == (decision.status, decision.message):
            continue
        if row is None:
            session.add(BoardStatus(delivery_id=delivery_id, board=decision.board,
                                    status=decision.status, message=decision.message))
        else:
            row.status, row.message = decision.status, decision.message
        changed += 1
        if decision.status != "pending":
            events.append((delivery_id, f"board_{decision.status}",
                           f"{decision.board}: {decision.status} by the board."))
    session.flush()
    return changed


def sync_boards(session: Session, client: ParsClient, settings: Settings, run_id: int, *,
                breaker: Breaker, within_days: int = 90,
                progress: Callable[[int], None] | None = None) -> Counter:
    """Fetch the certifying boards' decisions on accepted records that have board credit."""
    counts: Counter = Counter()
    final = select(BoardStatus.delivery_id).where(BoardStatus.status != "pending")
    pending = select(BoardStatus.delivery_id).where(BoardStatus.status == "pending")
    last = 0
    while not breaker.open:
        now = utcnow()
        runs.heartbeat(session, run_id)
        rows = session.execute(
            select(Delivery.id, Delivery.credit_id)
            .where(Delivery.action == Action.ADD, Delivery.state == S.ACCEPTED,
                   Delivery.has_board_credit.is_(True), Delivery.id > last,
                   Delivery.settled_at >= now - dt.timedelta(days=within_days),
                   or_(Delivery.id.in_(pending), Delivery.id.not_in(final)))
            .order_by(Delivery.id).limit(CHUNK)
        ).all()
        session.commit()
        if not rows:
            break
        last = rows[-1].id
        events: list = []
        for delivery_id, credit_id in rows:
            if breaker.open:
                break
            try:
                found = client.status(credit_id)
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
                session.execute(update(Delivery).where(Delivery.id == delivery_id,
                                                       Delivery.state == S.ACCEPTED)
                                .values(state=S.FAILED, error_code="NOT_FOUND_IN_PARS",
                                        error_message="PARS no longer holds this record."))
                events.append((delivery_id, "failed", "PARS no longer finds this record; "
                               "CME staff will review it."))
                counts["missing"] += 1
                continue
            if found.status == "deleted":
                session.execute(update(Delivery).where(Delivery.id == delivery_id,
                                                       Delivery.state == S.ACCEPTED)
                                .values(state=S.REMOVED, settled_at=now))
                events.append((delivery_id, "removed", "PARS reports the record deleted."))
                counts["removed"] += 1
            counts["board_changes"] += store_boards(session, delivery_id, found, run_id, events)
        add_events(session, events, run_id, now)
        session.commit()
        session.expunge_all()
        if progress:
            progress(len(rows))
    return counts
