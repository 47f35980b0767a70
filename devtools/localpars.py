"""A PARS web service on 127.0.0.1 for tests and development: the contract, its rejections,
and its faults. Never used in production (it refuses to start with APP_ENV=production).

Real HTTP (a threaded ``http.server``), Basic authentication, POST
/learner-activities with one result per report, GET /learner-activities/status.
Faults are injected per request, either queued (``fail_next``) or at random
(``chaos``), and the server counts every add of a CreditID it already held
(``duplicate_adds``): the one thing the client must never cause.

``python -m devtools.localpars`` serves on a free port, prints its address, and when
its standard input closes prints what it stored as JSON (the benchmarks use it).
"""

from __future__ import annotations

import base64
import datetime as dt
import json
import random
import re
import socket
import threading
import time
from collections import Counter, deque
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

POST_FAULTS = ("error_before", "error_after", "timeout_before", "timeout_after", "drop_before",
               "drop_after", "rate_limit", "garbage_after")
GET_FAULTS = ("error", "timeout", "drop", "rate_limit")
_ACTIVITY_RE = re.compile(r"^\d{9}$")


@dataclass
class Post:
    at: float
    credit_ids: list[str]
    actions: list[str]
    fault: str | None
    status: int | None = None


@dataclass
class Stored:
    report: dict[str, Any]
    status: str = "Accepted"
    accepted_date: str = field(default_factory=lambda: dt.date.today().isoformat())


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def handle_error(self, request: Any, client_address: Any) -> None:
        # A client that gave up (timeout) makes the late write fail: expected here.
        pass


