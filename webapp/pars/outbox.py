"""The outbox: which records PARS should receive, and the changes that re-queue them.

Functions here take the caller's session and never commit it (a web request
commits once), except ``plan(..., commit=True)``, which the engine uses to
plan in chunks of its own.

Every completion that should be in PARS has a delivery; a completion has at
most one live add, numbered by ``sequence`` (unique per completion and action,
so two planners racing each other fail rather than queue it twice).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, fields
from typing import Any, cast

from sqlalchemy import exists, func, or_, select
from sqlalchemy.orm import Session, aliased, joinedload, selectinload
from sqlalchemy.sql.base import ExecutableOption

from webapp import audit
from webapp.db import utcnow
from webapp.models import (
    GONE,
    IN_FLIGHT,
    REPORTED,
    Action,
    BoardDecision,
    Completion,
    Delivery,
    DeliveryState,
    EventKind,
    Learner,
)
from webapp.pars import facts, words
from webapp.pars import lifecycle as life
from webapp.pars.codes import IDENTIFIER_CODES
from webapp.pars.eligibility import (
    NOT_REPORTABLE,
    Assessment,
    Blocker,
    Rules,
    assess,
    reportable_clause,
)
from webapp.pars.policy import Policy
from webapp.pars.store import among, new_credit_id, serialize_planning

CHUNK = 500
#: New completions are planned in larger chunks: each is read as plain values and
#: written with a few statements, so a chunk's fixed cost (its queries and, above
#: all, the commit that makes it durable) dominates at 500. Still a bounded amount
#: of memory, and a short hold of SQLite's write lock.
NEW_CHUNK = 2000

S = DeliveryState


class ActionRefused(ValueError):
    """A staff action that does not apply to the record in its current state."""


@dataclass
class PlanSummary:
    queued: int = 0
    waiting: int = 0
    corrections: int = 0
    updated: int = 0
    requeued: int = 0
    cancelled: int = 0

    def as_dict(self) -> dict[str, int]:
        return {f.name: getattr(self, f.name) for f in fields(self)}


def load_delivery_completions() -> ExecutableOption:
    """Loader option for a delivery's completion and what the eligibility rules read of it."""
    return selectinload(Delivery.completion).options(
        selectinload(Completion.board_credits),
        joinedload(Completion.activity),
        joinedload(Completion.learner).selectinload(Learner.licenses),
        joinedload(Completion.learner).selectinload(Learner.board_certifications),
    )


def verdict(action: Action, result: Assessment, *, claiming: bool) -> tuple[S, Blocker]:
    """Where a record goes when ``result`` says it cannot be sent now.

    Out of scope: cancelled. A closed year found when claiming a queued add is a
    missed deadline (failed, for staff); found later it is cancelled. Consent or
    identifiers: waiting. A delete waits with (and for the same reasons as) the
    add that replaces the record, so a correction never removes credit from PARS
    that cannot be reported again.
    """
    out = next((b for b in result.blockers if b in NOT_REPORTABLE), None)
    if out is not None:
        if claiming and action == Action.ADD and out == Blocker.YEAR_CLOSED:
            return S.FAILED, out
        return S.CANCELLED, out
    assert result.first is not None  # not sendable: something holds it back
    return S.WAITING, result.first


# -- planning -----------------------------------------------------------------


def plan(session: Session, policy: Policy, *, learner: Learner | None = None,
         commit: bool = False, run_id: int | None = None) -> PlanSummary:
    """Queue what PARS should receive: new completions, corrections, and held-back
    records whose reason went away. Safe to repeat and to run concurrently."""
    summary = PlanSummary()
    ctx = _Ctx(session, policy.rules, policy.provider_id, learner.id if learner else None,
               commit, run_id)
    ctx.new_adds(summary)
    ctx.revisions(summary)
    ctx.recheck_waiting(summary)
    return summary


