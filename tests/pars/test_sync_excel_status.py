"""`pars sync`, the Excel route (export, confirm-batch, cancel-batch) and `pars status`."""

from __future__ import annotations

import datetime as dt

from openpyxl import load_workbook
from sqlalchemy import select

from tests.pars.conftest import physicians, recent
from webapp.extensions import db
from webapp.models import (
    AuditEvent,
    Batch,
    BatchKind,
    BatchState,
    BoardStatus,
    Delivery,
    DeliveryState,
    EngineRun,
    Learner,
)
from webapp.pars import outbox
from webapp.pars.engine import EXIT_OK, sync
from webapp.pars.policy import Policy

S = DeliveryState


def test_sync_fetches_board_decisions_and_settles_unknowns(env):
    make = env.make()
    learner = make.learner()
    make.board(learner, "ABIM", "555111")
    make.board(learner, "ABS", None)
    make.completion(learner, date=recent(3), board_lines=[("ABIM", "Medical Knowledge", "1")])
    make.completion(learner, date=recent(4), board_lines=[("ABS", "Accredited CME", "1")])
    make.completion(learner, date=recent(5))
    db.session.commit()
    learner_id = learner.id
    assert env.transmit().exit_code == EXIT_OK
    env.fake.board_decisions[("ABIM", "555111")] = ("Rejected", "Board ID does not match")

    db.session.remove()
    report = sync(db.engine, env.app.config)

    assert report.exit_code == EXIT_OK, report.message
    rows = {(b.board, b.status, b.message) for b in db.session.scalars(select(BoardStatus))}
    assert rows == {("ABIM", "rejected", "Board ID does not match"), ("ABS", "pending", None)}
    assert report.counts["boards_checked"] == 2  # the record without board credit is skipped
    status = env.app.test_cli_runner().invoke(args=["pars", "status"])
    assert "board decisions: 1 pending, 1 rejected" in status.output
    env.fake.board_decisions[("ABS", None)] = ("Accepted", None)
    db.session.remove()
    sync(db.engine, env.app.config)
    db.session.remove()
    lookups = len(env.fake.lookups)
    assert {(b.board, b.status) for b in db.session.scalars(select(BoardStatus))} == {
        ("ABIM", "rejected"), ("ABS", "accepted")}
    sync(db.engine, env.app.config)  # decided records are not asked about again
    assert len(env.fake.lookups) == lookups + 1  # only the check that look-ups work
    db.session.remove()
    run = db.session.scalar(select(EngineRun).where(EngineRun.kind == "sync")
                            .order_by(EngineRun.id.desc()).limit(1))
    assert run.outcome == "ok"

    # A board rejection, once the physician fixes the ID, becomes delete + add.
    learner = db.session.get(Learner, learner_id)
    learner.board_certifications[0].board_id = "555112"
    outbox.on_identifiers_changed(db.session, learner, Policy.from_config(env.app.config))
    db.session.commit()
    assert env.transmit().exit_code == EXIT_OK
    actions = [p.actions for p in env.fake.posts[-2:]]
    assert actions == [["delete"], ["add"]]
    assert env.fake.duplicate_adds == 0


def test_sync_settles_an_unknown_outcome(env):
    physicians(env.make(), 2)
    env.fake.fail_next("error_after")
    env.fake.chaos(1.0, post=(), get=("error",))  # the engine cannot settle it itself
    report = env.transmit()
    assert report.exit_code == 3
    assert {d.state for d in env.deliveries()} == {S.UNKNOWN}
    env.fake.calm()
    result = env.app.test_cli_runner().invoke(args=["pars", "sync"])
    assert result.exit_code == 0, result.output
    assert "2 confirmed" in result.output
    assert {d.state for d in env.deliveries()} == {S.ACCEPTED}
    assert env.fake.duplicate_adds == 0


def _export(env, tmp_path, name="batch.xlsx"):
    return env.app.test_cli_runner().invoke(args=["pars", "export", "--out",
                                                  str(tmp_path / name)])


def test_export_claims_due_records_only_and_the_web_service_leaves_them(env, tmp_path):
    # The file's layout is tested in test_excel.py.
    make = env.make()
    activity = make.activity()
    make.completion(make.learner(), activity, date=dt.date.today() - dt.timedelta(days=2))
    make.completion(make.learner(npi=None), activity, date=dt.date.today() - dt.timedelta(days=1))
    make.completion(make.learner(consent_granted=False), activity)  # never exported
    db.session.commit()

    result = _export(env, tmp_path)

    assert result.exit_code == 0, result.output
    assert "batch 1: 2 records in rows 3 to 4 written" in result.output
    workbook = load_workbook(tmp_path / "batch.xlsx", read_only=True)
    try:
        assert len(list(workbook["Sheet1"].iter_rows(values_only=True))) == 2 + 2
    finally:
        workbook.close()
    states = {d.state for d in env.deliveries()}
    assert states == {S.EXPORTED, S.WAITING}
    batch = db.session.scalar(select(Batch))
    assert (batch.kind, batch.state, batch.record_count, batch.row_count, batch.file_name) == (
        BatchKind.EXCEL, BatchState.OPEN, 2, 2, "batch.xlsx")
    # Exported records are not claimed by the web-service engine.
    assert env.transmit().exit_code == EXIT_OK and env.fake.posts == []


