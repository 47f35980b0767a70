"""Two `pars transmit` processes at once never send the same record."""

from __future__ import annotations

import re

import pytest

from devtools.database import PG_URL, create_database, drop_database, make_app, migrate
from tests.factories import Factory
from tests.pars.conftest import physicians
from tests.pars.test_sigkill import command_env, run_transmit
from webapp.extensions import db


def _two_at_once(tmp_path, fake_pars) -> None:
    url = create_database(tmp_path)
    try:
        app = make_app(url)
        migrate(app)
        with app.app_context():
            expected = len(physicians(Factory(db.session), 60, per_learner=2, board_every=5))
            db.session.remove()
            db.engine.dispose()
        fake_pars.post_delay = 0.02  # keep both runs busy at the same time
        fake_pars.chaos(0.1, seed=5, post=("error_after", "error_before", "rate_limit"),
                        get=("error",))
        env = command_env(url, fake_pars, PARS_BATCH_SIZE=5, PARS_MAX_ATTEMPTS=100,
                          PARS_BREAKER_FAILURES=50)
        first, second = run_transmit(env), run_transmit(env)
        outputs = [p.communicate(timeout=120) for p in (first, second)]
        assert {first.returncode, second.returncode} <= {0, 3}, outputs
        fake_pars.calm()
        final = run_transmit(env)
        out, err = final.communicate(timeout=120)
        assert final.returncode == 0, (out, err)

        assert fake_pars.duplicate_adds == 0
        assert max(fake_pars.adds_seen.values()) == 1
        assert len(fake_pars.accepted_ids()) == expected
        assert fake_pars.natural_duplicates() == 0
        # Both runs did part of the work.
        accepted = [int(re.search(r": (\d+) accepted", out).group(1)) for out, _ in outputs]
        assert all(accepted), outputs
    finally:
        drop_database(url)


@pytest.mark.postgres
def test_two_transmitters_on_postgresql_send_no_duplicate(tmp_path, fake_pars):
    assert PG_URL
    _two_at_once(tmp_path, fake_pars)


@pytest.mark.skipif(bool(PG_URL), reason="covered on PostgreSQL by the test above")
def test_two_transmitters_on_sqlite_send_no_duplicate(tmp_path, fake_pars):
    _two_at_once(tmp_path, fake_pars)
