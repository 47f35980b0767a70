"""Transmit N records to the fake PARS server; compare with a bare client loop.

    .venv/bin/python -m benchmarks.pars_transmit --records 20000 100000
    .venv/bin/python -m benchmarks.pars_transmit --records 100000 --database-url postgresql://postgres@127.0.0.1:5432/test

For each size it builds a database of N eligible completions (a third with
board credit), starts the fake server in a process of its own, and runs
``flask pars transmit`` as a child process (planning included); then, against
a fresh server, a bare loop that only builds the same kind of record, turns it
into the same version-2 document with the client's own builder, posts it in the
same batches with ``requests`` and reads the results as the client does. Peak
memory is each child's maximum resident set size; CPU time is each child's own
(and the local PARS service's), which a busy machine changes far less than the
elapsed time. It measures; it does not assert.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from sqlalchemy import insert

from devtools.database import create_database, drop_database, make_app, migrate
from webapp.extensions import db
from webapp.identifiers import npi_with_check_digit
from webapp.models import (
    Activity,
    BoardCertification,
    BoardCredit,
    Completion,
    Learner,
    License,
)

ROOT = Path(__file__).resolve().parent.parent
CHUNK = 5000
PER_LEARNER = 4

BARE_LOOP = r'''
import sys, uuid, requests
from webapp.pars.client import document, read_results, reports_of
url, user, password, records, batch = sys.argv[1:6]
records, batch = int(records), int(batch)
http = requests.Session()
http.auth = (user, password)
def record(n):
    return {"credit_id": f"ccid:0001234:{uuid.uuid4()}", "action": "add",
            "activity_id": "202300001", "activity_title": "Benchmark activity",
            "completion_date": "2026-11-01", "first_name": f"First{n}", "last_name": f"Last{n}",
            "birth_month_day": "05-06", "npi": "1234567893", "license_state": "MI",
            "license_number": f"43{n:08d}", "cme_credits": "1.25",
            "boards": [{"board": "ABIM", "board_id": f"{n:06d}", "credit_type": "Medical Knowledge",
                        "credits": "1.25"}] if n % 3 == 0 else []}
sent = 0
while sent < records:
    size = min(batch, records - sent)
    batch_records = [record(sent + i) for i in range(size)]
    body = document(batch_records, provider_id="0001234", reporting_organization="Lakeshore Health")
    response = http.post(url + "/learner-activities", json=body, timeout=(5, 30))
    response.raise_for_status()
    results = read_results(response.json(), batch_records, reports_of(body))
    assert all(r.accepted for r in results)
    sent += size
'''


def populate(records: int) -> None:
    """N completions by N/4 physicians, written with bulk inserts."""
    learners = max(records // PER_LEARNER, 1)
    today = dt.date.today()
    db.session.execute(insert(Activity), [
        {"id": a, "source_id": f"ACT{a}", "title": "Benchmark activity",
         "accme_activity_id": f"{202300000 + a}"} for a in range(1, 201)])
    for start in range(0, learners, CHUNK):
        ids = range(start + 1, min(start + CHUNK, learners) + 1)
        db.session.execute(insert(Learner), [
            {"id": n, "source_id": f"B{n}", "first_name": f"First{n}", "last_name": f"Last{n}",
             "email": f"b{n}@example.org", "degree": "MD",
             "npi": npi_with_check_digit(f"1{n:08d}"), "birth_month_day": "05-06"}
            for n in ids])
        db.session.execute(insert(License), [
            {"learner_id": n, "state": "MI", "number": f"43{n:08d}"} for n in ids])
        db.session.execute(insert(BoardCertification), [
            {"learner_id": n, "board": "ABIM", "board_id": f"{n:06d}"} for n in ids])
    for start in range(0, records, CHUNK):
        ids = range(start + 1, min(start + CHUNK, records) + 1)
        db.session.execute(insert(Completion), [
            {"id": c, "learner_id": (c - 1) % learners + 1,
             "activity_id": (c - 1) // learners % 200 + 1,
             "completion_date": today - dt.timedelta(days=1 + (c - 1) // learners),
             "cme_credits": "1.25"} for c in ids])
        db.session.execute(insert(BoardCredit), [
            {"completion_id": c, "board": "ABIM", "credit_type": "Medical Knowledge",
             "credits": "1.25"} for c in ids if c % 3 == 0])
    db.session.commit()


def start_server() -> tuple[subprocess.Popen, str]:
    server = subprocess.Popen(  # noqa: S603
        [sys.executable, "-m", "devtools.localpars"], cwd=ROOT, stdin=subprocess.PIPE,
        stdout=subprocess.PIPE, text=True)
    return server, server.stdout.readline().strip()


def stop_server(server: subprocess.Popen) -> dict:
    out, _ = server.communicate("", timeout=60)
    return json.loads(out.strip().splitlines()[-1])


def _high_water_mib(pid: int) -> float:
    """The process's peak resident set size so far (VmHWM), in MiB; 0 once it is gone."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except (FileNotFoundError, ProcessLookupError):
        pass
    return 0.0


