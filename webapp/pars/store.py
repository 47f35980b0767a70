"""Transactions, locks and identifiers shared by the engine's parts.

SQLite takes its write lock at ``BEGIN IMMEDIATE`` in the engine's own
sessions, so a claim that reads and then writes cannot interleave with
another writer; PostgreSQL uses row locks (``FOR UPDATE SKIP LOCKED``) and a
transaction-level advisory lock for planning.
"""

from __future__ import annotations

import datetime as dt
import random
import uuid
from collections.abc import Iterable, Iterator
from contextlib import contextmanager

from sqlalchemy import ColumnElement, Engine, Integer, SQLColumnExpression, any_, literal, text
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.orm import Session

#: Key of the advisory lock that serialises planning on PostgreSQL.
PLAN_LOCK = 0x5041_5253  # "PARS"


def new_credit_id(provider_id: str) -> str:
    return f"ccid:{provider_id}:{uuid.uuid4()}"


def new_token() -> str:
    return str(uuid.uuid4())


def is_postgres(session: Session) -> bool:
    return session.get_bind().dialect.name == "postgresql"


def among(session: Session, column: SQLColumnExpression[int],
          ids: Iterable[int]) -> ColumnElement[bool]:
    """``column IN ids`` for the engine's lists of hundreds of IDs. On PostgreSQL one
    array parameter (``= ANY``) rather than one parameter per ID, each of which the
    driver would convert and the server parse."""
    if is_postgres(session):
        return column == any_(literal(list(ids), ARRAY(Integer)))
    return column.in_(list(ids))


@contextmanager
def engine_session(engine: Engine) -> Iterator[Session]:
    """A session for the engine's own short transactions.

    On SQLite every transaction it begins is ``BEGIN IMMEDIATE`` (see
    ``webapp.db.configure_sqlite``). Objects are not expired on commit: the
    engine copies what it needs into plain values before it commits, and must
    never touch the session between transactions (that would begin one and,
    on SQLite, hold the write lock during a request to PARS).
    """
    with engine.connect() as conn:
        sqlite = conn.dialect.name == "sqlite"
        if sqlite:
            conn.info["immediate"] = True
        try:
            with Session(bind=conn, expire_on_commit=False, autoflush=False) as session:
                yield session
        finally:
            if sqlite:
                # The flag lives on the pooled DBAPI connection; others must not inherit it.
                conn.info.pop("immediate", None)


def serialize_planning(session: Session) -> None:
    """Make concurrent planners take turns (PostgreSQL); SQLite writers always do."""
    if is_postgres(session):
        session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": PLAN_LOCK})


def backoff(base: float, cap: float, attempts: int) -> dt.timedelta:
    """Exponential backoff with jitter for a record that could not be delivered."""
    delay = min(cap, base * 2 ** max(attempts - 1, 0))
    return dt.timedelta(seconds=delay * random.uniform(0.5, 1.0))  # noqa: S311 (jitter)
