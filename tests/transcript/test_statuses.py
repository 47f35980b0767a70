"""Each status a physician can see, worked out from the outbox and the rules."""

from __future__ import annotations

import datetime as dt

import pytest

from webapp.dates import MonthDay
from webapp.db import utcnow
from webapp.models import (
    Action,
    Batch,
    BatchKind,
    BatchState,
    BoardStatus,
    Delivery,
    DeliveryState,
)
from webapp.pars.eligibility import Rules
from webapp.transcript.services import credit_row
from webapp.transcript.statuses import Status

TODAY = dt.date(2026, 11, 27)
RULES = Rules(reporting_start=dt.date(2023, 7, 1), year_close=MonthDay(3, 31), reporting_days=30,
              consent_default=True, today=TODAY)


def delivery(session, completion, state, action=Action.ADD, **kw) -> Delivery:
    credit_id = f"ccid:0001234:{completion.id}-{state}-{action}"
    d = Delivery(completion=completion, action=action, credit_id=credit_id, state=state,
                 due_date=TODAY, **kw)
    session.add(d)
    session.flush()
    session.refresh(completion)
    return d


def row(completion, learner):
    return credit_row(completion, learner, RULES)


@pytest.mark.parametrize("case,expected", [
    ({"date": dt.date(2023, 6, 30)}, Status.BEFORE_START),
    ({"registered": False}, Status.NOT_REGISTERED),
    ({"degree": "PA"}, Status.NOT_PHYSICIAN),
    ({"date": dt.date(2025, 2, 1)}, Status.YEAR_CLOSED),
    ({"consent_granted": False}, Status.OPTED_OUT),
    ({"birth_month_day": None}, Status.MISSING_IDENTIFIER),
    ({}, Status.QUEUED),
])
def test_statuses_before_sending(make, case, expected):
    learner = make.learner(degree=case.get("degree", "MD"),
                           **{k: v for k, v in case.items() if k in ("consent_granted", "birth_month_day")})
    activity = make.activity(registered=case.get("registered", True))
    completion = make.completion(learner, activity, date=case.get("date", TODAY - dt.timedelta(days=3)))
    assert row(completion, learner).pars.status == expected


def test_missing_identifier_names_which_and_links_to_profile(make):
    learner = make.learner(birth_month_day=None, npi=None, licenses=[])
    status = row(make.completion(learner), learner).pars
    assert "birth month and day" in status.text and "NPI or a state license" in status.text
    assert status.fix_on_profile


@pytest.mark.parametrize("state,expected", [
    (DeliveryState.QUEUED, Status.QUEUED),
    (DeliveryState.SENDING, Status.VERIFYING),
    (DeliveryState.UNKNOWN, Status.VERIFYING),
    (DeliveryState.EXPORTED, Status.IN_BATCH),
    (DeliveryState.SENT, Status.SENT),
    (DeliveryState.ACCEPTED, Status.ACCEPTED),
    (DeliveryState.REJECTED, Status.REJECTED),
    (DeliveryState.FAILED, Status.FAILED),
    (DeliveryState.HELD, Status.HELD),
    (DeliveryState.REMOVED, Status.REMOVED),
    (DeliveryState.WAITING, Status.QUEUED),  # the reason went away: shown as queued at once
])
def test_statuses_from_the_outbox(make, db_session, state, expected):
    learner = make.learner()
    completion = make.completion(learner)
    delivery(db_session, completion, state, sent_at=utcnow(), settled_at=utcnow())
    assert row(completion, learner).pars.status == expected


def test_rejection_is_explained_with_what_to_do(make, db_session):
    learner = make.learner()
    completion = make.completion(learner)
    delivery(db_session, completion, DeliveryState.REJECTED, error_code="LEARNER_NOT_MATCHED",
             settled_at=utcnow())
    status = row(completion, learner).pars
    assert "could not match" in status.text
    assert "profile" in status.action and status.fix_on_profile


def test_sent_credit_stays_accepted_after_opting_out(make, db_session):
    learner = make.learner(consent_granted=False)
    completion = make.completion(learner)
    delivery(db_session, completion, DeliveryState.ACCEPTED, settled_at=utcnow())
    assert row(completion, learner).pars.status == Status.ACCEPTED


def test_correction_under_way(make, db_session):
    learner = make.learner()
    completion = make.completion(learner)
    old = delivery(db_session, completion, DeliveryState.ACCEPTED, settled_at=utcnow())
    delivery(db_session, completion, DeliveryState.QUEUED, action=Action.DELETE, withdraws_id=old.id)
    assert row(completion, learner).pars.status == Status.CORRECTING


