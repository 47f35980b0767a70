"""Server time of the staff dashboard and attention list with many delivery records.

    .venv/bin/python -m benchmarks.staff_dashboard --records 100000

Seeds N completions, each with one delivery record in a spread of states
(bulk inserts), then renders /staff/ and /staff/attention in-process and
reports latency percentiles.
"""

from __future__ import annotations

import argparse
import datetime as dt
import hashlib
import secrets
import tempfile
import time
from pathlib import Path

from sqlalchemy import insert

from benchmarks.harness import latency, measure
from devtools.database import create_database, drop_database, make_app, migrate
from webapp.db import utcnow
from webapp.extensions import db
from webapp.models import (
    Activity,
    Completion,
    Delivery,
    DeliveryState,
    Identity,
    Learner,
    UserSession,
)

STATES = ([DeliveryState.ACCEPTED] * 70 + [DeliveryState.QUEUED] * 15 + [DeliveryState.SENT] * 5
          + [DeliveryState.REJECTED] * 4 + [DeliveryState.FAILED] * 2 + [DeliveryState.HELD] * 2
          + [DeliveryState.UNKNOWN] * 2)


def seed(records: int) -> str:
    now = utcnow()
    learners = max(records // 4, 1)
    session = db.session
    for start in range(0, learners, 5000):
        session.execute(insert(Learner), [
            {"source_id": f"L{i}", "first_name": f"F{i}", "last_name": f"L{i}",
             "email": f"l{i}@example.org", "degree": "MD", "created_at": now, "updated_at": now}
            for i in range(start, min(start + 5000, learners))])
    session.execute(insert(Activity), [
        {"source_id": f"A{i}", "title": f"Activity {i}", "accme_activity_id": "202300001",
         "created_at": now, "updated_at": now} for i in range(200)])
    today = dt.date.today()
    for start in range(0, records, 5000):
        rows = range(start, min(start + 5000, records))
        session.execute(insert(Completion), [
            {"id": i + 1, "learner_id": i % learners + 1, "activity_id": i % 200 + 1,
             "completion_date": today - dt.timedelta(days=i // learners * 30 + i % 700),
             "cme_credits": 1, "revision": 1, "created_at": now, "updated_at": now}
            for i in rows])
        session.execute(insert(Delivery), [
            {"completion_id": i + 1, "action": "add", "credit_id": f"ccid:0001234:{i}",
             "state": STATES[i % len(STATES)].value, "due_date": today + dt.timedelta(days=i % 60 - 20),
             "has_board_credit": i % 3 == 0, "attempts": 1, "created_at": now, "updated_at": now,
             "error_code": "LEARNER_NOT_MATCHED" if STATES[i % len(STATES)] == DeliveryState.REJECTED
             else None}
            for i in rows])
    identity = Identity(issuer="https://idp.bench", subject="staff")
    session.add(identity)
    session.flush()
    token = secrets.token_urlsafe(32)
    session.add(UserSession(id=hashlib.sha256(token.encode()).hexdigest(),
                            identity_id=identity.id, is_staff=True))
    session.commit()
    return token


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=100_000)
    parser.add_argument("--requests", type=int, default=20)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        url = create_database(Path(tmp))
        app = make_app(url, SERVER_NAME=None)
        try:
            migrate(app)
            t0 = time.perf_counter()
            with app.app_context():
                token = seed(args.records)
            print(f"seeded {args.records} delivery records in {time.perf_counter() - t0:.1f} s "
                  f"({url.split(':', 1)[0]})")
            client = app.test_client()
            with client.session_transaction() as sess:
                sess["sid"] = token
            for path in ("/staff/", "/staff/attention", "/staff/attention?page=50"):
                print(f"{path:<26} {latency(measure(client, path, args.requests))}")
        finally:
            with app.app_context():
                db.engine.dispose()
            drop_database(url)


if __name__ == "__main__":
    main()
