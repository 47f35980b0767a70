"""``pars transmit``: plan, settle, then send due records in batches until done.

One run:

1. plans (new completions, corrections, held-back records whose reason went);
2. settles unknown outcomes and claims left by runs that died (status look-up);
3. claims a batch (rules re-checked, committed as ``sending``), posts it, and
   records each result; repeats, earliest deadline first, until nothing is due;
   waits for short backoffs and settle delays rather than leaving work behind.
   The next batch is claimed once PARS has answered the one before, and posted
   (by a worker thread, which only makes the request) while those answers are
   written, so a run still sends one request at a time;
4. stops early when PARS keeps failing (circuit breaker) or refuses the
   credentials.

Exit codes: 0 everything due was delivered or legitimately held back; 1 records
need a person (rejected or failed in this run); 3 incomplete: PARS failed or
was slow and the next run will finish; 4 stopped: credentials or configuration.
"""

from __future__ import annotations

import datetime as dt
import logging
import time
from collections import Counter
from collections.abc import Callable, Mapping
from concurrent.futures import Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Engine, func, select, update
from sqlalchemy.orm import Session

from webapp import audit
from webapp.db import utcnow
from webapp.models import (
    Action,
    Batch,
    BatchKind,
    BatchState,
    Delivery,
    DeliveryState,
    RunKind,
    RunOutcome,
)
from webapp.pars import lifecycle as life
from webapp.pars import runs, words
from webapp.pars.claiming import Claimed, claim, due_now, ready
from webapp.pars.client import (
    LookupFailed,
    Malformed,
    NotSent,
    OutcomeUnknown,
    ParsClient,
    ParsError,
    Refused,
    Result,
    Unauthorized,
)
from webapp.pars.codes import EngineCode, ParsCode
from webapp.pars.outbox import plan
from webapp.pars.policy import Policy
from webapp.pars.settings import Settings
from webapp.pars.settle import (
    Breaker,
    check_lookup_is_trustworthy,
    settle,
    settle_candidates,
    sync_boards,
)
from webapp.pars.store import backoff, engine_session, new_token

log = logging.getLogger(__name__)
S = DeliveryState

EXIT_OK, EXIT_ATTENTION, EXIT_INCOMPLETE, EXIT_STOPPED = 0, 1, 3, 4
OUTCOMES = {EXIT_OK: RunOutcome.OK, EXIT_ATTENTION: RunOutcome.ATTENTION,
            EXIT_INCOMPLETE: RunOutcome.INCOMPLETE, EXIT_STOPPED: RunOutcome.STOPPED}

Progress = Callable[[int, int], None]


@dataclass
class RunReport:
    run_id: int | None
    exit_code: int
    message: str = ""
    counts: Counter[str] = field(default_factory=Counter)

    @property
    def outcome(self) -> RunOutcome:
        return OUTCOMES[self.exit_code]

    def line(self) -> str:
        c = self.counts
        parts = [f"{c['accepted']} accepted", f"{c['rejected']} rejected",
                 f"{c['failed']} failed", f"{c['unknown_left']} unknown",
                 f"{c['due_left']} still due", f"{c['waiting']} held back",
                 f"{c['corrections']} corrections queued"]
        text = f"pars transmit run {self.run_id}: {self.outcome}: " + ", ".join(parts)
        return text + (f". {self.message}" if self.message else "")


def transmit(engine: Engine, config: Mapping[str, Any], *, client: ParsClient | None = None,
             progress: Progress | None = None, sleep: Callable[[float], None] = time.sleep,
             today: dt.date | None = None, actor: str = "cli") -> RunReport:
    settings = Settings.from_config(config)
    settings.require_web_service()
    policy = Policy.from_config(config, today)
    own_client = client is None
    client = client or ParsClient(settings)
    try:
        with engine_session(engine) as session, ThreadPoolExecutor(1, "pars-post") as poster:
            return _Run(session, client, settings, policy, progress, sleep, actor,
                        poster).run()
    finally:
        if own_client:
            client.close()


@dataclass
class _Sent:
    """A batch posted and answered whose answers are not recorded yet."""

    items: list[Claimed]
    token: str
    batch_id: int | None
    results: list[Result]