@dataclass
class _Ctx:
    session: Session
    rules: Rules
    provider_id: str
    learner_id: int | None
    commit: bool
    run_id: int | None

    def _done_chunk(self) -> None:
        if self.commit:
            self.session.commit()
            # Keep memory flat: only the engine's own session is emptied.
            self.session.expunge_all()
        else:
            self.session.flush()

    def new_adds(self, summary: PlanSummary) -> None:
        last = 0
        while True:
            serialize_planning(self.session)
            # Walk reportable completions by key and drop those with a live add in a
            # second, indexed query: an anti-join here would scan every delivery per chunk.
            query = (
                select(Completion.id).join(Completion.activity).join(Completion.learner)
                .where(reportable_clause(self.rules), Completion.id > last)
                .order_by(Completion.id).limit(NEW_CHUNK)
            )
            if self.learner_id is not None:
                query = query.where(Completion.learner_id == self.learner_id)
            page = self.session.scalars(query).all()
            if not page:
                self._done_chunk()
                return
            last = page[-1]
            # A record staff resolved by hand (e.g. entered in PARS directly) covers
            # its completion too: queuing it again would report it twice.
            covered = set(self.session.scalars(
                select(Delivery.completion_id).where(
                    among(self.session, Delivery.completion_id, page),
                    Delivery.action == Action.ADD,
                    or_(Delivery.state.not_in(GONE), Delivery.resolution_note.is_not(None)))
            ))
            ids = [i for i in page if i not in covered]
            if not ids:
                self._done_chunk()
                continue
            completions = facts.load(self.session, ids)
            sequences = dict(self.session.execute(
                select(Delivery.completion_id, func.max(Delivery.sequence))
                .where(among(self.session, Delivery.completion_id, ids),
                       Delivery.action == Action.ADD)
                .group_by(Delivery.completion_id)
            ).all())
            rows = []
            for completion in completions.values():
                result = completion.assess(self.rules)
                if not result.reportable:
                    continue
                rows.append(self._add_row(completion, result.first,
                                          sequences.get(completion.id, 0) + 1))
            if rows:
                self._insert(rows, summary)
            self._done_chunk()

    def _add_row(self, completion: Completion | facts.CompletionFacts, blocker: Blocker | None,
                 sequence: int, depends_on_id: int | None = None) -> dict[str, Any]:
        return {
            "completion_id": completion.id, "action": Action.ADD,
            "credit_id": new_credit_id(self.provider_id),
            "sequence": sequence, "completion_revision": completion.revision,
            "due_date": self.rules.due_date(cast(Completion, completion)),
            "has_board_credit": bool(completion.board_credits),
            "error_code": blocker.value if blocker else None,
            "depends_on_id": depends_on_id,
        }

    def _insert(self, rows: list[dict[str, Any]], summary: PlanSummary) -> list[int]:
        created = life.open_records(self.session, rows, _first_words, run_id=self.run_id)
        for row in created:
            if row.state == S.QUEUED:
                summary.queued += 1
            else:
                summary.waiting += 1
        return [row.id for row in created]

    def _next_sequence(self, completion_id: int) -> int:
        self.session.flush()
        current = self.session.scalar(
            select(func.max(Delivery.sequence))
            .where(Delivery.completion_id == completion_id, Delivery.action == Action.ADD)
        )
        return (current or 0) + 1

    def replace(self, add: Delivery, reason: str, summary: PlanSummary) -> int | None:
        """Cancel a rejected add and queue the completion again under a new CreditID."""
        completion = add.completion
        result = assess(completion, completion.learner, self.rules)
        if not result.reportable:
            return None
        life.move(self.session, add, life.CANCEL, reason, run_id=self.run_id, claim_token=None)
        self.session.flush()
        [new_id] = self._insert([self._add_row(completion, result.first,
                                               self._next_sequence(completion.id))], summary)
        return new_id

    def correct(self, add: Delivery, reason: str, summary: PlanSummary) -> None:
        """Remove a reported add from PARS and report the completion again afterwards."""
        completion = add.completion
        result = assess(completion, completion.learner, self.rules)
        if not result.reportable:
            return
        sendable = result.sendable
        life.note(self.session, [(add.id, EventKind.CORRECTING, reason)], run_id=self.run_id)
        [row] = life.open_records(
            self.session,
            [{"completion_id": completion.id, "action": Action.DELETE,
              "credit_id": add.credit_id,
              "sequence": add.sequence, "completion_revision": add.completion_revision,
              "withdraws_id": add.id, "due_date": self.rules.due_date(completion),
              "has_board_credit": bool(completion.board_credits),
              "error_code": None if result.first is None else result.first.value}],
            lambda r: ("Removal of the earlier record queued; the corrected record follows it."
                       if sendable else
                       f"Correction not sent yet: {words.blocker(result.first)}."),
            run_id=self.run_id)
        self._insert([self._add_row(completion, result.first, self._next_sequence(completion.id),
                                    depends_on_id=row.id)], PlanSummary())
        summary.corrections += 1

    def revisions(self, summary: PlanSummary) -> None:
        later = aliased(Delivery)
        newer = select(later.id).where(
            later.completion_id == Delivery.completion_id, later.action == Action.ADD,
            later.sequence > Delivery.sequence,
        )
        for adds in self._delivery_pages(
            Delivery.action == Action.ADD, Delivery.state.not_in(GONE | IN_FLIGHT),
            Delivery.completion_revision < Completion.revision,
            Completion.completion_date >= self.rules.open_from(), ~newer.exists(),
            serialize=True,
        ):
            for add in adds:
                completion = add.completion
                if add.state.reported:
                    self.correct(add, "The credit changed after it was reported; the record "
                                 "will be removed and reported again.", summary)
                elif add.state == S.REJECTED:
                    if self.replace(add, "The credit changed after PARS rejected it; it will "
                                    "be sent again under a new credit ID.", summary):
                        summary.corrections += 1
                else:
                    add.completion_revision = completion.revision
                    add.due_date = self.rules.due_date(completion)
                    add.has_board_credit = bool(completion.board_credits)
                    life.note(self.session, [(add.id, EventKind.UPDATED, "The credit changed "
                                              "before it was sent; the new figures will be sent.")],
                              run_id=self.run_id)
                    summary.updated += 1

    def recheck_waiting(self, summary: PlanSummary) -> None:
        """Waiting records whose reason went away go back to the queue; out of scope: cancelled.

        This runs on every plan, so a consent or identifier change is picked up even
        when no one called ``on_consent_changed`` / ``on_identifiers_changed``.
        """
        for records in self._delivery_pages(Delivery.state == S.WAITING):
            for record in records:
                completion = record.completion
                result = assess(completion, completion.learner, self.rules)
                if result.sendable:
                    life.move(self.session, record, life.QUEUE, "Queued for PARS again: nothing "
                              "holds it back any more.", run_id=self.run_id, error_code=None)
                    summary.requeued += 1
                    continue
                state, blocker = verdict(record.action, result, claiming=False)
                if state == S.CANCELLED:
                    life.move(self.session, record, life.CANCEL,
                              f"Will not be sent: {words.blocker(blocker)}.", run_id=self.run_id,
                              error_code=blocker.value)
                    summary.cancelled += 1
                elif record.error_code != blocker.value:
                    life.move(self.session, record, life.HOLD_BACK,
                              f"Not sent yet: {words.blocker(blocker)}.", run_id=self.run_id,
                              error_code=blocker.value)

    def _delivery_pages(self, *conditions: Any, serialize: bool = False) -> Iterator[list[Delivery]]:
        """Deliveries matching ``conditions`` (joined to their completion), in id order, a
        chunk at a time with what eligibility needs loaded. Each chunk is flushed, or
        committed and let go of, once the caller has handled it."""
        last = 0
        while True:
            if serialize:
                serialize_planning(self.session)
            query = (select(Delivery.id).join(Delivery.completion)
                     .where(Delivery.id > last, *conditions)
                     .order_by(Delivery.id).limit(CHUNK))
            if self.learner_id is not None:
                query = query.where(Completion.learner_id == self.learner_id)
            ids = self.session.scalars(query).all()
            if not ids:
                self._done_chunk()
                return
            last = ids[-1]
            yield list(self.session.scalars(
                select(Delivery).where(Delivery.id.in_(ids))
                .options(load_delivery_completions())
                .order_by(Delivery.id)
            ))
            self._done_chunk()