class FakePars:
    def __init__(self, *, user: str = "pars-user", password: str = "pars-secret",  # noqa: S107
                 provider_id: str = "0001234", slow_seconds: float = 1.0) -> None:
        self.user, self.password, self.provider_id = user, password, provider_id
        self.slow_seconds = slow_seconds
        self.lock = threading.Lock()
        self.records: dict[str, Stored] = {}
        self.duplicate_adds = 0
        self.adds_seen: Counter = Counter()
        self.posts: list[Post] = []
        self.lookups: list[tuple[float, str]] = []
        self.unregistered: set[str] = set()
        self.unmatched_last_names: set[str] = set()
        #: ``(board, board_id) -> (status, message)``; boards decide ``Pending`` otherwise.
        self.board_decisions: dict[tuple[str, str | None], tuple[str, str | None]] = {}
        self._faults: dict[str, deque] = {"POST": deque(), "GET": deque()}
        self._chaos: dict[str, tuple[float, tuple[str, ...]]] = {}
        self._rng = random.Random(0)  # noqa: S311 (fault injection, not security)
        self.retry_after = "1"
        self.pause_reached = threading.Event()
        self.pause_release = threading.Event()
        self.post_delay = 0.0
        #: Posts and look-ups received so far; ``wait_for_requests`` waits on the condition.
        self.requests_seen = 0
        self.request_arrived = threading.Condition(self.lock)
        self._server: _Server | None = None

    # -- control ----------------------------------------------------------

    @property
    def url(self) -> str:
        assert self._server is not None
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    def config(self) -> dict[str, Any]:
        """Application settings that point at this server."""
        return {"PARS_API_URL": self.url, "PARS_USER": self.user,
                "PARS_PASSWORD": self.password, "PARS_PROVIDER_ID": self.provider_id}

    def start(self, port: int = 0) -> FakePars:
        import os

        if os.environ.get("APP_ENV", "").strip().lower() == "production":
            raise RuntimeError("the local PARS service never runs with APP_ENV=production")
        fake = self

        class Handler(_Handler):
            server_state = fake

        self._server = _Server(("127.0.0.1", port), Handler)
        threading.Thread(target=self._server.serve_forever, daemon=True,
                         kwargs={"poll_interval": 0.05}).start()
        return self

    def stop(self) -> None:
        self.pause_release.set()
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()

    def fail_next(self, kind: str, method: str = "POST", times: int = 1) -> None:
        allowed = POST_FAULTS + ("unauthorized", "malformed", "pause") if method == "POST" \
            else GET_FAULTS + ("unauthorized",)
        assert kind in allowed, kind
        with self.lock:
            self._faults[method].extend([kind] * times)

    def chaos(self, rate: float, *, seed: int = 0, post: tuple[str, ...] = POST_FAULTS,
              get: tuple[str, ...] = GET_FAULTS) -> None:
        """Fail a share ``rate`` of requests with a fault chosen at random."""
        with self.lock:
            self._rng = random.Random(seed)  # noqa: S311
            self._chaos = {"POST": (rate, post), "GET": (rate, get)}

    def calm(self) -> None:
        with self.lock:
            self._chaos = {}
            for queue in self._faults.values():
                queue.clear()

    def _fault(self, method: str) -> str | None:
        with self.lock:
            if self._faults[method]:
                return self._faults[method].popleft()
            rate, kinds = self._chaos.get(method, (0.0, ()))
            if kinds and self._rng.random() < rate:
                return self._rng.choice(kinds)
        return None

    def wait_for_requests(self, count: int, timeout: float) -> bool:
        """Wait until ``count`` requests (posts and look-ups) have arrived since the start;
        False if ``timeout`` seconds pass first."""
        with self.request_arrived:
            return self.request_arrived.wait_for(lambda: self.requests_seen >= count, timeout)

    def _arrived(self) -> None:
        """Count a request that was just recorded (``lock`` held) and wake the waiters."""
        self.requests_seen += 1
        self.request_arrived.notify_all()

    # -- what the tests read ------------------------------------------------

    def accepted_ids(self) -> set[str]:
        with self.lock:
            return {c for c, r in self.records.items() if r.status == "Accepted"}

    def stored_reports(self) -> list[dict[str, Any]]:
        with self.lock:
            return [r.report for r in self.records.values() if r.status == "Accepted"]

    def posted_credit_ids(self) -> list[str]:
        with self.lock:
            return [c for p in self.posts for c in p.credit_ids]

    def natural_duplicates(self) -> int:
        """Accepted records that report the same completion twice (under different IDs)."""
        keys = Counter(
            (r["ActivityID"], r["CompletionDate"], r["Learner"]["LastName"],
             r["Learner"].get("NPI"))
            for r in self.stored_reports()
        )
        return sum(n - 1 for n in keys.values() if n > 1)

    # -- the contract ---------------------------------------------------------

    def authorised(self, header: str | None) -> bool:
        expected = base64.b64encode(f"{self.user}:{self.password}".encode()).decode()
        return header == f"Basic {expected}"

    def process(self, body: Any) -> tuple[int, dict[str, Any]]:
        """Validate and (for a well-formed document) store; what to answer."""
        problems = self._malformed(body)
        if problems:
            return 400, {"Errors": [{"Code": "MALFORMED", "Message": p} for p in problems]}
        results = []
        with self.lock:
            for report in body["ActivityReports"]:
                results.append(self._one(report))
        return 200, {"Results": results}

    def _malformed(self, body: Any) -> list[str]:
        if not isinstance(body, dict):
            return ["the body is not a JSON object"]
        if body.get("ProviderID") != self.provider_id:
            return ["ProviderID does not match the credentials"]
        reports = body.get("ActivityReports")
        if not isinstance(reports, list) or not 1 <= len(reports) <= 500:
            return ["ActivityReports must hold 1 to 500 reports"]
        problems = []
        for i, r in enumerate(reports):
            credit_id = r.get("CreditID") if isinstance(r, dict) else None
            if not isinstance(credit_id, str) or not credit_id.startswith("ccid:") \
                    or len(credit_id) > 300:
                problems.append(f"report {i}: CreditID is missing or invalid")
            elif r.get("LearnerRecordAction") not in ("add", "delete"):
                problems.append(f"report {i}: LearnerRecordAction must be add or delete")
            elif not isinstance(r.get("Learner"), dict) or not isinstance(r.get("Credits"), list):
                problems.append(f"report {i}: Learner and Credits are required")
        return problems

    def _one(self, r: dict[str, Any]) -> dict[str, Any]:
        credit_id = r["CreditID"]

        def rejected(code: str, message: str) -> dict[str, Any]:
            return {"CreditID": credit_id, "Status": "Rejected",
                    "Errors": [{"Code": code, "Message": message}]}

        if r["LearnerRecordAction"] == "delete":
            held = self.records.get(credit_id)
            if held is None or held.status != "Accepted":
                return rejected("UNKNOWN_CREDIT_ID", "No record with this CreditID")
            held.status = "Deleted"
            return {"CreditID": credit_id, "Status": "Accepted", "Errors": []}
        self.adds_seen[credit_id] += 1
        if credit_id in self.records:
            self.duplicate_adds += 1
            return rejected("DUPLICATE_CREDIT_ID", "A record with this CreditID exists")
        activity = str(r.get("ActivityID") or "")
        if not _ACTIVITY_RE.match(activity):
            return rejected("INVALID_ACTIVITY_ID", "ActivityID must have 9 digits")
        if activity in self.unregistered:
            return rejected("ACTIVITY_NOT_REGISTERED", "The activity is not registered")
        learner = r["Learner"]
        has_license = learner.get("LicenseState") and learner.get("LicenseNumber")
        if not (learner.get("FirstName") and learner.get("LastName")
                and learner.get("BirthMonthDay") and (learner.get("NPI") or has_license)):
            return rejected("MISSING_IDENTIFIER", "Name, birth month and day, and NPI or "
                            "license are required")
        for credit in r["Credits"]:
            if credit.get("Board") and not credit.get("BoardID") and credit["Board"] != "ABS":
                return rejected("MISSING_IDENTIFIER", "BoardID is required for board credit")
            try:
                amount = Decimal(str(credit.get("Amount")))
            except InvalidOperation:
                return rejected("INVALID_CREDIT_AMOUNT", "Amount is not a number")
            if amount <= 0 or amount % Decimal("0.25"):
                return rejected("INVALID_CREDIT_AMOUNT", "Amounts come in steps of 0.25")
        if learner["LastName"] in self.unmatched_last_names:
            return rejected("LEARNER_NOT_MATCHED", "No physician matches these identifiers")
        self.records[credit_id] = Stored(report=r)
        return {"CreditID": credit_id, "Status": "Accepted", "Errors": []}

    def status_of(self, credit_id: str) -> dict[str, Any] | None:
        with self.lock:
            held = self.records.get(credit_id)
            if held is None:
                return None
            boards = []
            for credit in held.report["Credits"]:
                if credit.get("Board"):
                    status, message = self.board_decisions.get(
                        (credit["Board"], credit.get("BoardID")), ("Pending", None))
                    if not any(b["Board"] == credit["Board"] for b in boards):
                        boards.append({"Board": credit["Board"], "Status": status,
                                       "Message": message})
            return {"CreditID": credit_id, "Status": held.status,
                    "AcceptedDate": held.accepted_date, "Boards": boards}