class _Run:
    def __init__(self, session: Session, client: ParsClient, settings: Settings, policy: Policy,
                 progress: Progress | None, sleep: Callable[[float], None], actor: str,
                 poster: ThreadPoolExecutor) -> None:
        self.session, self.client, self.settings = session, client, settings
        #: Posts a batch while the previous one's answers are written (no database use).
        self.poster = poster
        #: The last batch PARS answered, while the next one is with PARS.
        self.answered: _Sent | None = None
        self.policy, self.rules = policy, policy.rules
        self.progress, self.sleep, self.actor = progress, sleep, actor
        self.breaker = Breaker(settings.breaker_failures)
        self.counts: Counter[str] = Counter()
        self.run_id = 0
        self.lookups_checked = False
        self.done = 0
        self.total = 0

    # -- the run ------------------------------------------------------------

    def run(self) -> RunReport:
        self.run_id = runs.start(self.session, RunKind.TRANSMIT)
        report = RunReport(self.run_id, EXIT_OK, counts=self.counts)
        try:
            planned = plan(self.session, self.policy, commit=True, run_id=self.run_id)
            self.counts["corrections"] += planned.corrections
            self._settle()
            self.total = self._count(*due_now(utcnow()))
            self._tick(0)
            self._loop()
            self._record_answered()
            report.exit_code, report.message = self._verdict()
        except (Unauthorized, Refused, runs.RunTakenOver) as exc:
            self.session.rollback()
            report.exit_code, report.message = EXIT_STOPPED, str(exc)
        except LookupFailed as exc:
            self.session.rollback()
            self._abandon()
            report.exit_code = EXIT_INCOMPLETE
            report.message = f"PARS did not answer a status look-up ({exc}); the next run " \
                "will finish the work"
        except BaseException:
            self.session.rollback()
            self._abandon()
            runs.finish(self.session, self.run_id, RunOutcome.FAILED, dict(self.counts),
                        "stopped by an error; see the log")
            raise
        self.counts["waiting"] = self._count(Delivery.state == S.WAITING)
        runs.finish(self.session, self.run_id, report.outcome, dict(self.counts), report.message)
        audit.record("pars.transmitted", actor=self.actor, subject_type="engine_run",
                     subject_id=self.run_id, session=self.session, outcome=report.outcome,
                     **{k: v for k, v in self.counts.items() if isinstance(v, int)})
        self.session.commit()
        return report

    def _loop(self) -> None:
        while not self.breaker.open:
            if self._send_next_batch():
                continue
            if self._settle():
                continue
            wake = self._next_wake()
            if wake is None:
                return
            delay = (wake - utcnow()).total_seconds()
            if delay > self.settings.max_wait:
                return
            if delay > 0:
                runs.heartbeat(self.session, self.run_id)
                self.session.commit()
                self.sleep(delay)

    def _verdict(self) -> tuple[int, str]:
        now = utcnow()
        self.counts["due_left"] = self._count(*due_now(now)) + self._count(
            Delivery.state == S.QUEUED, Delivery.next_attempt_at > now)
        self.counts["unknown_left"] = self._count(settle_candidates(self.run_id, now))
        if self.breaker.open:
            return EXIT_INCOMPLETE, ("PARS kept failing; the run stopped early and the next "
                                     "run will finish the work")
        if self.counts["due_left"] or self.counts["unknown_left"]:
            return EXIT_INCOMPLETE, "some records are left for the next run"
        if self.counts["rejected"] or self.counts["failed"]:
            return EXIT_ATTENTION, "records need attention (rejected or failed)"
        return EXIT_OK, ""

    def _count(self, *criteria: Any) -> int:
        value = self.session.scalar(select(func.count()).select_from(Delivery).where(*criteria))
        self.session.commit()
        return value or 0

    def _tick(self, n: int) -> None:
        self.done += n
        if self.progress:
            self.progress(self.done, max(self.total, self.done))

    def _next_wake(self) -> dt.datetime | None:
        """When something will be due or settleable again: a backoff or a settle delay."""
        now = utcnow()
        # Possibly already past: the record became due while this run looked elsewhere.
        queued = self.session.scalar(select(func.min(Delivery.next_attempt_at)).where(
            *ready(), Delivery.next_attempt_at.is_not(None)))
        far = now + dt.timedelta(days=3650)
        unknown = self.session.scalar(
            select(func.min(func.coalesce(Delivery.sent_at, Delivery.claimed_at)))
            .where(settle_candidates(self.run_id, far)))
        self.session.commit()
        if unknown is not None:
            if unknown.tzinfo is None:  # aggregate results skip the column type on SQLite
                unknown = unknown.replace(tzinfo=dt.UTC)
            unknown += dt.timedelta(seconds=self.settings.settle_delay)
        if queued is not None and queued.tzinfo is None:
            queued = queued.replace(tzinfo=dt.UTC)
        times = [t for t in (queued, unknown) if t is not None]
        return min(times) if times else None

    def _settle(self, only_ids: list[int] | None = None) -> int:
        """Settle what may be settled now; how many records were looked up."""
        before = sum(self.counts[k] for k in ("accepted", "removed", "queued", "failed",
                                              "rejected", "lookup_failed"))
        if not self.lookups_checked:
            runs.reap(self.session, self.settings.stale_run_seconds, self.run_id)
            has_work = self.session.scalar(select(func.count()).select_from(Delivery).where(
                settle_candidates(self.run_id, utcnow())))
            self.session.commit()
            if not has_work:
                return 0
            check_lookup_is_trustworthy(self.session, self.client)
            self.lookups_checked = True
        settle(self.session, self.client, self.settings, self.run_id, breaker=self.breaker,
               only_ids=only_ids, ignore_delay=only_ids is not None, counts=self.counts)
        after = sum(self.counts[k] for k in ("accepted", "removed", "queued", "failed",
                                             "rejected", "lookup_failed"))
        return after - before

    # -- one batch ----------------------------------------------------------

    def _send_next_batch(self) -> bool:
        """Claim the next batch and post it; while PARS has it, record the answers to
        the batch before. A batch is claimed only once the one before was answered, so
        an opt-out committed while a batch is with PARS keeps the next one back."""
        now = utcnow()
        token = new_token()
        batch_ids: list[int] = []

        def open_batch(count: int) -> int:
            # Made only for a claim that takes records, so batch numbers have no gaps.
            batch = Batch(kind=BatchKind.WEB, state=BatchState.OPEN, created_by=self.actor,
                          record_count=count, run_id=self.run_id)
            self.session.add(batch)
            self.session.flush()
            batch_ids.append(batch.id)
            return batch.id

        try:
            runs.heartbeat(self.session, self.run_id)
            result = claim(self.session, self.rules, limit=self.settings.batch_size,
                           token=token, run_id=self.run_id, now=now, open_batch=open_batch)
            batch_id = batch_ids[0] if batch_ids else None
            self.session.commit()
        except BaseException:
            # The answers already received are kept (each write is conditional on the
            # claim), then the run stops as it would have.
            self.session.rollback()
            self._record_answered()
            raise
        self.session.expunge_all()
        for state, n in result.set_aside.items():
            if state != S.QUEUED:
                self.counts[state.value if state != S.WAITING else "held_back"] += n
        if not result.items:
            answered = self.answered is not None
            self._record_answered()
            if not result.examined:
                # Recording those answers can make more records ready (a correction's add
                # waits for its delete to be accepted): look again before stopping.
                return answered
            self._tick(result.examined)
            return True
        posting = self.poster.submit(self.client.submit, [i.record for i in result.items])
        self._record_answered(while_posting=posting)
        try:
            results = posting.result()
        except ParsError as exc:
            self._failed(result.items, token, batch_id, exc)
        else:
            self.breaker.success()
            self.answered = _Sent(result.items, token, batch_id, results)
        self._tick(result.examined)
        return True

    def _record_answered(self, while_posting: Future[list[Result]] | None = None) -> None:
        answered, self.answered = self.answered, None
        if answered is not None:
            self._record(answered.items, answered.token, answered.results, answered.batch_id,
                         before_lookups=while_posting)

    def _post(self, items: list[Claimed], token: str, batch_id: int | None) -> None:
        """Post a batch and record what came of it, here and now."""
        try:
            results = self.client.submit([i.record for i in items])
        except ParsError as exc:
            self._failed(items, token, batch_id, exc)
            return
        self.breaker.success()
        self._record(items, token, results, batch_id)

    def _failed(self, items: list[Claimed], token: str, batch_id: int | None,
                exc: ParsError) -> None:
        """A post that got no answer to record: what that means for its records."""
        if isinstance(exc, Malformed):
            if len(items) > 1:  # find the record PARS refuses: nothing was stored
                mid = len(items) // 2
                self._post(items[:mid], token, batch_id)
                self._post(items[mid:], token, batch_id)
                return
            self._finish(items, token, life.FAIL, ParsCode.MALFORMED, str(exc),
                         "PARS refused the record as malformed; CME staff will review it.")
            self._batch(batch_id, BatchState.CANCELLED)
            return
        if isinstance(exc, NotSent):
            self.breaker.failure()
            self._requeue(items, token, str(exc), exc.retry_after)
            self._batch(batch_id, BatchState.CANCELLED)
            return
        if isinstance(exc, OutcomeUnknown):
            self.breaker.failure()
            self._finish(items, token, life.MARK_UNKNOWN, None, str(exc),
                         "No definite answer from PARS; it will be checked with PARS before "
                         "it is ever sent again.")
            return
        if isinstance(exc, Unauthorized | Refused):
            self._requeue(items, token, str(exc), None, count_attempt=False)
            self._batch(batch_id, BatchState.CANCELLED)
        raise exc

    def _record(self, items: list[Claimed], token: str, results: list[Result],
                batch_id: int | None, *, before_lookups: Future[Any] | None = None) -> None:
        """Record PARS's answers to a batch; ``before_lookups``: a post to wait for before
        any status look-up (the client makes one request at a time)."""
        now = utcnow()
        accepted: list[int] = []
        removals: list[int] = []
        verify: list[int] = []
        held: dict[str, Any] = {"token": token, "run_id": self.run_id, "at": now}
        settled = 0
        for item, result in zip(items, results, strict=True):
            if result.accepted:
                accepted.append(item.id)
                if item.action == Action.DELETE:
                    removals.append(item.id)
            elif item.action == Action.ADD and ParsCode.DUPLICATE_CREDIT_ID in result.codes:
                # PARS already holds this CreditID: it was stored before; confirm by look-up.
                verify.append(item.id)
            else:
                moved = life.move_many(
                    self.session, life.REJECT, [item.id], words.rejected(result.code), **held,
                    sent_at=now, settled_at=now, claim_token=None,
                    error_code=(result.code or EngineCode.REJECTED)[:64],
                    error_message=result.message)
                self.counts["rejected"] += len(moved)
                settled += len(moved)
        removal_set = set(removals)
        moved = life.move_many(
            self.session, life.ACCEPT, accepted,
            lambda i: "Removal accepted by PARS." if i in removal_set
            else "Sent to PARS and accepted.", **held,
            sent_at=now, settled_at=now, claim_token=None, error_code=None, error_message=None,
            next_attempt_at=None)
        self.counts["accepted"] += len(moved)
        done = set(moved)
        life.remove_replaced(self.session, [i.withdraws_id for i in items
                                            if i.id in removal_set and i.id in done
                                            and i.withdraws_id is not None],
                             run_id=self.run_id, at=now)
        verify = life.move_many(self.session, life.MARK_UNKNOWN, verify,
                                "PARS says it already holds this credit ID; checking.", **held,
                                sent_at=now)
        settled += len(moved) + len(verify)
        if settled < len(items):
            log.warning("%d claimed records were taken over; their outcome is left to the "
                        "status look-up", len(items) - settled)
        self._batch(batch_id, BatchState.CONFIRMED, commit=False)
        self.session.commit()
        if verify:
            if before_lookups is not None:
                wait([before_lookups])
            self._settle(only_ids=verify)

    def _finish(self, items: list[Claimed], token: str, transition: life.Transition,
                code: str | None, message: str, detail: str) -> None:
        now = utcnow()
        values: dict[str, Any] = {"error_message": message[:2000]}
        if transition is life.MARK_UNKNOWN:
            values["sent_at"] = now
        else:
            values.update(error_code=code, settled_at=now, claim_token=None)
        moved = life.move_many(self.session, transition, [i.id for i in items], detail,
                               token=token, run_id=self.run_id, at=now, **values)
        if transition is not life.MARK_UNKNOWN:
            self.counts[transition.target.value] += len(moved)
        self.session.commit()

    def _requeue(self, items: list[Claimed], token: str, reason: str,
                 retry_after: float | None, *, count_attempt: bool = True) -> None:
        """Nothing was stored: back to the queue with a backoff, or failed at the limit."""
        now = utcnow()
        for item in items:
            if not count_attempt:
                life.move_many(self.session, life.REQUEUE, [item.id], None, token=token,
                               claim_token=None, attempts=item.attempts - 1,
                               error_message=reason[:2000])
                continue
            wait = backoff(self.settings.retry_base, self.settings.max_wait, item.attempts)
            if retry_after is not None:
                wait = max(wait, dt.timedelta(seconds=retry_after))
            state = life.send_again_or_fail(
                self.session, item.id, item.attempts, max_attempts=self.settings.max_attempts,
                retry_at=now + wait, reason=reason, token=token, run_id=self.run_id, at=now,
                detail="PARS could not take it just now; it will be sent again.")
            if state == S.FAILED:
                self.counts["failed"] += 1
        self.session.commit()

    def _batch(self, batch_id: int | None, state: BatchState, *, commit: bool = True) -> None:
        if batch_id is None:
            return
        self.session.execute(update(Batch).where(Batch.id == batch_id,
                                                 Batch.state == BatchState.OPEN)
                             .values(state=state))
        if commit:
            self.session.commit()

    def _abandon(self) -> None:
        """After an unexpected error: what this run was sending has an unknown outcome."""
        try:
            mine = self.session.scalars(select(Delivery.id).where(
                Delivery.claim_run_id == self.run_id, Delivery.state == S.SENDING)).all()
            life.move_many(self.session, life.MARK_UNKNOWN, mine, "The run sending it stopped "
                           "by an error; checking with PARS before anything else.",
                           run_id=self.run_id, sent_at=utcnow())
            self.session.commit()
        except Exception:  # the database may be what failed; the next run settles them
            log.exception("could not mark this run's records as unknown")
            self.session.rollback()


