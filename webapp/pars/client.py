"""The PARS web-service adapter: the one module that knows the wire format.

It speaks version 2 of the project's PARS web-service contract (ACCME's
``ACCMELearnerReports`` document, one credit certificate per kind of credit,
each under its own CreditID), described in ``docs/pars-web-service.md``; the
JSON Schema of what it sends is ``schema/learner_reports.schema.json`` beside
this module. JSON over HTTP with Basic authentication, a connect and a read
timeout on every call, and retries with exponential backoff and jitter,
honouring ``Retry-After``.

What a failure means decides what the engine may do next, so every failure is
one of a few exceptions:

* ``NotSent``: PARS certainly stored nothing (429, no connection was made).
* ``OutcomeUnknown``: a post may or may not have been stored (timeout, 5xx,
  dropped connection, an answer that does not fit the request). Never send
  again before a status look-up settles it. Posts are never retried here.
* ``Malformed``: PARS refused the document (400); nothing stored.
* ``Unauthorized`` / ``Refused``: credentials or address are wrong; stop.
* ``LookupFailed``: a status look-up got no answer after its retries, or one
  that does not describe the record asked about.

Nothing personal is logged: only counts, status codes and CreditIDs.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from importlib import resources
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import requests
from requests.adapters import HTTPAdapter
from tenacity import Retrying, retry_if_exception, stop_after_attempt, wait_random_exponential
from urllib3.exceptions import ConnectTimeoutError, MaxRetryError, NewConnectionError

from webapp.cme_credit import AMA_CREDIT_TYPE
from webapp.pars.settings import Settings

log = logging.getLogger(__name__)

SUBMIT_PATH = "/learner-activities"
STATUS_PATH = "/learner-activities/status"


class ParsError(Exception):
    pass


class NotSent(ParsError):
    def __init__(self, message: str, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class OutcomeUnknown(ParsError):
    pass


class Malformed(ParsError):
    pass


class Unauthorized(ParsError):
    pass


class Refused(ParsError):
    """PARS answered in a way that means the configuration is wrong (e.g. 404 on a post)."""


class LookupFailed(ParsError):
    pass


class _Transient(Exception):
    """A failure after which the same request may be made again safely."""

    def __init__(self, message: str, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after


@dataclass(frozen=True)
class Result:
    credit_id: str
    accepted: bool
    #: ``(code, message)`` pairs; the message is PARS's own text.
    errors: tuple[tuple[str, str], ...] = ()

    @property
    def code(self) -> str | None:
        return self.errors[0][0] if self.errors else None

    @property
    def codes(self) -> frozenset[str]:
        return frozenset(code for code, _ in self.errors)

    @property
    def message(self) -> str | None:
        return "; ".join(m for _, m in self.errors if m) or None


@dataclass(frozen=True)
class BoardDecision:
    board: str
    #: ``pending``, ``accepted`` or ``rejected``.
    status: str
    message: str | None


@dataclass(frozen=True)
class RecordStatus:
    credit_id: str
    #: ``accepted`` or ``deleted``.
    status: str
    accepted_date: dt.date | None
    boards: tuple[BoardDecision, ...]


# -- the document ---------------------------------------------------------------

#: What ``activityCertification`` says of AMA PRA Category 1 credit.
AMA_CERTIFICATION = AMA_CREDIT_TYPE
CREDIT_UNIT = "Point"
#: ``CompletedDateTime`` is the completion date at noon, so no time-zone reading moves the day.
COMPLETED_AT = "T12:00:00"
#: The JSON Schema every document this module builds satisfies (checked in the tests).
SCHEMA = "schema/learner_reports.schema.json"



def schema() -> dict[str, Any]:
    """The JSON Schema of the documents ``document`` builds."""
    return json.loads(resources.files(__package__).joinpath(SCHEMA).read_text("utf-8"))


try:  # PARS reads date-times without a zone as Central time.
    _CENTRAL: dt.tzinfo = ZoneInfo("America/Chicago")
except ZoneInfoNotFoundError:  # no time-zone database on this host: near enough
    _CENTRAL = dt.UTC


def certificate_id(credit_id: str, n: int) -> str:
    """The CreditID of a delivery's ``n``-th certificate (from 1)."""
    return f"{credit_id}.{n}"


def _credits(amount: str) -> float:
    # Amounts are exact text in the record (steps of 0.25, exact in binary too).
    return float(Decimal(amount))


def _learner_ids(r: dict[str, Any]) -> list[dict[str, str]]:
    ids = []
    if r.get("npi"):
        ids.append({"value": r["npi"], "domain": "NPI"})
    if r.get("license_state") and r.get("license_number"):
        ids.append({"value": r["license_number"], "domain": r["license_state"]})
    return ids


