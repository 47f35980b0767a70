"""The migrations are the schema: one head, they build an empty database, they match the models,
and they keep the data of a database that holds some."""

import datetime as dt
from decimal import Decimal

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from flask_migrate import downgrade, upgrade
from sqlalchemy import MetaData, Table, insert, inspect, select, update
from sqlalchemy.exc import IntegrityError

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


#: The head before the learners' unused change times were dropped, and after.
BEFORE_LEARNER_COLUMNS_DROPPED = "0003_support"
LEARNER_COLUMNS_DROPPED = "0004_learners"
#: The head before licenses got a primary flag and sharing notices their table, and after.
BEFORE_PRIMARY_LICENSE = "0005_identity_links"
PRIMARY_LICENSE = "0006_primary_notices"


def _rows(conn) -> dict[str, list[tuple]]:
    """Every row of every table (but Alembic's), as plain tuples in id order."""
    meta = MetaData()
    meta.reflect(conn)
    return {
        name: [tuple(row) for row in conn.execute(select(table).order_by(*table.primary_key))]
        for name, table in meta.tables.items() if name != "alembic_version"
    }


def _fill(conn) -> None:
    """A physician with identifiers, credit, consent history, a sign-in, a report, a delivery."""
    meta = MetaData()
    meta.reflect(conn)
    t = meta.tables
    now = dt.datetime(2026, 11, 20, 9, 30, tzinfo=dt.UTC)
    # The change times exist only before 0004 dropped them.
    change_times = ({"consent_changed_at": now, "identifiers_changed_at": now}
                    if "consent_changed_at" in t["learners"].c else {})
    conn.execute(insert(t["learners"]).values(
        id=1, source_id="L1", first_name="Morgan", last_name="Hale", email="m@example.org",
        degree="MD", npi="1234567893", birth_month_day="04-17", consent_granted=False,
        consent_source="physician", created_at=now, updated_at=now, **change_times))
    conn.execute(insert(t["licenses"]).values(id=1, learner_id=1, state="MI", number="4301",
                                              created_at=now))
    conn.execute(insert(t["board_certifications"]).values(id=1, learner_id=1, board="ABS",
                                                          created_at=now))
    conn.execute(insert(t["identities"]).values(id=1, issuer="https://idp.test", subject="s1",
                                                learner_id=1, created_at=now))
    conn.execute(insert(t["user_sessions"]).values(id="a" * 64, identity_id=1, is_staff=False,
                                                   created_at=now, last_seen_at=now))
    conn.execute(insert(t["activities"]).values(id=1, source_id="A1", title="Sepsis Update",
                                                accme_activity_id="200000001",
                                                created_at=now, updated_at=now))
    conn.execute(insert(t["completions"]).values(
        id=1, learner_id=1, activity_id=1, completion_date=dt.date(2026, 11, 1),
        cme_credits=Decimal("1.50"), revision=1, created_at=now, updated_at=now))
    conn.execute(insert(t["board_credits"]).values(id=1, completion_id=1, board="ABS",
                                                   credit_type="Accredited CME",
                                                   credits=Decimal("1.50")))
    conn.execute(insert(t["consent_events"]).values(
        [{"id": 1, "learner_id": 1, "granted": True, "source": "import", "created_at": now},
         {"id": 2, "learner_id": 1, "granted": False, "source": "physician",
          "actor_identity_id": 1, "wording_version": "2023-07", "created_at": now}]))
    conn.execute(insert(t["support_requests"]).values(
        id=1, reference="CME-ABC123", learner_id=1, completion_id=1, kind="wrong",
        message="Not on my board record", state="open", created_at=now))
    conn.execute(insert(t["batches"]).values(id=1, kind="excel", state="confirmed",
                                             record_count=1, file_name="b.xlsx", created_at=now))
    conn.execute(insert(t["deliveries"]).values(
        id=1, completion_id=1, action="add", credit_id="0001234-1-1", state="sent",
        due_date=dt.date(2026, 12, 1), has_board_credit=True, attempts=1, batch_id=1,
        created_at=now, updated_at=now))
    conn.execute(insert(t["delivery_events"]).values(id=1, delivery_id=1, at=now, kind="accepted",
                                                     detail="Sent to PARS and accepted."))
    conn.execute(insert(t["audit_events"]).values(id=1, at=now, actor="identity:1",
                                                  action="consent.withdrawn",
                                                  subject_type="learner", subject_id="1"))


