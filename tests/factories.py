"""Factories that build valid rows and flush them."""

from __future__ import annotations

import datetime as dt
import hashlib
import itertools
import secrets
from decimal import Decimal

from webapp.identifiers import npi_with_check_digit
from webapp.models import (
    Activity,
    BoardCertification,
    BoardCredit,
    Completion,
    Identity,
    Learner,
    License,
    UserSession,
)

_seq = itertools.count(1)


class Factory:
    def __init__(self, session) -> None:
        self.session = session

    def _save(self, obj):
        self.session.add(obj)
        self.session.flush()
        return obj

    def learner(self, *, degree: str = "MD", identifiers: bool = True, **kw) -> Learner:
        n = next(_seq)
        values = {
            "source_id": f"L-{n}", "first_name": "Test", "last_name": f"Person{n}",
            "email": f"person{n}@example.org", "degree": degree,
        }
        if identifiers:
            values.update(npi=npi_with_check_digit(f"1{n:08d}"), birth_month_day="03-14")
        values.update(kw)
        learner = Learner(**values)
        if identifiers and "licenses" not in kw:
            learner.licenses.append(License(state="MI", number=f"43{n:08d}", primary=True))
        return self._save(learner)

    def board(self, learner: Learner, board: str = "ABIM", board_id: str | None = "123456"):
        return self._save(BoardCertification(learner=learner, board=board, board_id=board_id))

    def activity(self, *, registered: bool = True, **kw) -> Activity:
        n = next(_seq)
        values = {"source_id": f"A-{n}", "title": f"Activity {n}",
                  "accme_activity_id": f"{200000000 + n}" if registered else None}
        values.update(kw)
        return self._save(Activity(**values))

    def completion(
        self, learner: Learner, activity: Activity | None = None, *,
        date: dt.date | None = None, credits: str = "1.00",
        board_lines: list[tuple[str, str, str]] = (),
    ) -> Completion:
        completion = Completion(
            learner=learner, activity=activity or self.activity(),
            completion_date=date or dt.date.today() - dt.timedelta(days=5),
            cme_credits=Decimal(credits),
            board_credits=[BoardCredit(board=b, credit_type=t, credits=Decimal(c))
                           for b, t, c in board_lines],
        )
        return self._save(completion)

    def identity(self, learner: Learner | None = None, **kw) -> Identity:
        n = next(_seq)
        values = {"issuer": "https://idp.test", "subject": f"sub-{n}", "learner": learner}
        values.update(kw)
        return self._save(Identity(**values))


def sign_in(session, client, learner=None, *, staff=False, identity=None) -> Identity:
    identity = identity or Factory(session).identity(learner)
    token = secrets.token_urlsafe(32)
    session.add(UserSession(id=hashlib.sha256(token.encode()).hexdigest(),
                            identity_id=identity.id, is_staff=staff))
    session.flush()
    with client.session_transaction() as sess:
        sess["sid"] = token
    return identity
