"""The local PARS service's answers: plain for the tests, realistic for `make run`."""

from __future__ import annotations

from collections import Counter

from devtools.localpars import BOARD_REASONS, FakePars
from webapp.pars.client import document

PROVIDER = "0001234"


def records(count: int) -> list[dict]:
    return [{
        "credit_id": f"ccid:{PROVIDER}:rec-{n}", "action": "add", "activity_id": "202312345",
        "activity_title": "Sepsis Grand Rounds", "completion_date": "2026-05-01",
        "first_name": f"First{n}", "last_name": f"Last{n}", "birth_month_day": "04-17",
        "npi": "1234567893", "license_state": None, "license_number": None,
        "cme_credits": "1.00",
        "boards": [{"board": "ABIM", "board_id": f"{100000 + n}",
                    "credit_type": "Medical Knowledge", "credits": "1.00"}],
    } for n in range(count)]


def post(fake: FakePars, batch: list[dict]) -> list[dict]:
    status, answer = fake.process(document(batch, provider_id=PROVIDER,
                                           reporting_organization="Lakeshore Health"))
    assert status == 201
    return answer["Results"]


def board_statuses(fake: FakePars, batch: list[dict]) -> list[tuple[str, str | None]]:
    out = []
    for r in batch:
        entries = fake.status_of(r["credit_id"] + ".1")
        if entries is None:
            continue
        [board] = [e["BoardStatus"] for e in entries if "BoardStatus" in e]
        out.append((board["Status"], board.get("Message")))
    return out


def test_plain_service_accepts_every_well_formed_record_and_boards_wait():
    fake = FakePars(validate=True)
    batch = records(200)
    assert {r["Status"] for r in post(fake, batch)} == {"Accepted"}
    assert set(board_statuses(fake, batch)) == {("Pending", None)}
    assert fake.invalid_documents == []


def test_realistic_service_rejects_a_few_learners_the_same_way_every_time():
    batch = records(400)
    first = post(FakePars(realistic=True), batch)
    again = post(FakePars(realistic=True), batch)
    assert first == again
    rejected = [r for r in first if r["Status"] == "Rejected"]
    assert 2 <= len(rejected) <= 24  # about 3 %
    assert {e["Code"] for r in rejected for e in r["Errors"]} == {"LEARNER_NOT_MATCHED"}


def test_realistic_boards_decide_once_the_record_is_looked_up():
    batch = records(300)
    fake = FakePars(realistic=True)
    post(fake, batch)
    first = board_statuses(fake, batch)
    counts = Counter(status for status, _ in first)
    assert counts["Accepted"] > counts["Rejected"] > 0 and counts["Pending"] > 0
    assert {m for s, m in first if s == "Rejected"} <= set(BOARD_REASONS)
    # Some decisions take one more look-up; a few are still pending after it.
    second = Counter(status for status, _ in board_statuses(fake, batch))
    assert second["Accepted"] > counts["Accepted"] and 0 < second["Pending"] < counts["Pending"]
    # Deterministic: another service decides the same.
    other = FakePars(realistic=True)
    post(other, batch)
    assert board_statuses(other, batch) == first
    # What a test sets decides before anything else.
    fake.board_decisions[("ABIM", "100000")] = ("Rejected", "set by the test")
    assert board_statuses(fake, batch[:1]) == [("Rejected", "set by the test")]
