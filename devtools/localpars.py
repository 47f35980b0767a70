"""A PARS web service on 127.0.0.1 for tests and development: the contract, its rejections,
and its faults. Never used in production (it refuses to start with APP_ENV=production).

It speaks version 2 of the project's contract (``docs/pars-web-service.md``): real HTTP
(a threaded ``http.server``), Basic authentication, POST /learner-activities taking an
``ACCMELearnerReports`` document and answering one result per report, GET
/learner-activities/status answering one entry per credit certificate. A report is
stored, deleted or rejected whole; it is kept under its delivery's CreditID (the
certificates' CreditIDs without their ``.<n>``), and every certificate finds it.

Faults are injected per request, either queued (``fail_next``) or at random
(``chaos``), and the server counts every add of a CreditID it already held
(``duplicate_adds``): the one thing the client must never cause. With
``validate=True`` (the tests and ``make run``) every posted document is checked
against the project's JSON Schema first and an invalid one is answered 400 with
the schema's complaint, and kept in ``invalid_documents``.

``realistic=True`` (``make run``) answers like a live service would: a few learners
are not matched (``LEARNER_NOT_MATCHED``), and the boards decide on what they got,
once a record has been looked up: mostly accepted, some rejected with a reason, some
still pending. Everything it decides follows from the record (a hash), so a demo
goes the same way every time. Tests keep it off: then boards decide only what
``board_decisions`` says, and every well-formed record is accepted.

``python -m devtools.localpars`` serves on a free port, prints its address, and when
its standard input closes prints what it stored as JSON (the benchmarks use it).
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
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

from webapp.boards import board

POST_FAULTS = ("error_before", "error_after", "timeout_before", "timeout_after", "drop_before",
               "drop_after", "rate_limit", "garbage_after")
GET_FAULTS = ("error", "timeout", "drop", "rate_limit")
_ACTIVITY_RE = re.compile(r"^\d{9}$")
_STATE_RE = re.compile(r"^[A-Z]{2}$")
_CERTIFICATE_RE = re.compile(r"^(.+)\.\d+$")
AMA = "AMA PRA Category 1 Credit"
#: Reasons a board gives in realistic mode.
BOARD_REASONS = ("Board ID not found", "Name does not match the board's records",
                 "Activity not approved for MOC by the board")


def report_key(credit_id: str) -> str:
    """The delivery CreditID a certificate's CreditID belongs to (``…:<uuid>.2`` → ``…:<uuid>``)."""
    match = _CERTIFICATE_RE.match(credit_id)
    return match.group(1) if match else credit_id


def certificates_of(report: dict[str, Any]) -> list[dict[str, Any]]:
    return report["Activity"]["Module"]["CreditCertificate"]


def _bucket(*parts: Any) -> int:
    """0-99, the same for the same parts in every run (not Python's salted hash)."""
    digest = hashlib.sha256("|".join(str(p) for p in parts).encode()).digest()
    return int.from_bytes(digest[:4], "big") % 100


@dataclass
class Post:
    at: float
    #: The delivery CreditID of each report, in order.
    credit_ids: list[str]
    actions: list[str]
    fault: str | None
    status: int | None = None
    #: Each report's certificate CreditIDs.
    certificate_ids: list[list[str]] = field(default_factory=list)


@dataclass
class Stored:
    report: dict[str, Any]
    #: ``Accepted`` or ``Deleted``.
    status: str = "Accepted"
    accepted_date: str = field(default_factory=lambda: dt.date.today().isoformat())
    #: Status look-ups so far (realistic boards decide once they have been asked).
    lookups: int = 0


def _reports(body: Any) -> list[Any] | None:
    try:
        reports = body["ACCMELearnerReports"]["ActivityReports"]["ActivityReport"]
    except (KeyError, TypeError):
        return None
    return reports if isinstance(reports, list) else None


def _certificate_ids(report: Any) -> list[str]:
    try:
        return [str(c.get("CreditID")) for c in certificates_of(report)]
    except (KeyError, TypeError, AttributeError):
        return []


