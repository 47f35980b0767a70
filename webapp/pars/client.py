"""The PARS web-service adapter: the one module that knows the wire format.

It speaks the project's PARS web-service contract: JSON over
HTTP with Basic authentication, a connect and a read timeout on every call,
and retries with exponential backoff and jitter, honouring ``Retry-After``.

What a failure means decides what the engine may do next, so every failure is
one of a few exceptions:

* ``NotSent``: PARS certainly stored nothing (429, no connection was made).
* ``OutcomeUnknown``: a post may or may not have been stored (timeout, 5xx,
  dropped connection, an answer that does not fit the request). Never send
  again before a status look-up settles it. Posts are never retried here.
* ``Malformed``: PARS refused the document (400); nothing stored.
* ``Unauthorized`` / ``Refused``: credentials or address are wrong; stop.
* ``LookupFailed``: a status look-up got no answer after its retries.

Nothing personal is logged: only counts, status codes and CreditIDs.
"""

from __future__ import annotations

import datetime as dt
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

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


def to_wire(provider_id: str, records: list[dict[str, Any]]) -> dict[str, Any]:
    """The request body for ``records`` (in ``webapp.pars.record`` form)."""
    return {"ProviderID": provider_id, "ActivityReports": [_report(r) for r in records]}


def _report(r: dict[str, Any]) -> dict[str, Any]:
    learner = {"FirstName": r["first_name"], "LastName": r["last_name"],
               "BirthMonthDay": r["birth_month_day"]}
    if r.get("npi"):
        learner["NPI"] = r["npi"]
    if r.get("license_state") and r.get("license_number"):
        learner["LicenseState"] = r["license_state"]
        learner["LicenseNumber"] = r["license_number"]
    credits: list[dict[str, Any]] = [
        {"Type": AMA_CREDIT_TYPE, "Amount": float(Decimal(r["cme_credits"]))}
    ]
    for line in r["boards"]:
        credit = {"Board": line["board"], "Type": line["credit_type"],
                  "Amount": float(Decimal(line["credits"]))}
        if line.get("board_id"):
            credit["BoardID"] = line["board_id"]
        credits.append(credit)
    return {
        "CreditID": r["credit_id"],
        "LearnerRecordAction": r["action"],
        "ActivityID": r["activity_id"],
        "CompletionDate": r["completion_date"],
        "Learner": learner,
        "Credits": credits,
    }


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

    def submit(self, records: list[dict[str, Any]]) -> list[Result]:
        """Post ``records``; one ``Result`` per record, in order, or one of the exceptions."""
        body = to_wire(self.settings.provider_id, records)
        try:
            for attempt in self._retrying():
                with attempt:
                    response = self._post(body, len(records))
        except _Transient as exc:
            raise NotSent(str(exc), exc.retry_after) from None
        return self._results(response, records)

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
        if status == 200:
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

    @staticmethod
    def _results(response: requests.Response, records: list[dict[str, Any]]) -> list[Result]:
        # An answer that does not match the request cannot tell what was stored.
        try:
            items = response.json()["Results"]
            results = []
            for item, record in zip(items, records, strict=True):
                if item["CreditID"] != record["credit_id"]:
                    raise ValueError("results out of order")
                if item["Status"] not in ("Accepted", "Rejected"):
                    raise ValueError("unknown result status")
                errors = tuple((str(e.get("Code") or ""), str(e.get("Message") or ""))
                               for e in item.get("Errors") or ())
                results.append(Result(item["CreditID"], item["Status"] == "Accepted", errors))
        except (ValueError, KeyError, TypeError) as exc:
            raise OutcomeUnknown(f"PARS's answer did not match the request ({exc})") from None
        return results

    def status(self, credit_id: str) -> RecordStatus | None:
        """PARS's record under ``credit_id``, or None when PARS holds none (404)."""
        try:
            for attempt in self._retrying():
                with attempt:
                    response = self._get(credit_id)
        except _Transient as exc:
            raise LookupFailed(str(exc)) from None
        if response.status_code == 404:
            return None
        try:
            data = response.json()
            if data["CreditID"] != credit_id or data["Status"] not in ("Accepted", "Deleted"):
                raise ValueError("does not describe the record asked for")
            accepted = data.get("AcceptedDate")
            return RecordStatus(
                credit_id=credit_id,
                status=data["Status"].lower(),
                accepted_date=dt.date.fromisoformat(accepted) if accepted else None,
                boards=tuple(
                    BoardDecision(b["Board"], str(b["Status"]).lower(), b.get("Message") or None)
                    for b in data.get("Boards") or ()
                ),
            )
        except (ValueError, KeyError, TypeError) as exc:
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
