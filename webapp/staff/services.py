"""What CME staff see: aggregate counts, deadlines, and physician look-up.

Every list here is an aggregate or a page of rows, so the console stays fast
with hundreds of thousands of delivery records.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, Select, extract, func, or_, select
from sqlalchemy.orm import Session, joinedload, selectinload

from webapp.models import (
    NEEDS_ATTENTION,
    REPORTED,
    UNDELIVERED,
    Action,
    Activity,
    Batch,
    BatchKind,
    BoardCredit,
    BoardDecision,
    BoardStatus,
    Completion,
    Delivery,
    DeliveryState,
    EngineRun,
    Learner,
    RequestState,
    RunKind,
    SupportRequest,
)
from webapp.pars import report
from webapp.pars.codes import EngineCode, rejection
from webapp.pars.eligibility import Rules, reportable_clause
from webapp.pars.outbox import staff_actions
from webapp.safe_text import has_control_characters

S = DeliveryState
PAGE_SIZE = 50

#: How the console names each state (``tests/pars/test_lifecycle.py`` checks every state
#: has one).
STATE_LABELS: dict[DeliveryState, str] = {
    S.QUEUED: "Queued",
    S.WAITING: "Waiting for the physician",
    S.HELD: "On hold",
    S.SENDING: "Being sent",
    S.UNKNOWN: "Outcome unknown",
    S.EXPORTED: "In an Excel batch",
    S.REJECTED: "Rejected",
    S.FAILED: "Failed",
    S.ACCEPTED: "Accepted",
    S.SENT: "Uploaded (answer not recorded)",
    S.CANCELLED: "Cancelled",
    S.REMOVED: "Removed",
}


@dataclass(frozen=True)
class Page:
    items: list[Any]
    page: int
    total: int
    size: int = PAGE_SIZE

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // self.size))


def paginate(session: Session, query: Select[Any], page: int, size: int = PAGE_SIZE) -> Page:
    total = session.scalar(select(func.count()).select_from(query.order_by(None).subquery())) or 0
    page = max(1, min(page, max(1, -(-total // size))))
    items = list(session.scalars(query.limit(size).offset((page - 1) * size)).unique())
    return Page(items, page, total, size)


def counts_by_state(session: Session) -> dict[DeliveryState, int]:
    rows = session.execute(select(Delivery.state, func.count()).group_by(Delivery.state))
    counts = dict.fromkeys(DeliveryState, 0)
    counts.update({DeliveryState(state): n for state, n in rows})
    return counts


@dataclass(frozen=True)
class DeadlineItem:
    delivery: Delivery
    #: Days until the due date; negative once it has passed.
    days_left: int

    @property
    def boards(self) -> list[str]:
        return self.delivery.completion.boards


def deadlines(session: Session, today: dt.date, page: int = 1) -> Page:
    """Records not yet in PARS that are past or near their due date, most urgent first:
    the records ``pars status`` counts (``report.deadline_records``), waiting ones included."""
    query = report.deadline_records(today).options(
        joinedload(Delivery.completion).joinedload(Completion.learner),
        joinedload(Delivery.completion).joinedload(Completion.activity),
        joinedload(Delivery.completion).selectinload(Completion.board_credits))
    found = paginate(session, query, page)
    return Page([DeadlineItem(d, (d.due_date - today).days) for d in found.items],
                found.page, found.total, found.size)


def records_in_state(session: Session, state: DeliveryState, page: int = 1) -> Page:
    """The records in one delivery state, most urgent first (the dashboard's counts)."""
    query = (select(Delivery).where(Delivery.state == state)
             .options(joinedload(Delivery.completion).joinedload(Completion.learner),
                      joinedload(Delivery.completion).joinedload(Completion.activity))
             .order_by(Delivery.due_date, Delivery.id))
    return paginate(session, query, page)


@dataclass(frozen=True)
class Unregistered:
    """An activity without an ACCME Activity ID whose credit it holds back."""

    activity_id: int
    title: str
    #: Completions that would be reported once the activity is registered.
    records: int
    #: Their AMA PRA Category 1 credit, added up.
    credits: Any
    #: The earliest date by which one of them should be in PARS.
    earliest_due: dt.date


def unregistered_activities(session: Session, rules: Rules) -> list[Unregistered]:
    """Activities not registered with PARS whose physicians' credit is in reporting scope
    (physician degree, open year), so registering them releases it; earliest due first.

    Two aggregate queries whatever the number of completions: a due date only grows
    with the completion date (``Rules.due_date``), so each activity's earliest due date
    is that of its earliest completion, and of its earliest completion per board."""
    in_scope = (select(Completion.id).join(Completion.activity).join(Completion.learner)
                .where(reportable_clause(rules, registered=False)))
    totals = session.execute(
        select(Activity.id, Activity.title, func.count(Completion.id),
               func.sum(Completion.cme_credits), func.min(Completion.completion_date))
        .join(Completion.activity).join(Completion.learner)
        .where(reportable_clause(rules, registered=False))
        .group_by(Activity.id, Activity.title)).all()
    if not totals:
        return []
    by_board: dict[int, list[dt.date]] = {}
    for activity_id, board, first in session.execute(
            select(Completion.activity_id, BoardCredit.board, func.min(Completion.completion_date))
            .join(BoardCredit).where(Completion.id.in_(in_scope.scalar_subquery()))
            .group_by(Completion.activity_id, BoardCredit.board)):
        by_board.setdefault(activity_id, []).append(rules.board_deadline(first, board))
    found = [Unregistered(activity_id, title, n, credits,
                          min([rules.pars_deadline(first), *by_board.get(activity_id, [])]))
             for activity_id, title, n, credits, first in totals]
    return sorted(found, key=lambda u: (u.earliest_due, u.title, u.activity_id))


def count_undelivered(session: Session, *, year: int, board_only: bool) -> int:
    query = (select(func.count()).select_from(Delivery).join(Completion)
             .where(Delivery.action == Action.ADD, Delivery.state.in_(UNDELIVERED),
                    extract("year", Completion.completion_date) == year))
    if board_only:
        query = query.where(Delivery.has_board_credit.is_(True))
    return session.scalar(query) or 0


@dataclass(frozen=True)
class YearEnd:
    #: Board credit earned this year, not yet in PARS (most boards count credit reported by Dec 31).
    board_year: int
    board_unsent: int
    board_year_ends: dt.date
    #: Last year's credit not yet in PARS, while PARS still accepts it.
    pars_year: int
    pars_unsent: int
    pars_year_closes: dt.date


def year_end(session: Session, today: dt.date, rules: Rules) -> YearEnd:
    return YearEnd(
        board_year=today.year,
        board_unsent=count_undelivered(session, year=today.year, board_only=True),
        board_year_ends=dt.date(today.year, 12, 31),
        pars_year=today.year - 1,
        pars_unsent=count_undelivered(session, year=today.year - 1, board_only=False),
        pars_year_closes=rules.year_closes(dt.date(today.year - 1, 1, 1)),
    )


def last_runs(session: Session) -> dict[RunKind, EngineRun | None]:
    latest = (select(EngineRun.kind, func.max(EngineRun.id).label("id"))
              .group_by(EngineRun.kind).subquery())
    runs = session.scalars(select(EngineRun).join(latest, EngineRun.id == latest.c.id)).all()
    found = {run.kind: run for run in runs}
    return {kind: found.get(kind) for kind in RunKind}


#: The attention list: records that need a person, and those staff put on hold.
ATTENTION = NEEDS_ATTENTION | {S.HELD}

ACTION_LABELS = {"retry": "Retry now", "hold": "Hold", "release": "Release",
                 "resolve": "Mark resolved"}


@dataclass(frozen=True)
class AttentionItem:
    delivery: Delivery
    #: The problem in plain words.
    problem: str
    #: Who must act, and how.
    who_acts: str
    #: ``(action, label)`` for each staff action that applies, ``resolve`` last.
    actions: list[tuple[str, str]]

    @property
    def quick_actions(self) -> list[tuple[str, str]]:
        """The actions that need no note (all but ``resolve``)."""
        return [a for a in self.actions if a[0] != "resolve"]

    @property
    def can_resolve(self) -> bool:
        return any(a[0] == "resolve" for a in self.actions)


def attention_item(delivery: Delivery) -> AttentionItem:
    why = rejection(delivery.error_code)
    problem = delivery.state.value.capitalize()
    if delivery.error_code:
        problem += f" ({delivery.error_code})"
    problem += f": {delivery.error_message or why.meaning}"
    if delivery.state == S.HELD:
        who = "Staff: release or resolve"
    elif delivery.error_code in (EngineCode.BOARD_DAILY_CAP, EngineCode.BOARD_UNEQUAL_POINTS):
        who = "Staff: correct the credit the board rule names, then retry"
    elif delivery.state == S.FAILED:
        who = "Staff: check PARS access and retry"
    elif delivery.error_code == EngineCode.EXCEL_ROW_REJECTED:
        who = "Staff: correct what PARS's message names, then retry (it goes again)"
    elif why.physician_can_fix:
        who = "Physician: fix an identifier"
    else:
        who = "Staff: correct the activity or data"
    return AttentionItem(delivery, problem, who,
                         [(a, ACTION_LABELS[a]) for a in staff_actions(delivery.state)])


def needs_attention(session: Session, page: int = 1) -> Page:
    """Rejected and failed records, and those staff put on hold."""
    query = (select(Delivery)
             .where(Delivery.state.in_(ATTENTION))
             .options(joinedload(Delivery.completion).joinedload(Completion.learner),
                      joinedload(Delivery.completion).joinedload(Completion.activity))
             .order_by(Delivery.due_date, Delivery.id))
    found = paginate(session, query, page)
    return Page([attention_item(d) for d in found.items], found.page, found.total, found.size)


def _board_rejected() -> tuple[ColumnElement[bool], ...]:
    rejected = (select(BoardStatus.delivery_id)
                .where(BoardStatus.status == BoardDecision.REJECTED).scalar_subquery())
    return (Delivery.action == Action.ADD, Delivery.state.in_(REPORTED),
            Delivery.id.in_(rejected))


def board_rejections_count(session: Session) -> int:
    """How many records ``board_rejections`` lists, in one count (nothing loaded)."""
    return session.scalar(select(func.count()).select_from(Delivery)
                          .where(*_board_rejected())) or 0


def board_rejections(session: Session, page: int = 1) -> Page:
    """Records in PARS that a certifying board rejected (the physician or staff must act)."""
    query = (select(Delivery)
             .where(*_board_rejected())
             .options(joinedload(Delivery.completion).joinedload(Completion.learner),
                      joinedload(Delivery.completion).joinedload(Completion.activity),
                      selectinload(Delivery.board_statuses))
             .order_by(Delivery.due_date, Delivery.id))
    return paginate(session, query, page)


def batches(session: Session, page: int = 1) -> Page:
    query = (select(Batch).where(Batch.kind == BatchKind.EXCEL)
             .order_by(Batch.id.desc()))
    return paginate(session, query, page)


def refused_counts(session: Session, batch_ids: list[int]) -> dict[int, int]:
    """Records of each batch whose row PARS refused (whatever became of them since)."""
    if not batch_ids:
        return {}
    rows = session.execute(
        select(Delivery.batch_id, func.count())
        .where(Delivery.batch_id.in_(batch_ids),
               Delivery.error_code == EngineCode.EXCEL_ROW_REJECTED.value)
        .group_by(Delivery.batch_id))
    return {batch_id: n for batch_id, n in rows if batch_id is not None}


def refused_records(session: Session, batch_id: int, page: int = 1) -> Page:
    """A batch's records whose row PARS refused, in file order, with PARS's message."""
    query = (select(Delivery)
             .where(Delivery.batch_id == batch_id,
                    Delivery.error_code == EngineCode.EXCEL_ROW_REJECTED.value)
             .options(joinedload(Delivery.completion).joinedload(Completion.learner),
                      joinedload(Delivery.completion).joinedload(Completion.activity))
             .order_by(Delivery.batch_row, Delivery.id))
    return paginate(session, query, page)


def open_requests_count(session: Session) -> int:
    return session.scalar(select(func.count()).select_from(SupportRequest)
                          .where(SupportRequest.state == RequestState.OPEN)) or 0


def find_physicians(session: Session, q: str, page: int = 1) -> Page:
    """By name, e-mail, NPI or learner ID; an exact identifier match comes first."""
    q = q.strip()
    if not q or has_control_characters(q):  # NUL cannot even be sent to PostgreSQL
        return Page([], 1, 0)
    # autoescape: "%" and "_" in the query are the characters themselves, not wildcards.
    needle = q.lower()
    full_name = func.lower(Learner.first_name + " " + Learner.last_name)
    query = (select(Learner)
             .where(or_(full_name.contains(needle, autoescape=True),
                        func.lower(Learner.email).contains(needle, autoescape=True),
                        Learner.npi == q, func.lower(Learner.source_id) == q.lower()))
             .order_by(Learner.last_name, Learner.first_name, Learner.id))
    return paginate(session, query, page)


def support_queue(session: Session, state: RequestState, page: int = 1) -> Page:
    query = (select(SupportRequest)
             .where(SupportRequest.state == state)
             .options(joinedload(SupportRequest.learner),
                      joinedload(SupportRequest.completion).joinedload(Completion.activity))
             .order_by(SupportRequest.created_at if state == RequestState.OPEN
                       else SupportRequest.answered_at.desc()))
    return paginate(session, query, page)

