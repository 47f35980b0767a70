"""`pars transmit` against the fake PARS server: eligibility, order, faults, exactly once."""

from __future__ import annotations

import datetime as dt
import logging
import threading
from decimal import Decimal

import pytest
from sqlalchemy import select, text

from devtools.localpars import certificates_of
from tests.pars.conftest import physicians, recent
from webapp.extensions import db
from webapp.models import (
    Action,
    AuditEvent,
    Batch,
    Completion,
    Delivery,
    DeliveryEvent,
    DeliveryState,
    EngineRun,
    Learner,
)
from webapp.pars.engine import EXIT_ATTENTION, EXIT_INCOMPLETE, EXIT_OK, EXIT_STOPPED

S = DeliveryState


def by_completion(env) -> dict[int, list[Delivery]]:
    out: dict[int, list[Delivery]] = {}
    for d in env.deliveries():
        out.setdefault(d.completion_id, []).append(d)
    return out


def test_eligible_records_are_accepted_once_and_ineligible_never_sent(env):
    make = env.make()
    eligible = physicians(make, 3, board_every=2)
    learner = make.learner()
    ineligible = [
        make.completion(learner, date=dt.date(2023, 6, 30)),                 # before start
        make.completion(learner, make.activity(registered=False)),           # not registered
        make.completion(make.learner(degree="NP")),                          # not a physician
        make.completion(learner, date=dt.date(dt.date.today().year - 2, 6, 1)),  # year closed
    ]
    waiting = {
        "opted_out": make.completion(make.learner(consent_granted=False)),
        "missing_birth_date": make.completion(make.learner(birth_month_day=None)),
        "missing_license_or_npi": make.completion(make.learner(npi=None, licenses=[])),
    }
    no_board_id = make.learner(npi=None, licenses=[])
    make.board(no_board_id, "ABIM", None)
    waiting["missing_license_or_npi,missing_board_id"] = make.completion(
        no_board_id, board_lines=[("ABIM", "Medical Knowledge", "1")])
    db.session.commit()
    ids = {c.id for c in eligible}
    skipped = {c.id for c in ineligible}
    held = {code: c.id for code, c in waiting.items()}

    report = env.transmit()

    assert report.exit_code == EXIT_OK, report.line()
    records = by_completion(env)
    assert not skipped & records.keys()
    sent = {d.credit_id for c in ids for d in records[c]}
    assert {d.state for c in ids for d in records[c]} == {S.ACCEPTED}
    assert env.fake.accepted_ids() == sent
    assert set(env.fake.posted_credit_ids()) == sent
    for codes, completion_id in held.items():
        [record] = records[completion_id]
        assert (record.state, record.error_code) == (S.WAITING, codes.split(",")[0])
    run = db.session.scalar(select(EngineRun).where(EngineRun.id == report.run_id))
    assert run.outcome == "ok" and run.finished_at and run.summary["accepted"] == len(ids)
    # Each record's timeline: queued when planned, accepted when PARS answered, by this run.
    events = db.session.scalars(select(DeliveryEvent).where(
        DeliveryEvent.delivery_id.in_([d.id for c in ids for d in records[c]]))).all()
    assert sorted((e.kind.value, e.run_id) for e in events) == sorted(
        [("accepted", report.run_id)] * len(ids) + [("queued", report.run_id)] * len(ids))
    assert all(abs(e.at - run.started_at) < dt.timedelta(hours=1) for e in events)
    assert run.kind == "transmit"
    assert db.session.scalar(select(AuditEvent).where(AuditEvent.action == "pars.transmitted"))
    # One batch per post, numbered without gaps (a claim that takes nothing makes none).
    assert list(db.session.scalars(select(Batch.id).order_by(Batch.id))) == list(
        range(1, len(env.fake.posts) + 1))


def test_credit_ids_are_stable_and_well_formed(env):
    physicians(env.make(), 2)
    env.transmit()
    for record in env.deliveries():
        prefix, provider, uuid_part = record.credit_id.split(":", 2)
        assert (prefix, provider, len(uuid_part)) == ("ccid", "0001234", 36)
    before = {d.id: d.credit_id for d in env.deliveries()}
    env.transmit()
    assert {d.id: d.credit_id for d in env.deliveries()} == before