# -- changes made by the physician ----------------------------------------


def _learner_records(session: Session, learner: Learner, *states: S) -> list[Delivery]:
    return list(session.scalars(
        select(Delivery).join(Delivery.completion)
        .where(Completion.learner_id == learner.id, Delivery.state.in_(states))
        .options(load_delivery_completions(),
                 selectinload(Delivery.board_statuses))
        .order_by(Delivery.id)
    ))


def _current_adds(session: Session, records: list[Delivery]) -> set[int]:
    """The adds among ``records`` that no later add of the same credit replaced, in one
    query however many there are."""
    ids = [d.id for d in records if d.action == Action.ADD]
    if not ids:
        return set()
    later = aliased(Delivery)
    return set(session.scalars(select(Delivery.id).where(
        among(session, Delivery.id, ids),
        ~exists().where(later.completion_id == Delivery.completion_id,
                        later.action == Action.ADD, later.sequence > Delivery.sequence))))


def on_identifiers_changed(session: Session, learner: Learner, policy: Policy, *,
                           actor: str = "system") -> PlanSummary:
    """The physician (or staff) changed an identifier PARS or a board matches on.

    Waiting records are queued again (the engine re-checks them when it claims
    them); an add PARS rejected for a mismatch or a missing identifier is sent
    again under a new CreditID; an add PARS accepted but a certifying board
    rejected is removed and reported again.
    """
    rules = policy.rules
    serialize_planning(session)
    summary = PlanSummary()
    ctx = _Ctx(session, rules, policy.provider_id, learner.id, False, None)
    # Waiting records: queued again if nothing holds them back any more (within the
    # reporting rules: a closed year cancels them instead).
    ctx.recheck_waiting(summary)
    rejected = _learner_records(session, learner, S.REJECTED)
    current = _current_adds(session, rejected)
    for add in rejected:
        if (add.action == Action.ADD and add.error_code in IDENTIFIER_CODES
                and add.id in current):
            if ctx.replace(add, "The physician's details changed after PARS rejected it; it "
                           "will be sent again under a new credit ID.", summary):
                summary.corrections += 1
    reported = _learner_records(session, learner, *REPORTED)
    current = _current_adds(session, reported)
    for add in reported:
        if (add.action != Action.ADD or add.id not in current
                or add.completion.completion_date < rules.open_from()):
            continue
        board_rejected = any(b.status == BoardDecision.REJECTED for b in add.board_statuses)
        sent = {line.get("board") for line in (add.sent_payload or {}).get("boards", [])}
        now = assess(add.completion, learner, rules, already_sent=True)
        gained = set(now.sends_boards) - sent if now.sendable else set()
        if board_rejected:
            ctx.correct(add, "The physician's details changed after a certifying board "
                        "rejected the record; it will be removed and reported again.", summary)
        elif gained:
            ctx.correct(add, "The physician added what a certifying board needs; the record "
                        "will be removed and reported again with that board's credit.", summary)
    session.flush()
    audit.record("pars.identifiers_changed", actor=actor, subject_type="learner",
                 subject_id=learner.id, session=session, **summary.as_dict())
    return summary


