"""Planning reminders and the staff digest, and gathering each recipient's due notices
into at most one e-mail a day.

Reminders are planned from the current state: credit the transcript shows as
waiting for a missing identifier, with a deadline still ahead, gets a notice when
``notify send`` first sees it waiting and another one ``NOTIFY_REMINDER_DAYS``
before the deadline; each has a key of its own, so a second run plans nothing
new. Notices are re-read against the transcript when their message is put
together: one fixed in the meantime is left out (``outdated``), and the days left
are the transcript's on the day the message goes.
"""

from __future__ import annotations

import datetime as dt
import email.utils
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, cast
from zoneinfo import ZoneInfo

from flask import Flask, render_template, url_for
from sqlalchemy import Table, delete, exists, func, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from webapp.consent import wording
from webapp.consent.services import SOURCE_WORDS
from webapp.dates import display_zone, format_datetime, readable_date
from webapp.db import utcnow
from webapp.models import (
    NEEDS_ATTENTION,
    Action,
    Activity,
    BoardCredit,
    Completion,
    ConsentSource,
    Delivery,
    DeliveryState,
    Learner,
    MessageState,
    Notice,
    NoticeKind,
    NoticeMessage,
    NoticePreference,
    NoticeState,
    RunKind,
    RunOutcome,
)
from webapp.notify import links
from webapp.notify import outbox as notices
from webapp.pars import report
from webapp.pars.eligibility import MISSING_IDENTIFIER, Rules
from webapp.pars.store import new_token
from webapp.transcript import services as transcript
from webapp.transcript.statuses import Status

PARS = "PARS"
_MESSAGES = cast(Table, NoticeMessage.__table__)


def local_day(now: dt.datetime, zone: str) -> dt.date:
    """The calendar day of ``now`` in ``NOTIFY_TIMEZONE``: one e-mail per physician per day."""
    return now.astimezone(ZoneInfo(zone)).date()


# -- planning -----------------------------------------------------------------------


def plan_reminders(session: Session, rules: Rules, reminder_days: int) -> int:
    """Add a notice for each credit waiting for a missing identifier whose deadline is ahead.

    Candidates: physicians with credit recent enough for a deadline to be ahead (every
    deadline is at most ``reporting_days`` after completion) that either wait for an
    identifier or carry board credit (a board ID can hold back the board part alone).
    The transcript then says exactly what waits, and until when. The caller commits.
    """
    today = rules.today
    since = today - dt.timedelta(days=rules.reporting_days)
    waiting = exists().where(Delivery.completion_id == Completion.id,
                             Delivery.action == Action.ADD,
                             Delivery.state == DeliveryState.WAITING,
                             Delivery.error_code.in_([b.value for b in MISSING_IDENTIFIER]))
    with_board = exists().where(BoardCredit.completion_id == Completion.id)
    learner_ids = session.scalars(
        select(Completion.learner_id).distinct()
        .where(Completion.completion_date >= since, or_(waiting, with_board))
        .order_by(Completion.learner_id)
    ).all()
    planned = 0
    for learner_id in learner_ids:
        rows: list[dict[str, Any]] = []
        # Only the credit recent enough for a deadline ahead, not the whole transcript.
        for row in transcript.build(session, learner_id, rules,
                                    transcript.Filters(date_from=since)).rows:
            for code, status in _destinations(row):
                if status.status != Status.MISSING_IDENTIFIER or status.deadline is None:
                    continue
                left = (status.deadline - today).days
                if left < 0:
                    continue
                kind = NoticeKind.DEADLINE_NEAR if left <= reminder_days \
                    else NoticeKind.MISSING_IDENTIFIER
                rows.append({
                    "key": notices.reminder_key(kind, row.completion.id, code, status.deadline),
                    "learner_id": learner_id, "kind": kind,
                    "facts": {"completion_id": row.completion.id, "destination": code,
                              "deadline": status.deadline.isoformat()},
                })
        planned += notices.add(session, rows)
        session.expunge_all()
    return planned


def _destinations(row: transcript.CreditRow) -> list[tuple[str, transcript.DestinationStatus]]:
    """Each destination of a credit with a short code: ``PARS`` or the board's code."""
    return [(PARS, row.pars), *zip(row.completion.boards, row.boards, strict=True)]