@pytest.mark.parametrize("decision,expected", [
    (None, Status.BOARD_PENDING), ("pending", Status.BOARD_PENDING),
    ("accepted", Status.BOARD_ACCEPTED), ("rejected", Status.BOARD_REJECTED),
])
def test_board_decisions(make, db_session, decision, expected):
    learner = make.learner()
    make.board(learner, "ABIM", "123456")
    completion = make.completion(learner, board_lines=[("ABIM", "Medical Knowledge", "1")])
    d = delivery(db_session, completion, DeliveryState.ACCEPTED, settled_at=utcnow())
    if decision:
        db_session.add(BoardStatus(delivery=d, board="ABIM", status=decision,
                                   message="ID not found" if decision == "rejected" else None))
        db_session.flush()
        db_session.refresh(d)
    result = row(completion, learner)
    assert [b.status for b in result.boards] == [expected]
    if decision == "rejected":
        assert "ID not found" in result.boards[0].text


def test_board_credit_waiting_shows_the_30_day_limit(make):
    learner = make.learner()
    make.board(learner, "ABS", None)
    completion = make.completion(learner, date=TODAY - dt.timedelta(days=24),
                                 board_lines=[("ABS", "Accredited CME", "2")])
    result = row(completion, learner)
    assert result.pars.status == Status.QUEUED
    assert result.boards[0].status == Status.QUEUED
    assert result.boards[0].deadline == TODAY + dt.timedelta(days=6)


def test_missing_board_id_blocks_with_the_board_named(make):
    learner = make.learner(npi=None, licenses=[])
    make.board(learner, "ABIM", None)
    completion = make.completion(learner, board_lines=[("ABIM", "Medical Knowledge", "1")])
    result = row(completion, learner)
    assert result.pars.status == Status.MISSING_IDENTIFIER
    assert "board ID for ABIM" in result.pars.text
    assert result.boards[0].status == Status.MISSING_IDENTIFIER


def test_the_cme_part_goes_while_the_board_waits_for_its_id(make):
    learner = make.learner()
    make.board(learner, "ABIM", None)
    completion = make.completion(learner, board_lines=[("ABIM", "Medical Knowledge", "1")])
    result = row(completion, learner)
    assert result.pars.status == Status.QUEUED
    assert result.boards[0].status == Status.MISSING_IDENTIFIER
    assert "ABIM ID" in result.boards[0].text and result.boards[0].fix_on_profile


def test_board_credit_goes_while_the_cme_part_waits_for_npi_or_license(make):
    learner = make.learner(npi=None, licenses=[])
    make.board(learner, "ABIM", "123456")
    completion = make.completion(learner, board_lines=[("ABIM", "Medical Knowledge", "1")])
    result = row(completion, learner)
    assert result.pars.status == Status.QUEUED and result.pars.fix_on_profile
    assert "NPI or a state license" in result.pars.text
    assert result.boards[0].status == Status.QUEUED


def test_waiting_record_explained_by_the_current_rules(make, db_session):
    learner = make.learner(birth_month_day=None)
    completion = make.completion(learner)
    delivery(db_session, completion, DeliveryState.WAITING, error_code="missing_birth_date")
    assert row(completion, learner).pars.status == Status.MISSING_IDENTIFIER


def test_record_resolved_by_staff(make, db_session):
    learner = make.learner()
    completion = make.completion(learner)
    delivery(db_session, completion, DeliveryState.CANCELLED, resolution_note="entered in PARS",
             settled_at=utcnow())
    assert row(completion, learner).pars.status == Status.RESOLVED


def test_superseded_record_is_ignored(make, db_session):
    learner = make.learner()
    completion = make.completion(learner)
    delivery(db_session, completion, DeliveryState.CANCELLED)
    assert row(completion, learner).pars.status == Status.QUEUED


def test_correction_held_back_keeps_showing_the_record_pars_holds(make, db_session):
    learner = make.learner(consent_granted=False)
    completion = make.completion(learner)
    old = delivery(db_session, completion, DeliveryState.ACCEPTED, settled_at=utcnow())
    delivery(db_session, completion, DeliveryState.WAITING, action=Action.DELETE,
             withdraws_id=old.id, error_code="opted_out")
    status = row(completion, learner).pars
    assert status.status == Status.ACCEPTED
    assert "PARS holds this credit as first reported" in status.text
    assert "You chose not to share" in status.text


