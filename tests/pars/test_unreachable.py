"""PARS out of reach, and addresses that carry credentials: clean ends, never tracebacks."""

from __future__ import annotations

from sqlalchemy import select

from tests.pars.conftest import physicians
from webapp.extensions import db
from webapp.models import EngineRun, RunOutcome
from webapp.pars.engine import EXIT_INCOMPLETE, EXIT_OK, EXIT_STOPPED


def test_sync_with_pars_unreachable_ends_incomplete_in_one_line(env):
    physicians(env.make(), 2)
    assert env.transmit().exit_code == EXIT_OK
    env.fake.stop()  # PARS goes away: every look-up fails
    result = env.app.test_cli_runner().invoke(args=["pars", "sync"])
    assert result.exit_code == EXIT_INCOMPLETE, result.output
    assert "Traceback" not in result.output
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert len(lines) == 1 and "did not answer" in lines[0] and "next sync" in lines[0]
    run = db.session.scalar(select(EngineRun).order_by(EngineRun.id.desc()).limit(1))
    assert run.kind == "sync" and run.outcome == RunOutcome.INCOMPLETE


def test_a_credentials_url_is_refused_without_echoing_them(env):
    env.app.config["PARS_API_URL"] = "https://pars-user:hunter2-secret@pars.example.org/api"
    result = env.app.test_cli_runner().invoke(args=["pars", "transmit"])
    assert result.exit_code == EXIT_STOPPED
    assert "hunter2-secret" not in result.output and "pars-user" not in result.output
    assert "must not carry credentials" in result.output
    env.app.config["PARS_API_URL"] = "ftp://someone:hunter2-secret@pars.example.org"
    result = env.app.test_cli_runner().invoke(args=["pars", "sync"])
    assert result.exit_code == EXIT_STOPPED and "hunter2-secret" not in result.output
