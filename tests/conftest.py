"""Shared fixtures: a migrated database per test session, a rolled-back transaction per test.

SQLite by default; PostgreSQL when ``TEST_DATABASE_URL`` is set, in a database
created for this run and dropped after it (``devtools.database``).
"""

from __future__ import annotations

import contextvars
import secrets
from collections.abc import Iterator

import pytest
from flask import Flask
from flask.testing import FlaskClient
from flask_sqlalchemy.session import Session as FlaskSQLAlchemySession
from itsdangerous import URLSafeTimedSerializer

from devtools.database import PG_URL, SECRET, create_database, drop_database, make_app, migrate
from tests import factories
from webapp.extensions import db as _db


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if PG_URL:
        return
    skip = pytest.mark.skip(reason="needs TEST_DATABASE_URL (PostgreSQL)")
    for item in items:
        if "postgres" in item.keywords:
            item.add_marker(skip)


@pytest.fixture(scope="session")
def database_url(tmp_path_factory) -> Iterator[str]:
    url = create_database(tmp_path_factory.mktemp("db"))
    yield url
    drop_database(url)


@pytest.fixture(scope="session")
def app(database_url: str) -> Iterator[Flask]:
    app = make_app(database_url)
    migrate(app)
    yield app
    with app.app_context():
        _db.session.remove()
        for engine in _db.engines.values():
            engine.dispose()


class _ConnectionBoundSession(FlaskSQLAlchemySession):
    """Flask-SQLAlchemy's session picks engines per table; in tests everything uses one connection."""

    def get_bind(self, mapper=None, clause=None, bind=None, **kwargs):
        return bind or self.bind


@pytest.fixture
def db_session(app: Flask):
    """``db.session`` inside a transaction that is rolled back after the test.

    Code under test may commit: commits release a savepoint, not the outer transaction.
    """
    # The test's own application context; requests and commands get theirs (see Client).
    context = app.app_context()
    context.push()
    connection = _db.engine.connect()
    outer = connection.begin()
    original = _db.session
    _db.session = _db._make_scoped_session(
        {"bind": connection, "join_transaction_mode": "create_savepoint",
         "class_": _ConnectionBoundSession}
    )
    try:
        yield _db.session
    finally:
        _db.session.remove()
        _db.session = original
        outer.rollback()
        connection.close()
        context.pop()


class Client(FlaskClient):
    """A test client that sends a valid CSRF token with every form POST unless told not to.

    Each request runs in a fresh context, as in a real server: it gets its own
    application context (``g``, the request's own database session bound to the
    test's connection) instead of reusing the one the test holds.
    """

    def open(self, *args, **kwargs):
        if self.preserve_context:  # inside ``signed_in_user``: already in a fresh context
            return super().open(*args, **kwargs)
        return contextvars.Context().run(super().open, *args, **kwargs)

    def signed_in_user(self, path: str = "/"):
        """Request ``path`` and return who ``current_user`` was, plus the response."""
        from types import SimpleNamespace

        from flask_login import current_user

        def probe():
            with self:
                response = self.get(path, follow_redirects=True)
                user = current_user._get_current_object()
                return SimpleNamespace(
                    is_authenticated=user.is_authenticated, response=response,
                    learner_id=getattr(user, "learner_id", None),
                    is_staff=getattr(user, "is_staff", False),
                )

        return contextvars.Context().run(probe)

    def csrf_token(self) -> str:
        with self.session_transaction() as sess:
            raw = sess.setdefault("csrf_token", secrets.token_hex(20))
        return URLSafeTimedSerializer(SECRET, salt="wtf-csrf-token").dumps(raw)

    def post(self, *args, csrf: bool = True, **kwargs):
        if csrf and "json" not in kwargs:
            data = dict(kwargs.pop("data", None) or {})
            data.setdefault("csrf_token", self.csrf_token())
            kwargs["data"] = data
        return super().post(*args, **kwargs)


@pytest.fixture
def client(app: Flask, db_session) -> Client:
    app.test_client_class = Client
    return app.test_client()


@pytest.fixture
def runner(app: Flask, db_session):
    return app.test_cli_runner()


@pytest.fixture
def make(db_session) -> factories.Factory:
    return factories.Factory(db_session)


@pytest.fixture
def login_as(client: Client, db_session):
    """Sign ``client`` in as a learner (or as staff) with a real server-side session row."""

    def login(learner=None, *, staff: bool = False, identity=None):
        return factories.sign_in(db_session, client, learner, staff=staff, identity=identity)

    return login


@pytest.fixture
def policy(app: Flask):
    """The reporting rules and provider ID the outbox is given, from the test app's settings."""
    from webapp.pars.policy import Policy

    return Policy.from_config(app.config)
