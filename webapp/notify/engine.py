"""``notify send``: plan what is due, gather it into messages, send them, each at most once.

Safe on several hosts at once. Planning and gathering write rows with unique keys
(a notice's ``key``, a message's recipient and day), so a second run adds
nothing. Sending claims one message at a time with a conditional ``UPDATE``
(``ready`` to ``sending``, with a claim token) committed just before the mail
server is contacted for it; every write afterwards is conditional on that claim.
A message whose run died while ``sending`` (claimed longer ago than
``NOTIFY_LEASE_SECONDS``) may have gone out: it becomes ``unknown`` and is never
sent again automatically. Claiming one at a time keeps that to the message the
run had in hand, and starts each message's lease when its own sending starts
(not when a batch was claimed), so a slow server does not make messages still
waiting in a run look like a dead run's to another.
"""

from __future__ import annotations

import datetime as dt
import email.utils
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from flask import Flask
from sqlalchemy import Engine, func, select, update

from webapp.db import utcnow
from webapp.models import MessageState, NoticeMessage
from webapp.notify import compose, mailer
from webapp.pars.eligibility import Rules
from webapp.pars.store import backoff, engine_session, new_token

log = logging.getLogger(__name__)
M = MessageState
#: Messages claimed at once: one (see above).
CLAIM_SIZE = 1

EXIT_OK = 0
#: Messages failed for good or with an unknown outcome: CME staff should look.
EXIT_ATTENTION = 1
#: The mail server failed for now; the next run sends what is left.
EXIT_INCOMPLETE = 3
#: Not run, or stopped: mail settings missing or refused.
EXIT_STOPPED = 4


class NotConfigured(RuntimeError):
    pass


@dataclass
class Report:
    planned: int = 0
    composed: compose.Composed = field(default_factory=compose.Composed)
    sent: int = 0
    retry: int = 0
    failed: int = 0
    unknown: int = 0
    stale: int = 0
    stopped: str | None = None

    @property
    def exit_code(self) -> int:
        if self.stopped:
            return EXIT_STOPPED
        if self.failed or self.unknown or self.stale:
            return EXIT_ATTENTION
        if self.retry:
            return EXIT_INCOMPLETE
        return EXIT_OK

    def line(self) -> str:
        c = self.composed
        parts = [f"{self.sent} e-mail{'' if self.sent == 1 else 's'} sent",
                 f"{c.messages} put together ({c.notices} notices)",
                 f"{self.planned} notices planned"]
        if self.retry:
            parts.append(f"{self.retry} to try again later")
        if self.failed:
            parts.append(f"{self.failed} failed")
        if self.unknown or self.stale:
            parts.append(f"{self.unknown + self.stale} with unknown outcome (not sent again; "
                         "see the staff console)")
        if c.turned_off:
            parts.append(f"{c.turned_off} notices not sent (turned off by the physician)")
        if c.outdated:
            parts.append(f"{c.outdated} outdated")
        if c.deferred:
            parts.append(f"{c.deferred} notices wait for tomorrow (one e-mail a day)")
        line = "notify send: " + ", ".join(parts)
        if self.stopped:
            line += f"; stopped: {self.stopped}"
        return line


def check_settings(config: Any) -> None:
    if not config["MAIL_SERVER"]:
        raise NotConfigured("MAIL_SERVER is not set")
    if not config["MAIL_FROM"] or "@" not in config["MAIL_FROM"]:
        raise NotConfigured("MAIL_FROM must be an e-mail address")
    if config["STAFF_EMAIL"] and "@" not in config["STAFF_EMAIL"]:
        raise NotConfigured("STAFF_EMAIL must be an e-mail address (or empty: no digest)")


def send(engine: Engine, app: Flask, *, progress: Callable[[int, int], None] | None = None,
         ) -> Report:
    """One run: plan, gather, send. Run inside the application's context."""
    config = app.config
    check_settings(config)
    report = Report()
    now = utcnow()
    day = compose.local_day(now, config["NOTIFY_TIMEZONE"])
    rules = Rules.from_config(config, today=day)
    ctx = compose.Context(app=app, rules=rules, day=day, now=now, zone=config["NOTIFY_TIMEZONE"])
    with engine_session(engine) as session:
        report.planned += compose.plan_reminders(session, rules, config["NOTIFY_REMINDER_DAYS"])
        if config["STAFF_EMAIL"]:
            report.planned += int(compose.plan_digest(session, day))
        session.commit()
        for learner_id in compose.recipients(session):
            session.commit()
            compose_one(session, ctx, learner_id, report)
        report.stale = _mark_stale(session, config["NOTIFY_LEASE_SECONDS"])
    _send_ready(engine, config, report, progress)
    return report