def _learner_columns(conn) -> set[str]:
    return {c["name"] for c in inspect(conn).get_columns("learners")}


def test_dropping_the_learner_change_times_keeps_every_row(tmp_path):
    url = create_database(tmp_path)
    try:
        app = make_app(url)
        with app.app_context():
            upgrade(revision=BEFORE_LEARNER_COLUMNS_DROPPED)
            with db.engine.begin() as conn:
                _fill(conn)
            with db.engine.connect() as conn:
                before = _rows(conn)
            dropped = ("consent_changed_at", "identifiers_changed_at")
            positions = [i for i, c in enumerate(inspect(db.engine).get_columns("learners"))
                         if c["name"] in dropped]

            upgrade(revision=LEARNER_COLUMNS_DROPPED)
            with db.engine.connect() as conn:
                assert _learner_columns(conn).isdisjoint(dropped)
                after = _rows(conn)
            expected = dict(before)
            expected["learners"] = [tuple(v for i, v in enumerate(row) if i not in positions)
                                    for row in before["learners"]]
            assert after == expected
            assert all(after[name] for name in ("licenses", "board_certifications", "completions",
                                                "board_credits", "consent_events", "identities",
                                                "support_requests", "deliveries"))

            downgrade(revision=BEFORE_LEARNER_COLUMNS_DROPPED)
            with db.engine.connect() as conn:
                assert set(dropped) <= _learner_columns(conn)
                back = _rows(conn)
            assert {k: v for k, v in back.items() if k != "learners"} == \
                {k: v for k, v in before.items() if k != "learners"}
            assert len(back["learners"]) == 1
            db.engine.dispose()
    finally:
        drop_database(url)


def _fill_licenses(conn) -> None:
    """Two more learners: one with three licenses added out of alphabetical order, one with none."""
    meta = MetaData()
    meta.reflect(conn)
    t = meta.tables
    now = dt.datetime(2026, 11, 21, 8, 0, tzinfo=dt.UTC)
    conn.execute(insert(t["learners"]).values([
        {"id": 2, "source_id": "L2", "first_name": "Elena", "last_name": "Marsh",
         "email": "e@example.org", "degree": "DO", "created_at": now, "updated_at": now},
        {"id": 3, "source_id": "L3", "first_name": "Jordan", "last_name": "Ellis",
         "email": "j@example.org", "degree": "NP", "created_at": now, "updated_at": now},
    ]))
    conn.execute(insert(t["licenses"]).values([
        {"id": 7, "learner_id": 2, "state": "OH", "number": "35-7", "created_at": now},
        {"id": 5, "learner_id": 2, "state": "WI", "number": "55-5", "created_at": now},
        {"id": 6, "learner_id": 2, "state": "MI", "number": "43-6", "created_at": now},
    ]))


def _license_columns(conn) -> list[str]:
    return [c["name"] for c in inspect(conn).get_columns("licenses")]


def test_primary_license_and_notices_upgrade_keeps_every_row_and_marks_the_oldest(tmp_path):
    url = create_database(tmp_path)
    try:
        app = make_app(url)
        with app.app_context():
            upgrade(revision=BEFORE_PRIMARY_LICENSE)
            with db.engine.begin() as conn:
                _fill(conn)
                _fill_licenses(conn)
            with db.engine.connect() as conn:
                before = _rows(conn)
                assert "is_primary" not in _license_columns(conn)

            upgrade(revision=PRIMARY_LICENSE)
            with db.engine.connect() as conn:
                position = _license_columns(conn).index("is_primary")
                after = _rows(conn)
            # Every other table is untouched; licenses only gained the flag.
            assert after.pop("consent_notices") == []
            assert {k: v for k, v in after.items() if k != "licenses"} == \
                {k: v for k, v in before.items() if k != "licenses"}
            assert [row[:position] + row[position + 1:] for row in after["licenses"]] == \
                before["licenses"]
            primary = {row[0]: row[position] for row in after["licenses"]}
            # Learner 1's only license; learner 2's oldest (lowest id), not its first by state.
            assert primary == {1: True, 5: True, 6: False, 7: False}

            # The database keeps it to one primary per learner.
            with db.engine.connect() as conn:
                licenses = Table("licenses", MetaData(), autoload_with=conn)
                with pytest.raises(IntegrityError):
                    conn.execute(update(licenses).where(licenses.c.id == 6).values(is_primary=True))
                conn.rollback()

            downgrade(revision=BEFORE_PRIMARY_LICENSE)
            with db.engine.connect() as conn:
                assert "is_primary" not in _license_columns(conn)
                assert "consent_notices" not in inspect(conn).get_table_names()
                assert _rows(conn) == before
            db.engine.dispose()
    finally:
        drop_database(url)


