"""Writing notices into the outbox, in the transaction of the event that causes them.

Every notice has a ``key`` that makes it unique; writing one whose key exists
changes nothing, so the same event (or a second planning run) never adds a
notice twice. Facts are plain values: IDs, dates and words, never a physician's
identifiers.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from typing import Any, cast

from sqlalchemy import Table, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from webapp.db import utcnow
from webapp.models import (
    Action,
    Completion,
    ConsentEvent,
    Delivery,
    Notice,
    NoticeKind,
    NoticeState,
    SupportRequest,
)

_NOTICES = cast(Table, Notice.__table__)


def add(session: Session, rows: Iterable[dict[str, Any]]) -> int:
    """Insert notices (``key``, ``learner_id``, ``kind``, ``facts``); a key that exists
    already is left as it is (``ON CONFLICT DO NOTHING``, safe between concurrent writers).
    Returns how many were new."""
    now = utcnow()
    values = [{"state": NoticeState.PENDING, "created_at": now, **row} for row in rows]
    if not values:
        return 0
    if session.autoflush:
        session.flush()
    dialect = session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    added = 0
    for row in values:  # one statement each: a conflict must not hide the others' IDs
        added += len(session.execute(
            insert(_NOTICES).values(**row).on_conflict_do_nothing(index_elements=["key"])
            .returning(_NOTICES.c.id)).all())
    return added


def consent_receipt(session: Session, event: ConsentEvent) -> None:
    """A receipt of a sharing choice the physician (or staff on their behalf) recorded; the
    message quotes the wording of ``wording_version``."""
    if not event.source.personal:
        return
    add(session, [{
        "key": f"consent:{event.id}", "learner_id": event.learner_id,
        "kind": NoticeKind.CONSENT_RECEIPT,
        "facts": {"granted": event.granted, "source": event.source.value,
                  "at": (event.created_at or utcnow()).isoformat(),
                  "wording_version": event.wording_version},
    }])


def report_answered(session: Session, request: SupportRequest, answer_id: int) -> None:
    """CME staff answered a report: the physician is told to read the answer in the portal.
    Keyed by the answer, so each answer in a thread is told once."""
    add(session, [{
        "key": f"answer:{request.id}:{answer_id}", "learner_id": request.learner_id,
        "kind": NoticeKind.REPORT_ANSWERED,
        "facts": {"request_id": request.id, "reference": request.reference,
                  "at": (request.answered_at or utcnow()).isoformat()},
    }])


def rejected(session: Session, delivery_ids: Sequence[int]) -> None:
    """PARS rejected these records: a notice for each add (a rejected removal is for staff).

    Keyed by the record and its send attempt, so a record sent again after a fix and
    rejected again is noted again."""
    if not delivery_ids:
        return
    rows = session.execute(
        select(Delivery.id, Delivery.attempts, Delivery.completion_id, Completion.learner_id)
        .join(Completion, Completion.id == Delivery.completion_id)
        .where(Delivery.id.in_(delivery_ids), Delivery.action == Action.ADD)
    ).all()
    add(session, [{
        "key": f"rejected:{r.id}:{r.attempts}", "learner_id": r.learner_id,
        "kind": NoticeKind.REJECTED,
        "facts": {"delivery_id": r.id, "completion_id": r.completion_id},
    } for r in rows])


def board_rejected(session: Session, delivery_id: int, board: str) -> None:
    """A certifying board rejected the credit of a record PARS accepted."""
    row = session.execute(
        select(Delivery.completion_id, Completion.learner_id)
        .join(Completion, Completion.id == Delivery.completion_id)
        .where(Delivery.id == delivery_id)
    ).one_or_none()
    if row is None:
        return
    add(session, [{
        "key": f"board_rejected:{delivery_id}:{board}", "learner_id": row.learner_id,
        "kind": NoticeKind.BOARD_REJECTED,
        "facts": {"delivery_id": delivery_id, "completion_id": row.completion_id,
                  "board": board},
    }])


def reminder_key(kind: NoticeKind, completion_id: int, destination: str,
                 deadline: dt.date) -> str:
    """One reminder per credit, destination, deadline and stage (started waiting, or
    the deadline near), so a second planning run adds nothing."""
    return f"{kind.value}:{completion_id}:{destination}:{deadline.isoformat()}"