def test_board_credit_with_its_deadline_goes_first(make_env):
    env = make_env(PARS_BATCH_SIZE=2)
    make = env.make()
    activity = make.activity()
    plain = [make.completion(make.learner(), activity, date=recent(2)) for _ in range(2)]
    board = []
    for _ in range(2):
        learner = make.learner()
        make.board(learner, "ABS", None)
        board.append(make.completion(learner, activity, date=recent(20),
                                     board_lines=[("ABS", "Accredited CME", "1")]))
    db.session.commit()
    plain_ids, board_ids = {c.id for c in plain}, {c.id for c in board}
    assert env.transmit().exit_code == EXIT_OK
    records = by_completion(env)
    first, second = env.fake.posts[0].credit_ids, env.fake.posts[1].credit_ids
    assert set(first) == {records[c][0].credit_id for c in board_ids}
    assert set(second) == {records[c][0].credit_id for c in plain_ids}
    assert all(records[c][0].has_board_credit for c in board_ids)


STORED = ["error_after", "timeout_after", "drop_after", "garbage_after"]
NOT_STORED = ["error_before", "timeout_before", "drop_before"]


@pytest.mark.parametrize("fault", STORED + NOT_STORED)
def test_unknown_outcome_is_settled_by_lookup_before_any_resend(env, fault):
    physicians(env.make(), 4)
    env.fake.fail_next(fault)

    report = env.transmit()

    assert report.exit_code == EXIT_OK, report.line()
    assert env.fake.duplicate_adds == 0
    assert {d.state for d in env.deliveries()} == {S.ACCEPTED}
    assert len(env.fake.accepted_ids()) == 4
    first, *later = env.fake.posts
    looked_up = {c: t for t, c in env.fake.lookups}
    # Every record of the unanswered post was looked up before anything else was posted.
    assert set(first.credit_ids) <= looked_up.keys()
    for post in later:
        for credit_id in set(post.credit_ids) & set(first.credit_ids):
            assert looked_up[credit_id] < post.at
    resent = [c for p in later for c in p.credit_ids]
    if fault in STORED:
        assert resent == []
    else:
        assert sorted(resent) == sorted(first.credit_ids)
    kinds = [e.kind for e in db.session.scalars(select(DeliveryEvent))]
    assert "unknown" in kinds


def _claim_as_dead_run(env, dead_pid: int):
    """What a run killed between committing its claim and recording PARS's answer leaves."""
    from webapp.pars.claiming import claim
    from webapp.pars.outbox import plan
    from webapp.pars.policy import Policy
    from webapp.pars.store import new_token

    session = db.session
    run = EngineRun(kind="transmit", outcome="running", host=__import__("socket").gethostname(),
                    pid=dead_pid, heartbeat_at=dt.datetime.now(dt.UTC))
    session.add(run)
    session.flush()
    policy = Policy.from_config(env.app.config)
    plan(session, policy)
    claimed = claim(session, policy.rules, limit=10, token=new_token(), run_id=run.id,
                    now=dt.datetime.now(dt.UTC))
    session.commit()
    return claimed.items


def _dead_pid() -> int:
    import subprocess
    import sys

    proc = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],  # noqa: S603
                          capture_output=True, text=True, check=True)
    return int(proc.stdout)


def test_claims_left_by_a_dead_run_are_settled_not_resent(env):
    from webapp.pars.client import document

    physicians(env.make(), 6)
    items = _claim_as_dead_run(env, _dead_pid())
    assert {d.state for d in env.deliveries()} == {S.SENDING}
    # The dead run's post reached PARS for the first half only.
    reached = items[:3]
    env.fake.process(document([i.record for i in reached], provider_id="0001234",
                              reporting_organization="Lakeshore Health"))

    report = env.transmit()

    assert report.exit_code == EXIT_OK, report.line()
    assert env.fake.duplicate_adds == 0
    assert {d.state for d in env.deliveries()} == {S.ACCEPTED}
    assert sorted(env.fake.posted_credit_ids()) == sorted(i.credit_id for i in items[3:])
    assert {c for _, c in env.fake.lookups} >= {i.credit_id for i in items}
    dead = db.session.scalar(select(EngineRun).order_by(EngineRun.id).limit(1))
    assert dead.outcome == "failed" and "process is gone" in dead.message