def plan_digest(session: Session, day: dt.date) -> bool:
    """The staff digest for ``day``, unless today's was put together already."""
    if session.scalar(select(NoticeMessage.id).where(NoticeMessage.recipient == "staff",
                                                     NoticeMessage.day == day)):
        return False
    return notices.add(session, [{"key": f"digest:{day.isoformat()}", "learner_id": None,
                                  "kind": NoticeKind.STAFF_DIGEST,
                                  "facts": {"day": day.isoformat()}}]) > 0


# -- gathering into messages ----------------------------------------------------------


@dataclass
class Composed:
    messages: int = 0
    notices: int = 0
    turned_off: int = 0
    outdated: int = 0
    #: Notices left for tomorrow: the recipient's message for today exists already.
    deferred: int = 0


@dataclass
class Item:
    """One notice as the message shows it."""

    kind: NoticeKind
    title: str = ""
    on: dt.date | None = None
    destination: str = ""
    text: str = ""
    action: str | None = None
    deadline: dt.date | None = None
    days_left: int | None = None
    extra: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Context:
    app: Flask
    rules: Rules
    day: dt.date
    now: dt.datetime
    zone: str


def recipients(session: Session) -> list[int | None]:
    """Learners (and None for staff) with due notices."""
    found = set(session.scalars(
        select(Notice.learner_id).distinct().where(Notice.state == NoticeState.PENDING)))
    return sorted(i for i in found if i is not None) + ([None] if None in found else [])


def compose_for(session: Session, ctx: Context, learner_id: int | None,
                result: Composed) -> None:
    """Gather one recipient's pending notices into today's message. The caller commits."""
    recipient = "staff" if learner_id is None else f"learner:{learner_id}"
    pending = _pending(session, learner_id)
    if not pending:
        return
    if session.scalar(select(NoticeMessage.id).where(NoticeMessage.recipient == recipient,
                                                     NoticeMessage.day == ctx.day)):
        result.deferred += len(pending)
        return
    carried = _take_back_unsent(session, recipient, ctx.day)
    if carried is None:
        # An earlier day's message is being sent right now: today's would be a second.
        result.deferred += len(pending)
        return
    pending = _pending(session, learner_id)
    if learner_id is None:
        _compose_digest(session, ctx, pending, result, carried)
        return
    reminders_on = session.scalar(select(NoticePreference.reminders).where(
        NoticePreference.learner_id == learner_id))
    reminders_on = True if reminders_on is None else reminders_on
    learner = session.get(Learner, learner_id)
    assert learner is not None
    # Only the credits the notices are about, as the transcript shows them now.
    rows = transcript.rows_of(session, learner_id, (
        n.facts["completion_id"] for n in pending
        if n.kind not in (NoticeKind.CONSENT_RECEIPT, NoticeKind.REPORT_ANSWERED)
        and isinstance(n.facts.get("completion_id"), int)), ctx.rules)
    items: list[tuple[Notice, Item]] = []
    for notice in pending:
        if notice.kind.optional and not reminders_on:
            notice.state = NoticeState.TURNED_OFF
            result.turned_off += 1
            continue
        item = _item(notice, rows, ctx)
        if item is None:
            notice.state = NoticeState.OUTDATED
            result.outdated += 1
            continue
        items.append((notice, item))
    session.flush()
    if not items:
        return
    with ctx.app.test_request_context(base_url=ctx.app.config["PORTAL_URL"]):
        token = links.unsubscribe_token(ctx.app.config["SECRET_KEY"], learner_id)
        unsubscribe = url_for("notify.unsubscribe", token=token, _external=True)
        shown = [item for _, item in items]
        values = {"learner": learner, "items": shown, "unsubscribe_url": unsubscribe,
                  "reminders_on": reminders_on, "zone": ctx.zone,
                  "portal": _portal_links()}
        subject = _subject(shown, ctx.app.config["INSTITUTION_NAME"])
        text = render_template("notify/physician.txt", subject=subject, **values)
        html = render_template("notify/physician.html", subject=subject, **values)
    _store(session, ctx, recipient, learner_id, learner.email, subject, text, html, unsubscribe,
           [n for n, _ in items], result, carried)


