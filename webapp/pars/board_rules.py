"""Board rules checked before a record is sent, so a board never has to reject it later.

Each check reads what the registry (``webapp.boards``) says of a board and looks
at the physician's or the activity's other credit in the database, a batch of
records at a time (a few grouped queries, whatever the batch size).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from decimal import Decimal

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from webapp.boards import REGISTRY
from webapp.models import BoardCredit, Completion, Delivery
from webapp.pars.codes import EngineCode


def violations(session: Session, records: Sequence[tuple[Delivery, tuple[str, ...]]]
               ) -> dict[int, tuple[EngineCode, str]]:
    """The records (delivery, boards it would send) that break a board rule, by ID, with
    the code and words for staff. Never personal identifiers in the words."""
    found: dict[int, tuple[EngineCode, str]] = {}
    for code, entry in REGISTRY.items():
        mine = [(d, d.completion) for d, boards in records if code in boards]
        if not mine:
            continue
        if entry.daily_cap is not None:
            totals = _daily_totals(session, code, {c.learner_id for _, c in mine},
                                   {c.completion_date for _, c in mine})
            for delivery, completion in mine:
                total = totals.get((completion.learner_id, completion.completion_date), Decimal(0))
                if total > entry.daily_cap:
                    found.setdefault(delivery.id, (EngineCode.BOARD_DAILY_CAP, (
                        f"{code} takes at most {entry.daily_cap:g} credits per day; the physician "
                        f"has {total:g} for {completion.completion_date:%B %-d, %Y}.")))
        if entry.same_points_per_activity:
            points = _points_by_activity(session, code, {c.activity_id for _, c in mine})
            for delivery, completion in mine:
                if len(points.get(completion.activity_id, ())) > 1:
                    found.setdefault(delivery.id, (EngineCode.BOARD_UNEQUAL_POINTS, (
                        f"{code} gives every learner of an activity the same points; this "
                        "activity's learners have different amounts.")))
    return found


def _daily_totals(session: Session, code: str, learner_ids: set[int],
                  dates: set[object]) -> dict[tuple[int, object], Decimal]:
    rows = session.execute(
        select(Completion.learner_id, Completion.completion_date, func.sum(BoardCredit.credits))
        .join(BoardCredit.completion)
        .where(BoardCredit.board == code, Completion.learner_id.in_(learner_ids),
               Completion.completion_date.in_(dates))
        .group_by(Completion.learner_id, Completion.completion_date)
    )
    return {(learner, day): Decimal(total) for learner, day, total in rows}


def _points_by_activity(session: Session, code: str, activity_ids: set[int]
                        ) -> dict[int, set[Decimal]]:
    rows = session.execute(
        select(Completion.activity_id, func.sum(BoardCredit.credits))
        .join(BoardCredit.completion)
        .where(BoardCredit.board == code, Completion.activity_id.in_(activity_ids))
        .group_by(Completion.activity_id, Completion.id)
    )
    points: dict[int, set[Decimal]] = defaultdict(set)
    for activity_id, total in rows:
        points[activity_id].add(Decimal(total).quantize(Decimal("0.01")))
    return points