def test_claims_of_a_live_run_are_left_alone(env):
    import os

    physicians(env.make(), 3)
    _claim_as_dead_run(env, os.getpid())  # alive: this process
    report = env.transmit()
    assert report.exit_code == EXIT_OK
    assert {d.state for d in env.deliveries()} == {S.SENDING}
    assert env.fake.posts == [] and env.fake.lookups == []


def test_retry_after_is_honoured(env):
    from webapp.pars.client import ParsClient
    from webapp.pars.settings import Settings

    physicians(env.make(), 2)
    env.fake.retry_after = "1"
    env.fake.fail_next("rate_limit")
    waits: list[float] = []
    client = ParsClient(Settings.from_config(env.app.config), sleep=waits.append)
    try:
        report = env.transmit(client=client)
    finally:
        client.close()
    assert report.exit_code == EXIT_OK
    first, second = env.fake.posts
    assert first.status == 429 and second.status == 201
    assert waits == [1.0]  # PARS's Retry-After, more than the client's own backoff here
    assert env.fake.duplicate_adds == 0


def test_retry_after_longer_than_a_run_waits_leaves_work_for_the_next_run(env):
    physicians(env.make(), 2)
    env.fake.retry_after = "60"
    env.fake.fail_next("rate_limit")
    before = dt.datetime.now(dt.UTC)
    report = env.transmit()
    assert report.exit_code == EXIT_INCOMPLETE
    assert len(env.fake.posts) == 1
    for record in env.deliveries():
        assert record.state == S.QUEUED
        assert record.next_attempt_at >= before + dt.timedelta(seconds=59)
    assert report.counts["due_left"] == 2


def test_circuit_breaker_stops_a_run_when_pars_keeps_failing(make_env):
    env = make_env(PARS_BATCH_SIZE=2, PARS_BREAKER_FAILURES=3)
    physicians(env.make(), 10)
    env.fake.chaos(1.0, post=("error_before",), get=("error",))
    report = env.transmit()
    assert report.exit_code == EXIT_INCOMPLETE
    assert "kept failing" in report.message
    assert len(env.fake.posts) == 3
    states = [d.state for d in env.deliveries()]
    assert states.count(S.UNKNOWN) == 6 and states.count(S.QUEUED) == 4

    env.fake.calm()
    report = env.transmit()
    assert report.exit_code == EXIT_OK, report.line()
    assert {d.state for d in env.deliveries()} == {S.ACCEPTED}
    assert env.fake.duplicate_adds == 0 and len(env.fake.accepted_ids()) == 10


def test_unauthorized_stops_the_run_with_a_clear_message(env):
    physicians(env.make(), 3)
    env.fake.fail_next("unauthorized")
    report = env.transmit()
    assert report.exit_code == EXIT_STOPPED
    assert "credentials" in report.message and "PARS_PASSWORD" in report.message
    assert len(env.fake.posts) == 1
    assert {(d.state, d.attempts) for d in env.deliveries()} == {(S.QUEUED, 0)}
    run = db.session.get(EngineRun, report.run_id)
    assert run.outcome == "stopped" and "credentials" in run.message


def test_wrong_address_stops_the_run(make_env, fake_pars):
    env = make_env(PARS_API_URL=fake_pars.url + "/wrong")
    physicians(env.make(), 1)
    report = env.transmit()
    assert report.exit_code == EXIT_STOPPED and "PARS_API_URL" in report.message
    assert {d.state for d in env.deliveries()} == {S.QUEUED}


def test_a_malformed_batch_is_split_to_find_the_record_pars_refuses(make_env):
    env = make_env(PARS_BATCH_SIZE=4)
    physicians(env.make(), 4)
    env.fake.fail_next("malformed")  # the whole batch once: each half then goes through
    assert env.transmit().exit_code == EXIT_OK
    assert [len(p.credit_ids) for p in env.fake.posts] == [4, 2, 2]
    assert len(env.fake.accepted_ids()) == 4


