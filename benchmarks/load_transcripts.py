"""Many physicians sign in and read their transcripts at once, against gunicorn.

    .venv/bin/python -m benchmarks.load_transcripts --physicians 60 --concurrency 12 --reads 10

Builds a database with N synthetic physicians, starts a local OpenID Connect
provider that knows them and the site under gunicorn (both on 127.0.0.1), then
has C concurrent clients each sign a physician in through the real
authorization-code flow and load the transcript R times. Reports sign-in and
transcript throughput and latency percentiles. All traffic stays on loopback;
every loop is bounded.
"""

from __future__ import annotations

import argparse
import os
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import requests
from werkzeug.serving import make_server

from benchmarks.harness import latency
from devtools.database import create_database, drop_database, make_app, migrate
from webapp.credits import demo
from webapp.credits.importer import import_credits
from webapp.extensions import db
from webapp.pars.policy import Policy

ROOT = Path(__file__).resolve().parent.parent


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def provider(users: list[tuple[str, str]]):
    os.environ["AUTHLIB_INSECURE_TRANSPORT"] = "1"
    import oidc_provider_mock

    claims = [oidc_provider_mock.User(sub=sub, claims={"email": email, "email_verified": True})
              for sub, email in users]
    return oidc_provider_mock.app(require_nonce=True, user_claims=claims)


def sign_in(base: str, subject: str) -> requests.Session:
    browser = requests.Session()
    login = browser.get(f"{base}/login", allow_redirects=False, timeout=30)
    authorize = login.headers["Location"]
    answer = browser.post(authorize, data={"sub": subject}, allow_redirects=False, timeout=30)
    done = browser.get(answer.headers["Location"], allow_redirects=False, timeout=30)
    if done.status_code != 302:
        raise RuntimeError(f"sign-in failed for {subject}: {done.status_code}")
    return browser


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--physicians", type=int, default=60)
    parser.add_argument("--concurrency", type=int, default=12)
    parser.add_argument("--reads", type=int, default=10)
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument("--database-url", default="", help="PostgreSQL admin URL (else SQLite)")
    args = parser.parse_args()
    server_url = args.database_url or None

    with tempfile.TemporaryDirectory() as tmp:
        url = create_database(Path(tmp), server_url)
        app = make_app(url, SERVER_NAME=None)
        gunicorn = None
        try:
            migrate(app)
            export = Path(tmp) / "export.csv"
            demo.write_export(export, physicians=args.physicians)
            with app.app_context():
                with export.open("rb") as fh:
                    import_credits(db.session, fh, policy=Policy.from_config(app.config))
                rows = db.session.execute(db.text(
                    "SELECT source_id, email FROM learners WHERE degree IN ('MD', 'DO')")).all()
                db.engine.dispose()
            users = [(r[0], r[1]) for r in rows]

            oidc_port, port = free_port(), free_port()
            idp = make_server("127.0.0.1", oidc_port, provider(users), threaded=True)
            threading.Thread(target=idp.serve_forever, daemon=True).start()
            base = f"http://127.0.0.1:{port}"
            env = dict(os.environ, APP_ENV="development", DATABASE_URL=url,
                       SECRET_KEY="load-test-" + "k" * 40, OIDC_ISSUER=f"http://127.0.0.1:{oidc_port}",
                       OIDC_CLIENT_ID="load", OIDC_CLIENT_SECRET="load", RATELIMIT_ENABLED="false",
                       GUNICORN_BIND=f"127.0.0.1:{port}", GUNICORN_WORKERS=str(args.workers),
                       LOG_LEVEL="WARNING", PORTAL_URL=base)
            gunicorn = subprocess.Popen(
                [sys.executable, "-m", "gunicorn", "-c", str(ROOT / "gunicorn.conf.py"), "wsgi:app"],
                cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=open(Path(tmp) / "gunicorn.log", "w"))
            for _ in range(100):
                try:
                    if requests.get(f"{base}/healthz", timeout=1).ok:
                        break
                except requests.ConnectionError:
                    time.sleep(0.2)
            else:
                raise RuntimeError("gunicorn did not start")

            sign_ins: list[float] = []
            reads: list[float] = []
            lock = threading.Lock()

            def visit(subject: str) -> None:
                t0 = time.perf_counter()
                browser = sign_in(base, subject)
                elapsed = time.perf_counter() - t0
                mine = []
                for _ in range(args.reads):
                    t1 = time.perf_counter()
                    page = browser.get(f"{base}/transcript", timeout=30)
                    mine.append(time.perf_counter() - t1)
                    if page.status_code != 200:
                        raise RuntimeError(f"transcript answered {page.status_code}")
                with lock:
                    sign_ins.append(elapsed)
                    reads.extend(mine)

            started = time.perf_counter()
            with ThreadPoolExecutor(max_workers=args.concurrency) as pool:
                list(pool.map(visit, [u[0] for u in users]))
            wall = time.perf_counter() - started
            print(f"{len(users)} physicians, {args.concurrency} concurrent clients, "
                  f"gunicorn {args.workers} workers, {url.split(':', 1)[0]}")
            print(f"sign-ins:    {len(sign_ins):5d}  {latency(sign_ins, (0.90, 0.99))}")
            print(f"transcripts: {len(reads):5d}  {latency(reads, (0.90, 0.99))}")
            print(f"overall: {(len(reads) + len(sign_ins)) / wall:,.1f} page loads/s "
                  f"({len(reads) / wall:,.1f} transcripts/s) in {wall:.1f} s")
            idp.shutdown()
        except Exception:
            log = Path(tmp) / "gunicorn.log"
            if log.exists():
                print(log.read_text()[-3000:], file=sys.stderr)
            raise
        finally:
            if gunicorn is not None:
                gunicorn.send_signal(signal.SIGTERM)
                gunicorn.wait(timeout=30)
            drop_database(url, server_url)


if __name__ == "__main__":
    main()