#: The head before Excel batches kept their file rows.
BEFORE_EXCEL_ROWS = PRIMARY_LICENSE


def test_excel_row_columns_are_added_empty_and_removed_with_every_row_kept(tmp_path):
    url = create_database(tmp_path)
    try:
        app = make_app(url)
        with app.app_context():
            upgrade(revision=BEFORE_LEARNER_COLUMNS_DROPPED)
            with db.engine.begin() as conn:
                _fill(conn)
            upgrade(revision=BEFORE_EXCEL_ROWS)
            with db.engine.connect() as conn:
                before = _rows(conn)

            upgrade(revision="0007_excel_rows")
            with db.engine.connect() as conn:
                after = _rows(conn)
                columns = {name: [c["name"] for c in inspect(conn).get_columns(name)]
                           for name in ("deliveries", "batches")}
            assert columns["deliveries"][-1] == "batch_row"
            assert columns["batches"][-1] == "row_count"
            expected = dict(before)
            for name in ("deliveries", "batches"):
                expected[name] = [row + (None,) for row in before[name]]
            assert after == expected

            downgrade(revision=BEFORE_EXCEL_ROWS)
            with db.engine.connect() as conn:
                assert _rows(conn) == before
            db.engine.dispose()
    finally:
        drop_database(url)


#: The head before the e-mail notices got their tables.
BEFORE_NOTICES = "0007_excel_rows"
NOTICES = "0008_notices"


def test_notice_tables_are_added_empty_with_every_row_kept_and_removed_again(tmp_path):
    url = create_database(tmp_path)
    try:
        app = make_app(url)
        with app.app_context():
            upgrade(revision=BEFORE_LEARNER_COLUMNS_DROPPED)
            with db.engine.begin() as conn:
                _fill(conn)
            upgrade(revision=BEFORE_NOTICES)
            with db.engine.begin() as conn:
                _fill_licenses(conn)
            with db.engine.connect() as conn:
                before = _rows(conn)

            upgrade(revision=NOTICES)
            with db.engine.connect() as conn:
                after = _rows(conn)
            for table in ("notices", "notice_messages", "notice_preferences"):
                assert after.pop(table) == []
            assert after == before

            # A notice's key is unique: the same event is never noted twice.
            now = dt.datetime(2026, 11, 27, 9, 0, tzinfo=dt.UTC)
            with db.engine.connect() as conn:
                notices = Table("notices", MetaData(), autoload_with=conn)
                row = {"key": "consent:2", "learner_id": 1, "kind": "consent_receipt",
                       "facts": {"granted": False}, "state": "pending", "created_at": now}
                conn.execute(insert(notices).values(**row))
                with pytest.raises(IntegrityError):
                    conn.execute(insert(notices).values(**row))
                conn.rollback()
                messages = Table("notice_messages", MetaData(), autoload_with=conn)
                message = {"recipient": "learner:1", "learner_id": 1, "day": now.date(),
                           "to_address": "m@example.org", "subject": "s", "text_body": "t",
                           "html_body": "h", "message_id": "<a@b>", "state": "ready",
                           "attempts": 0, "created_at": now, "updated_at": now}
                conn.execute(insert(messages).values(**message))
                with pytest.raises(IntegrityError):  # one message per recipient and day
                    conn.execute(insert(messages).values(**message))
                conn.rollback()

            downgrade(revision=BEFORE_NOTICES)
            with db.engine.connect() as conn:
                assert not {"notices", "notice_messages", "notice_preferences"} \
                    & set(inspect(conn).get_table_names())
                assert _rows(conn) == before
            db.engine.dispose()
    finally:
        drop_database(url)
