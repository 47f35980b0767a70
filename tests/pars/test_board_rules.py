"""What PARS and the boards take: board-only credit, partial parts, and board rules checked
before anything is sent."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select

from tests.pars.conftest import recent
from webapp.extensions import db
from webapp.models import Completion, Delivery, DeliveryState
from webapp.pars.engine import EXIT_ATTENTION, EXIT_OK
from webapp.pars.policy import Policy
from webapp.transcript.services import credit_row, load_learner
from webapp.transcript.statuses import Status

S = DeliveryState


def _records(completion_id: int) -> list[Delivery]:
    return list(db.session.scalars(select(Delivery).where(Delivery.completion_id == completion_id)
                                   .order_by(Delivery.id)))


def _row(env, completion_id: int):
    db.session.remove()
    completion = db.session.get(Completion, completion_id)
    learner = load_learner(db.session, completion.learner_id)
    return credit_row(completion, learner, Policy.from_config(env.app.config).rules)


def test_board_only_credit_and_board_id_without_license_are_accepted_in_one_run(env):
    make = env.make()
    board_only_learner = make.learner()
    make.board(board_only_learner, "ABIM", "123456")
    board_only = make.completion(board_only_learner, credits="0",
                                 board_lines=[("ABIM", "Medical Knowledge", "2")])
    id_only = make.learner(npi=None, licenses=[])
    make.board(id_only, "ABIM", "654321")
    with_cme = make.completion(id_only, board_lines=[("ABIM", "Medical Knowledge", "1")])
    surgeon = make.learner(npi=None, licenses=[])
    abs_credit = make.completion(surgeon, board_lines=[("ABS", "Accredited CME", "1")])
    db.session.commit()
    ids = (board_only.id, with_cme.id, abs_credit.id)

    report = env.transmit()

    assert report.exit_code == EXIT_OK, report.line()
    for completion_id in ids:
        [record] = _records(completion_id)
        assert record.state == S.ACCEPTED
        assert record.sent_payload["cme_credits"] == "0.00"  # no CME part in any of them
        assert [line["board"] for line in record.sent_payload["boards"]] in (["ABIM"], ["ABS"])
    assert env.fake.duplicate_adds == 0
    row = _row(env, board_only.id)
    assert row.pars.status == Status.ACCEPTED and row.boards[0].status == Status.BOARD_PENDING
    row = _row(env, with_cme.id)
    assert row.pars.status == Status.ACCEPTED and "NPI or a state license" in row.pars.text
    assert row.boards[0].status == Status.BOARD_PENDING


def test_a_board_id_added_later_sends_that_boards_credit(env):
    from webapp.consent.services import update_identifiers

    make = env.make()
    learner = make.learner()
    make.board(learner, "ABIM", None)
    completion = make.completion(learner, board_lines=[("ABIM", "Medical Knowledge", "1")])
    db.session.commit()
    completion_id, learner_id = completion.id, learner.id
    assert env.transmit().exit_code == EXIT_OK
    [first] = _records(completion_id)
    assert first.state == S.ACCEPTED and first.sent_payload["boards"] == []
    assert _row(env, completion_id).boards[0].status == Status.MISSING_IDENTIFIER

    learner = load_learner(db.session, learner_id)
    update_identifiers(db.session, learner, npi=learner.npi, birth_month_day="03-14",
                       licenses=[(lic.state, lic.number) for lic in learner.licenses],
                       boards=[("ABIM", "777777")], actor="test",
                       policy=Policy.from_config(env.app.config))
    db.session.commit()
    assert env.transmit().exit_code == EXIT_OK

    old, delete, new = _records(completion_id)
    assert (old.state, delete.action.value, delete.state, new.state) == (
        S.REMOVED, "delete", S.ACCEPTED, S.ACCEPTED)
    assert [line["board"] for line in new.sent_payload["boards"]] == ["ABIM"]
    assert _row(env, completion_id).boards[0].status == Status.BOARD_PENDING


def test_abs_daily_cap_goes_to_staff_before_sending(env):
    make = env.make()
    learner = make.learner()
    day = recent(4)
    over = [make.completion(learner, date=day, board_lines=[("ABS", "Accredited CME", "7")])
            for _ in range(2)]
    fine = make.completion(learner, date=recent(3), board_lines=[("ABS", "Accredited CME", "12")])
    db.session.commit()
    over_ids, fine_id = [c.id for c in over], fine.id

    report = env.transmit()

    assert report.exit_code == EXIT_ATTENTION
    for completion_id in over_ids:
        [record] = _records(completion_id)
        assert (record.state, record.error_code) == (S.FAILED, "BOARD_DAILY_CAP")
        assert "at most 12 credits per day" in record.error_message
    [ok] = _records(fine_id)
    assert ok.state == S.ACCEPTED
    assert not set(env.fake.posted_credit_ids()) & {r.credit_id for c in over_ids
                                                     for r in _records(c)}


def test_abp_unequal_points_go_to_staff_before_sending(env):
    make = env.make()
    activity = make.activity()
    lines = ("ABP", "Lifelong Learning and Self-Assessment")
    a = make.completion(make.learner(), activity, board_lines=[(*lines, "2")])
    b = make.completion(make.learner(), activity, board_lines=[(*lines, "1.5")])
    for learner in (a.learner, b.learner):
        make.board(learner, "ABP", "100200")
    same = make.activity()
    c = make.completion(make.learner(), same, board_lines=[(*lines, "2")])
    d = make.completion(make.learner(), same, board_lines=[(*lines, "2")])
    for learner in (c.learner, d.learner):
        make.board(learner, "ABP", "300400")
    db.session.commit()
    unequal, equal = (a.id, b.id), (c.id, d.id)

    env.transmit()

    assert {(_records(x)[0].state, _records(x)[0].error_code) for x in unequal} == {
        (S.FAILED, "BOARD_UNEQUAL_POINTS")}
    assert {_records(x)[0].state for x in equal} == {S.ACCEPTED}


def test_december_board_credit_is_due_by_the_board_year_end(env):
    make = env.make()
    learner = make.learner()
    make.board(learner)
    today = dt.date.today()
    completion = make.completion(learner, date=min(today, dt.date(today.year, 12, 20)),
                                 board_lines=[("ABIM", "Medical Knowledge", "1")])
    db.session.commit()
    completion_id, completed = completion.id, completion.completion_date
    from webapp.pars.outbox import plan

    plan(db.session, Policy.from_config(env.app.config))
    db.session.commit()
    [record] = _records(completion_id)
    assert record.due_date == min(completed + dt.timedelta(days=30), dt.date(completed.year, 12, 31))
