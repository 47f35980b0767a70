"""`flask pars transmit` killed (SIGKILL) in the middle of its work, again and again, under faults.

Nothing may be lost and nothing sent twice: when a run finally completes, PARS
holds every eligible completion exactly once and never saw a second add of a
CreditID.

Kills are placed by progress, never by the clock: each run is killed once it has
recorded itself in ``engine_runs`` and PARS has received a random number of
further requests (from a seeded generator), so every kill lands on a working run
however long the command takes to start on a busy machine.
"""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from sqlalchemy import func, select

from devtools.database import create_database, drop_database, make_app, migrate
from tests.factories import Factory
from tests.pars.conftest import FAST, physicians
from webapp.extensions import db
from webapp.models import Delivery, DeliveryState, EngineRun

ROOT = Path(__file__).resolve().parents[2]
FLASK = str(Path(sys.executable).with_name("flask"))

KILLS = 12
#: A killed run gets 1 to this many requests to PARS after it has started.
MOST_REQUESTS_BEFORE_KILL = 6
#: Runs that end by themselves before their kill (PARS kept failing) are rare: a bound on
#: the number of runs, not on time.
MOST_RUNS = 4 * KILLS
#: Per process, a safety net against a hang only: however long start-up takes on a busy
#: machine never decides the result.
SAFETY_SECONDS = 300
POLL_SECONDS = 0.05


def command_env(url: str, fake, **overrides) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PARS_", "DATABASE_URL"))}
    settings = {**FAST, **fake.config(), **overrides}
    env.update({k: str(v) for k, v in settings.items()})
    env.update(DATABASE_URL=url, APP_ENV="testing", PYTHONUNBUFFERED="1")
    return env


def run_transmit(env: dict[str, str]) -> subprocess.Popen:
    return subprocess.Popen([FLASK, "--app", "wsgi", "pars", "transmit"], cwd=ROOT, env=env,  # noqa: S603
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def check_deadline(deadline: float, what: str) -> None:
    assert time.monotonic() < deadline, f"safety deadline passed while waiting for {what}"


def last_run_id() -> int:
    value = db.session.scalar(select(func.max(EngineRun.id)))
    db.session.remove()
    return value or 0


def wait_for_run(proc: subprocess.Popen, after: int, deadline: float) -> int | None:
    """The ID of the ``engine_runs`` row ``proc`` committed, or None if it ended without one."""
    while True:
        ended = proc.poll() is not None
        run_id = db.session.scalar(select(EngineRun.id).where(EngineRun.id > after,
                                                              EngineRun.pid == proc.pid))
        db.session.remove()
        if run_id is not None or ended:
            return run_id
        check_deadline(deadline, "the run to start")
        time.sleep(POLL_SECONDS)


def wait_for_requests(fake, proc: subprocess.Popen, count: int, deadline: float) -> bool:
    """True once PARS has received ``count`` requests in all; False if ``proc`` ended first."""
    while not fake.wait_for_requests(count, timeout=POLL_SECONDS):
        if proc.poll() is not None:
            return False
        check_deadline(deadline, "requests to PARS")
    return True


@pytest.mark.slow
def test_sigkill_mid_run_loses_nothing_and_duplicates_nothing(tmp_path, fake_pars):
    url = create_database(tmp_path)
    try:
        app = make_app(url)
        migrate(app)
        with app.app_context():
            # Far more work than the killed runs can do: at most KILLS * (6 + a few) requests
            # before the last kill, while delivering everything takes 120 posts at least.
            completions = physicians(Factory(db.session), 120, per_learner=2, board_every=3)
            expected = len(completions)
            db.session.remove()
            fake_pars.chaos(0.15, seed=11)
            env = command_env(url, fake_pars, PARS_BATCH_SIZE=2, PARS_MAX_ATTEMPTS=1000,
                              PARS_BREAKER_FAILURES=4)
            rng = random.Random(2024)  # noqa: S311
            killed: list[int] = []  # run IDs
            ended: list[tuple[int, int | None]] = []  # run ID and exit code of runs that ended
            for _ in range(MOST_RUNS):
                if len(killed) == KILLS:
                    break
                before = last_run_id()
                proc = run_transmit(env)
                deadline = time.monotonic() + SAFETY_SECONDS
                try:
                    run_id = wait_for_run(proc, before, deadline)
                    if run_id is None:
                        pytest.fail(f"pars transmit ended without starting a run: "
                                    f"{proc.communicate()}")
                    target = fake_pars.requests_seen + rng.randint(1, MOST_REQUESTS_BEFORE_KILL)
                    if wait_for_requests(fake_pars, proc, target, deadline):
                        proc.kill()
                    proc.communicate(timeout=SAFETY_SECONDS)
                finally:
                    if proc.poll() is None:
                        proc.kill()
                        proc.communicate()
                if proc.returncode == -signal.SIGKILL:
                    killed.append(run_id)
                else:  # it ended by itself first (e.g. PARS kept failing): not a kill
                    ended.append((run_id, proc.returncode))
                    assert ended[-1][1] != 0, "everything was delivered before the last kill"
            assert len(killed) == KILLS, f"runs that ended by themselves: {ended}"

            delivered_under_kills = len(fake_pars.accepted_ids())
            fake_pars.calm()
            for _ in range(5):
                proc = run_transmit(env)
                out, err = proc.communicate(timeout=SAFETY_SECONDS)
                if proc.returncode == 0:
                    break
            assert proc.returncode == 0, (out, err)
            print(f"{len(killed)} kills; runs that ended by themselves (run, exit code): {ended}; "
                  f"{delivered_under_kills} of {expected} delivered before the calm run; "
                  f"{fake_pars.requests_seen} requests to PARS in all")

            assert fake_pars.duplicate_adds == 0
            assert max(fake_pars.adds_seen.values()) == 1
            assert len(fake_pars.accepted_ids()) == expected
            assert fake_pars.natural_duplicates() == 0
            rows = db.session.execute(select(Delivery.credit_id, Delivery.state)).all()
            assert {state for _, state in rows} == {DeliveryState.ACCEPTED}
            assert {credit_id for credit_id, _ in rows} == fake_pars.accepted_ids()
            # Every kill landed on a working run: a later run found it dead and settled its
            # claims; no other run was found dead, and none is left running.
            runs = {run.id: run for run in db.session.scalars(select(EngineRun))}
            gone = {i for i, run in runs.items() if "process is gone" in (run.message or "")}
            assert gone == set(killed)
            assert all(runs[i].outcome == "failed" for i in killed)
            assert not [run for run in runs.values() if run.outcome == "running"]
            db.session.remove()
            db.engine.dispose()
    finally:
        drop_database(url)
