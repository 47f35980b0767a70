"""Throw-away databases and applications for the tests and the benchmarks.

SQLite by default: a file in the directory given. PostgreSQL when
``TEST_DATABASE_URL`` is set (or a server URL is passed): a database of its own,
created on that server and dropped afterwards.
"""

from __future__ import annotations

import os
import secrets
import uuid

from flask import Flask
from sqlalchemy import make_url

from webapp import create_app
from webapp.config import normalise_database_url

#: The PostgreSQL server to create databases on (a URL of a database there to connect
#: to); empty for SQLite.
PG_URL = os.environ.get("TEST_DATABASE_URL", "")
#: The secret key of the applications ``make_app`` builds (tests sign CSRF tokens with it).
SECRET = "test-secret-" + "x" * 40


def _admin_connect(url: str):
    import psycopg

    parsed = make_url(url)
    return psycopg.connect(
        host=parsed.host or "127.0.0.1", port=parsed.port or 5432,
        user=parsed.username or "postgres", password=parsed.password,
        dbname=parsed.database or "postgres", autocommit=True,
    )


def create_database(tmp_dir, server_url: str | None = None) -> str:
    """A new empty database: a SQLite file, or a PostgreSQL database of its own.

    ``server_url`` (default ``TEST_DATABASE_URL``) names the PostgreSQL server; empty: SQLite.
    """
    server_url = PG_URL if server_url is None else server_url
    if not server_url:
        return f"sqlite:///{tmp_dir / ('db-' + uuid.uuid4().hex[:8] + '.sqlite')}"
    name = f"cme_test_{os.getpid()}_{secrets.token_hex(4)}"
    with _admin_connect(server_url) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    return normalise_database_url(
        make_url(server_url).set(database=name).render_as_string(hide_password=False)
    )


def drop_database(url: str, server_url: str | None = None) -> None:
    """Drop a database ``create_database`` made (nothing to do for SQLite)."""
    if not url.startswith("postgresql"):
        return
    name = make_url(url).database
    with _admin_connect(server_url or PG_URL) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def make_app(database_url: str, **overrides) -> Flask:
    """The site in testing mode on ``database_url``; ``overrides`` replace any setting."""
    config = {
        "APP_ENV": "testing",
        "TESTING": True,
        "SECRET_KEY": SECRET,
        "SQLALCHEMY_DATABASE_URI": database_url,
        "SQLALCHEMY_RECORD_QUERIES": True,
        "SERVER_NAME": "portal.test",
        "PARS_API_URL": "",
        # Limits count across the whole suite otherwise; tests/test_security.py turns them on.
        "RATELIMIT_ENABLED": False,
    }
    config.update(overrides)
    return create_app(config)


def migrate(app: Flask) -> None:
    """Bring the application's database to the latest schema (Alembic)."""
    from flask_migrate import upgrade

    with app.app_context():
        upgrade()
