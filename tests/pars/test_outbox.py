"""The outbox functions other code calls: planning, re-queueing on changes, staff actions."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from webapp.models import (
    Action,
    AuditEvent,
    BoardStatus,
    Completion,
    Delivery,
    DeliveryEvent,
    DeliveryState,
)
from webapp.pars import outbox
from webapp.pars.eligibility import Rules

S = DeliveryState


@pytest.fixture
def rules(policy):
    return policy.rules


def records(session, completion) -> list[Delivery]:
    return list(session.scalars(select(Delivery).where(Delivery.completion_id == completion.id)
                                .order_by(Delivery.id)))


def events(session, delivery) -> list[tuple[str, str]]:
    return [(e.kind, e.detail) for e in session.scalars(
        select(DeliveryEvent).where(DeliveryEvent.delivery_id == delivery.id)
        .order_by(DeliveryEvent.id))]


def test_plan_queues_reportable_completions_once(db_session, make, rules, policy):
    learner = make.learner()
    ok = make.completion(learner)
    board_learner = make.learner()
    make.board(board_learner)
    board = make.completion(board_learner, date=dt.date.today() - dt.timedelta(days=3),
                            board_lines=[("ABIM", "Medical Knowledge", "1")])
    out_of_scope = [make.completion(learner, date=dt.date(2023, 6, 30)),
                    make.completion(learner, make.activity(registered=False)),
                    make.completion(make.learner(degree="PA"))]
    opted_out = make.completion(make.learner(consent_granted=False))
    missing = make.completion(make.learner(birth_month_day=None))

    summary = outbox.plan(db_session, policy)

    assert (summary.queued, summary.waiting) == (2, 2)
    [record] = records(db_session, ok)
    assert (record.action, record.state, record.sequence, record.completion_revision) == (
        Action.ADD, S.QUEUED, 1, 1)
    assert record.credit_id.startswith("ccid:0001234:")
    # ACCME asks for all learner data within 30 days (the year close is the hard stop).
    assert record.due_date == min(ok.completion_date + dt.timedelta(days=30),
                                  rules.year_closes(ok.completion_date))
    [board_record] = records(db_session, board)
    assert board_record.has_board_credit
    assert board_record.due_date == min(board.completion_date + dt.timedelta(days=30),
                                        dt.date(board.completion_date.year, 12, 31))
    assert all(records(db_session, c) == [] for c in out_of_scope)
    assert [(r.state, r.error_code) for r in records(db_session, opted_out)] == [
        (S.WAITING, "opted_out")]
    assert [(r.state, r.error_code) for r in records(db_session, missing)] == [
        (S.WAITING, "missing_birth_date")]
    assert events(db_session, record) == [
        ("queued", f"Queued for PARS; due by {record.due_date}.")]
    assert outbox.plan(db_session, policy) == outbox.PlanSummary()


def test_plan_for_one_learner(db_session, make, rules, policy):
    mine, other = make.learner(), make.learner()
    make.completion(mine)
    theirs = make.completion(other)
    assert outbox.plan(db_session, policy, learner=mine).queued == 1
    assert records(db_session, theirs) == []


def test_one_completion_cannot_get_two_adds_with_one_sequence(db_session, make, rules, policy):
    completion = make.completion(make.learner())
    outbox.plan(db_session, policy)
    [record] = records(db_session, completion)
    db_session.add(Delivery(completion_id=completion.id, action=Action.ADD,
                            credit_id="ccid:0001234:other", sequence=record.sequence,
                            due_date=record.due_date))
    with pytest.raises(IntegrityError):
        db_session.flush()
    db_session.rollback()


def _reported(db_session, make, policy, state=S.ACCEPTED, **completion_kw):
    completion = make.completion(make.learner(), **completion_kw)
    outbox.plan(db_session, policy)
    [add] = records(db_session, completion)
    add.state = state
    add.sent_payload = {"credit_id": add.credit_id}
    db_session.flush()
    return completion, add


def _change(db_session, completion):
    completion.cme_credits += Decimal("0.25")
    completion.revision += 1
    db_session.flush()


def test_a_change_before_sending_updates_the_queued_record(db_session, make, rules, policy):
    completion = make.completion(make.learner())
    outbox.plan(db_session, policy)
    [record] = records(db_session, completion)
    credit_id = record.credit_id
    _change(db_session, completion)
    assert outbox.plan(db_session, policy).updated == 1
    [record] = records(db_session, completion)
    assert (record.credit_id, record.completion_revision) == (credit_id, 2)


def test_a_change_after_reporting_queues_delete_then_add(db_session, make, rules, policy):
    completion, add = _reported(db_session, make, policy)
    _change(db_session, completion)
    assert outbox.plan(db_session, policy).corrections == 1
    old, delete, new = records(db_session, completion)
    assert old.state == S.ACCEPTED
    assert (delete.action, delete.credit_id, delete.withdraws_id, delete.state) == (
        Action.DELETE, add.credit_id, add.id, S.QUEUED)
    assert (new.action, new.depends_on_id, new.sequence, new.completion_revision) == (
        Action.ADD, delete.id, 2, 2)
    assert new.credit_id != add.credit_id
    assert events(db_session, old)[-1][0] == "correcting"
    assert outbox.plan(db_session, policy).corrections == 0  # planned once


def test_a_change_after_the_year_closed_keeps_the_reported_record(db_session, make, rules, policy):
    closed = dt.date(dt.date.today().year - 2, 6, 1)
    old_rules = Rules(**{**rules.__dict__, "today": closed + dt.timedelta(days=10)})
    completion = make.completion(make.learner(), date=closed)
    outbox.plan(db_session, policy.on(old_rules.today))
    [add] = records(db_session, completion)
    add.state = S.ACCEPTED
    _change(db_session, completion)
    assert outbox.plan(db_session, policy).corrections == 0
    assert records(db_session, completion) == [add]


def test_a_change_after_a_rejection_is_sent_under_a_new_credit_id(db_session, make, rules, policy):
    completion, add = _reported(db_session, make, policy, state=S.REJECTED)
    add.error_code = "INVALID_CREDIT_AMOUNT"
    _change(db_session, completion)
    outbox.plan(db_session, policy)
    old, new = records(db_session, completion)
    assert old.state == S.CANCELLED
    assert (new.state, new.sequence, new.depends_on_id) == (S.QUEUED, 2, None)


def test_identifier_change_resends_identifier_rejections_under_a_new_credit_id(
        db_session, make, rules, policy):
    completion, add = _reported(db_session, make, policy, state=S.REJECTED)
    add.error_code = "LEARNER_NOT_MATCHED"
    other, other_add = _reported(db_session, make, policy, state=S.REJECTED)
    other_add.error_code = "ACTIVITY_NOT_REGISTERED"
    summary = outbox.on_identifiers_changed(db_session, completion.learner, policy)
    assert summary.corrections == 1
    old, new = records(db_session, completion)
    assert (old.state, new.state) == (S.CANCELLED, S.QUEUED)
    assert new.credit_id != old.credit_id
    assert records(db_session, other) == [other_add]  # staff must fix that one
    audit = db_session.scalar(select(AuditEvent).where(
        AuditEvent.action == "pars.identifiers_changed"))
    assert audit.subject_id == str(completion.learner.id) and audit.details["corrections"] == 1


def test_identifier_change_after_a_board_rejection_removes_and_reports_again(
        db_session, make, rules, policy):
    learner = make.learner()
    make.board(learner)
    completion, add = _reported(db_session, make, policy)
    completion.learner = learner
    db_session.add(BoardStatus(delivery_id=add.id, board="ABIM", status="rejected",
                               message="ID mismatch"))
    db_session.flush()
    outbox.on_identifiers_changed(db_session, learner, policy)
    old, delete, new = records(db_session, completion)
    assert (delete.action, delete.withdraws_id, new.depends_on_id) == (
        Action.DELETE, old.id, delete.id)


def test_identifier_change_requeues_waiting_records(db_session, make, rules, policy):
    learner = make.learner(birth_month_day=None)
    completion = make.completion(learner)
    outbox.plan(db_session, policy)
    learner.birth_month_day = "01-02"
    outbox.on_identifiers_changed(db_session, learner, policy)
    assert [r.state for r in records(db_session, completion)] == [S.QUEUED]


def test_plan_alone_picks_up_a_fixed_identifier(db_session, make, rules, policy):
    learner = make.learner(npi=None, licenses=[])
    completion = make.completion(learner)
    outbox.plan(db_session, policy)
    learner.npi = "1234567893"
    assert outbox.plan(db_session, policy).requeued == 1
    assert [r.state for r in records(db_session, completion)] == [S.QUEUED]


def test_consent_out_and_back_in(db_session, make, rules, policy):
    learner = make.learner()
    completion = make.completion(learner)
    outbox.plan(db_session, policy)
    learner.consent_granted = False
    assert outbox.on_consent_changed(db_session, learner, policy).waiting == 1
    [record] = records(db_session, completion)
    assert (record.state, record.error_code) == (S.WAITING, "opted_out")
    assert outbox.plan(db_session, policy).requeued == 0
    learner.consent_granted = True
    assert outbox.on_consent_changed(db_session, learner, policy).requeued == 1
    assert record.state == S.QUEUED and record.error_code is None
    kinds = [k for k, _ in events(db_session, record)]
    assert kinds == ["queued", "waiting", "queued"]
    actions = db_session.scalars(select(AuditEvent.action).where(
        AuditEvent.action == "pars.consent_changed")).all()
    assert len(actions) == 2


def test_staff_actions(db_session, make, rules, policy):
    completion = make.completion(make.learner())
    outbox.plan(db_session, policy)
    [record] = records(db_session, completion)

    outbox.hold(db_session, record, "identity:7")
    assert record.state == S.HELD
    with pytest.raises(outbox.ActionRefused, match="only records that need attention"):
        outbox.retry(db_session, record, "identity:7", policy)
    outbox.release(db_session, record, "identity:7")
    assert record.state == S.QUEUED

    record.state, record.attempts, record.error_code = S.FAILED, 6, "NOT_DELIVERED"
    outbox.retry(db_session, record, "identity:7", policy)
    assert (record.state, record.attempts, record.error_code) == (S.QUEUED, 0, None)

    record.state, record.error_code = S.REJECTED, "INVALID_CREDIT_AMOUNT"
    new = outbox.retry(db_session, record, "identity:7", policy)
    assert (record.state, new.state) == (S.CANCELLED, S.QUEUED)
    assert new.credit_id != record.credit_id and new.sequence == 2

    new.state = S.REJECTED
    with pytest.raises(outbox.ActionRefused, match="note is required"):
        outbox.resolve(db_session, new, "identity:7", "  ")
    outbox.resolve(db_session, new, "identity:7", "Entered in PARS by hand")
    assert (new.state, new.resolution_note) == (S.CANCELLED, "Entered in PARS by hand")
    with pytest.raises(outbox.ActionRefused):
        outbox.hold(db_session, new, "identity:7")

    actions = db_session.scalars(select(AuditEvent.action).where(
        AuditEvent.actor == "identity:7").order_by(AuditEvent.id)).all()
    assert actions == ["pars.held", "pars.released", "pars.retried", "pars.retried",
                       "pars.resolved"]
    assert ("resolved", "Resolved by CME staff.") in events(db_session, new)


def test_opting_back_in_after_the_year_closed_does_not_queue(db_session, make, rules, policy):
    closed = dt.date(dt.date.today().year - 2, 6, 1)
    back_then = Rules(**{**rules.__dict__, "today": closed + dt.timedelta(days=10)})
    learner = make.learner(consent_granted=False)
    completion = make.completion(learner, date=closed)
    outbox.plan(db_session, policy.on(back_then.today))
    learner.consent_granted = True
    outbox.on_consent_changed(db_session, learner, policy)
    assert [(r.state, r.error_code) for r in records(db_session, completion)] == [
        (S.CANCELLED, "year_closed")]


def test_identifier_change_queries_the_same_however_many_records_were_reported(
        db_session, make, rules, policy):
    """Saving a physician's identifiers re-checks every reported record of theirs in a
    fixed number of queries, not one or more per record."""
    from sqlalchemy import event

    def physician(reported: int):
        learner = make.learner()
        for _ in range(reported):
            make.completion(learner)
        outbox.plan(db_session, policy)
        for add in db_session.scalars(select(Delivery).join(Delivery.completion)
                                      .where(Completion.learner_id == learner.id)):
            add.state = S.ACCEPTED
            add.sent_payload = {"credit_id": add.credit_id}
        db_session.flush()
        db_session.expire_all()
        return learner

    few, many = physician(2), physician(12)

    def queries(learner) -> int:
        seen: list[str] = []

        def record(conn, cursor, statement, *args):
            seen.append(statement)

        engine = db_session.get_bind()
        event.listen(engine, "before_cursor_execute", record)
        try:
            summary = outbox.on_identifiers_changed(db_session, learner, policy)
            db_session.flush()  # its audit entry, counted here rather than in the next call
        finally:
            event.remove(engine, "before_cursor_execute", record)
        assert summary.corrections == 0
        return len(seen)

    assert queries(many) == queries(few)
