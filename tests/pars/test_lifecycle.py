"""The delivery lifecycle: one home for state changes, and every state classified everywhere."""

from __future__ import annotations

import ast
import datetime as dt
from pathlib import Path

import pytest
from sqlalchemy import select

from webapp.models import (
    STATE_CLASSES,
    Action,
    Delivery,
    DeliveryEvent,
    DeliveryState,
    EventKind,
    StateClass,
)
from webapp.pars import lifecycle as life
from webapp.pars.report import StatusReport
from webapp.staff.services import STATE_LABELS
from webapp.transcript.services import STATE_STATUS

S = DeliveryState
WEBAPP = Path(__file__).resolve().parents[2] / "webapp"


@pytest.mark.parametrize("state", list(DeliveryState))
def test_every_state_is_classified_for_every_reader(state):
    assert state in STATE_CLASSES, f"{state} has no classes in webapp/models/delivery.py"
    # Each state is either still to be delivered (deadlines matter) or settled, never both.
    assert state.undelivered != state.settled
    assert state in STATE_STATUS, f"the transcript does not say what {state} means"
    assert state in STATE_LABELS, f"the staff console has no label for {state}"
    lines = StatusReport(dt.date(2026, 1, 1), by_state={(state.value, "add"): 3}).lines()
    assert any(line.split()[:2] == [state.value, "3"] for line in lines), lines


def test_classes_agree_with_the_rules_that_read_them():
    assert DeliveryState.of_class(StateClass.NEEDS_ATTENTION) == {S.REJECTED, S.FAILED}
    assert DeliveryState.of_class(StateClass.IN_FLIGHT) == {S.SENDING, S.UNKNOWN, S.EXPORTED}
    assert DeliveryState.of_class(StateClass.REPORTED) == {S.ACCEPTED, S.SENT}
    assert DeliveryState.of_class(StateClass.GONE) == {S.CANCELLED, S.REMOVED}
    # Waiting records are undelivered too: the staff console and `pars status` count alike.
    assert S.WAITING.undelivered and S.HELD.undelivered
    assert all(s.undelivered for s in DeliveryState.of_class(StateClass.NEEDS_ATTENTION))
    assert all(s.settled for s in DeliveryState.of_class(StateClass.REPORTED))


def test_every_state_is_reached_and_every_unsettled_state_can_move_on():
    targets = {t.target for t in life.TRANSITIONS} | life.INITIAL
    assert targets | life.RETIRED == set(DeliveryState)
    assert not targets & life.RETIRED, "a retired state is reached again"
    # Records already in a retired state still settle: a correction removes them.
    assert all(s.settled and life.REMOVE.allows(s) for s in life.RETIRED)
    sources = set().union(*(t.sources for t in life.TRANSITIONS))
    assert {s for s in DeliveryState if s.undelivered} <= sources
    assert len({t.name for t in life.TRANSITIONS}) == len(life.TRANSITIONS)


def _mentions_delivery_state(node: ast.AST) -> bool:
    for sub in ast.walk(node):
        if isinstance(sub, ast.Name) and sub.id in {"S", "DeliveryState"}:
            return True
        if isinstance(sub, ast.Attribute) and sub.attr in {"DeliveryState", "target"}:
            return True
    return False


def _state_writes(tree: ast.AST) -> list[int]:
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Assign | ast.AnnAssign | ast.AugAssign):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            names = [t for target in targets for t in ast.walk(target)]
            if any(isinstance(t, ast.Attribute) and t.attr == "state" for t in names) \
                    and node.value is not None and _mentions_delivery_state(node.value):
                found.append(node.lineno)
        elif isinstance(node, ast.keyword) and node.arg == "state" \
                and _mentions_delivery_state(node.value):
            found.append(node.value.lineno)
        elif isinstance(node, ast.Dict):
            for key, value in zip(node.keys, node.values, strict=True):
                if isinstance(key, ast.Constant) and key.value == "state" \
                        and _mentions_delivery_state(value):
                    found.append(key.lineno)
    return sorted(found)