def certificates(r: dict[str, Any]) -> list[dict[str, Any]]:
    """A record's ``CreditCertificate`` list, in the fixed order that numbers them:
    AMA PRA Category 1 credit first (none for a board-only completion, whose
    ``cme_credits`` is 0), then each board credit line in the record's order."""
    learner = _learner_ids(r)
    certs: list[dict[str, Any]] = []
    if Decimal(r["cme_credits"]) > 0:
        certs.append({
            "CreditID": certificate_id(r["credit_id"], 1),
            "UniqueID": learner,
            "CreditReceived": {"activityCertification": AMA_CERTIFICATION,
                               "creditUnit": CREDIT_UNIT,
                               "numberOfCredits": _credits(r["cme_credits"])},
        })
    for line in r["boards"]:
        # The board matches on its own ID; ABS needs none, and then PARS's own
        # identifiers stand in for it.
        board_id = line.get("board_id")
        ids = [{"value": board_id, "domain": line["board"]}] if board_id else learner
        certs.append({
            "CreditID": certificate_id(r["credit_id"], len(certs) + 1),
            "UniqueID": ids,
            "CreditReceived": {"activityCertification": f"{line['board']} {line['credit_type']}",
                               "creditUnit": CREDIT_UNIT,
                               "numberOfCredits": _credits(line["credits"])},
        })
    return certs


def certificate_boards(r: dict[str, Any]) -> dict[str, str]:
    """Board code by certificate CreditID, for the board certificates of a record."""
    first = 2 if Decimal(r["cme_credits"]) > 0 else 1
    return {certificate_id(r["credit_id"], first + i): line["board"]
            for i, line in enumerate(r["boards"])}


def report(r: dict[str, Any], *, provider_id: str, reporting_organization: str) -> dict[str, Any]:
    """One ``ActivityReport``: the record (``webapp.pars.record`` form) as PARS reads it.

    A delete is the add's report again (the same certificates and CreditIDs) with
    the action ``delete``: ``record.as_delete`` keeps the add's record for that.
    """
    return {
        "ReportingOrganization": reporting_organization,
        "Member": {"Name": {"GivenName": r["first_name"], "FamilyName": r["last_name"]},
                   "PersonalInfo": {"BirthDate": r["birth_month_day"]}},
        "Activity": {
            "ProviderOrganization": provider_id,
            "Module": {
                "ModuleName": {"value": r["activity_title"], "moduleID": r["activity_id"]},
                "Status": "Completed",
                "CompletedDateTime": r["completion_date"] + COMPLETED_AT,
                "CreditCertificate": certificates(r),
            },
        },
        "XtensibleInfo": {"ProviderID": provider_id, "LearnerRecordAction": r["action"]},
    }


def document(records: list[dict[str, Any]], *, provider_id: str, reporting_organization: str,
             created: dt.datetime | None = None) -> dict[str, Any]:
    """The request body for ``records``: an ``ACCMELearnerReports`` document."""
    created = (created or dt.datetime.now(_CENTRAL)).replace(microsecond=0, tzinfo=None)
    return {"ACCMELearnerReports": {"ActivityReports": {
        "DateTimeCreated": created.isoformat(),
        "ActivityReport": [report(r, provider_id=provider_id,
                                  reporting_organization=reporting_organization)
                           for r in records],
    }}}


def reports_of(body: dict[str, Any]) -> list[dict[str, Any]]:
    """The ``ActivityReport`` list of a document ``document`` built."""
    return body["ACCMELearnerReports"]["ActivityReports"]["ActivityReport"]


def report_credit_ids(built: dict[str, Any]) -> list[str]:
    """The certificate CreditIDs of one built ``ActivityReport``, in order."""
    return [c["CreditID"] for c in built["Activity"]["Module"]["CreditCertificate"]]


def read_results(answer: Any, records: list[dict[str, Any]],
                 reports: list[dict[str, Any]]) -> list[Result]:
    """PARS's answer to a post of ``reports`` (built from ``records``), one ``Result``
    per record; ``ValueError`` (or ``KeyError``/``TypeError``) when it does not match."""
    items = answer["Results"]
    if not isinstance(items, list) or len(items) != len(reports):
        raise ValueError("not one result per report")
    results = []
    for item, record, sent in zip(items, records, reports, strict=True):
        expected = report_credit_ids(sent)
        got = item["CreditIDs"]
        if not isinstance(got, list) or sorted(got) != sorted(expected):
            raise ValueError("results out of order")
        if item["Status"] not in ("Accepted", "Rejected"):
            raise ValueError("unknown result status")
        errors = tuple((str(e.get("Code") or ""), str(e.get("Message") or ""))
                       for e in item.get("Errors") or ())
        results.append(Result(record["credit_id"], item["Status"] == "Accepted", errors))
    return results


