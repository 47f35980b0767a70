"""`flask credits import` and `flask demo` through the CLI runner."""

import datetime as dt

from sqlalchemy import func, select

from tests.credits.test_import import BASE, csv_bytes
from webapp.credits import demo
from webapp.identifiers import npi_is_valid
from webapp.models import Activity, Completion, Delivery, DeliveryState, Learner


def test_import_command_prints_summary_and_is_idempotent(runner, db_session, tmp_path):
    path = tmp_path / "export.csv"
    path.write_bytes(csv_bytes([BASE, BASE | {"learner_id": "L2", "email": "b@example.org"}]))
    result = runner.invoke(args=["credits", "import", str(path)])
    assert result.exit_code == 0, result.output
    assert "2 rows read; 2 learners (2 new, 0 updated)" in result.output
    assert "completions: 2 created, 0 updated, 0 unchanged" in result.output
    again = runner.invoke(args=["credits", "import", str(path)])
    assert "completions: 0 created, 0 updated, 2 unchanged" in again.output
    assert db_session.scalar(select(func.count()).select_from(Completion)) == 2


def test_import_command_fails_with_errors_and_changes_nothing(runner, db_session, tmp_path):
    path = tmp_path / "bad.csv"
    path.write_bytes(csv_bytes([BASE | {"cme_credits": "abc"}, BASE | {"learner_id": "L2",
                                                                       "board": "XYZ"}]))
    result = runner.invoke(args=["credits", "import", str(path)])
    assert result.exit_code == 1
    assert "line 2, cme_credits:" in result.output
    assert "line 3, board: unknown board 'XYZ'" in result.output
    assert "nothing was imported" in result.output
    assert db_session.scalar(select(func.count()).select_from(Learner)) == 0


def test_demo_export_covers_the_cases_the_portal_must_show():
    today = dt.date(2026, 11, 27)
    rows = demo.rows(today=today)
    by_learner = {}
    for r in rows:
        by_learner.setdefault(r["learner_id"], []).append(r)
    surgeon = by_learner["demo-surgeon"]
    assert any(r["board"] == "ABS" and (today - dt.date.fromisoformat(r["completion_date"])).days
               in range(20, 30) for r in surgeon)
    assert {r["consent"] for r in by_learner["demo-opted-out"]} == {"no"}
    missing = by_learner["demo-missing-ids"][0]
    assert missing["npi"] == "" and missing["birth_month_day"] == ""
    assert any(r["completion_date"] < "2023-07-01" for r in rows)
    assert any(r["accme_activity_id"] == "" for r in rows)
    assert by_learner["demo-np"][0]["degree"] not in ("MD", "DO")
    physicians = [k for k, v in by_learner.items() if v[0]["degree"] in ("MD", "DO")]
    assert len(physicians) >= 24
    assert len({r["activity_id"] for r in rows}) >= 20
    assert len({r["completion_date"][:4] for r in rows}) >= 3
    assert all(npi_is_valid(r["npi"]) for r in rows if r["npi"])
    assert all(r["email"].endswith("@example.org") for r in rows)


def test_demo_load_imports_through_the_same_path_once(runner, db_session):
    result = runner.invoke(args=["demo", "load", "--if-empty"])
    assert result.exit_code == 0, result.output
    assert "36 learners (36 new" in result.output
    assert db_session.scalar(select(func.count()).select_from(Activity)) >= 20
    # The outbox is planned: the demo's reportable credit is queued or waiting.
    states = set(db_session.scalars(select(Delivery.state)).all())
    assert states == {DeliveryState.QUEUED, DeliveryState.WAITING}
    assert "outbox: " in result.output
    again = runner.invoke(args=["demo", "load", "--if-empty"])
    assert "nothing loaded" in again.output
