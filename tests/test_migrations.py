"""The migrations are the schema: one head, they build an empty database, they match the models."""

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from flask_migrate import downgrade, upgrade
from sqlalchemy import inspect

from devtools.database import create_database, drop_database, make_app
from webapp.config import ROOT
from webapp.extensions import db


def test_single_head():
    script = ScriptDirectory(str(ROOT / "migrations"))
    assert len(script.get_heads()) == 1


def test_upgrade_on_empty_database_matches_models(tmp_path):
    url = create_database(tmp_path)
    try:
        app = make_app(url)
        with app.app_context():
            upgrade()
            with db.engine.connect() as conn:
                tables = set(inspect(conn).get_table_names())
                assert {"learners", "completions", "deliveries", "consent_events",
                        "audit_events", "batches"} <= tables
                ctx = MigrationContext.configure(conn, opts={"compare_type": True})
                assert compare_metadata(ctx, db.metadata) == []
            downgrade(revision="base")
            with db.engine.connect() as conn:
                assert set(inspect(conn).get_table_names()) <= {"alembic_version"}
            upgrade()
            db.engine.dispose()
    finally:
        drop_database(url)
