"""What the eligibility rules and the PARS record read of a completion, loaded in bulk.

Planning and claiming read thousands of completions with their activity, learner,
licenses, board certifications and board credit lines. As ORM objects (five or
more instances per completion, loaded, tracked and thrown away per chunk) they
cost more than the rest of a ``pars transmit`` run together; these are plain
snapshots read with four queries per chunk.

A snapshot has the attributes ``eligibility.assess`` and ``record.build`` read,
and the models' own properties and methods (``Learner.is_physician``,
``Learner.shares``, ``Learner.board_id_for``, ``Completion.boards``), borrowed
rather than rewritten, so the rules stay in one place. Reading anything else
fails loudly (slots): a rule that starts to read more must be given it here.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, cast

from sqlalchemy import select
from sqlalchemy.orm import Session

from webapp.models import (
    Action,
    Activity,
    BoardCertification,
    BoardCredit,
    Completion,
    Learner,
    License,
)
from webapp.pars import record
from webapp.pars.eligibility import Assessment, Rules, assess
from webapp.pars.store import among


@dataclass(slots=True, frozen=True)
class LicenseFacts:
    state: str
    number: str
    id: int
    primary: bool


@dataclass(slots=True, frozen=True)
class BoardCertificationFacts:
    board: str
    board_id: str | None


@dataclass(slots=True, frozen=True)
class BoardCreditFacts:
    board: str
    credit_type: str
    credits: Decimal


@dataclass(slots=True, frozen=True)
class ActivityFacts:
    accme_activity_id: str | None
    title: str


@dataclass(slots=True, eq=False)
class LearnerFacts:
    id: int
    first_name: str
    last_name: str
    degree: str
    npi: str | None
    birth_month_day: str | None
    consent_granted: bool | None
    #: In the models' relationship order: licenses by state, certifications by board.
    licenses: list[LicenseFacts] = field(default_factory=list)
    board_certifications: list[BoardCertificationFacts] = field(default_factory=list)

    is_physician = Learner.is_physician
    primary_license = Learner.primary_license
    shares = Learner.shares
    board_id_for = Learner.board_id_for


@dataclass(slots=True, eq=False)
class CompletionFacts:
    id: int
    learner_id: int
    activity_id: int
    completion_date: dt.date
    cme_credits: Decimal
    revision: int
    activity: ActivityFacts
    learner: LearnerFacts
    #: By board and credit type, as ``Completion.board_credits``.
    board_credits: list[BoardCreditFacts] = field(default_factory=list)

    boards = Completion.boards

    def assess(self, rules: Rules) -> Assessment:
        """``eligibility.assess`` of this completion (the one set of rules)."""
        return assess(cast(Any, self), cast(Any, self.learner), rules)

    def record(self, credit_id: str, action: Action, parts: Assessment) -> dict[str, Any]:
        """``record.build`` of this completion (the one record format)."""
        return record.build(credit_id, action, cast(Any, self), cast(Any, self.learner), parts)


def load(session: Session, completion_ids: Iterable[int]) -> dict[int, CompletionFacts]:
    """Snapshots of the completions ``completion_ids``, as committed now, by ID."""
    ids = sorted(set(completion_ids))
    if not ids:
        return {}
    # Plain rows from the connection: no ORM result processing.
    conn = session.connection()
    learners: dict[int, LearnerFacts] = {}
    completions: dict[int, CompletionFacts] = {}
    for (completion_id, activity_id, completion_date, cme_credits, revision, accme_id, title,
         learner_id, first_name, last_name, degree, npi, birth_month_day, consent) in conn.execute(
        select(Completion.id, Completion.activity_id, Completion.completion_date,
               Completion.cme_credits, Completion.revision, Activity.accme_activity_id,
               Activity.title, Learner.id,
               Learner.first_name, Learner.last_name, Learner.degree, Learner.npi,
               Learner.birth_month_day, Learner.consent_granted)
        .join(Completion.activity).join(Completion.learner)
        .where(among(session, Completion.id, ids))
    ).all():
        learner = learners.get(learner_id)
        if learner is None:
            learner = learners[learner_id] = LearnerFacts(
                learner_id, first_name, last_name, degree, npi, birth_month_day, consent, [], [])
        completions[completion_id] = CompletionFacts(
            completion_id, learner_id, activity_id, completion_date, cme_credits, revision,
            ActivityFacts(accme_id, title), learner, [])
    learner_ids = sorted(learners)
    for learner_id, state, number, license_id, primary in conn.execute(
        select(License.learner_id, License.state, License.number, License.id, License.primary)
        .where(among(session, License.learner_id, learner_ids))
        .order_by(License.learner_id, License.state, License.id)
    ).all():
        learners[learner_id].licenses.append(LicenseFacts(state, number, license_id,
                                                          bool(primary)))
    for learner_id, board, board_id in conn.execute(
        select(BoardCertification.learner_id, BoardCertification.board,
               BoardCertification.board_id)
        .where(among(session, BoardCertification.learner_id, learner_ids))
        .order_by(BoardCertification.learner_id, BoardCertification.board)
    ).all():
        learners[learner_id].board_certifications.append(BoardCertificationFacts(board, board_id))
    for completion_id, board, credit_type, amount in conn.execute(
        select(BoardCredit.completion_id, BoardCredit.board, BoardCredit.credit_type,
               BoardCredit.credits)
        .where(among(session, BoardCredit.completion_id, ids))
        .order_by(BoardCredit.completion_id, BoardCredit.board, BoardCredit.credit_type)
    ).all():
        completions[completion_id].board_credits.append(
            BoardCreditFacts(board, credit_type, amount))
    return completions