def test_no_delivery_state_is_written_outside_the_lifecycle_module():
    offenders = []
    for path in sorted(WEBAPP.rglob("*.py")):
        if path.name == "lifecycle.py" and path.parent.name == "pars":
            continue
        if path.parent.name == "models":
            continue  # the enum and its default live there
        tree = ast.parse(path.read_text(), filename=str(path))
        offenders += [f"{path.relative_to(WEBAPP)}:{line}" for line in _state_writes(tree)]
    assert offenders == []


def test_the_check_itself_finds_a_state_write():
    sample = ast.parse("d.state = S.QUEUED\nupdate(D).values(state=S.SENT)\nx = {'state': S.X}\n"
                       "lic = License(state='NY')\n")
    assert _state_writes(sample) == [1, 2, 3]


def _queued(make, db_session, policy):
    from webapp.pars import outbox

    completion = make.completion(make.learner())
    outbox.plan(db_session, policy)
    return db_session.scalars(select(Delivery).where(Delivery.completion_id == completion.id)).one()


def _events(db_session, delivery_id: int) -> list[tuple[str, str | None]]:
    return [(e.kind.value, e.detail) for e in db_session.scalars(
        select(DeliveryEvent).where(DeliveryEvent.delivery_id == delivery_id)
        .order_by(DeliveryEvent.id))]


def test_move_writes_state_fields_and_timeline_and_refuses_other_states(make, db_session,
                                                                        policy):
    record = _queued(make, db_session, policy)
    life.move(db_session, record, life.HOLD, "Put on hold.", error_message="checking")
    db_session.flush()
    assert (record.state, record.error_message) == (S.HELD, "checking")
    assert _events(db_session, record.id)[-1] == ("held", "Put on hold.")
    with pytest.raises(life.InvalidTransition, match="a held record cannot claim; only queued"):
        life.move(db_session, record, life.CLAIM, None)
    assert record.state == S.HELD


def test_move_many_moves_only_records_still_held_by_the_claim(make, db_session, policy):
    mine, taken = _queued(make, db_session, policy), _queued(make, db_session, policy)
    for record, token in ((mine, "tok-mine"), (taken, "tok-other")):
        life.move(db_session, record, life.CLAIM, None, claim_token=token)
    db_session.flush()
    moved = life.move_many(db_session, life.ACCEPT, [mine.id, taken.id], "Accepted.",
                           token="tok-mine", claim_token=None)
    assert moved == [mine.id]
    db_session.expire_all()
    assert (mine.state, mine.claim_token) == (S.ACCEPTED, None)
    assert (taken.state, taken.claim_token) == (S.SENDING, "tok-other")
    assert _events(db_session, mine.id)[-1] == ("accepted", "Accepted.")
    assert all(kind != "accepted" for kind, _ in _events(db_session, taken.id))
    # A record no longer in a source state is left alone, token or not.
    assert life.move_many(db_session, life.ACCEPT, [mine.id], "Again.") == []


def test_new_records_start_queued_or_waiting_only(db_session):
    with pytest.raises(life.InvalidTransition):
        life.open_records(db_session, [{"state": S.SENDING, "action": Action.ADD}], str)
    assert life.INITIAL == {S.QUEUED, S.WAITING}


def test_event_kinds_cover_every_transition():
    assert {t.event for t in life.TRANSITIONS if t.event is not None} <= set(EventKind)


def test_move_each_moves_locked_records_with_values_of_their_own(make, db_session, policy):
    records = [_queued(make, db_session, policy) for _ in range(3)]
    db_session.flush()
    payloads = [{"n": i, "name": "Zoë O'Brien \"Jr\"", "boards": [{"credits": "1.25"}]}
                for i in range(3)]
    life.move_each(db_session, life.CLAIM, [
        {"id": r.id, "sent_payload": payloads[i], "completion_revision": 7 + i}
        for i, r in enumerate(records)], None, claim_token="tok", attempts=Delivery.attempts + 1)
    db_session.expire_all()
    assert [(r.state, r.claim_token, r.attempts, r.sent_payload, r.completion_revision)
            for r in records] == [(S.SENDING, "tok", 1, payloads[i], 7 + i) for i in range(3)]
    # A record not in a source state is a bug under the caller's lock: refused, loudly.
    with pytest.raises(life.InvalidTransition, match="1 records were no longer in a state to claim"):
        life.move_each(db_session, life.CLAIM, [{"id": records[0].id, "sent_payload": {}}], None)


