"""The delivery lifecycle: every change of a ``Delivery``'s state, and its timeline.

Nothing else writes ``Delivery.state`` (``tests/pars/test_lifecycle.py`` checks
the source tree). Each change is a named ``Transition`` from a fixed set of
states to one state; applying it writes the timeline entry too, so the history
a physician or staff member reads is the history the record had.

Two ways to apply one:

* ``move(session, delivery, T, detail)`` for a record loaded in the session:
  refuses (``InvalidTransition``) when the record is not in one of the
  transition's source states;
* ``move_many(session, T, ids, detail, token=...)`` for the engine's writes
  after a request: one conditional ``UPDATE`` (the record must still be in a
  source state and, with ``token``, still held by the caller's claim) that
  returns the records it moved; only those get a timeline entry;
* ``move_each(session, T, rows, detail)`` for records the caller holds locked
  and gives values of their own (a claim: each its own payload): one conditional
  statement executed for each record moves it and writes its values at once.

The life of an ``add``::

    (new) -> waiting <-> queued -> sending -> accepted -> removed
                          ^  |        |    \\-> rejected
                          |  |        v
                          |  |     unknown (settled by status look-up)
                          |  \\-> exported (Excel) -> accepted | rejected (staff record
                          |                           PARS's answer to the uploaded file)
                          +-- held, failed, rejected (staff: retry, release)

``sent`` (an Excel upload confirmed before PARS's answer to each row was recorded)
is no longer reached; records already there keep it (``RETIRED``) and can still
be removed by a correction.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, cast

from sqlalchemy import (
    JSON,
    CursorResult,
    Table,
    Text,
    bindparam,
    column,
    func,
    insert,
    literal,
    or_,
    select,
    update,
)
from sqlalchemy import cast as sql_cast
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.orm import Session

from webapp.db import utcnow
from webapp.models import Delivery, DeliveryEvent, DeliveryState, EventKind
from webapp.pars.codes import EngineCode
from webapp.pars.store import among

S = DeliveryState
E = EventKind
# The tables, not the mapped classes, for writes of many rows at once: plain
# statements, without the ORM's bulk machinery (no object in the session is involved).
_DELIVERIES = cast(Table, Delivery.__table__)
_EVENTS = cast(Table, DeliveryEvent.__table__)


class InvalidTransition(ValueError):
    """A record is not in a state the transition starts from."""


@dataclass(frozen=True)
class Transition:
    name: str
    sources: frozenset[DeliveryState]
    target: DeliveryState
    #: The timeline entry written with it, unless the caller names another; none for
    #: a claim, whose outcome (accepted, rejected, unknown, ...) is the entry.
    event: EventKind | None

    def allows(self, state: DeliveryState) -> bool:
        return state in self.sources


def _t(name: str, sources: Iterable[DeliveryState], target: DeliveryState,
       event: EventKind | None) -> Transition:
    return Transition(name, frozenset(sources), target, event)


#: A record that can go (again): nothing holds it back any more.
QUEUE = _t("queue", {S.WAITING}, S.QUEUED, E.QUEUED)
#: Held back by the physician (consent) or a missing identifier; the reason can change.
HOLD_BACK = _t("hold_back", {S.QUEUED, S.WAITING}, S.WAITING, E.WAITING)
#: Taken by a transmit run, committed before the request is made.
CLAIM = _t("claim", {S.QUEUED}, S.SENDING, None)
#: Taken into an Excel batch for staff to upload.
EXPORT = _t("export", {S.QUEUED}, S.EXPORTED, E.EXPORTED)
#: PARS took it (answer to a post, or found by status look-up).
ACCEPT = _t("accept", {S.SENDING, S.UNKNOWN}, S.ACCEPTED, E.ACCEPTED)
#: PARS refused it: in its answer to a post, or (Excel) in the upload report of the file
#: staff uploaded, which lists the rows it refused.
REJECT = _t("reject", {S.SENDING, S.UNKNOWN, S.EXPORTED}, S.REJECTED, E.REJECTED)
#: Sent without a definite answer (or its run died): settle by status look-up.
MARK_UNKNOWN = _t("mark_unknown", {S.SENDING}, S.UNKNOWN, E.UNKNOWN)
#: PARS certainly did not store it: back to the queue (with a backoff).
REQUEUE = _t("requeue", {S.SENDING, S.UNKNOWN}, S.QUEUED, E.REQUEUED)
#: Needs a person: retried until the limit, refused as malformed, a missed year
#: close, or a record PARS no longer holds.
FAIL = _t("fail", {S.QUEUED, S.SENDING, S.UNKNOWN, S.ACCEPTED}, S.FAILED, E.FAILED)
#: Staff uploaded the Excel batch and PARS's upload report refused none of its rows:
#: PARS accepted it on that day.
CONFIRM = _t("confirm", {S.EXPORTED}, S.ACCEPTED, E.ACCEPTED)
#: Staff cancelled the Excel batch: back to the queue.
UNEXPORT = _t("unexport", {S.EXPORTED}, S.QUEUED, E.REQUEUED)
#: Will not be sent: superseded by a new record, or out of the reporting rules.
CANCEL = _t("cancel", {S.QUEUED, S.WAITING, S.REJECTED}, S.CANCELLED, E.CANCELLED)
#: A reported add that PARS no longer holds as a record (its delete was accepted,
#: or PARS reports it deleted).
REMOVE = _t("remove", {S.ACCEPTED, S.SENT, S.UNKNOWN}, S.REMOVED, E.REMOVED)
#: Staff actions.
RETRY = _t("retry", {S.FAILED, S.REJECTED}, S.QUEUED, E.RETRIED)
HOLD = _t("hold", {S.QUEUED, S.WAITING, S.FAILED}, S.HELD, E.HELD)
RELEASE = _t("release", {S.HELD}, S.QUEUED, E.RELEASED)
RESOLVE = _t("resolve", {S.REJECTED, S.FAILED, S.HELD}, S.CANCELLED, E.RESOLVED)

TRANSITIONS: tuple[Transition, ...] = (
    QUEUE, HOLD_BACK, CLAIM, EXPORT, ACCEPT, REJECT, MARK_UNKNOWN, REQUEUE, FAIL,
    CONFIRM, UNEXPORT, CANCEL, REMOVE, RETRY, HOLD, RELEASE, RESOLVE,
)
#: The states a new record starts in.
INITIAL = frozenset({S.QUEUED, S.WAITING})
#: States no transition leads to any more, kept for the records that reached them.
RETIRED = frozenset({S.SENT})

Detail = str | Callable[[int], str]


def move(session: Session, delivery: Delivery, transition: Transition, detail: str | None, *,
         run_id: int | None = None, at: dt.datetime | None = None,
         event: EventKind | None = None, **fields: Any) -> Delivery:
    """Apply ``transition`` to a loaded record, with its timeline entry. Flushes nothing."""
    if not transition.allows(delivery.state):
        raise InvalidTransition(f"a {delivery.state.value} record cannot {transition.name}; "
                                f"only {', '.join(sorted(s.value for s in transition.sources))}")
    delivery.state = transition.target
    for name, value in fields.items():
        setattr(delivery, name, value)
    kind = event or transition.event
    if kind is not None and detail is not None:
        note(session, [(delivery.id, kind, detail)], run_id=run_id, at=at)
    return delivery


def move_many(session: Session, transition: Transition, ids: Sequence[int], detail: Detail | None,
              *,
              token: str | None = None, run_id: int | None = None,
              at: dt.datetime | None = None, event: EventKind | None = None,
              **fields: Any) -> list[int]:
    """Apply ``transition`` in one conditional statement; the IDs it moved.

    A record no longer in a source state, or (with ``token``) no longer held by
    that claim, is left alone: someone else settled or took it over.
    """
    if not ids:
        return []
    # On the table, as plain SQL: the ORM's bulk machinery would add nothing here (no
    # object in the session is synchronised), except the flush it starts, done here.
    if session.autoflush:
        session.flush()
    stmt = (update(_DELIVERIES)
            .where(among(session, _DELIVERIES.c.id, ids),
                   _DELIVERIES.c.state.in_(transition.sources))
            .values(state=transition.target, **fields)
            .returning(_DELIVERIES.c.id))
    if token is not None:
        stmt = stmt.where(_DELIVERIES.c.claim_token == token)
    moved = list(session.execute(stmt).scalars())
    if transition is REJECT and moved:
        _tell_physicians_rejected(session, moved)
    kind = event or transition.event
    if kind is not None and detail is not None:
        note(session, [(i, kind, detail if isinstance(detail, str) else detail(i))
                       for i in moved], run_id=run_id, at=at)
    return moved


def move_each(session: Session, transition: Transition, rows: Sequence[Mapping[str, Any]],
              detail: Detail | None, *, run_id: int | None = None,
              at: dt.datetime | None = None, event: EventKind | None = None,
              **fields: Any) -> None:
    """Apply ``transition`` to records the caller holds locked (a claim), each with
    values of its own: ``rows`` are ``{"id": ..., column: value, ...}``, all with the
    same columns; ``fields`` (values or SQL expressions) are the same for all.

    One conditional ``UPDATE`` (the record must still be in a source state) writes each
    record once, with its own values: on PostgreSQL one statement for all of them, on
    SQLite one executed for each (in-process: no round trips). Raises
    ``InvalidTransition`` when a record was not in a source state: under the caller's
    lock that is a bug, and the caller's transaction must not commit.
    """
    if not rows:
        return
    if session.autoflush:
        session.flush()
    columns = [name for name in rows[0] if name != "id"]
    if session.get_bind().dialect.name == "postgresql":
        # One statement for all: the rows travel as one JSON document that the server
        # reads as typed rows (json_to_recordset), joined to the records by ID; not a
        # statement per record, each a round trip with its parameters converted.
        document = json.dumps([{name: row[name] for name in ("id", *columns)} for row in rows],
                              default=str)
        given = (func.json_to_recordset(sql_cast(literal(document, Text), JSON))
                 .table_valued(*(column(name, _DELIVERIES.c[name].type)
                                 for name in ("id", *columns)))
                 .render_derived(name="given", with_types=True))
        result = cast(CursorResult[Any], session.execute(
            update(_DELIVERIES)
            .where(_DELIVERIES.c.id == given.c.id,
                   _DELIVERIES.c.state.in_(transition.sources))
            .values(state=transition.target, **fields,
                    **{name: given.c[name] for name in columns})))
    else:
        # The sources as plain comparisons: an IN list would be expanded per execution,
        # which an executemany does not allow.
        stmt = (update(_DELIVERIES)
                .where(_DELIVERIES.c.id == bindparam("_id"),
                       or_(*(_DELIVERIES.c.state == source
                             for source in sorted(transition.sources))))
                .values(state=transition.target, **fields,
                        **{name: bindparam(f"_{name}") for name in columns}))
        result = cast(CursorResult[Any], session.execute(
            stmt, [{f"_{name}": row[name] for name in ("id", *columns)} for row in rows]))
    # Every record, or one was in another state (SQLite sums the executions' counts).
    if result.rowcount != len(rows):
        raise InvalidTransition(f"{len(rows) - result.rowcount} records were no longer in a "
                                f"state to {transition.name}")
    kind = event or transition.event
    if kind is not None and detail is not None:
        note(session, [(row["id"], kind, detail if isinstance(detail, str) else detail(row["id"]))
                       for row in rows], run_id=run_id, at=at)


def open_records(session: Session, rows: list[dict[str, Any]], detail: Callable[[Any], str], *,
                 run_id: int | None = None) -> list[Any]:
    """Insert new records with their first timeline entry: ``queued``, or ``waiting``
    when the row names what holds it back (``error_code``, an eligibility blocker).

    ``detail`` gets each created row (``id``, ``state``, ``due_date``,
    ``error_code``) and returns its words. Returns those rows, in input order.
    """
    if not rows:
        return []
    if any("state" in row for row in rows):
        raise InvalidTransition("a new record's state follows from what holds it back")
    values = [{**row, "state": S.QUEUED if row.get("error_code") is None else S.WAITING}
              for row in rows]
    returning = (_DELIVERIES.c.id, _DELIVERIES.c.state, _DELIVERIES.c.due_date,
                 _DELIVERIES.c.error_code, _DELIVERIES.c.credit_id, _DELIVERIES.c.action)
    if session.get_bind().dialect.name == "postgresql":
        # One array per column, unnested by the server: a dozen parameters for the
        # statement instead of a dozen for every row, each converted by the driver.
        names = list(values[0])
        statement = insert(_DELIVERIES).from_select(names, select(*(
            func.unnest(literal([row[name] for row in values],
                                ARRAY(_DELIVERIES.c[name].type))).label(name)
            for name in names))).returning(*returning)
        result = session.execute(statement)
    else:
        result = session.execute(insert(_DELIVERIES).returning(*returning), values)
    # Matched back to the input by (CreditID, action), which is unique: asking the
    # database to keep the input order would make SQLite insert one row at a time.
    inserted = {(row.credit_id, row.action): row for row in result}
    created = [inserted[(row["credit_id"], row["action"])] for row in rows]
    note(session, [(row.id, E.QUEUED if row.state == S.QUEUED else E.WAITING, detail(row))
                   for row in created], run_id=run_id)
    return list(created)


def note(session: Session, entries: Iterable[tuple[int, EventKind, str | None]], *,
         run_id: int | None = None, at: dt.datetime | None = None) -> None:
    """Append timeline entries ``(delivery_id, kind, detail)`` in one statement.

    Used on its own for steps that change no state: a correction under way, new
    figures before sending, a warning for staff, a board's decision.
    """
    at = at or utcnow()
    entries = list(entries)
    groups: dict[tuple[EventKind, str | None], list[int]] = {}
    for delivery_id, kind, text in entries:
        groups.setdefault((kind, text), []).append(delivery_id)
    if not entries:
        return
    once_each = len({delivery_id for delivery_id, _, _ in entries}) == len(entries)
    if not once_each or len(groups) * 20 > len(entries):
        # Mostly different words (or one record twice, whose order matters): a row each.
        session.execute(insert(_EVENTS), [
            {"delivery_id": d, "kind": k, "detail": text, "run_id": run_id, "at": at}
            for d, k, text in entries])
        return
    # The same words for many records: one statement per wording, with nothing per row
    # for the database driver to convert.
    # PostgreSQL must be told the parameters' types (a NULL would be text); SQLite must
    # not (its CAST to DATETIME would keep only the year).
    typed = session.get_bind().dialect.name == "postgresql"

    def value(v: Any, column: Any) -> Any:
        bound = literal(v, column.type)
        return sql_cast(bound, column.type) if typed else bound

    for (kind, text), ids in groups.items():
        session.execute(insert(_EVENTS).from_select(
            ["delivery_id", "at", "kind", "detail", "run_id"],
            select(_DELIVERIES.c.id, value(at, _EVENTS.c.at), value(kind, _EVENTS.c.kind),
                   value(text, _EVENTS.c.detail), value(run_id, _EVENTS.c.run_id))
            .where(among(session, _DELIVERIES.c.id, ids)).order_by(_DELIVERIES.c.id)))


def _tell_physicians_rejected(session: Session, ids: Sequence[int]) -> None:
    """An e-mail notice for each rejected record, in the rejection's transaction."""
    from webapp.notify import outbox as notices

    notices.rejected(session, ids)


