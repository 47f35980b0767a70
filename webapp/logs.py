"""Structured logs: one JSON object a line, with no personal identifiers.

Request lines carry the path without its query string (a sign-in callback's
query holds one-time codes), the status, the time taken, a request ID and the
signed-in identity's row ID, never a name, e-mail or NPI.
"""

from __future__ import annotations

import json
import logging
import sys
import time
import traceback
import uuid
from typing import Any

from flask import Flask, Response, g, request
from flask_login import current_user

_STANDARD = set(vars(logging.makeLogRecord({}))) | {"message", "asctime"}


def _database_error(exc: BaseException | None) -> BaseException | None:
    """The database error in ``exc``'s chain, if any."""
    from sqlalchemy.exc import DBAPIError

    seen = set()
    while exc is not None and id(exc) not in seen:
        seen.add(id(exc))
        if isinstance(exc, DBAPIError):
            return exc
        exc = exc.__cause__ or exc.__context__
    return None


class WithholdDatabaseDetails(logging.Filter):
    """Keep a database error's message out of the log: PostgreSQL puts the offending
    values in it (``Key (...)=(...) already exists``), and those can be identifiers.
    The traceback stays; the message is replaced by the error's class and SQLSTATE."""

    def filter(self, record: logging.LogRecord) -> bool:
        if record.exc_info and record.exc_info[1] is not None:
            exc = _database_error(record.exc_info[1])
            if exc is not None:
                code = getattr(getattr(exc, "orig", None), "sqlstate", None) or \
                    getattr(exc, "code", "")
                frames = "".join(traceback.format_tb(record.exc_info[2]))
                record.exc_text = (f"Traceback (most recent call last):\n{frames}"
                                   f"{type(exc).__name__}: database error {code}; "
                                   "details withheld from the log")
        return True


class JSONFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": self.formatTime(record, "%Y-%m-%dT%H:%M:%S") + f".{int(record.msecs):03d}Z",
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        entry.update({k: v for k, v in vars(record).items() if k not in _STANDARD})
        if record.exc_info:
            # A filter may have set a sanitised text already (see WithholdDatabaseDetails).
            entry["exception"] = record.exc_text or self.formatException(record.exc_info)
        return json.dumps(entry, default=str)


JSONFormatter.converter = time.gmtime

request_log = logging.getLogger("webapp.request")


def log_unhandled(exc_type: type[BaseException], exc: BaseException, tb: Any) -> None:
    """``sys.excepthook`` in production: an unhandled error goes to the structured log."""
    logging.getLogger("webapp").critical("unhandled error", exc_info=(exc_type, exc, tb))


def configure(app: Flask) -> None:
    fmt = app.config.get("LOG_FORMAT") or ("json" if app.config["APP_ENV"] == "production"
                                           else "text")
    if fmt == "json":
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(JSONFormatter())
        handler.addFilter(WithholdDatabaseDetails())
        # Commands (pars transmit under cron) that crash are logged the same way,
        # instead of Python printing the raw traceback and message.
        sys.excepthook = log_unhandled
        root = logging.getLogger()
        root.handlers[:] = [handler]
        root.setLevel(app.config.get("LOG_LEVEL", "INFO"))

    @app.before_request
    def _start() -> None:
        g.request_started = time.perf_counter()
        incoming = request.headers.get("X-Request-ID", "")
        g.request_id = incoming if 8 <= len(incoming) <= 64 and incoming.isalnum() else \
            uuid.uuid4().hex

    @app.after_request
    def _log(response: Response) -> Response:
        if request.path.startswith("/static/"):
            return response
        started = g.get("request_started")
        identity = getattr(getattr(current_user, "identity", None), "id", None)
        request_log.info("request", extra={
            "request_id": g.get("request_id"), "method": request.method, "path": request.path,
            "status": response.status_code, "identity_id": identity,
            "duration_ms": round((time.perf_counter() - started) * 1000, 1) if started else None,
        })
        response.headers["X-Request-ID"] = g.get("request_id", "")
        return response
