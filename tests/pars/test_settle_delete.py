"""Settling a removal (a correction's ``delete``) whose outcome PARS left unknown.

Whether the removal took effect is decided by PARS's status look-up of the
CreditID, by the run that sent it or by a later ``pars sync``:

* found deleted: the removal is accepted and the record it withdraws is removed;
* found still held: nothing happened, so it is queued again (failed at the limit);
* not found: PARS holds nothing to remove; rejected for CME staff to review.
"""

from __future__ import annotations

from decimal import Decimal
from typing import NamedTuple

import pytest
from sqlalchemy import select

from tests.pars.conftest import physicians
from webapp.extensions import db
from webapp.models import Action, Completion, Delivery, DeliveryEvent, DeliveryState
from webapp.pars.engine import EXIT_ATTENTION, EXIT_INCOMPLETE, EXIT_OK, sync

S = DeliveryState
UNKNOWN_DETAIL = ("No definite answer from PARS; it will be checked with PARS before it is "
                  "ever sent again.")


class Correction(NamedTuple):
    """The three records of a corrected completion: the reported add, its removal, the new add."""

    old: Delivery
    delete: Delivery
    new: Delivery


def report_one(env) -> int:
    """A completion reported to PARS and accepted; its ID."""
    [completion] = physicians(env.make(), 1)
    completion_id = completion.id
    assert env.transmit().exit_code == EXIT_OK
    return completion_id


def change(completion_id: int) -> None:
    completion = db.session.get(Completion, completion_id)
    completion.cme_credits += Decimal("0.50")
    completion.revision += 1
    db.session.commit()


def correction(env, completion_id: int) -> Correction:
    old, delete, new = [d for d in env.deliveries() if d.completion_id == completion_id]
    assert (old.action, delete.action, new.action) == (Action.ADD, Action.DELETE, Action.ADD)
    assert delete.withdraws_id == old.id and new.depends_on_id == delete.id
    return Correction(old, delete, new)


def timeline(delivery: Delivery) -> list[tuple[str, str | None]]:
    return [(e.kind, e.detail) for e in db.session.scalars(
        select(DeliveryEvent).where(DeliveryEvent.delivery_id == delivery.id)
        .order_by(DeliveryEvent.id))]


def posted(env, action: str) -> list[str]:
    return [credit_id for p in env.fake.posts for a, credit_id in zip(p.actions, p.credit_ids,
                                                                     strict=True) if a == action]


def run_sync(env):
    db.session.remove()
    report = sync(db.engine, env.app.config)
    db.session.remove()
    return report


def leave_removal_unknown(env, completion_id: int, fault: str) -> Correction:
    """Correct the completion and send the removal into ``fault``; the run stops right there
    (the test's environment opens the circuit breaker at the first failure)."""
    change(completion_id)
    env.fake.fail_next(fault)
    report = env.transmit()
    assert report.exit_code == EXIT_INCOMPLETE, report.line()
    records = correction(env, completion_id)
    assert (records.old.state, records.delete.state, records.new.state) == (
        S.ACCEPTED, S.UNKNOWN, S.QUEUED)
    assert timeline(records.delete)[-1] == ("unknown", UNKNOWN_DETAIL)
    assert posted(env, "delete") == [records.old.credit_id]
    return records


def assert_removed_and_replaced(env, records: Correction) -> None:
    """The end of a correction: the removal accepted, the old record removed, the new one in."""
    old, delete, new = correction(env, records.old.completion_id)
    assert (old.state, delete.state, new.state) == (S.REMOVED, S.ACCEPTED, S.ACCEPTED)
    assert (delete.error_code, delete.error_message) == (None, None)
    assert timeline(old)[-1] == ("removed", "Removed from PARS; the corrected record "
                                 "replaces it.")
    assert env.fake.records[old.credit_id].status == "Deleted"
    assert env.fake.records[new.credit_id].status == "Accepted"
    assert env.fake.accepted_ids() == {new.credit_id}
    assert env.fake.duplicate_adds == 0
    assert posted(env, "add") == [old.credit_id, new.credit_id]


@pytest.mark.parametrize("settled_by", ["the same run", "pars sync"])
def test_a_removal_pars_carried_out_is_accepted_and_the_old_record_removed(make_env, settled_by):
    if settled_by == "the same run":
        env = make_env()
        completion_id = report_one(env)
        change(completion_id)
        env.fake.fail_next("error_after")  # PARS deletes the record, then answers 500
        report = env.transmit()
        assert report.exit_code == EXIT_OK, report.line()
        records = correction(env, completion_id)
    else:
        env = make_env(PARS_BREAKER_FAILURES=1)
        completion_id = report_one(env)
        records = leave_removal_unknown(env, completion_id, "error_after")
        assert env.fake.records[records.old.credit_id].status == "Deleted"
        report = run_sync(env)
        assert report.exit_code == EXIT_OK, report.message
        assert report.counts["accepted"] == 1
        old, delete, new = correction(env, completion_id)
        # Confirmed without sending the removal again; the new record is next.
        assert (old.state, delete.state, new.state) == (S.REMOVED, S.ACCEPTED, S.QUEUED)
        assert env.transmit().exit_code == EXIT_OK

    assert_removed_and_replaced(env, records)
    delete = correction(env, completion_id).delete
    assert timeline(delete)[-2:] == [("unknown", UNKNOWN_DETAIL),
                                     ("accepted", "PARS confirmed the removal.")]
    assert delete.attempts == 1
    assert posted(env, "delete") == [delete.credit_id]  # never sent again
    assert delete.credit_id in {c for _, c in env.fake.lookups}