class _Handler(BaseHTTPRequestHandler):
    server_state: FakePars
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:  # quiet
        pass

    def _send(self, status: int, body: Any = None, headers: dict[str, str] | None = None,
              raw: bytes | None = None) -> None:
        data = raw if raw is not None else (b"" if body is None else json.dumps(body).encode())
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(data)

    def _drop(self) -> None:
        self.close_connection = True
        try:
            self.connection.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass

    def do_POST(self) -> None:  # noqa: N802
        fake = self.server_state
        raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        try:
            body = json.loads(raw)
        except ValueError:
            body = None
        reports = body.get("ActivityReports") if isinstance(body, dict) else None
        post = Post(time.monotonic(),
                    [r.get("CreditID") for r in reports or [] if isinstance(r, dict)],
                    [r.get("LearnerRecordAction") for r in reports or [] if isinstance(r, dict)],
                    None)
        with fake.lock:
            fake.posts.append(post)
            fake._arrived()
        if urlsplit(self.path).path != "/learner-activities":
            post.status = 404
            return self._send(404, {"Errors": [{"Code": "NOT_FOUND", "Message": "no such path"}]})
        if not fake.authorised(self.headers.get("Authorization")):
            post.status = 401
            return self._send(401, {"Errors": [{"Code": "UNAUTHORIZED", "Message": "bad login"}]})
        fault = post.fault = fake._fault("POST")
        if fake.post_delay:
            time.sleep(fake.post_delay)
        if fault == "pause":
            fake.pause_reached.set()
            fake.pause_release.wait(30)
            fault = None
        if fault == "unauthorized":
            post.status = 401
            return self._send(401, {"Errors": [{"Code": "UNAUTHORIZED", "Message": "bad login"}]})
        if fault == "malformed":
            post.status = 400
            return self._send(400, {"Errors": [{"Code": "MALFORMED", "Message": "injected"}]})
        if fault == "rate_limit":
            post.status = 429
            return self._send(429, {}, {"Retry-After": fake.retry_after})
        if fault == "error_before":
            post.status = 503
            return self._send(503, {})
        if fault == "drop_before":
            return self._drop()
        if fault == "timeout_before":
            time.sleep(fake.slow_seconds)
            post.status = 504
            return self._send(504, {})
        status, answer = fake.process(body)
        post.status = status
        if fault == "error_after" and status == 200:
            post.status = 500
            return self._send(500, {})
        if fault == "drop_after" and status == 200:
            return self._drop()
        if fault == "timeout_after" and status == 200:
            time.sleep(fake.slow_seconds)
        if fault == "garbage_after" and status == 200:
            return self._send(200, raw=b"{not json")
        return self._send(status, answer)

    def do_GET(self) -> None:  # noqa: N802
        fake = self.server_state
        url = urlsplit(self.path)
        if url.path != "/learner-activities/status":
            return self._send(404, {"Errors": [{"Code": "NOT_FOUND", "Message": "no such path"}]})
        if not fake.authorised(self.headers.get("Authorization")):
            return self._send(401, {})
        credit_id = (parse_qs(url.query).get("CreditId") or [""])[0]
        with fake.lock:
            fake.lookups.append((time.monotonic(), credit_id))
            fake._arrived()
        fault = fake._fault("GET")
        if fault == "unauthorized":
            return self._send(401, {})
        if fault == "rate_limit":
            return self._send(429, {}, {"Retry-After": fake.retry_after})
        if fault == "error":
            return self._send(503, {})
        if fault == "drop":
            return self._drop()
        if fault == "timeout":
            time.sleep(fake.slow_seconds)
        found = fake.status_of(credit_id)
        if found is None:
            return self._send(404, {})
        return self._send(200, found)


def main() -> None:
    """Serve until stdin closes, then print what was stored (for benchmarks)."""
    import sys

    server = FakePars().start()
    print(server.url, flush=True)
    sys.stdin.read()
    server.stop()
    print(json.dumps({"accepted": len(server.accepted_ids()), "posts": len(server.posts),
                      "duplicate_adds": server.duplicate_adds}), flush=True)


if __name__ == "__main__":
    main()
