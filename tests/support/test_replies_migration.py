"""0009: a report's single answer becomes the first entry of its thread; nothing else changes.

Run on SQLite, and on PostgreSQL too when ``TEST_DATABASE_URL`` names a server.
"""

from __future__ import annotations

import datetime as dt

import pytest
from flask_migrate import downgrade, upgrade
from sqlalchemy import MetaData, insert, inspect, select

from devtools.database import PG_URL, create_database, drop_database, make_app
from webapp.extensions import db

BEFORE = "0008_notices"
AFTER = "0009_support_replies"
CREATED = dt.datetime(2026, 11, 2, 8, 0, tzinfo=dt.UTC)
ANSWERED = dt.datetime(2026, 11, 3, 15, 45, tzinfo=dt.UTC)


def _utc(value: dt.datetime) -> dt.datetime:
    return value if value.tzinfo else value.replace(tzinfo=dt.UTC)  # SQLite keeps no zone


def _fill(conn) -> None:
    meta = MetaData()
    meta.reflect(conn)
    t = meta.tables
    conn.execute(insert(t["learners"]).values(
        id=1, source_id="L1", first_name="Morgan", last_name="Hale", email="m@example.org",
        degree="MD", created_at=CREATED, updated_at=CREATED))
    conn.execute(insert(t["identities"]).values(
        [{"id": 1, "issuer": "https://idp.test", "subject": "physician", "learner_id": 1,
          "created_at": CREATED},
         {"id": 2, "issuer": "https://idp.test", "subject": "staff", "learner_id": None,
          "created_at": CREATED}]))
    conn.execute(insert(t["support_requests"]).values([
        {"id": 1, "reference": "CME-AAAAAA", "learner_id": 1, "kind": "wrong",
         "message": "My ABIM points are missing.", "state": "answered", "created_at": CREATED,
         "answer": "Board ID added;\nresent.", "answered_at": ANSWERED,
         "answered_by_identity_id": 2},
        {"id": 2, "reference": "CME-BBBBBB", "learner_id": 1, "kind": "missing",
         "message": "Grand rounds in May.", "state": "open", "created_at": CREATED,
         "answer": None, "answered_at": None, "answered_by_identity_id": None},
        # Answered before answer times were kept: the thread takes the report's time.
        {"id": 3, "reference": "CME-CCCCCC", "learner_id": 1, "kind": "missing",
         "message": "Old one.", "state": "answered", "created_at": CREATED,
         "answer": "Done.", "answered_at": None, "answered_by_identity_id": None},
    ]))


def _requests(conn) -> list[tuple]:
    """Every report, in the columns both revisions have."""
    table = _table(conn, "support_requests")
    rows = conn.execute(select(*[
        table.c[name] for name in ("id", "reference", "learner_id", "kind", "message", "state",
                                   "created_at", "answered_at", "answered_by_identity_id")
    ]).order_by(table.c.id))
    return [tuple(_utc(v) if isinstance(v, dt.datetime) else v for v in row) for row in rows]


def _table(conn, name: str):
    meta = MetaData()
    meta.reflect(conn, only=[name])
    return meta.tables[name]


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_answers_move_into_the_thread_and_back(tmp_path, backend):
    if backend == "postgresql" and not PG_URL:
        pytest.skip("TEST_DATABASE_URL is not set")
    url = create_database(tmp_path, server_url="" if backend == "sqlite" else PG_URL)
    try:
        app = make_app(url)
        with app.app_context():
            upgrade(revision=BEFORE)
            with db.engine.begin() as conn:
                _fill(conn)
            with db.engine.connect() as conn:
                before = _requests(conn)

            upgrade(revision=AFTER)
            with db.engine.connect() as conn:
                assert "answer" not in {c["name"] for c in inspect(conn).get_columns(
                    "support_requests")}
                assert _requests(conn) == before  # every report kept as it was
                replies = _table(conn, "support_replies")
                thread = [(r.request_id, r.author, r.identity_id, r.body, _utc(r.created_at))
                          for r in conn.execute(select(replies).order_by(replies.c.id))]
            assert thread == [(1, "staff", 2, "Board ID added;\nresent.", ANSWERED),
                              (3, "staff", None, "Done.", CREATED)]

            # The app reads the moved answers as before.
            from webapp.models import SupportRequest
            report = db.session.get(SupportRequest, 1)
            assert report is not None and report.answer == "Board ID added;\nresent."
            db.session.remove()

            downgrade(revision=BEFORE)
            with db.engine.connect() as conn:
                table = _table(conn, "support_requests")
                answers = dict(conn.execute(select(table.c.id, table.c.answer)).all())
                assert "support_replies" not in inspect(conn).get_table_names()
                assert _requests(conn) == before
            assert answers == {1: "Board ID added;\nresent.", 2: None, 3: "Done."}
            db.engine.dispose()
    finally:
        drop_database(url)