def on_consent_changed(session: Session, learner: Learner, policy: Policy, *,
                       actor: str = "system") -> PlanSummary:
    """The physician's sharing permission changed (already saved on ``learner``).

    Opting back in: held-back records are queued again (the engine re-checks
    every rule when it claims them). Opting out: nothing queued is sent; records
    already being sent cannot be recalled, and records in an Excel file not yet
    confirmed are flagged for staff.
    """
    rules = policy.rules
    summary = PlanSummary()
    now_sharing = learner.shares(rules.consent_default)
    if now_sharing:
        # Queued again within the reporting rules (a record whose year closed meanwhile
        # is cancelled; one still missing an identifier keeps waiting for it).
        _Ctx(session, rules, "", learner.id, False, None).recheck_waiting(summary)
    else:
        for record in _learner_records(session, learner, S.QUEUED):
            life.move(session, record, life.HOLD_BACK, "Permission to share withdrawn; it will "
                      "not be sent.", error_code=Blocker.OPTED_OUT.value)
            summary.waiting += 1
        life.note(session, [(record.id, EventKind.WARNING, "Permission to share withdrawn after "
                             "this record was written to an Excel file; CME staff must leave "
                             "it out of the upload.")
                            for record in _learner_records(session, learner, S.EXPORTED)])
    session.flush()
    audit.record("pars.consent_changed", actor=actor, subject_type="learner",
                 subject_id=learner.id, session=session, sharing=now_sharing,
                 **summary.as_dict())
    return summary