@pytest.mark.parametrize("settled_by", ["the same run", "pars sync"])
def test_a_removal_pars_did_not_carry_out_is_queued_and_sent_again(make_env, settled_by):
    if settled_by == "the same run":
        env = make_env()
        completion_id = report_one(env)
        change(completion_id)
        env.fake.fail_next("error_before")  # PARS answers 503 before doing anything
        report = env.transmit()
        assert report.exit_code == EXIT_OK, report.line()
        records = correction(env, completion_id)
    else:
        env = make_env(PARS_BREAKER_FAILURES=1)
        completion_id = report_one(env)
        records = leave_removal_unknown(env, completion_id, "error_before")
        assert env.fake.records[records.old.credit_id].status == "Accepted"
        report = run_sync(env)
        assert report.exit_code == EXIT_OK, report.message
        assert report.counts["queued"] == 1
        old, delete, new = correction(env, completion_id)
        assert (old.state, delete.state, new.state) == (S.ACCEPTED, S.QUEUED, S.QUEUED)
        assert delete.error_message == "PARS still holds the record; to be sent again."
        assert delete.next_attempt_at is not None and delete.claim_token is None
        # The words fit a removal: PARS still holds the record it was to remove.
        assert timeline(delete)[-1] == ("requeued", "PARS still holds the record; the removal "
                                        "will be sent again.")
        assert posted(env, "delete") == [old.credit_id]  # not sent again by sync
        assert env.transmit().exit_code == EXIT_OK

    assert_removed_and_replaced(env, records)
    delete = correction(env, completion_id).delete
    assert [kind for kind, _ in timeline(delete)][-3:] == ["unknown", "requeued", "accepted"]
    assert timeline(delete)[-1] == ("accepted", "Removal accepted by PARS.")
    assert delete.attempts == 2
    assert posted(env, "delete") == [delete.credit_id] * 2
    # Looked up between the first post and the second.
    first, second = [p for p in env.fake.posts if p.actions == ["delete"]]
    looked_up = [t for t, c in env.fake.lookups if c == delete.credit_id]
    assert any(first.at < t < second.at for t in looked_up)


def test_a_removal_still_not_carried_out_at_the_attempt_limit_fails(make_env):
    env = make_env(PARS_BREAKER_FAILURES=1, PARS_MAX_ATTEMPTS=1)
    completion_id = report_one(env)
    records = leave_removal_unknown(env, completion_id, "error_before")

    report = run_sync(env)

    assert report.exit_code == EXIT_ATTENTION, report.message
    assert report.counts["failed"] == 1
    old, delete, new = correction(env, completion_id)
    assert (old.state, delete.state, new.state) == (S.ACCEPTED, S.FAILED, S.QUEUED)
    assert (delete.error_code, delete.error_message) == (
        "NOT_DELIVERED", "PARS still holds the record (after 1 attempt)")
    assert timeline(delete)[-1] == ("failed", "Not delivered after 1 attempt; CME staff will "
                                    "review it.")
    assert env.fake.records[old.credit_id].status == "Accepted"
    # Nothing more is sent: not the removal, and not the new record that waits for it.
    posts = len(env.fake.posts)
    assert env.transmit().exit_code == EXIT_OK
    assert len(env.fake.posts) == posts
    assert correction(env, completion_id).delete.state == S.FAILED
    assert env.fake.accepted_ids() == {records.old.credit_id}
    assert env.fake.duplicate_adds == 0


def test_a_removal_of_a_record_pars_no_longer_holds_is_rejected(make_env):
    env = make_env(PARS_BREAKER_FAILURES=1)
    completion_id = report_one(env)
    # Reported later, so PARS's look-ups are checked against this record, which it keeps.
    [other] = physicians(env.make(), 1)
    other_id = other.id
    assert env.transmit().exit_code == EXIT_OK
    records = leave_removal_unknown(env, completion_id, "error_before")
    del env.fake.records[records.old.credit_id]  # PARS lost it, whatever the reason

    report = run_sync(env)

    assert report.exit_code == EXIT_ATTENTION, report.message
    assert report.counts["rejected"] == 1
    old, delete, new = correction(env, completion_id)
    assert (delete.state, delete.error_code, delete.error_message) == (
        S.REJECTED, "UNKNOWN_CREDIT_ID", "PARS holds no record under this credit ID.")
    assert timeline(delete)[-1] == ("rejected", "PARS holds no record to remove; CME staff "
                                    "will review it.")
    assert (old.state, new.state) == (S.ACCEPTED, S.QUEUED)  # left for staff to review
    assert old.credit_id not in env.fake.records
    # The new record waits for the removal: nothing is sent.
    posts = len(env.fake.posts)
    assert env.transmit().exit_code == EXIT_OK
    assert len(env.fake.posts) == posts
    assert {d.state for d in env.deliveries() if d.completion_id == other_id} == {S.ACCEPTED}
    assert env.fake.duplicate_adds == 0
