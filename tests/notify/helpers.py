"""Events that cause notices, made the way the site makes them."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select

from webapp.consent import wording
from webapp.consent.services import set_consent
from webapp.db import utcnow
from webapp.models import (
    Action,
    ConsentSource,
    Delivery,
    Learner,
    RequestKind,
)
from webapp.pars import lifecycle as life
from webapp.pars.client import BoardDecision, RecordStatus
from webapp.pars.policy import Policy
from webapp.pars.settle import store_boards
from webapp.support.services import answer_request, open_request


def choose(session, app, learner: Learner, granted: bool, *,
           source: ConsentSource = ConsentSource.PHYSICIAN) -> None:
    set_consent(session, learner, granted, source=source, policy=Policy.from_config(app.config),
                actor="test", wording_version=wording.VERSION,
                note="signed form" if source == ConsentSource.STAFF else None)
    session.commit()


def answered_report(session, learner: Learner, identity_id: int, answer: str) -> str:
    request = open_request(session, learner_id=learner.id, kind=RequestKind.MISSING,
                           message="My Grand Rounds credit is missing", completion_id=None,
                           actor="test")
    answer_request(session, request, answer=answer, identity_id=identity_id, actor="test")
    session.commit()
    return request.reference


def the_add(session, completion_id: int) -> Delivery:
    return session.scalars(select(Delivery).where(Delivery.completion_id == completion_id,
                                                  Delivery.action == Action.ADD)).one()


def rejected_by_pars(session, completion_id: int, code: str = "LEARNER_NOT_MATCHED") -> int:
    """Claimed, sent and rejected, through the lifecycle's transitions as the engine does."""
    delivery = the_add(session, completion_id)
    now = utcnow()
    life.move_many(session, life.CLAIM, [delivery.id], None, claim_token="t", claimed_at=now,
                   attempts=1)
    life.move_many(session, life.REJECT, [delivery.id], "Rejected by PARS.", token="t",
                   sent_at=now, settled_at=now, claim_token=None, error_code=code,
                   error_message="Learner not matched")
    session.commit()
    return delivery.id


def rejected_by_board(session, completion_id: int, board: str,
                      message: str = "Board ID not found") -> int:
    delivery = the_add(session, completion_id)
    now = utcnow()
    life.move_many(session, life.CLAIM, [delivery.id], None, claim_token="t", claimed_at=now,
                   attempts=1)
    life.move_many(session, life.ACCEPT, [delivery.id], "Accepted.", token="t", sent_at=now,
                   settled_at=now, claim_token=None,
                   sent_payload={"cme_credits": "1.00", "boards": [{"board": board}]})
    found = RecordStatus(delivery.credit_id, "accepted", now.date(),
                         (BoardDecision(board, "rejected", message),))
    events: list = []
    store_boards(session, delivery.id, found, events)
    life.note(session, events)
    session.commit()
    return delivery.id


def days_ago(now: dt.datetime, days: int) -> dt.date:
    return now.date() - dt.timedelta(days=days)