_RECORD_STATUS = {"Completed": "accepted", "Deleted": "deleted"}
_BOARD_STATUS = {"Pending": "pending", "Accepted": "accepted", "Rejected": "rejected"}
#: When a board has several certificates on one record: the decision that matters most.
_BOARD_ORDER = ("rejected", "pending", "accepted")


def read_status(entries: Any, credit_id: str,
                boards: dict[str, str] | None = None) -> RecordStatus:
    """A status answer (one entry per certificate) as a ``RecordStatus``; ``ValueError``
    (or ``KeyError``/``TypeError``) when it does not describe delivery ``credit_id``.

    ``boards`` (``certificate_boards`` of the record) names the board of each board
    certificate; without it no board decision is read.
    """
    if not isinstance(entries, list) or not entries:
        raise ValueError("not a list of certificates")
    prefix = credit_id + "."
    states = set()
    accepted: dt.date | None = None
    decided: dict[str, list[tuple[str, str | None]]] = {}
    for entry in entries:
        cert = entry["CreditID"]
        if not isinstance(cert, str) or not cert.startswith(prefix):
            raise ValueError("a certificate of another record")
        states.add(_RECORD_STATUS[entry["Status"]])
        if entry.get("AcceptedDate") and accepted is None:
            accepted = dt.date.fromisoformat(entry["AcceptedDate"])
        board = (boards or {}).get(cert)
        found = entry.get("BoardStatus")
        if board is not None and found:
            message = found.get("Message") or None
            decided.setdefault(board, []).append(
                (_BOARD_STATUS[found["Status"]], str(message) if message else None))
    if certificate_id(credit_id, 1) not in {e["CreditID"] for e in entries}:
        raise ValueError("the certificate asked about is missing")
    if len(states) != 1:
        raise ValueError("certificates of one record in different states")
    decisions = []
    for board, found_ in decided.items():
        status = min((s for s, _ in found_), key=_BOARD_ORDER.index)
        message = "; ".join(dict.fromkeys(m for s, m in found_ if m and s == status)) or None
        decisions.append(BoardDecision(board, status, message))
    return RecordStatus(credit_id, states.pop(), accepted, tuple(decisions))


def _connection_never_made(exc: requests.RequestException) -> bool:
    """True when the request cannot have reached PARS (refused, unresolvable, connect timeout)."""
    if isinstance(exc, requests.exceptions.ConnectTimeout):
        return True
    if isinstance(exc, requests.exceptions.ConnectionError) and exc.args:
        inner = exc.args[0]
        if isinstance(inner, MaxRetryError):
            return isinstance(inner.reason, NewConnectionError | ConnectTimeoutError)
    return False


def _retry_after(response: requests.Response) -> float | None:
    value = response.headers.get("Retry-After")
    if value is None:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:  # an HTTP date
        from email.utils import parsedate_to_datetime

        when = parsedate_to_datetime(value)
        return max(0.0, (when - dt.datetime.now(dt.UTC)).total_seconds())
    except (TypeError, ValueError):
        return None