def test_a_record_pars_always_refuses_as_malformed_fails(make_env):
    env = make_env(PARS_BATCH_SIZE=4)
    physicians(env.make(), 4)
    env.fake.fail_next("malformed", times=7)
    report = env.transmit()
    assert report.exit_code == EXIT_ATTENTION
    assert {(d.state, d.error_code) for d in env.deliveries()} == {(S.FAILED, "MALFORMED")}
    assert env.fake.accepted_ids() == set()


def test_rejections_need_attention_with_the_reason_in_plain_words(env):
    make = env.make()
    activity = make.activity()
    env.fake.unregistered.add(activity.accme_activity_id)
    unmatched = make.learner(last_name="Nomatch")
    env.fake.unmatched_last_names.add("Nomatch")
    make.completion(make.learner(), activity)
    make.completion(unmatched)
    good = make.completion(make.learner())
    db.session.commit()
    good_id = good.id

    report = env.transmit()

    assert report.exit_code == EXIT_ATTENTION
    codes = {d.completion_id: (d.state, d.error_code) for d in env.deliveries()}
    assert codes[good_id] == (S.ACCEPTED, None)
    assert sorted(v for k, v in codes.items() if k != good_id) == [
        (S.REJECTED, "ACTIVITY_NOT_REGISTERED"), (S.REJECTED, "LEARNER_NOT_MATCHED")]
    details = [e.detail for e in db.session.scalars(
        select(DeliveryEvent).where(DeliveryEvent.kind == "rejected"))]
    assert any("could not match your name" in d for d in details)
    assert not any("Nomatch" in d for d in details)
    # Rejected records are not retried by later runs.
    posts = len(env.fake.posts)
    assert env.transmit().exit_code == EXIT_OK
    assert len(env.fake.posts) == posts


def test_a_record_that_keeps_failing_goes_to_failed(make_env):
    env = make_env(PARS_MAX_ATTEMPTS=2, PARS_BREAKER_FAILURES=100, PARS_RETRY_TRIES=2)
    physicians(env.make(), 2)
    env.fake.retry_after = "0"
    env.fake.fail_next("rate_limit", times=100)
    report = env.transmit()
    assert report.exit_code == EXIT_ATTENTION
    assert {(d.state, d.error_code, d.attempts) for d in env.deliveries()} == {
        (S.FAILED, "NOT_DELIVERED", 2)}
    sent = env.fake.posted_credit_ids()
    # Two tries of each of two attempts (records back off separately, so posts may differ).
    assert all(sent.count(d.credit_id) == 4 for d in env.deliveries())


def test_pars_already_holding_a_credit_id_is_confirmed_not_duplicated(env):
    from devtools.localpars import Stored
    from webapp.pars import record as records
    from webapp.pars.client import report as wire_report
    from webapp.pars.eligibility import assess
    from webapp.pars.outbox import plan
    from webapp.pars.policy import Policy

    physicians(env.make(), 1)
    plan(db.session, Policy.from_config(env.app.config))
    db.session.commit()
    [record] = env.deliveries()
    completion = record.completion
    held = records.build(record.credit_id, Action.ADD, completion, completion.learner,
                         assess(completion, completion.learner, Policy.from_config(
                             env.app.config).rules))
    env.fake.records[record.credit_id] = Stored(report=wire_report(
        held, provider_id="0001234", reporting_organization="Lakeshore Health"))
    report = env.transmit()
    assert report.exit_code == EXIT_OK
    [record] = env.deliveries()
    assert record.state == S.ACCEPTED
    assert record.credit_id in {c for _, c in env.fake.lookups}