def _action(report: Any) -> str | None:
    try:
        return report["XtensibleInfo"]["LearnerRecordAction"]
    except (KeyError, TypeError):
        return None


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def handle_error(self, request: Any, client_address: Any) -> None:
        # A client that gave up (timeout) makes the late write fail: expected here.
        pass


class FakePars:
    def __init__(self, *, user: str = "pars-user", password: str = "pars-secret",  # noqa: S107
                 provider_id: str = "0001234", slow_seconds: float = 1.0,
                 validate: bool = False, realistic: bool = False) -> None:
        self.user, self.password, self.provider_id = user, password, provider_id
        self.slow_seconds = slow_seconds
        self.realistic = realistic
        self.lock = threading.Lock()
        #: Reports held, by delivery CreditID; ``_by_certificate`` finds them by certificate.
        self.records: dict[str, Stored] = {}
        self._by_certificate: dict[str, str] = {}
        self.duplicate_adds = 0
        self.adds_seen: Counter = Counter()
        self.posts: list[Post] = []
        #: Status look-ups: when, and the delivery CreditID of the certificate asked about;
        #: ``asked`` holds the certificate CreditIDs themselves.
        self.lookups: list[tuple[float, str]] = []
        self.asked: list[str] = []
        self.unregistered: set[str] = set()
        self.unmatched_last_names: set[str] = set()
        #: Completion years whose reporting PARS has closed (``REPORTING_YEAR_CLOSED``).
        self.closed_years: set[int] = set()
        #: ``(board, board_id) -> (status, message)``; boards decide ``Pending`` otherwise
        #: (or, in realistic mode, as the record's hash says).
        self.board_decisions: dict[tuple[str, str | None], tuple[str, str | None]] = {}
        #: The answer to a post PARS processed: the contract allows 201 and 200.
        self.created_status = 201
        self._validator = _schema_validator() if validate else None
        #: ``(document, complaint)`` for every post the schema refused (with ``validate``).
        self.invalid_documents: list[tuple[Any, str]] = []
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
        if method == "POST":
            allowed = POST_FAULTS + ("unauthorized", "malformed", "pause", "short_results_after")
        else:
            allowed = GET_FAULTS + ("unauthorized",)
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
        """Delivery CreditIDs of the reports PARS holds (not deleted)."""
        with self.lock:
            return {c for c, r in self.records.items() if r.status == "Accepted"}

    def stored_reports(self) -> list[dict[str, Any]]:
        with self.lock:
            return [r.report for r in self.records.values() if r.status == "Accepted"]

    def posted_credit_ids(self) -> list[str]:
        """Delivery CreditIDs of every report posted, in order."""
        with self.lock:
            return [c for p in self.posts for c in p.credit_ids]

    def natural_duplicates(self) -> int:
        """Accepted records that report the same completion twice (under different IDs)."""
        keys = Counter(
            (r["Activity"]["Module"]["ModuleName"]["moduleID"],
             r["Activity"]["Module"]["CompletedDateTime"], r["Member"]["Name"]["FamilyName"],
             tuple(sorted((u["domain"], u["value"]) for c in certificates_of(r)
                          for u in c["UniqueID"])))
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
        reports = _reports(body)
        assert reports is not None
        with self.lock:
            results = [self._one(report) for report in reports]
        return self.created_status, {"Results": results}

    def _malformed(self, body: Any) -> list[str]:
        if self._validator is not None:
            errors = sorted(self._validator.iter_errors(body), key=lambda e: list(e.path))
            if errors:
                complaints = [f"{'/'.join(str(p) for p in e.path) or 'document'}: {e.message}"
                              for e in errors[:5]]
                with self.lock:
                    self.invalid_documents.append((body, "; ".join(complaints)))
                return complaints
        reports = _reports(body)
        if reports is None:
            return ["the body is not an ACCMELearnerReports document"]
        if not 1 <= len(reports) <= 500:
            return ["ActivityReport must hold 1 to 500 reports"]
        problems = []
        for i, r in enumerate(reports):
            ids = _certificate_ids(r)
            if not isinstance(r, dict) or not ids:
                problems.append(f"report {i}: at least one CreditCertificate is required")
            elif any(not c.startswith("ccid:") or len(c) > 300 for c in ids):
                problems.append(f"report {i}: a CreditID is missing or invalid")
            elif _action(r) not in ("add", "delete"):
                problems.append(f"report {i}: LearnerRecordAction must be add or delete")
            elif r.get("Activity", {}).get("ProviderOrganization") != self.provider_id:
                problems.append(f"report {i}: ProviderOrganization does not match the "
                                "credentials")
            elif len({report_key(c) for c in ids}) != 1:
                problems.append(f"report {i}: certificates of more than one record")
        return problems

    def _held(self, certificate: str) -> Stored | None:
        """The report a certificate's CreditID belongs to, if PARS holds it."""
        return self.records.get(self._by_certificate.get(certificate, report_key(certificate)))

    def _one(self, r: dict[str, Any]) -> dict[str, Any]:
        ids = _certificate_ids(r)
        key = report_key(ids[0])

        def answer(status: str, *errors: tuple[str, str, str]) -> dict[str, Any]:
            return {"CreditIDs": ids, "Status": status,
                    "Errors": [{"Code": code, "Message": message, "CreditID": credit_id}
                               for code, message, credit_id in errors]}

        def rejected(code: str, message: str, credit_id: str | None = None) -> dict[str, Any]:
            return answer("Rejected", (code, message, credit_id or ids[0]))

        if _action(r) == "delete":
            held = self._held(ids[0])
            if held is None or held.status != "Accepted":
                return rejected("UNKNOWN_CREDIT_ID", "No record with this CreditID")
            held.status = "Deleted"
            return answer("Accepted")
        self.adds_seen[key] += 1
        duplicates = [c for c in ids if self._held(c) is not None]
        if duplicates:
            self.duplicate_adds += 1
            return answer("Rejected", *(("DUPLICATE_CREDIT_ID", "A record with this CreditID "
                                         "exists", c) for c in duplicates))
        module = r["Activity"]["Module"]
        activity = str(module.get("ModuleName", {}).get("moduleID") or "")
        if not _ACTIVITY_RE.match(activity):
            return rejected("INVALID_ACTIVITY_ID", "moduleID must be ACCME's 9-digit activity ID")
        if activity in self.unregistered:
            return rejected("ACTIVITY_NOT_REGISTERED", "The activity is not registered")
        completed = str(module.get("CompletedDateTime") or "")
        if completed[:4].isdigit() and int(completed[:4]) in self.closed_years:
            return rejected("REPORTING_YEAR_CLOSED", "PARS no longer accepts learner data for "
                            "that year")
        member = r.get("Member") or {}
        name = member.get("Name") or {}
        if not (name.get("GivenName") and name.get("FamilyName")
                and (member.get("PersonalInfo") or {}).get("BirthDate")):
            return rejected("MISSING_IDENTIFIER", "Name and birth month and day are required")
        for cert in certificates_of(r):
            problem = self._certificate_problem(cert)
            if problem is not None:
                return rejected(*problem, cert["CreditID"])
        if name["FamilyName"] in self.unmatched_last_names or (
                self.realistic and _bucket("learner", name["GivenName"], name["FamilyName"],
                                           member["PersonalInfo"]["BirthDate"], activity) < 3):
            return rejected("LEARNER_NOT_MATCHED", "No physician matches these identifiers")
        self.records[key] = Stored(report=r)
        for c in ids:
            self._by_certificate[c] = key
        return answer("Accepted")

    @staticmethod
    def _certificate_problem(cert: dict[str, Any]) -> tuple[str, str] | None:
        credit = cert.get("CreditReceived") or {}
        certification = str(credit.get("activityCertification") or "")
        domains = {u.get("domain") for u in cert.get("UniqueID") or () if u.get("value")}
        if certification == AMA or not certification:
            if "NPI" not in domains and not any(_STATE_RE.match(str(d)) for d in domains):
                return ("MISSING_IDENTIFIER", "An NPI or a state license is required")
        else:
            # Boards that match on name and birth month and day need no board ID.
            code = certification.split(" ", 1)[0]
            entry = board(code)
            if code not in domains and (entry is None or entry.needs_board_id):
                return ("MISSING_IDENTIFIER", f"The {code} board ID is required")
        try:
            amount = Decimal(str(credit.get("numberOfCredits")))
        except InvalidOperation:
            return ("INVALID_CREDIT_AMOUNT", "numberOfCredits is not a number")
        if not amount.is_finite() or amount <= 0 or amount % Decimal("0.25"):
            return ("INVALID_CREDIT_AMOUNT", "Credits come in steps of 0.25")
        return None

    def status_of(self, credit_id: str) -> list[dict[str, Any]] | None:
        """The status answer for any certificate's CreditID: one entry per certificate."""
        with self.lock:
            held = self._held(credit_id)
            if held is None:
                return None
            held.lookups += 1
            module = held.report.get("Activity", {}).get("Module", {})
            entries = []
            for cert in module.get("CreditCertificate") or ():
                entry: dict[str, Any] = {
                    "CreditID": cert["CreditID"],
                    "moduleID": module.get("ModuleName", {}).get("moduleID"),
                    "CompletedDateTime": module.get("CompletedDateTime"),
                    "Status": "Completed" if held.status == "Accepted" else "Deleted",
                    "AcceptedDate": held.accepted_date,
                }
                certification = cert["CreditReceived"]["activityCertification"]
                if certification != AMA:
                    status, message = self._board_decision(cert, held)
                    entry["BoardStatus"] = {"Status": status}
                    if message:
                        entry["BoardStatus"]["Message"] = message
                entries.append(entry)
            return entries

    def _board_decision(self, cert: dict[str, Any], held: Stored) -> tuple[str, str | None]:
        code = cert["CreditReceived"]["activityCertification"].split(" ", 1)[0]
        board_id = next((u["value"] for u in cert["UniqueID"] if u["domain"] == code), None)
        decided = self.board_decisions.get((code, board_id))
        if decided is not None:
            return decided
        if not self.realistic or held.status != "Accepted":
            return "Pending", None
        # A board decides on what it received, once PARS has been asked about it: most
        # accept; some reject with a reason; some take another look-up; a few take longer.
        bucket = _bucket("board", cert["CreditID"])
        if bucket < 72:
            return "Accepted", None
        if bucket < 84:
            return "Rejected", BOARD_REASONS[bucket % len(BOARD_REASONS)]
        if bucket < 92 and held.lookups > 1:
            return "Accepted", None
        return "Pending", None


def _schema_validator() -> Any:
    """A validator of the project's JSON Schema of the documents sent to PARS."""
    from jsonschema import Draft202012Validator

    from webapp.pars.client import schema

    return Draft202012Validator(schema())


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
        reports = [r for r in _reports(body) or [] if isinstance(r, dict)]
        certificates = [_certificate_ids(r) for r in reports]
        post = Post(time.monotonic(), [report_key(ids[0]) if ids else "" for ids in certificates],
                    [str(_action(r)) for r in reports], None, certificate_ids=certificates)
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
        processed = status in (200, 201)
        if fault == "error_after" and processed:
            post.status = 500
            return self._send(500, {})
        if fault == "drop_after" and processed:
            return self._drop()
        if fault == "timeout_after" and processed:
            time.sleep(fake.slow_seconds)
        if fault == "garbage_after" and processed:
            return self._send(status, raw=b"{not json")
        if fault == "short_results_after" and processed:  # stored, but one result missing
            return self._send(status, {"Results": answer["Results"][:-1]})
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
            fake.lookups.append((time.monotonic(), report_key(credit_id)))
            fake.asked.append(credit_id)
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
    import argparse
    import sys

    parser = argparse.ArgumentParser(description="A local PARS web service (development only)")
    parser.add_argument("--validate", action="store_true",
                        help="check every posted document against the project's JSON Schema")
    args = parser.parse_args()
    server = FakePars(validate=args.validate).start()
    print(server.url, flush=True)
    sys.stdin.read()
    server.stop()
    print(json.dumps({"accepted": len(server.accepted_ids()), "posts": len(server.posts),
                      "duplicate_adds": server.duplicate_adds,
                      "invalid_documents": len(server.invalid_documents)}), flush=True)


if __name__ == "__main__":
    main()