def _pending(session: Session, learner_id: int | None) -> list[Notice]:
    return list(session.scalars(
        select(Notice).where(Notice.state == NoticeState.PENDING,
                             Notice.learner_id.is_(None) if learner_id is None
                             else Notice.learner_id == learner_id)
        .order_by(Notice.id)))


def _take_back_unsent(session: Session, recipient: str, day: dt.date) -> int | None:
    """An earlier day's message the mail server has not taken (``ready``, waiting to be
    tried again) is dropped and its notices are pending again, so today's one message
    carries them, re-read as of today, rather than both going today. Claimed first as a
    sender would, so no run sends it meanwhile. Returns the runs that tried it (today's
    message carries them on, so a server that keeps refusing still ends in ``failed``
    after ``NOTIFY_MAX_ATTEMPTS``), or None when an earlier message is being sent at
    this moment (then today's notices wait)."""
    earlier = (NoticeMessage.recipient == recipient, NoticeMessage.day < day)
    rows = session.execute(
        update(NoticeMessage)
        .where(*earlier, NoticeMessage.state == MessageState.READY)
        .values(state=MessageState.SENDING, claim_token=new_token(), claimed_at=utcnow())
        .returning(NoticeMessage.id, NoticeMessage.attempts)
        .execution_options(synchronize_session=False)).all()
    carried = max((row.attempts for row in rows), default=0)
    taken = [row.id for row in rows]
    if taken:
        session.execute(update(Notice).where(Notice.message_id.in_(taken))
                        .values(state=NoticeState.PENDING, message_id=None)
                        .execution_options(synchronize_session=False))
        session.execute(delete(NoticeMessage).where(NoticeMessage.id.in_(taken))
                        .execution_options(synchronize_session=False))
        session.expire_all()
    if session.scalar(select(NoticeMessage.id).where(
            *earlier, NoticeMessage.state == MessageState.SENDING)) is not None:
        return None
    return carried


def _store(session: Session, ctx: Context, recipient: str, learner_id: int | None, to: str,
           subject: str, text: str, html: str, unsubscribe: str | None,
           included: list[Notice], result: Composed, attempts: int = 0) -> None:
    """Today's message for the recipient, unless another run made it first (then the
    notices stay pending for tomorrow)."""
    domain = ctx.app.config["MAIL_FROM"].rpartition("@")[2] or "localhost"
    dialect = session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    now = ctx.now
    message_id = session.scalar(
        insert(_MESSAGES).values(
            recipient=recipient, learner_id=learner_id, day=ctx.day, to_address=to,
            subject=subject[:300], text_body=text, html_body=html,
            message_id=email.utils.make_msgid("notice", domain=domain),
            unsubscribe_url=unsubscribe, state=MessageState.READY, attempts=attempts,
            created_at=now, updated_at=now)
        .on_conflict_do_nothing(index_elements=["recipient", "day"])
        .returning(_MESSAGES.c.id))
    if message_id is None:
        # Another run made today's message for this recipient a moment ago and took
        # these notices into it (or leaves them for tomorrow).
        return
    taken = session.scalars(
        update(Notice).where(Notice.id.in_([n.id for n in included]),
                             Notice.state == NoticeState.PENDING)
        .values(state=NoticeState.INCLUDED, message_id=message_id)
        .returning(Notice.id).execution_options(synchronize_session=False)).all()
    if len(taken) != len(included):
        # Another run took some of them into a message of its own (at midnight): this
        # one would repeat them, so it is not sent; the others stay pending.
        session.execute(update(Notice).where(Notice.message_id == message_id)
                        .values(state=NoticeState.PENDING, message_id=None)
                        .execution_options(synchronize_session=False))
        session.execute(delete(NoticeMessage).where(NoticeMessage.id == message_id))
        result.deferred += len(taken)
        return
    result.messages += 1
    result.notices += len(taken)


def _portal_links() -> dict[str, str]:
    return {
        "transcript": url_for("transcript.index", _external=True),
        "profile": url_for("consent.profile", _external=True),
        "identifiers": url_for("consent.profile", _external=True, _anchor="identifiers"),
        "notices": url_for("consent.profile", _external=True, _anchor="notices"),
        "support": url_for("support.index", _external=True),
    }