def test_a_changed_completion_is_corrected_by_delete_then_add(env):
    [completion] = physicians(env.make(), 1)
    completion_id = completion.id
    assert env.transmit().exit_code == EXIT_OK
    [original] = env.deliveries()
    original_id = original.id
    completion = db.session.get(Completion, completion_id)
    completion.cme_credits = Decimal("2.50")
    completion.revision += 1
    db.session.commit()

    report = env.transmit()

    assert report.exit_code == EXIT_OK, report.line()
    old, delete, new = env.deliveries()
    assert (old.id, old.state) == (original_id, S.REMOVED)
    assert (delete.action, delete.credit_id, delete.state) == (Action.DELETE, old.credit_id,
                                                               S.ACCEPTED)
    assert delete.withdraws_id == old.id and new.depends_on_id == delete.id
    assert (new.action, new.state, new.completion_revision) == (Action.ADD, S.ACCEPTED, 2)
    assert new.credit_id != old.credit_id and new.sequence == 2
    posts = env.fake.posts
    assert (posts[1].actions, posts[1].credit_ids) == (["delete"], [old.credit_id])
    assert (posts[2].actions, posts[2].credit_ids) == (["add"], [new.credit_id])
    # The delete repeats the add's report: the same certificates under the same CreditIDs.
    assert posts[1].certificate_ids == posts[0].certificate_ids == [[old.credit_id + ".1"]]
    assert posts[2].certificate_ids == [[new.credit_id + ".1"]]
    assert env.fake.records[old.credit_id].status == "Deleted"
    [credit] = certificates_of(env.fake.records[new.credit_id].report)
    assert credit["CreditReceived"] == {"activityCertification": "AMA PRA Category 1 Credit",
                                        "creditUnit": "Point", "numberOfCredits": 2.5}
    assert env.fake.duplicate_adds == 0


def test_an_opt_out_committed_during_a_run_is_respected(make_env):
    # The first post is held while the test commits an opt-out: no read timeout may end it.
    env = make_env(PARS_BATCH_SIZE=2, PARS_READ_TIMEOUT=300)
    make = env.make()
    activity = make.activity()
    first = make.learner()
    make.board(first, "ABS", None)
    for days in (25, 24):  # board credit: due first
        make.completion(first, activity, date=recent(days),
                        board_lines=[("ABS", "Accredited CME", "1")])
    later = make.learner()
    for days in (3, 2):
        make.completion(later, activity, date=recent(days))
    db.session.commit()
    later_id = later.id
    env.fake.fail_next("pause")

    result = {}

    def run() -> None:
        with env.app.app_context():
            result["report"] = env.transmit()

    worker = threading.Thread(target=run)
    worker.start()
    assert env.fake.pause_reached.wait(300)  # a safety net against a hang, nothing more
    # Another connection commits the opt-out while the first batch is with PARS; nothing
    # tells the engine (no on_consent_changed): the claim itself must see it.
    with db.engine.begin() as conn:
        conn.execute(text("UPDATE learners SET consent_granted = :no WHERE id = :id"),
                     {"no": False, "id": later_id})
    env.fake.pause_release.set()
    worker.join(300)
    assert not worker.is_alive()

    assert result["report"].exit_code == EXIT_OK
    records = env.deliveries()
    later_records = [d for d in records if d.completion.learner_id == later_id]
    assert {(d.state, d.error_code) for d in later_records} == {(S.WAITING, "opted_out")}
    assert not {d.credit_id for d in later_records} & set(env.fake.posted_credit_ids())
    assert len(env.fake.posts) == 1 and len(env.fake.accepted_ids()) == 2


def test_a_batch_is_recorded_while_the_next_one_is_with_pars(make_env, monkeypatch):
    # The second post is held (no read timeout may end it) until the test lets it go.
    from webapp.pars import engine as engine_module

    env = make_env(PARS_BATCH_SIZE=2, PARS_READ_TIMEOUT=300)
    physicians(env.make(), 4)
    with env.fake.lock:
        env.fake._faults["POST"].extend([None, "pause"])
    recorded = threading.Event()
    seen: list[list[str]] = []
    real_record = engine_module._Run._record

    def record(self, *args, **kwargs):
        with db.engine.connect() as conn:  # what another reader sees as recording starts
            seen.append(sorted(conn.execute(select(Delivery.state)).scalars()))
        real_record(self, *args, **kwargs)
        recorded.set()

    monkeypatch.setattr(engine_module._Run, "_record", record)
    result = {}

    def run() -> None:
        with env.app.app_context():
            result["report"] = env.transmit()

    worker = threading.Thread(target=run)
    worker.start()
    try:
        assert recorded.wait(300)  # a safety net against a hang, nothing more
        # The second batch was claimed before the first batch's answers were written...
        assert seen[0] == [S.SENDING] * 4
        # ...and those answers were written while PARS still held the second batch.
        assert env.fake.wait_for_requests(2, timeout=300)
        assert env.fake.posts[1].status is None
        states = [d.state for d in env.deliveries()]
        assert sorted(states) == [S.ACCEPTED, S.ACCEPTED, S.SENDING, S.SENDING]
    finally:
        env.fake.pause_release.set()
        worker.join(300)
    assert not worker.is_alive()
    assert result["report"].exit_code == EXIT_OK
    assert {d.state for d in env.deliveries()} == {S.ACCEPTED}
    assert len(env.fake.posts) == 2 and env.fake.duplicate_adds == 0