def compose_one(session: Any, ctx: compose.Context, learner_id: int | None,
                report: Report) -> None:
    try:
        compose.compose_for(session, ctx, learner_id, report.composed)
        session.commit()
    except Exception:
        session.rollback()
        raise
    finally:
        session.expunge_all()


def _mark_stale(session: Any, lease_seconds: float) -> int:
    """Messages left ``sending`` by a run that died: they may have gone out."""
    cutoff = utcnow() - dt.timedelta(seconds=lease_seconds)
    stale = session.scalars(
        update(NoticeMessage)
        .where(NoticeMessage.state == M.SENDING, NoticeMessage.claimed_at < cutoff)
        .values(state=M.UNKNOWN, claim_token=None,
                error="The run sending it stopped before the mail server's answer was "
                      "recorded; it may have been delivered, so it is not sent again.")
        .returning(NoticeMessage.id).execution_options(synchronize_session=False)).all()
    session.commit()
    return len(stale)


def _claim(engine: Engine, token: str, now: dt.datetime) -> list[dict[str, Any]]:
    with engine_session(engine) as session:
        # PostgreSQL: a message another run is claiming is passed over for the next one
        # (waiting for that run's lock would find it taken and claim nothing, ending this
        # run with mail left); the rows found stay locked until the claim commits. A
        # statement of its own: as a subquery of the UPDATE, PostgreSQL may run it again
        # for further rows and lock (and claim) more than CLAIM_SIZE. SQLite claims one
        # run at a time (BEGIN IMMEDIATE).
        due = session.scalars(
            select(NoticeMessage.id)
            .where(NoticeMessage.state == M.READY,
                   (NoticeMessage.next_attempt_at.is_(None))
                   | (NoticeMessage.next_attempt_at <= now))
            .order_by(NoticeMessage.id).limit(CLAIM_SIZE)
            .with_for_update(skip_locked=True)).all()
        if not due:
            session.commit()
            return []
        # Conditional all the same: a message is claimed only while it is ready.
        ids = session.scalars(
            update(NoticeMessage)
            .where(NoticeMessage.id.in_(due), NoticeMessage.state == M.READY)
            .values(state=M.SENDING, claim_token=token, claimed_at=now,
                    attempts=NoticeMessage.attempts + 1)
            .returning(NoticeMessage.id).execution_options(synchronize_session=False)).all()
        rows = [dict(r._mapping) for r in session.execute(
            select(NoticeMessage.id, NoticeMessage.to_address, NoticeMessage.subject,
                   NoticeMessage.text_body, NoticeMessage.html_body, NoticeMessage.message_id,
                   NoticeMessage.unsubscribe_url, NoticeMessage.attempts)
            .where(NoticeMessage.id.in_(ids)).order_by(NoticeMessage.id))]
        session.commit()
    return rows


class ClaimLost(Exception):
    """The message is no longer claimed by this run."""


def _renew(engine: Engine, message_id: int, token: str) -> bool:
    """Restart the lease of a message this run still holds; False when it does not."""
    with engine_session(engine) as session:
        held = session.scalar(
            update(NoticeMessage)
            .where(NoticeMessage.id == message_id, NoticeMessage.claim_token == token,
                   NoticeMessage.state == M.SENDING)
            .values(claimed_at=utcnow()).returning(NoticeMessage.id)
            .execution_options(synchronize_session=False))
        session.commit()
    return held is not None


def _settle(engine: Engine, message_id: int, token: str, **values: Any) -> bool:
    with engine_session(engine) as session:
        moved = session.scalar(
            update(NoticeMessage)
            .where(NoticeMessage.id == message_id, NoticeMessage.claim_token == token,
                   NoticeMessage.state == M.SENDING)
            .values(claim_token=None, **values).returning(NoticeMessage.id)
            .execution_options(synchronize_session=False))
        session.commit()
    return moved is not None