def _cpu_seconds(pid: int) -> float:
    """User and system CPU seconds a running process has used so far (from /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def child(args: list[str], env: dict[str, str] | None = None) -> tuple[float, float, float, str]:
    """Seconds, peak RSS (MiB) and CPU seconds of one child process.

    The peak is sampled from /proc while the child runs: its own rusage would
    include the memory of this (forking) process. CPU time says what the work
    costs however busy the machine is; wall time is what a run takes.
    """
    with tempfile.TemporaryFile("w+") as out:
        started = time.perf_counter()
        proc = subprocess.Popen(args, cwd=ROOT, env=env, stdout=out,  # noqa: S603
                                stderr=subprocess.STDOUT, text=True)
        peak = 0.0
        while True:
            pid, status, usage = os.wait4(proc.pid, os.WNOHANG)
            if pid:
                break
            peak = max(peak, _high_water_mib(proc.pid))
            time.sleep(0.02)
        seconds = time.perf_counter() - started
        proc.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        text = out.read()
    if proc.returncode != 0:
        raise SystemExit(f"{args[0]} failed ({proc.returncode}): {text}")
    cpu = usage.ru_utime + usage.ru_stime
    return seconds, peak, cpu, (text.strip().splitlines() or [""])[-1]


def measure(records: int, batch: int, tmp: Path, server_url: str | None = None) -> dict:
    url = create_database(tmp, server_url)
    try:
        app = make_app(url, SQLALCHEMY_RECORD_QUERIES=False)
        migrate(app)
        with app.app_context():
            populate(records)
            db.session.remove()
            db.engine.dispose()
        server, pars_url = start_server()
        # development, not testing: tests record every query in memory (Flask-SQLAlchemy).
        env = {**os.environ, "DATABASE_URL": url, "APP_ENV": "development",
               "PARS_API_URL": pars_url, "PARS_USER": "pars-user",
               "PARS_PASSWORD": "pars-secret", "PARS_BATCH_SIZE": str(batch)}
        seconds, peak, cpu, line = child([str(Path(sys.executable).with_name("flask")),
                                          "--app", "wsgi", "pars", "transmit"], env)
        server_cpu = _cpu_seconds(server.pid)
        stats = stop_server(server)
        server, pars_url = start_server()
        bare_seconds, bare_peak, bare_cpu, _ = child(
            [sys.executable, "-c", BARE_LOOP, pars_url, "pars-user", "pars-secret", str(records),
             str(batch)])
        bare_server_cpu = _cpu_seconds(server.pid)
        bare_stats = stop_server(server)
        return {"records": records, "engine_s": seconds, "engine_rps": records / seconds,
                "engine_peak_mib": peak, "engine_cpu": cpu, "server_cpu": server_cpu,
                "bare_s": bare_seconds, "bare_rps": records / bare_seconds,
                "bare_peak_mib": bare_peak, "bare_cpu": bare_cpu,
                "bare_server_cpu": bare_server_cpu,
                "accepted": stats["accepted"], "duplicates": stats["duplicate_adds"],
                "bare_accepted": bare_stats["accepted"], "summary": line,
                "database": url.split(":", 1)[0]}
    finally:
        drop_database(url, server_url)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, nargs="+", default=[20_000, 100_000])
    parser.add_argument("--batch-size", type=int, default=500)
    parser.add_argument("--database-url", default="")
    args = parser.parse_args()
    for records in sorted(args.records):
        with tempfile.TemporaryDirectory() as tmp:
            r = measure(records, args.batch_size, Path(tmp), args.database_url or None)
        print(f"{r['records']:>7} records ({r['database']}): engine {r['engine_s']:.1f} s, "
              f"{r['engine_rps']:,.0f} records/s, CPU {r['engine_cpu']:.1f} s (PARS service "
              f"{r['server_cpu']:.1f} s), peak RSS {r['engine_peak_mib']:.0f} MiB, "
              f"{r['accepted']} accepted, {r['duplicates']} duplicate adds | bare client loop "
              f"{r['bare_s']:.1f} s, {r['bare_rps']:,.0f} records/s, CPU {r['bare_cpu']:.1f} s "
              f"(PARS service {r['bare_server_cpu']:.1f} s), peak RSS "
              f"{r['bare_peak_mib']:.0f} MiB | engine at {r['engine_rps'] / r['bare_rps']:.0%} of "
              f"the bare loop's records/s", flush=True)
        print(f"        {r['summary']}", flush=True)


if __name__ == "__main__":
    main()