#: The sections of a physician's message.
_GROUPS = {NoticeKind.MISSING_IDENTIFIER: "waiting", NoticeKind.DEADLINE_NEAR: "waiting",
           NoticeKind.REJECTED: "rejected", NoticeKind.BOARD_REJECTED: "rejected",
           NoticeKind.REPORT_ANSWERED: "answers", NoticeKind.CONSENT_RECEIPT: "receipts",
           NoticeKind.STAFF_DIGEST: "digest"}


def _subject(items: list[Item], institution: str) -> str:
    kinds = {i.kind for i in items}
    groups = {_GROUPS[k] for k in kinds}
    if kinds & {NoticeKind.DEADLINE_NEAR, NoticeKind.MISSING_IDENTIFIER}:
        first = "Action needed: credit is waiting for your details"
    elif kinds & {NoticeKind.REJECTED, NoticeKind.BOARD_REJECTED}:
        first = "Action needed: a credit record was rejected"
    elif NoticeKind.REPORT_ANSWERED in kinds:
        first = "CME staff answered your report"
    else:
        first = "Your sharing choice was recorded"
    more = " (and more)" if len(groups) > 1 else ""
    return f"{institution} CME: {first}{more}"


def _item(notice: Notice, rows: dict[int, transcript.CreditRow], ctx: Context) -> Item | None:
    """What the message says about a notice, or None when it is no longer true."""
    facts = notice.facts
    kind = notice.kind
    if kind == NoticeKind.CONSENT_RECEIPT:
        version = facts.get("wording_version")
        text = (wording.permission(ctx.app.config["INSTITUTION_NAME"])
                if version == wording.VERSION else None)
        at = dt.datetime.fromisoformat(facts["at"]).astimezone(ZoneInfo(ctx.zone))
        return Item(kind, text=text or "", extra={
            "granted": facts["granted"], "at": at,
            "by": SOURCE_WORDS[ConsentSource(facts["source"])], "version": version})
    if kind == NoticeKind.REPORT_ANSWERED:
        return Item(kind, extra={"reference": facts["reference"]})
    row = rows.get(facts.get("completion_id", 0))
    if row is None:
        return None
    base: dict[str, Any] = {"title": row.completion.activity.title,
                            "on": row.completion.completion_date}
    if kind in (NoticeKind.MISSING_IDENTIFIER, NoticeKind.DEADLINE_NEAR):
        found = dict(_destinations(row)).get(facts["destination"])
        if found is None or found.status != Status.MISSING_IDENTIFIER or found.deadline is None:
            return None
        left = (found.deadline - ctx.rules.today).days
        if left < 0:
            return None
        return Item(kind, destination=found.destination, text=found.text, action=found.action,
                    deadline=found.deadline, days_left=left, **base)
    if kind == NoticeKind.REJECTED:
        current = next((d for d in row.completion.deliveries
                        if d.id == facts["delivery_id"]), None)
        if current is None or current.state != DeliveryState.REJECTED \
                or row.pars.status != Status.REJECTED:
            return None
        return Item(kind, destination=row.pars.destination, text=row.pars.text,
                    action=row.pars.action, **base)
    if kind == NoticeKind.BOARD_REJECTED:
        found = dict(_destinations(row)).get(facts["board"])
        if found is None or found.status != Status.BOARD_REJECTED:
            return None
        # Not the transcript's text: it quotes the board's own words, which may name the
        # board ID or the birth date the board matched on; they stay behind the sign-in.
        board = facts["board"]
        return Item(kind, destination=found.destination,
                    text=f"{board} did not accept the record. Its reason is on your transcript.",
                    action=found.action, **base)
    return None


# -- the staff digest -------------------------------------------------------------------


@dataclass
class Digest:
    needs_attention: int
    #: Records in PARS that a certifying board rejected (the attention page lists them too).
    board_rejected: int
    near_days: int
    past_deadline: int
    near_deadline: int
    unregistered: list[tuple[str, int]]
    unregistered_total: int
    runs: list[str]
    open_reports: int
    mail_problems: int