def _due(engine: Engine, now: dt.datetime) -> int:
    """Messages ready to go now (for the progress bar only)."""
    with engine_session(engine) as session:
        return session.scalar(
            select(func.count()).select_from(NoticeMessage)
            .where(NoticeMessage.state == M.READY,
                   (NoticeMessage.next_attempt_at.is_(None))
                   | (NoticeMessage.next_attempt_at <= now))) or 0


def _send_ready(engine: Engine, config: Any, report: Report,
                progress: Callable[[int, int], None] | None) -> None:
    settings = mailer.Settings.from_config(config)
    max_attempts = max(1, config["NOTIFY_MAX_ATTEMPTS"])
    total = _due(engine, utcnow()) if progress else 0
    done = 0
    while not report.stopped:
        token = new_token()
        # A message put back for later has a next attempt after now: not claimed again.
        claimed = _claim(engine, token, utcnow())
        if not claimed:
            return
        for m in claimed:
            _send_claimed(settings, engine, token, m, max_attempts, report)
            done += 1
            if progress:
                progress(done, max(total, done))


def _send_claimed(settings: mailer.Settings, engine: Engine, token: str, m: dict[str, Any],
                  max_attempts: int, report: Report) -> None:
    if report.stopped:
        # Put back untouched: the next run sends it.
        _settle(engine, m["id"], token, state=M.READY, attempts=m["attempts"] - 1)
        return
    try:
        msg = mailer.build(sender=settings.sender, to=m["to_address"], subject=m["subject"],
                           text=m["text_body"], html=m["html_body"],
                           message_id=m["message_id"],
                           date=email.utils.format_datetime(utcnow()),
                           unsubscribe_url=m["unsubscribe_url"])
    except ValueError as exc:
        # A header that cannot be written (a line break in an address): never contacted
        # the mail server, and would fail the same way again.
        log.warning("notice message %d cannot be written", m["id"])
        report.failed += int(_settle(engine, m["id"], token, state=M.FAILED,
                                     error=f"The e-mail cannot be written: {exc}"[:2000]))
        return
    def renew() -> None:
        # Each try restarts the lease, so a try slower than NOTIFY_LEASE_SECONDS is the
        # most a message can take before another run takes it for a dead run's.
        if not _renew(engine, m["id"], token):
            raise ClaimLost

    try:
        mailer.send(settings, msg, before_try=renew)
    except ClaimLost:
        # Another run took it for a dead run's (unknown) between two tries: the earlier
        # tries certainly did not hand it over, but it is no longer this run's to send.
        log.warning("notice message %d: claim lost between tries; not sent", m["id"])
        return
    except mailer.Stopped as exc:
        report.stopped = str(exc)
        _settle(engine, m["id"], token, state=M.READY, attempts=m["attempts"] - 1,
                error=str(exc))
        return
    except mailer.Unknown as exc:
        # The reasons (stored for staff) may quote an address: not logged.
        log.warning("notice message %d: outcome unknown", m["id"])
        report.unknown += int(_settle(engine, m["id"], token, state=M.UNKNOWN,
                                      error=str(exc)[:2000]))
    except mailer.Refused as exc:
        log.warning("notice message %d refused by the mail server", m["id"])
        report.failed += int(_settle(engine, m["id"], token, state=M.FAILED,
                                     error=str(exc)[:2000]))
    except mailer.NotSent as exc:
        log.warning("notice message %d not sent for now", m["id"])
        if m["attempts"] >= max_attempts:
            report.failed += int(_settle(
                engine, m["id"], token, state=M.FAILED,
                error=f"Not sent after {m['attempts']} runs: {exc}"[:2000]))
        else:
            wait = backoff(60.0, 6 * 3600.0, m["attempts"])
            report.retry += int(_settle(
                engine, m["id"], token, state=M.READY, next_attempt_at=utcnow() + wait,
                error=f"{exc}; to be tried again"[:2000]))
    else:
        report.sent += int(_settle(engine, m["id"], token, state=M.SENT,
                                   sent_at=utcnow(), error=None))