def test_a_look_up_waits_for_the_batch_with_pars(make_env, monkeypatch):
    """Recording a batch that PARS says it already holds looks the records up, but only
    once the next batch, posted meanwhile, is answered: one request at a time."""
    from devtools.localpars import Stored
    from webapp.pars import engine as engine_module
    from webapp.pars import record as records
    from webapp.pars.client import ParsClient
    from webapp.pars.client import report as wire_report
    from webapp.pars.eligibility import assess
    from webapp.pars.outbox import plan
    from webapp.pars.policy import Policy

    env = make_env(PARS_BATCH_SIZE=2)
    physicians(env.make(), 4)
    policy = Policy.from_config(env.app.config)
    plan(db.session, policy)
    db.session.commit()
    for record in env.deliveries():  # PARS already holds every one: each is looked up
        completion = record.completion
        held = records.build(record.credit_id, Action.ADD, completion, completion.learner,
                             assess(completion, completion.learner, policy.rules))
        env.fake.records[record.credit_id] = Stored(report=wire_report(
            held, provider_id="0001234", reporting_organization="Lakeshore Health"))
    db.session.remove()

    real_submit, real_status, real_wait = ParsClient.submit, ParsClient.status, engine_module.wait
    posts: list[int] = []
    in_flight: list[bool] = []
    release = threading.Event()  # lets the second post go: a look-up or a wait for it
    lookups_in_flight: list[bool] = []

    def submit(self, batch):
        posts.append(len(batch))
        if len(posts) != 2:
            return real_submit(self, batch)
        in_flight.append(True)
        try:
            assert release.wait(300)  # a safety net against a hang, nothing more
            return real_submit(self, batch)
        finally:
            in_flight.clear()

    def status(self, *args, **kwargs):
        lookups_in_flight.append(bool(in_flight))
        release.set()
        return real_status(self, *args, **kwargs)

    def waiting(futures, *args, **kwargs):
        release.set()
        return real_wait(futures, *args, **kwargs)

    monkeypatch.setattr(ParsClient, "submit", submit)
    monkeypatch.setattr(ParsClient, "status", status)
    monkeypatch.setattr(engine_module, "wait", waiting)
    report = env.transmit()

    assert report.exit_code == EXIT_OK, report.line()
    assert posts == [2, 2]
    # Both batches' records were looked up, none while the second batch was with PARS.
    assert lookups_in_flight == [False] * 4
    assert {c for _, c in env.fake.lookups} == {d.credit_id for d in env.deliveries()}
    assert {d.state for d in env.deliveries()} == {S.ACCEPTED}


def test_a_run_that_fails_while_recording_leaves_the_batch_with_pars_to_the_look_up(
        make_env, monkeypatch):
    # The second post is held until the recording of the first batch's answers has failed.
    from webapp.pars import engine as engine_module

    env = make_env(PARS_BATCH_SIZE=2, PARS_READ_TIMEOUT=300)
    physicians(env.make(), 4)
    with env.fake.lock:
        env.fake._faults["POST"].extend([None, "pause"])
    held: list[int | None] = []

    def record(self, *args, **kwargs):
        assert env.fake.wait_for_requests(2, timeout=300)  # a safety net, nothing more
        held.append(env.fake.posts[1].status)
        env.fake.pause_release.set()
        raise RuntimeError("the database went away while recording")

    monkeypatch.setattr(engine_module._Run, "_record", record)
    with pytest.raises(RuntimeError, match="went away"):
        env.transmit()
    monkeypatch.undo()

    assert held == [None]  # the failure came while PARS held the second batch
    first, second = env.fake.posts
    # Neither batch's answers were written: both are left for the status look-up, none
    # back in the queue to be posted blind.
    states = {d.credit_id: d.state for d in env.deliveries()}
    assert states == dict.fromkeys(first.credit_ids + second.credit_ids, S.UNKNOWN)
    run = db.session.scalar(select(EngineRun).order_by(EngineRun.id.desc()).limit(1))
    assert run.outcome == "failed"

    report = env.transmit()

    assert report.exit_code == EXIT_OK, report.line()
    assert len(env.fake.posts) == 2  # both were stored: looked up, never posted again
    assert {c for _, c in env.fake.lookups} >= set(states)
    assert {d.state for d in env.deliveries()} == {S.ACCEPTED}
    assert env.fake.duplicate_adds == 0 and env.fake.accepted_ids() == set(states)