def digest_facts(session: Session, ctx: Context) -> Digest:
    from webapp.staff import services as staff

    today = ctx.rules.today
    counts = staff.counts_by_state(session)
    # The records `pars status` and the dashboard count (waiting ones included).
    due = report.deadline_filter(today)
    past = session.scalar(select(func.count()).select_from(Delivery).where(
        *due, Delivery.due_date < today)) or 0
    near = session.scalar(select(func.count()).select_from(Delivery).where(
        *due, Delivery.due_date >= today)) or 0
    since = max(ctx.rules.reporting_start, ctx.rules.open_from())
    unregistered_q = (select(Activity.title, func.count(Completion.id))
                      .join(Completion, Completion.activity_id == Activity.id)
                      .join(Learner, Learner.id == Completion.learner_id)
                      .where(Activity.accme_activity_id.is_(None),
                             Completion.completion_date >= since)
                      .group_by(Activity.id, Activity.title))
    unregistered = [(title, n) for title, n in session.execute(
        unregistered_q.order_by(func.count(Completion.id).desc(), Activity.title).limit(10))]
    unregistered_total = session.scalar(
        select(func.count()).select_from(unregistered_q.subquery())) or 0
    expected = dt.timedelta(hours=ctx.app.config["NOTIFY_RUN_EXPECTED_HOURS"])
    runs: list[str] = []
    last = staff.last_runs(session)
    for kind in (RunKind.TRANSMIT, RunKind.SYNC):
        run = last.get(kind)
        if run is None:
            runs.append(f"pars {kind.value} has never run.")
            continue
        if run.outcome in (RunOutcome.FAILED, RunOutcome.STOPPED, RunOutcome.INCOMPLETE):
            runs.append(f"The last pars {kind.value} run ({_when(run.started_at, ctx.app)}) "
                        f"ended {run.outcome.value}: {run.message or 'see pars status'}.")
        if run.started_at < ctx.now - expected:
            runs.append(f"pars {kind.value} has not run since {_when(run.started_at, ctx.app)} "
                        f"(expected every {ctx.app.config['NOTIFY_RUN_EXPECTED_HOURS']} hours).")
    problems = session.scalar(select(func.count()).select_from(NoticeMessage).where(
        NoticeMessage.state.in_([MessageState.UNKNOWN, MessageState.FAILED]),
        NoticeMessage.updated_at >= ctx.now - dt.timedelta(days=7))) or 0
    return Digest(
        needs_attention=sum(counts[s] for s in NEEDS_ATTENTION),
        board_rejected=staff.board_rejections_count(session), near_days=report.NEAR_DAYS,
        past_deadline=past, near_deadline=near, unregistered=unregistered,
        unregistered_total=unregistered_total, runs=runs,
        open_reports=staff.open_requests_count(session), mail_problems=problems)


def _when(at: dt.datetime, app: Flask) -> str:
    """A moment as every page and e-mail shows it: in ``DISPLAY_TIMEZONE`` (the
    ``NOTIFY_TIMEZONE`` only counts the days)."""
    return format_datetime(at, display_zone(app.config["DISPLAY_TIMEZONE"]))


def _compose_digest(session: Session, ctx: Context, pending: list[Notice],
                    result: Composed, attempts: int = 0) -> None:
    to = ctx.app.config["STAFF_EMAIL"]
    # Only today's digest goes; one left from a day no message went is outdated.
    today_key = f"digest:{ctx.day.isoformat()}"
    for notice in pending:
        if notice.key != today_key:
            notice.state = NoticeState.OUTDATED
            result.outdated += 1
    current = [n for n in pending if n.key == today_key]
    session.flush()
    if not current or not to:
        return
    facts = digest_facts(session, ctx)
    with ctx.app.test_request_context(base_url=ctx.app.config["PORTAL_URL"]):
        subject = (f"{ctx.app.config['INSTITUTION_NAME']} CME: daily digest for "
                   f"{readable_date(ctx.day)}")
        values = {"d": facts, "day": ctx.day, "subject": subject, "links": {
            "dashboard": url_for("staff.dashboard", _external=True),
            "attention": url_for("staff.attention", _external=True),
            "requests": url_for("staff.requests_queue", _external=True)}}
        text = render_template("notify/digest.txt", **values)
        html = render_template("notify/digest.html", **values)
    _store(session, ctx, "staff", None, to, subject, text, html, None, current, result,
           attempts)


Progress = Callable[[int, int], None]