# -- steps the engine takes in more than one place ---------------------------------


def remove_replaced(session: Session, add_ids: Sequence[int], *, run_id: int | None = None,
                    at: dt.datetime | None = None, detail: str | None = None,
                    token: str | None = None) -> list[int]:
    """Reported adds whose delete PARS accepted (or that PARS reports deleted) are removed."""
    at = at or utcnow()
    fields: dict[str, Any] = {"settled_at": at}
    if token is not None:
        fields["claim_token"] = None
    return move_many(session, REMOVE, add_ids,
                     detail or "Removed from PARS; the corrected record replaces it.",
                     token=token, run_id=run_id, at=at, **fields)


def send_again_or_fail(session: Session, delivery_id: int, attempts: int, *, max_attempts: int,
                       retry_at: dt.datetime, reason: str, detail: str, token: str,
                       run_id: int | None, at: dt.datetime) -> DeliveryState | None:
    """PARS certainly did not store a record: queue it again after ``retry_at``, or, after
    ``max_attempts`` sends, fail it for staff. The state it went to, or None when the
    claim was lost (someone else settled it)."""
    if attempts >= max_attempts:
        tries = f"{attempts} attempt" + ("" if attempts == 1 else "s")
        moved = move_many(session, FAIL, [delivery_id], f"Not delivered after {tries}; CME staff "
                          "will review it.", token=token, run_id=run_id,
                          at=at, claim_token=None, settled_at=at,
                          error_code=EngineCode.NOT_DELIVERED.value,
                          error_message=f"{reason} (after {tries})"[:2000])
        return S.FAILED if moved else None
    moved = move_many(session, REQUEUE, [delivery_id], detail, token=token, run_id=run_id, at=at,
                      claim_token=None, next_attempt_at=retry_at,
                      error_message=f"{reason}; to be sent again."[:2000])
    return S.QUEUED if moved else None