def test_move_each_counts_every_record_not_in_a_source_state(make, db_session, policy):
    queued = [_queued(make, db_session, policy) for _ in range(4)]
    life.move(db_session, queued[1], life.HOLD, None)
    life.move(db_session, queued[3], life.HOLD, None)
    db_session.flush()
    with pytest.raises(life.InvalidTransition, match="2 records were no longer in a state to claim"):
        life.move_each(db_session, life.CLAIM, [{"id": r.id, "sent_payload": {}} for r in queued],
                       None, claim_token="tok")


def test_new_records_are_matched_to_their_rows_and_keep_every_default(make, db_session, policy):
    completions = [make.completion(make.learner()) for _ in range(3)]
    rows = [{"completion_id": c.id, "action": Action.ADD, "credit_id": f"ccid:0001234:new-{i}",
             "sequence": 1, "completion_revision": 1, "due_date": dt.date(2026, 6, 1 + i),
             "has_board_credit": i == 1, "depends_on_id": None,
             "error_code": "opted_out" if i == 2 else None}
            for i, c in enumerate(completions)]
    created = life.open_records(db_session, rows, lambda row: f"{row.state} by {row.due_date}")
    db_session.flush()
    # In the order given, each with the ID of its own row.
    assert [r.credit_id for r in created] == [row["credit_id"] for row in rows]
    records = [db_session.get(Delivery, r.id) for r in created]
    assert [(d.completion_id, d.state, d.error_code, d.has_board_credit, d.due_date)
            for d in records] == [
        (completions[0].id, S.QUEUED, None, False, dt.date(2026, 6, 1)),
        (completions[1].id, S.QUEUED, None, True, dt.date(2026, 6, 2)),
        (completions[2].id, S.WAITING, "opted_out", False, dt.date(2026, 6, 3))]
    assert all(d.attempts == 0 and d.created_at is not None and d.claim_token is None
               for d in records)
    assert [_events(db_session, d.id) for d in records] == [
        [("queued", "queued by 2026-06-01")], [("queued", "queued by 2026-06-02")],
        [("waiting", "waiting by 2026-06-03")]]


def test_timeline_entries_written_together_keep_every_field(make, db_session, policy):
    records = [_queued(make, db_session, policy) for _ in range(25)]
    db_session.flush()
    at = dt.datetime(2026, 5, 1, 12, 30, 15, 250000, tzinfo=dt.UTC)
    # The same words for many records (one statement per wording), no run...
    life.note(db_session, [(r.id, EventKind.WARNING, "Same words.") for r in records], at=at)
    # ...and different words, one of them for one record twice, in the order given.
    life.note(db_session, [(records[0].id, EventKind.UPDATED, "First."),
                           (records[0].id, EventKind.WARNING, "Second."),
                           (records[1].id, EventKind.UPDATED, None)], at=at, run_id=None)
    db_session.flush()
    for record in records:
        entries = db_session.scalars(select(DeliveryEvent).where(
            DeliveryEvent.delivery_id == record.id, DeliveryEvent.at == at)
            .order_by(DeliveryEvent.id)).all()
        assert [(e.kind, e.detail, e.run_id, e.at) for e in entries][:1] == [
            (EventKind.WARNING, "Same words.", None, at)]
    assert _events(db_session, records[0].id)[-2:] == [("updated", "First."),
                                                       ("warning", "Second.")]
    assert _events(db_session, records[1].id)[-1] == ("updated", None)