def sync(engine: Engine, config: Mapping[str, Any], *, client: ParsClient | None = None,
         progress: Progress | None = None, actor: str = "cli") -> RunReport:
    """``pars sync``: settle unknown outcomes, then fetch each board's decisions."""
    settings = Settings.from_config(config)
    settings.require_web_service()
    own_client = client is None
    client = client or ParsClient(settings)
    counts: Counter[str] = Counter()
    try:
        with engine_session(engine) as session:
            run_id = runs.start(session, RunKind.SYNC)
            report = RunReport(run_id, EXIT_OK, counts=counts)
            breaker = Breaker(settings.breaker_failures)
            done = 0

            def tick(n: int) -> None:
                nonlocal done
                done += n
                if progress:
                    progress(done, done)

            try:
                runs.reap(session, settings.stale_run_seconds, run_id)
                session.commit()
                # Always: board look-ups also read a 404 as "PARS lost the record".
                check_lookup_is_trustworthy(session, client)
                settle(session, client, settings, run_id, breaker=breaker, counts=counts,
                       progress=tick)
                boards = sync_boards(session, client, settings, run_id, breaker=breaker,
                                     progress=tick)
                counts.update({f"boards_{k}": v for k, v in boards.items()})
                if breaker.open:
                    report.exit_code = EXIT_INCOMPLETE
                    report.message = "PARS kept failing; the next sync will finish the work"
                elif counts["lookup_failed"] or counts["boards_lookup_failed"]:
                    report.exit_code = EXIT_INCOMPLETE
                    report.message = "some look-ups failed; the next sync will repeat them"
                elif counts["rejected"] or counts["failed"] or counts["boards_missing"]:
                    report.exit_code = EXIT_ATTENTION
                    report.message = "records need attention (rejected or failed)"
            except (Unauthorized, Refused, runs.RunTakenOver) as exc:
                session.rollback()
                report.exit_code, report.message = EXIT_STOPPED, str(exc)
            except LookupFailed as exc:
                session.rollback()
                report.exit_code = EXIT_INCOMPLETE
                report.message = (f"PARS did not answer a status look-up ({exc}); the next "
                                  "sync will finish the work")
            except BaseException:
                session.rollback()
                runs.finish(session, run_id, RunOutcome.FAILED, dict(counts),
                            "stopped by an error")
                raise
            runs.finish(session, run_id, report.outcome, dict(counts), report.message)
            audit.record("pars.synced", actor=actor, subject_type="engine_run",
                         subject_id=run_id, session=session, outcome=report.outcome,
                         **dict(counts))
            session.commit()
            return report
    finally:
        if own_client:
            client.close()


def sync_line(report: RunReport) -> str:
    c = report.counts
    text = (f"pars sync run {report.run_id}: {report.outcome}: {c['accepted']} confirmed, "
            f"{c['queued']} to be sent again, {c['rejected'] + c['failed']} need attention; "
            f"{c['boards_checked']} checked for board decisions, "
            f"{c['boards_board_changes']} board decisions updated")
    return text + (f". {report.message}" if report.message else "")
