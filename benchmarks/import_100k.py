"""Import a synthetic credit export of N rows and report time and peak memory.

    .venv/bin/python -m benchmarks.import_100k --rows 100000
    .venv/bin/python -m benchmarks.import_100k --rows 100000 --database-url postgresql://postgres@127.0.0.1:5432/test

Peak memory is the process's maximum resident set size (ru_maxrss), measured
separately for the run before the import (baseline) and across it, so the
figure printed is what the import itself added. Run with several sizes to see
that it stays flat as the file grows.
"""

from __future__ import annotations

import argparse
import csv
import datetime as dt
import resource
import tempfile
import time
from pathlib import Path

from devtools.database import create_database, drop_database, make_app, migrate
from webapp.credits.importer import import_credits
from webapp.credits.validation import COLUMNS
from webapp.extensions import db
from webapp.identifiers import npi_with_check_digit
from webapp.pars.policy import Policy


def write_file(path: Path, rows: int) -> None:
    """About 4 completions per learner, a board line on a third of them."""
    learners = max(rows // 4, 1)
    start = dt.date(2023, 7, 1)
    with path.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.DictWriter(fh, fieldnames=list(COLUMNS))
        writer.writeheader()
        for i in range(rows):
            n = i % learners
            board = i % 3 == 0
            writer.writerow({
                "learner_id": f"B{n:07d}", "first_name": f"First{n}", "last_name": f"Last{n}",
                "email": f"learner{n}@example.org", "degree": "MD",
                "npi": npi_with_check_digit(f"1{n:08d}"), "birth_month_day": "05-06",
                "license_state": "MI", "license_number": f"43{n:08d}",
                "activity_id": f"ACT{(n * 7 + i // learners) % 2000:04d}",
                "activity_title": "Benchmark activity", "accme_activity_id": "202300001",
                "completion_date": (start + dt.timedelta(days=(i * 7919) % 1200)).isoformat(),
                "cme_credits": "1.25",
                "board": "ABIM" if board else "", "board_id": f"{n:06d}" if board else "",
                "board_credit_type": "Medical Knowledge" if board else "",
                "board_credits": "1.25" if board else "", "consent": "",
            })


def maxrss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--database-url", default="")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        tmp_path = Path(tmp)
        server_url = args.database_url or None
        url = create_database(tmp_path, server_url)
        try:
            app = make_app(url, SQLALCHEMY_RECORD_QUERIES=False)
            migrate(app)
            csv_path = tmp_path / "export.csv"
            write_file(csv_path, args.rows)
            size_mb = csv_path.stat().st_size / 1e6
            with app.app_context():
                policy = Policy.from_config(app.config)
                before = maxrss_mib()
                t0 = time.perf_counter()
                with csv_path.open("rb") as fh:
                    summary = import_credits(db.session, fh, policy=policy, actor="benchmark")
                elapsed = time.perf_counter() - t0
                after = maxrss_mib()
                t1 = time.perf_counter()
                with csv_path.open("rb") as fh:
                    again = import_credits(db.session, fh, policy=policy, actor="benchmark")
                reimport = time.perf_counter() - t1
                peak = maxrss_mib()
                db.engine.dispose()
            print(f"database: {make_dialect(url)}; file: {args.rows} rows, {size_mb:.1f} MB")
            print(f"first import: {elapsed:.1f} s ({args.rows / elapsed:,.0f} rows/s); "
                  f"{summary.line()}")
            print(f"re-import (all unchanged): {reimport:.1f} s; "
                  f"{again.completions_unchanged} unchanged")
            print(f"peak RSS: {before:.0f} MiB before, {after:.0f} MiB after first import, "
                  f"{peak:.0f} MiB after re-import (growth {peak - before:.0f} MiB)")
        finally:
            drop_database(url, server_url)


def make_dialect(url: str) -> str:
    return url.split(":", 1)[0]


if __name__ == "__main__":
    main()
