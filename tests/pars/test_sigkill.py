"""`flask pars transmit` killed (SIGKILL) at random instants, again and again, under faults.

Nothing may be lost and nothing sent twice: when a run finally completes, PARS
holds every eligible completion exactly once and never saw a second add of a
CreditID.
"""

from __future__ import annotations

import os
import random
import subprocess
import sys
import time
from pathlib import Path

from sqlalchemy import func, select

from devtools.database import create_database, drop_database, make_app, migrate
from tests.factories import Factory
from tests.pars.conftest import FAST, physicians
from webapp.extensions import db
from webapp.models import Delivery, DeliveryState, EngineRun

ROOT = Path(__file__).resolve().parents[2]
FLASK = str(Path(sys.executable).with_name("flask"))


def command_env(url: str, fake, **overrides) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PARS_", "DATABASE_URL"))}
    settings = {**FAST, **fake.config(), **overrides}
    env.update({k: str(v) for k, v in settings.items()})
    env.update(DATABASE_URL=url, APP_ENV="testing", PYTHONUNBUFFERED="1")
    return env


def run_transmit(env: dict[str, str]) -> subprocess.Popen:
    return subprocess.Popen([FLASK, "--app", "wsgi", "pars", "transmit"], cwd=ROOT, env=env,  # noqa: S603
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def test_sigkill_at_random_moments_loses_nothing_and_duplicates_nothing(tmp_path, fake_pars):
    url = create_database(tmp_path)
    try:
        app = make_app(url)
        migrate(app)
        with app.app_context():
            completions = physicians(Factory(db.session), 50, per_learner=2, board_every=3)
            expected = len(completions)
            db.session.remove()
            db.engine.dispose()
        fake_pars.chaos(0.15, seed=11)
        env = command_env(url, fake_pars, PARS_BATCH_SIZE=6, PARS_MAX_ATTEMPTS=1000,
                          PARS_BREAKER_FAILURES=4)
        rng = random.Random(2024)  # noqa: S311
        kills = finished = 0
        deadline = time.monotonic() + 90
        while kills < 12 and time.monotonic() < deadline:
            proc = run_transmit(env)
            try:
                proc.communicate(timeout=rng.uniform(0.3, 2.5))
                finished += 1
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.communicate()
                kills += 1
        fake_pars.calm()
        for _ in range(5):
            proc = run_transmit(env)
            out, err = proc.communicate(timeout=120)
            if proc.returncode == 0:
                break
        assert proc.returncode == 0, (out, err)
        assert kills >= 12
        assert fake_pars.duplicate_adds == 0
        assert max(fake_pars.adds_seen.values()) == 1
        assert len(fake_pars.accepted_ids()) == expected
        assert fake_pars.natural_duplicates() == 0
        with app.app_context():
            rows = db.session.execute(select(Delivery.credit_id, Delivery.state)).all()
            assert {state for _, state in rows} == {DeliveryState.ACCEPTED}
            assert {credit_id for credit_id, _ in rows} == fake_pars.accepted_ids()
            # Runs killed while working were found dead and their claims settled.
            killed = db.session.scalar(select(func.count()).select_from(EngineRun).where(
                EngineRun.message.like("%process is gone%")))
            print(f"{kills} kills, {killed} of them while a run was working, {finished} finished")
            assert killed >= 3
            assert not db.session.scalar(select(func.count()).select_from(EngineRun)
                                         .where(EngineRun.outcome == "running"))
            db.session.remove()
            db.engine.dispose()
    finally:
        drop_database(url)