class ParsClient:
    def __init__(self, settings: Settings, *, sleep: Callable[[float], None] = time.sleep) -> None:
        self.settings = settings
        self.timeout = (settings.connect_timeout, settings.read_timeout)
        self.sleep = sleep
        self.http = requests.Session()
        self.http.auth = (settings.user, settings.password)
        # No retries below this layer: whether a request may be repeated is decided here.
        adapter = HTTPAdapter(max_retries=0)
        self.http.mount("http://", adapter)
        self.http.mount("https://", adapter)
        self.http.headers["Accept"] = "application/json"

    def close(self) -> None:
        self.http.close()

    # -- retry policy -------------------------------------------------------

    def _retrying(self) -> Retrying:
        base = self.settings.retry_base
        # "Full jitter": a random wait up to base * 2**n, so clients do not retry in step.
        backoff = wait_random_exponential(multiplier=base, max=max(self.settings.max_wait, base))

        def wait(state: Any) -> float:
            exc = state.outcome.exception()
            delay = backoff(state)
            retry_after = getattr(exc, "retry_after", None)
            return max(delay, retry_after) if retry_after is not None else delay

        def retryable(exc: BaseException) -> bool:
            if not isinstance(exc, _Transient):
                return False
            # A Retry-After longer than a run is willing to wait ends the tries now.
            return exc.retry_after is None or exc.retry_after <= self.settings.max_wait

        return Retrying(stop=stop_after_attempt(self.settings.retry_tries), wait=wait,
                        retry=retry_if_exception(retryable), sleep=self.sleep, reraise=True)

    # -- operations ---------------------------------------------------------

    def document(self, records: list[dict[str, Any]]) -> dict[str, Any]:
        """The request body for ``records``, with this provider's settings."""
        return document(records, provider_id=self.settings.provider_id,
                        reporting_organization=self.settings.reporting_organization)

    def submit(self, records: list[dict[str, Any]]) -> list[Result]:
        """Post ``records``; one ``Result`` per record, in order, or one of the exceptions."""
        body = self.document(records)
        try:
            for attempt in self._retrying():
                with attempt:
                    response = self._post(body, len(records))
        except _Transient as exc:
            raise NotSent(str(exc), exc.retry_after) from None
        # An answer that does not match the request cannot tell what was stored.
        try:
            return read_results(response.json(), records, reports_of(body))
        except (ValueError, KeyError, TypeError) as exc:
            raise OutcomeUnknown(f"PARS's answer did not match the request ({exc})") from None

    def _post(self, body: dict[str, Any], count: int) -> requests.Response:
        url = self.settings.api_url + SUBMIT_PATH
        try:
            response = self.http.post(url, json=body, timeout=self.timeout)
        except requests.RequestException as exc:
            if _connection_never_made(exc):
                log.warning("PARS post of %d records: no connection (%s)", count,
                            type(exc).__name__)
                raise _Transient(f"could not connect to PARS ({type(exc).__name__})") from None
            log.warning("PARS post of %d records: no answer (%s)", count, type(exc).__name__)
            raise OutcomeUnknown(f"no answer from PARS ({type(exc).__name__})") from None
        log.info("PARS post of %d records: HTTP %d", count, response.status_code)
        status = response.status_code
        if status in (200, 201):
            return response
        if status == 429:
            raise _Transient("PARS asked to slow down (429)", _retry_after(response))
        if status in (400, 413, 422):
            raise Malformed(f"PARS refused the request as malformed ({status}): "
                            f"{self._error_text(response)}")
        if status in (401, 403):
            raise Unauthorized(f"PARS refused the credentials ({status}): check PARS_USER, "
                               "PARS_PASSWORD and PARS_PROVIDER_ID")
        if 400 <= status < 500:
            raise Refused(f"PARS answered {status} to a post: check PARS_API_URL")
        raise OutcomeUnknown(f"PARS answered {status}; the records may or may not be stored")

    @staticmethod
    def _error_text(response: requests.Response) -> str:
        try:
            errors = response.json().get("Errors") or []
            return "; ".join(f"{e.get('Code', '')}: {e.get('Message', '')}".strip(": ")
                             for e in errors)[:1000] or "no details"
        except (ValueError, AttributeError):
            return "no details"

    def status(self, credit_id: str, record: dict[str, Any] | None = None) -> RecordStatus | None:
        """PARS's record of delivery ``credit_id``, or None when PARS holds none (404).

        It is asked about the first certificate, which every record has. With the
        ``record`` sent (``webapp.pars.record`` form), board decisions are read too.
        """
        asked = certificate_id(credit_id, 1)
        try:
            for attempt in self._retrying():
                with attempt:
                    response = self._get(asked)
        except _Transient as exc:
            raise LookupFailed(str(exc)) from None
        if response.status_code == 404:
            return None
        try:
            boards = certificate_boards(record) if record is not None else None
            return read_status(response.json(), credit_id, boards)
        except (ValueError, KeyError, TypeError, AttributeError) as exc:
            raise LookupFailed(f"PARS's status answer was not understood ({exc})") from None

    def _get(self, credit_id: str) -> requests.Response:
        url = self.settings.api_url + STATUS_PATH
        try:
            response = self.http.get(url, params={"CreditId": credit_id}, timeout=self.timeout)
        except requests.RequestException as exc:
            raise _Transient(f"no answer from PARS ({type(exc).__name__})") from None
        status = response.status_code
        if status in (200, 404):
            return response
        if status in (401, 403):
            raise Unauthorized(f"PARS refused the credentials ({status}): check PARS_USER, "
                               "PARS_PASSWORD and PARS_PROVIDER_ID")
        if status == 429:
            raise _Transient("PARS asked to slow down (429)", _retry_after(response))
        if status >= 500:
            raise _Transient(f"PARS answered {status}")
        raise Refused(f"PARS answered {status} to a status look-up: check PARS_API_URL")
