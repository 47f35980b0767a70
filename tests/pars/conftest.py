"""Fixtures for the delivery engine: the fake PARS server and databases of their own.

Engine tests need data committed across connections (and processes), so they
use a database created for the test rather than the rolled-back ``db_session``.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import select

from devtools.database import create_database, drop_database, make_app, migrate
from devtools.localpars import FakePars
from tests.factories import Factory
from webapp.extensions import db
from webapp.models import Delivery

#: Short timeouts and waits, so faults cost little time. The read timeout still leaves
#: a busy machine ample time for the fake's ordinary answers (milliseconds of work).
FAST = {
    "PARS_CONNECT_TIMEOUT": 2.0,
    "PARS_READ_TIMEOUT": 1.0,
    "PARS_RETRY_TRIES": 3,
    "PARS_RETRY_BASE_SECONDS": 0.01,
    "PARS_MAX_WAIT_SECONDS": 3.0,
    "PARS_SETTLE_DELAY_SECONDS": 0.0,
    "PARS_BREAKER_FAILURES": 3,
    "PARS_MAX_ATTEMPTS": 6,
    "PARS_BATCH_SIZE": 10,
}


@pytest.fixture
def fake_pars() -> Iterator[FakePars]:
    # A "timeout" answers this late: far beyond any read timeout the tests set, so it
    # times out however late a busy machine lets the client notice (it costs no time).
    # Every document posted is checked against the project's JSON Schema: one the
    # engine built wrong fails the test that sent it, whatever else it expected.
    server = FakePars(slow_seconds=5.0, validate=True).start()
    yield server
    server.stop()
    assert not server.invalid_documents, [why for _, why in server.invalid_documents]


@dataclass
class Env:
    """An application on a database of its own, pointed at the fake server."""

    app: Flask
    url: str
    fake: FakePars

    def session(self):
        return db.session

    def make(self) -> Factory:
        return Factory(db.session)

    def config(self, **overrides: Any) -> dict[str, Any]:
        return {**self.app.config, **overrides}

    def transmit(self, **kw: Any):
        from webapp.pars.engine import transmit

        db.session.remove()
        report = transmit(db.engine, self.app.config, **kw)
        db.session.remove()
        return report

    def deliveries(self) -> list[Delivery]:
        db.session.remove()
        return list(db.session.scalars(select(Delivery).order_by(Delivery.id)))


def _env(tmp_path, fake: FakePars, **overrides: Any) -> Iterator[Env]:
    url = create_database(tmp_path)
    app = make_app(url, **{**FAST, **fake.config(), **overrides})
    migrate(app)
    try:
        with app.app_context():
            yield Env(app, url, fake)
            db.session.remove()
            for engine in db.engines.values():
                engine.dispose()
    finally:
        drop_database(url)


@pytest.fixture
def env(tmp_path, fake_pars) -> Iterator[Env]:
    yield from _env(tmp_path, fake_pars)


@pytest.fixture
def make_env(tmp_path, fake_pars):
    """An ``Env`` with settings of the test's choosing (one per test)."""
    made = []

    def build(**overrides: Any) -> Env:
        gen = _env(tmp_path, fake_pars, **overrides)
        made.append(gen)
        return next(gen)

    yield build
    for gen in made:
        for _ in gen:
            pass


def recent(days: int = 5) -> dt.date:
    return dt.date.today() - dt.timedelta(days=days)


def physicians(make: Factory, count: int, *, per_learner: int = 1, board_every: int = 0,
               **learner_kw: Any):
    """``count`` physicians with ``per_learner`` completions each; committed."""
    completions = []
    activity = make.activity()
    for i in range(count):
        learner = make.learner(**learner_kw)
        if board_every:
            make.board(learner, "ABIM", f"{100000 + i}")
        for j in range(per_learner):
            lines = ([("ABIM", "Medical Knowledge", "1.00")]
                     if board_every and (i * per_learner + j) % board_every == 0 else [])
            completions.append(make.completion(learner, activity, date=recent(5 + j),
                                               board_lines=lines))
    db.session.commit()
    return completions