@pytest.mark.parametrize("delete_state", [DeliveryState.REJECTED, DeliveryState.FAILED])
def test_correction_stuck_on_its_removal_is_not_shown_as_ready(make, db_session, delete_state):
    learner = make.learner()
    completion = make.completion(learner)
    old = delivery(db_session, completion, DeliveryState.ACCEPTED, settled_at=utcnow())
    delivery(db_session, completion, delete_state, action=Action.DELETE, withdraws_id=old.id,
             error_code="UNKNOWN_CREDIT_ID")
    status = row(completion, learner).pars
    assert status.status == Status.CORRECTING
    assert "CME staff are resolving" in status.text


def test_failed_after_the_year_closed_is_explained_as_closed(make, db_session):
    learner = make.learner()
    completion = make.completion(learner)
    delivery(db_session, completion, DeliveryState.FAILED, error_code="REPORTING_YEAR_CLOSED")
    assert row(completion, learner).pars.status == Status.YEAR_CLOSED


def test_failed_with_a_known_code_says_what_happened(make, db_session):
    learner = make.learner()
    completion = make.completion(learner)
    delivery(db_session, completion, DeliveryState.FAILED, error_code="NOT_FOUND_IN_PARS")
    status = row(completion, learner).pars
    assert status.status == Status.FAILED and "no longer holds" in status.text


def _uploaded(session, completion, state, **kw) -> Delivery:
    batch = Batch(kind=BatchKind.EXCEL, state=BatchState.CONFIRMED, record_count=1, row_count=1)
    session.add(batch)
    session.flush()
    return delivery(session, completion, state, batch_id=batch.id, sent_at=utcnow(),
                    settled_at=utcnow(), **kw)


def test_credit_uploaded_in_a_file_says_what_is_and_is_not_known(make, db_session):
    learner = make.learner()
    make.board(learner, "ABIM", "123456")
    completion = make.completion(learner, board_lines=[("ABIM", "Medical Knowledge", "1")])
    _uploaded(db_session, completion, DeliveryState.ACCEPTED)
    result = row(completion, learner)
    assert result.pars.status == Status.ACCEPTED and result.pars.on == utcnow().date()
    assert "uploaded it to PARS in a file" in result.pars.text
    assert "it is in CME Passport" not in result.pars.text
    assert "once PARS has matched it to you" in result.pars.text
    [board] = result.boards
    assert board.status == Status.BOARD_NOT_SEEN
    assert "does not see ABIM's decision" in board.text and "ABIM's website" in board.text
    assert "CME Passport" not in board.text  # nothing backs CME Passport showing decisions
    assert board.info.faq == "board-decision-not-shown"


def test_credit_sent_before_answers_were_recorded_claims_nothing(make, db_session):
    learner = make.learner()
    make.board(learner, "ABS", None)
    completion = make.completion(learner, board_lines=[("ABS", "Accredited CME", "1")])
    _uploaded(db_session, completion, DeliveryState.SENT)
    result = row(completion, learner)
    assert result.pars.status == Status.SENT
    assert "not recorded here" in result.pars.text
    assert "appears in CME Passport" not in result.pars.text
    assert [b.status for b in result.boards] == [Status.BOARD_NOT_SEEN]
    assert "accepted" not in result.boards[0].text.lower()


def test_a_row_pars_refused_in_an_uploaded_file(make, db_session):
    learner = make.learner()
    completion = make.completion(learner)
    _uploaded(db_session, completion, DeliveryState.REJECTED, error_code="EXCEL_ROW_REJECTED",
              error_message="Row 5: Learner not matched")
    status = row(completion, learner).pars
    assert status.status == Status.REJECTED
    assert "when CME staff uploaded it in a file" in status.text
    assert "CME staff" in status.action and not status.fix_on_profile


def test_withheld_credit_is_explained_by_the_consent_model(make):
    chose = make.learner(consent_granted=False)
    assert "You chose not to share" in row(make.completion(chose), chose).pars.text
    never_chose = make.learner(consent_granted=None)
    opt_in = Rules(**{**RULES.__dict__, "consent_default": False})
    result = credit_row(make.completion(never_chose), never_chose, opt_in)
    assert result.pars.status == Status.OPTED_OUT
    assert "You chose" not in result.pars.text and "not on record" in result.pars.text