def test_confirm_and_cancel_batches(env, tmp_path):
    physicians(env.make(), 3)
    assert _export(env, tmp_path, "one.xlsx").exit_code == 0
    runner = env.app.test_cli_runner()

    result = runner.invoke(args=["pars", "confirm-batch", "1"])
    assert result.exit_code == 0, result.output
    assert "3 records accepted by PARS" in result.output
    assert {d.state for d in env.deliveries()} == {S.ACCEPTED}
    assert db.session.get(Batch, 1).state == BatchState.CONFIRMED
    again = runner.invoke(args=["pars", "confirm-batch", "1"])
    assert again.exit_code == 1 and "confirmed already" in again.output
    assert runner.invoke(args=["pars", "cancel-batch", "1"]).exit_code == 1

    physicians(env.make(), 2)
    assert _export(env, tmp_path, "two.xlsx").exit_code == 0
    result = runner.invoke(args=["pars", "cancel-batch", "2"])
    assert result.exit_code == 0 and "2 records queued again" in result.output
    states = sorted(d.state.value for d in env.deliveries())
    assert states == ["accepted", "accepted", "accepted", "queued", "queued"]
    assert db.session.get(Batch, 2).state == BatchState.CANCELLED
    actions = set(db.session.scalars(select(AuditEvent.action)))
    assert {"pars.exported", "pars.batch_confirmed", "pars.batch_cancelled"} <= actions
    # The cancelled records go by web service now, once.
    assert env.transmit().exit_code == EXIT_OK
    assert len(env.fake.accepted_ids()) == 2


def test_export_bad_input_changes_nothing(env, tmp_path):
    physicians(env.make(), 1)
    runner = env.app.test_cli_runner()
    (tmp_path / "exists.xlsx").write_bytes(b"x")
    for args, message in (
        (["--out", str(tmp_path / "exists.xlsx")], "exists already"),
        (["--out", str(tmp_path / "missing" / "b.xlsx")], "no such folder"),
        (["--out", str(tmp_path / "b.csv")], "must end in .xlsx"),
    ):
        result = runner.invoke(args=["pars", "export", *args])
        assert result.exit_code == 1 and message in result.output
    for args, message in ((["confirm-batch", "99"], "there is no batch 99"),
                          (["cancel-batch", "99"], "there is no batch 99")):
        result = runner.invoke(args=["pars", *args])
        assert result.exit_code == 1 and message in result.output
    assert env.deliveries() == []
    assert db.session.scalar(select(Batch)) is None
    assert (tmp_path / "exists.xlsx").read_bytes() == b"x"


def test_sync_flags_a_record_pars_no_longer_holds(env):
    make = env.make()
    learner = make.learner()
    make.board(learner, "ABS", None)
    for days in (3, 4):
        make.completion(learner, date=recent(days), board_lines=[("ABS", "Accredited CME", "1")])
    db.session.commit()
    assert env.transmit().exit_code == EXIT_OK
    lost = env.deliveries()[0].credit_id
    del env.fake.records[lost]
    db.session.remove()
    report = sync(db.engine, env.app.config)
    assert report.exit_code == 1
    states = {d.credit_id: (d.state, d.error_code) for d in env.deliveries()}
    assert states[lost] == (S.FAILED, "NOT_FOUND_IN_PARS")


def test_sync_stops_when_lookups_cannot_be_trusted(make_env, fake_pars):
    env = make_env()
    physicians(env.make(), 1, board_every=1)
    assert env.transmit().exit_code == EXIT_OK
    fake_pars.records.clear()  # e.g. PARS_API_URL points at another (empty) service
    db.session.remove()
    report = sync(db.engine, env.app.config)
    assert report.exit_code == 4 and "PARS_API_URL" in report.message
    assert {d.state for d in env.deliveries()} == {S.ACCEPTED}


def test_web_batches_cannot_be_confirmed_by_hand(env):
    physicians(env.make(), 1)
    env.transmit()
    result = env.app.test_cli_runner().invoke(args=["pars", "confirm-batch", "1"])
    assert result.exit_code == 1 and "web service" in result.output


def test_export_with_nothing_due_writes_no_file(env, tmp_path):
    result = _export(env, tmp_path)
    assert result.exit_code == 0 and "nothing is due" in result.output
    assert not (tmp_path / "batch.xlsx").exists()
    assert list(tmp_path.glob(".*part")) == []


def test_confirm_warns_about_opt_outs_after_export(env, tmp_path):
    [completion] = physicians(env.make(), 1)
    learner_id = completion.learner_id
    db.session.remove()
    assert _export(env, tmp_path).exit_code == 0
    learner = db.session.get(Learner, learner_id)
    learner.consent_granted = False
    outbox.on_consent_changed(db.session, learner, Policy.from_config(env.app.config))
    db.session.commit()
    result = env.app.test_cli_runner().invoke(args=["pars", "confirm-batch", "1"])
    assert result.exit_code == 0
    assert "1 of them belong to physicians who withdrew permission" in result.output


def test_status_command(env):
    runner = env.app.test_cli_runner()
    result = runner.invoke(args=["pars", "status"])
    assert result.exit_code == 0
    assert "no delivery records yet" in result.output and "last run: none yet" in result.output

    make = env.make()
    learner = make.learner()
    make.board(learner, "ABS", None)
    make.completion(learner, date=recent(35), board_lines=[("ABS", "Accredited CME", "1")])
    make.completion(learner, date=recent(26), board_lines=[("ABS", "Accredited CME", "1")])
    make.completion(make.learner(consent_granted=False), date=recent(2))
    db.session.commit()
    env.fake.unmatched_last_names.add(learner.last_name)
    env.transmit()

    result = runner.invoke(args=["pars", "status"])
    out = result.output
    assert result.exit_code == 0, out
    assert "  rejected          2" in out and "  waiting           1" in out
    assert "needing attention: 2" in out
    assert "past their deadline: 1 (1 rejected)" in out
    assert "due within 7 days: 1 (1 rejected)" in out
    assert "last transmit: run 1" in out and "attention" in out
    db.session.remove()
    assert db.session.scalar(select(Delivery)) is not None