def test_nothing_personal_is_logged(env, caplog):
    caplog.set_level(logging.DEBUG)
    make = env.make()
    learner = make.learner(first_name="Zebulon", last_name="Quixotic")
    make.completion(learner)
    db.session.commit()
    npi, license_number = learner.npi, learner.licenses[0].number
    env.fake.fail_next("error_after")
    env.fake.fail_next("error", method="GET")
    assert env.transmit().exit_code == EXIT_OK
    text_ = caplog.text
    assert caplog.records
    for secret in ("Zebulon", "Quixotic", npi, license_number, "03-14"):
        assert secret not in text_
    details = " ".join(e.detail or "" for e in db.session.scalars(select(DeliveryEvent)))
    for secret in ("Zebulon", "Quixotic", npi, license_number):
        assert secret not in details


def test_transmit_command_exit_codes_and_summary(make_env, fake_pars):
    env = make_env()
    runner = env.app.test_cli_runner()
    physicians(env.make(), 2)
    result = runner.invoke(args=["pars", "transmit"])
    assert result.exit_code == EXIT_OK, result.output
    assert "pars transmit run 1: ok: 2 accepted, 0 rejected" in result.output

    learner = db.session.scalar(select(Learner).order_by(Learner.id.desc()).limit(1))
    env.fake.unmatched_last_names.add(learner.last_name)
    env.make().completion(learner)
    db.session.commit()
    result = runner.invoke(args=["pars", "transmit"])
    assert result.exit_code == EXIT_ATTENTION
    assert "attention: 0 accepted, 1 rejected" in result.output

    env.fake.fail_next("unauthorized")
    env.make().completion(env.make().learner())
    db.session.commit()
    result = runner.invoke(args=["pars", "transmit"])
    assert result.exit_code == EXIT_STOPPED and "credentials" in result.output


def test_transmit_command_without_configuration_changes_nothing(make_env):
    env = make_env(PARS_API_URL="")
    physicians(env.make(), 1)
    result = env.app.test_cli_runner().invoke(args=["pars", "transmit"])
    assert result.exit_code == EXIT_STOPPED
    assert "PARS_API_URL" in result.output
    assert env.deliveries() == []
    assert db.session.scalar(select(EngineRun)) is None


def test_batch_size_over_the_pars_limit_is_refused(make_env):
    env = make_env(PARS_BATCH_SIZE=501)
    result = env.app.test_cli_runner().invoke(args=["pars", "transmit"])
    assert result.exit_code == EXIT_STOPPED and "at most 500" in result.output


def test_a_run_declared_dead_stops_instead_of_claiming_more(env, monkeypatch):
    from webapp.pars import runs

    physicians(env.make(), 2)
    real_heartbeat = runs.heartbeat

    def heartbeat(session, run_id):
        # Another run found this one silent for too long and declared it dead.
        session.execute(text("UPDATE engine_runs SET outcome = 'failed' WHERE id = :id"),
                        {"id": run_id})
        real_heartbeat(session, run_id)

    monkeypatch.setattr(runs, "heartbeat", heartbeat)
    report = env.transmit()
    assert report.exit_code == EXIT_STOPPED and "declared dead" in report.message
    assert env.fake.posts == []
    assert {d.state for d in env.deliveries()} == {S.QUEUED}
