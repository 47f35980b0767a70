"""Server time of the transcript page for physicians with few and many credits.

    .venv/bin/python -m benchmarks.transcript_page --credits 100 1000 --requests 30

Renders /transcript in-process (no network) for a physician with each number of
credits, half of them accepted by PARS with a board decision, and reports latency
percentiles and throughput, the ratio of each median to the first one's (the
long transcript must stay within three times the short one), and a minimal Flask
page served the same way on the same machine.
"""

from __future__ import annotations

import argparse
import datetime as dt
import hashlib
import secrets
import statistics
import tempfile
import time
from decimal import Decimal
from pathlib import Path

from flask import Flask

from benchmarks.harness import latency, measure
from devtools.database import create_database, drop_database, make_app, migrate
from webapp.db import utcnow
from webapp.extensions import db
from webapp.models import (
    Action,
    Activity,
    BoardCertification,
    BoardCredit,
    BoardStatus,
    Completion,
    Delivery,
    DeliveryState,
    Identity,
    Learner,
    License,
    UserSession,
)


def seed(credits: int, name: str = "bench") -> str:
    learner = Learner(source_id=name, first_name="Bench", last_name="Mark",
                      email=f"{name}@example.org", degree="MD", npi="1234567893",
                      birth_month_day="01-02")
    learner.licenses.append(License(state="MI", number="4300000001"))
    learner.board_certifications.append(BoardCertification(board="ABIM", board_id="1"))
    db.session.add(learner)
    activities = [Activity(source_id=f"{name}-A{i}", title=f"Activity {i}",
                           accme_activity_id="202300001") for i in range(50)]
    db.session.add_all(activities)
    start = dt.date(2023, 7, 1)
    for i in range(credits):
        c = Completion(learner=learner, activity=activities[i % 50],
                       completion_date=start + dt.timedelta(days=i), cme_credits=Decimal("1.00"),
                       board_credits=[BoardCredit(board="ABIM", credit_type="Medical Knowledge",
                                                  credits=Decimal("1.00"))])
        db.session.add(c)
        if i % 2 == 0:
            d = Delivery(completion=c, action=Action.ADD, credit_id=f"ccid:0001234:{name}-{i}",
                         state=DeliveryState.ACCEPTED, due_date=start, sent_at=utcnow(),
                         settled_at=utcnow())
            d.board_statuses.append(BoardStatus(board="ABIM", status="accepted"))
            db.session.add(d)
    identity = Identity(issuer="https://idp.bench", subject=name, learner=learner)
    db.session.add(identity)
    db.session.flush()
    token = secrets.token_urlsafe(32)
    db.session.add(UserSession(id=hashlib.sha256(token.encode()).hexdigest(),
                               identity_id=identity.id))
    db.session.commit()
    return token


def measure_cpu(client, url: str, requests: int) -> tuple[list[float], list[float]]:
    """Elapsed and CPU seconds of each of ``requests`` GETs after one warm-up: CPU time
    moves far less than elapsed time when other work shares the machine."""
    client.get(url)
    wall, cpu = [], []
    for _ in range(requests):
        t0, c0 = time.perf_counter(), time.process_time()
        response = client.get(url)
        cpu.append(time.process_time() - c0)
        wall.append(time.perf_counter() - t0)
        assert response.status_code == 200, response.status_code
    return wall, cpu


def report(name: str, times: list[float], cpu: list[float] | None = None) -> None:
    extra = f"   CPU median {statistics.median(cpu) * 1000:7.1f} ms" if cpu else ""
    print(f"{name:<28} {latency(times)}   {len(times) / sum(times):8.1f} req/s{extra}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--credits", type=int, nargs="+", default=[100, 1000])
    parser.add_argument("--requests", type=int, default=30)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        url = create_database(Path(tmp))
        try:
            app = make_app(url, SERVER_NAME=None)
            migrate(app)
            tokens = {}
            with app.app_context():
                for n in args.credits:
                    tokens[n] = seed(n, f"bench{n}")
            results = {}
            for n in args.credits:
                client = app.test_client()
                with client.session_transaction() as sess:
                    sess["sid"] = tokens[n]
                results[n] = measure_cpu(client, "/transcript", args.requests)
            minimal = Flask("minimal")
            minimal.get("/")(lambda: "<!doctype html><title>ok</title><p>ok</p>")
            base = measure(minimal.test_client(), "/", args.requests)
            print(f"transcript pages ({url.split(':', 1)[0]}), {args.requests} requests each:")
            first, first_cpu = (statistics.median(m) for m in results[args.credits[0]])
            for n, (times, cpu) in results.items():
                report(f"/transcript ({n} credits)", times, cpu)
                print(f"{'':<28} {statistics.median(times) / first:.2f} x the "
                      f"{args.credits[0]}-credit page elapsed, "
                      f"{statistics.median(cpu) / first_cpu:.2f} x in CPU time")
            report("minimal Flask page", base)
        finally:
            with app.app_context():
                db.engine.dispose()
            drop_database(url)


if __name__ == "__main__":
    main()