# -- staff actions ------------------------------------------------------------


def _audit(session: Session, delivery: Delivery, action: str, actor: str, **details: Any) -> None:
    audit.record(f"pars.{action}", actor=actor, subject_type="delivery", subject_id=delivery.id,
                 session=session, **details)


def _staff_move(session: Session, delivery: Delivery, transition: life.Transition, detail: str,
                actor: str, **fields: Any) -> Delivery:
    try:
        life.move(session, delivery, transition, detail, **fields)
    except life.InvalidTransition as exc:
        raise ActionRefused(str(exc)) from None
    _audit(session, delivery, transition.event or transition.name, actor)
    session.flush()
    return delivery


def retry(session: Session, delivery: Delivery, actor: str, policy: Policy) -> Delivery:
    """Send a record that needs attention again.

    A failed record was never stored by PARS and is queued as it is. A rejected
    add is sent under a new CreditID (the rejected one is cancelled); a rejected
    delete is queued again.
    """
    if not delivery.state.needs_attention:
        raise ActionRefused(f"only records that need attention can be retried; this one is "
                            f"{delivery.state.value}")
    if delivery.state == S.REJECTED and delivery.action == Action.ADD:
        ctx = _Ctx(session, policy.rules, policy.provider_id, None, False, None)
        serialize_planning(session)
        new_id = ctx.replace(delivery, "Sent again by CME staff under a new credit ID.",
                             PlanSummary())
        if new_id is None:
            raise ActionRefused("the credit is no longer reportable to PARS; resolve it instead")
        _audit(session, delivery, "retried", actor, replaced_by=new_id)
        replacement = session.get(Delivery, new_id)
        assert replacement is not None
        return replacement
    return _staff_move(session, delivery, life.RETRY, "Queued again by CME staff.", actor,
                       attempts=0, next_attempt_at=None, error_code=None, error_message=None)


def hold(session: Session, delivery: Delivery, actor: str) -> Delivery:
    """Keep a record from being sent until staff release it."""
    return _staff_move(session, delivery, life.HOLD, "Put on hold by CME staff.", actor)


def release(session: Session, delivery: Delivery, actor: str) -> Delivery:
    """Return a held record to the queue (every rule is checked again when it is claimed)."""
    return _staff_move(session, delivery, life.RELEASE, "Released by CME staff; queued for PARS.",
                       actor, next_attempt_at=None)


def resolve(session: Session, delivery: Delivery, actor: str, note: str) -> Delivery:
    """Close a record that needed attention by hand (e.g. entered in PARS directly)."""
    note = (note or "").strip()
    if not note:
        raise ActionRefused("say how it was resolved: a note is required")
    # The note is free text from staff; the timeline says only that it was resolved.
    return _staff_move(session, delivery, life.RESOLVE, "Resolved by CME staff.", actor,
                       resolution_note=note[:2000], settled_at=utcnow())


#: Staff actions by name, with the transition each applies (``retry`` may instead
#: replace a rejected add under a new CreditID).
STAFF_ACTIONS: dict[str, life.Transition] = {
    "retry": life.RETRY, "hold": life.HOLD, "release": life.RELEASE, "resolve": life.RESOLVE,
}


def staff_actions(state: DeliveryState) -> list[str]:
    """The staff actions that apply to a record in ``state``, in the order offered."""
    return [name for name, transition in STAFF_ACTIONS.items() if transition.allows(state)]


def _first_words(row: Any) -> str:
    if row.state == S.QUEUED:
        return f"Queued for PARS; due by {row.due_date}."
    return f"Not sent yet: {words.blocker(row.error_code)}."


__all__ = [
    "ActionRefused", "PlanSummary", "hold", "on_consent_changed", "on_identifiers_changed",
    "plan", "release", "resolve", "retry", "staff_actions", "verdict",
]
