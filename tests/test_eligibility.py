import datetime as dt

import pytest

from webapp.dates import MonthDay
from webapp.pars.eligibility import Blocker, Rules, assess

RULES = Rules(reporting_start=dt.date(2023, 7, 1), year_close=MonthDay(3, 31), reporting_days=30,
              consent_default=True, today=dt.date(2026, 11, 27))


def test_eligible_physician_credit_is_sendable(make):
    learner = make.learner()
    completion = make.completion(learner, date=dt.date(2026, 11, 1))
    result = assess(completion, learner, RULES)
    assert result.sendable and result.reportable and result.blockers == ()


@pytest.mark.parametrize("setup,blocker", [
    (lambda m: (m.learner(), {"date": dt.date(2023, 6, 30)}), Blocker.BEFORE_START),
    (lambda m: (m.learner(degree="NP"), {}), Blocker.NOT_PHYSICIAN),
    (lambda m: (m.learner(), {"activity": m.activity(registered=False)}), Blocker.NOT_REGISTERED),
    (lambda m: (m.learner(), {"date": dt.date(2025, 3, 1)}), Blocker.YEAR_CLOSED),
    (lambda m: (m.learner(consent_granted=False), {}), Blocker.OPTED_OUT),
    (lambda m: (m.learner(birth_month_day=None), {}), Blocker.MISSING_BIRTH_DATE),
    (lambda m: (m.learner(npi=None, licenses=[]), {}), Blocker.MISSING_LICENSE_OR_NPI),
])
def test_each_rule_blocks(make, setup, blocker):
    learner, kw = setup(make)
    completion = make.completion(learner, **kw)
    result = assess(completion, learner, RULES)
    assert blocker in result.blockers
    assert not result.sendable
    assert result.reportable is (blocker not in {Blocker.BEFORE_START, Blocker.NOT_PHYSICIAN,
                                                 Blocker.NOT_REGISTERED, Blocker.YEAR_CLOSED})


def test_license_alone_or_npi_alone_is_enough(make):
    with_license = make.learner(npi=None)
    assert assess(make.completion(with_license), with_license, RULES).sendable
    npi_only = make.learner(licenses=[])
    assert assess(make.completion(npi_only), npi_only, RULES).sendable


def test_board_id_required_except_for_abs(make):
    learner = make.learner()
    make.board(learner, "ABIM", None)
    make.board(learner, "ABS", None)
    abim = make.completion(learner, board_lines=[("ABIM", "Medical Knowledge", "1")])
    abs_ = make.completion(learner, board_lines=[("ABS", "Accredited CME", "1")])
    # The CME part goes at once (the learner has an NPI and a license); ABIM waits for its ID.
    result = assess(abim, learner, RULES)
    assert result.sendable and result.sends_cme and result.sends_boards == ()
    assert result.held == (Blocker.MISSING_BOARD_ID,) and result.boards_missing_id == ("ABIM",)
    assert assess(abs_, learner, RULES).sends_boards == ("ABS",)
    # With no other part to send, the missing ID holds the record back.
    board_only = make.completion(learner, credits="0",
                                 board_lines=[("ABIM", "Medical Knowledge", "1")])
    assert assess(board_only, learner, RULES).blockers == (Blocker.MISSING_BOARD_ID,)


def test_consent_default_applies_to_learners_who_never_chose(make):
    learner = make.learner(consent_granted=None)
    completion = make.completion(learner)
    opt_in_model = Rules(**{**RULES.__dict__, "consent_default": False})
    assert assess(completion, learner, RULES).sendable
    assert assess(completion, learner, opt_in_model).blockers == (Blocker.OPTED_OUT,)


def test_closed_year_does_not_matter_once_sent(make):
    learner = make.learner()
    completion = make.completion(learner, date=dt.date(2024, 5, 1))
    assert Blocker.YEAR_CLOSED in assess(completion, learner, RULES).blockers
    assert assess(completion, learner, RULES, already_sent=True).sendable


@pytest.mark.parametrize("completed,board,due", [
    # All learner data: 30 days after completion.
    (dt.date(2026, 11, 2), None, dt.date(2026, 12, 2)),
    (dt.date(2026, 11, 1), "ABS", dt.date(2026, 12, 1)),
    # A board that counts credit by report date wants it by its year end when that is sooner.
    (dt.date(2026, 12, 20), "ABIM", dt.date(2026, 12, 31)),
    (dt.date(2026, 12, 20), None, dt.date(2027, 1, 19)),
    # ABS counts by completion date: no year-end rush.
    (dt.date(2026, 12, 20), "ABS", dt.date(2027, 1, 19)),
    # ABP wants credit by December 1; earned after it, it counts for the next year.
    (dt.date(2026, 11, 15), "ABP", dt.date(2026, 12, 1)),
    (dt.date(2026, 12, 5), "ABP", dt.date(2027, 1, 4)),
    # The PARS year close is the hard stop.
    (dt.date(2026, 12, 31), None, dt.date(2027, 1, 30)),
])
def test_due_dates(make, completed, board, due):
    types = {"ABS": "Accredited CME", "ABIM": "Medical Knowledge",
             "ABP": "Lifelong Learning and Self-Assessment"}
    lines = [(board, types[board], "1")] if board else []
    completion = make.completion(make.learner(), date=completed, board_lines=lines)
    assert RULES.due_date(completion) == due


def test_the_year_close_caps_the_due_date():
    short = Rules(**{**RULES.__dict__, "year_close": MonthDay(1, 15)})
    assert short.pars_deadline(dt.date(2026, 12, 31)) == dt.date(2027, 1, 15)


def test_board_only_credit_is_reported_and_no_credit_is_not(make):
    learner = make.learner(npi=None, licenses=[])
    make.board(learner, "ABIM", "123456")
    board_only = make.completion(learner, credits="0",
                                 board_lines=[("ABIM", "Medical Knowledge", "1")])
    result = assess(board_only, learner, RULES)
    assert result.sendable and not result.sends_cme and result.sends_boards == ("ABIM",)
    nothing = make.completion(learner, credits="0")
    assert assess(nothing, learner, RULES).blockers[0] == Blocker.NO_CREDIT
    # Credit a board does not take (ABS before March 2021) is no credit either.
    early = make.completion(learner, date=dt.date(2021, 2, 1), credits="0",
                            board_lines=[("ABS", "Accredited CME", "1")])
    early_rules = Rules(**{**RULES.__dict__, "reporting_start": dt.date(2020, 1, 1),
                           "today": dt.date(2021, 3, 1)})
    assert Blocker.NO_CREDIT in assess(early, learner, early_rules).blockers


def test_board_credit_goes_with_a_board_id_and_no_npi_or_license(make):
    learner = make.learner(npi=None, licenses=[])
    make.board(learner, "ABIM", "123456")
    completion = make.completion(learner, board_lines=[("ABIM", "Medical Knowledge", "1")])
    result = assess(completion, learner, RULES)
    assert result.sendable and result.sends_boards == ("ABIM",) and not result.sends_cme
    assert result.held == (Blocker.MISSING_LICENSE_OR_NPI,)


def test_abs_without_id_and_without_license(make):
    learner = make.learner(npi=None, licenses=[])
    completion = make.completion(learner, board_lines=[("ABS", "Accredited CME", "1")])
    result = assess(completion, learner, RULES)
    assert result.sendable and result.sends_boards == ("ABS",)


@pytest.mark.parametrize("degree,physician", [
    ("MD", True), ("D.O.", True), ("MBBS", True), ("MBChB", True), ("MB BCh", True),
    ("BMBS", True), ("NP", False), ("PA-C", False), ("RN", False),
])
def test_physician_degrees(make, degree, physician):
    learner = make.learner(degree=degree)
    completion = make.completion(learner)
    assert (Blocker.NOT_PHYSICIAN not in assess(completion, learner, RULES).blockers) is physician


def test_the_physician_degree_list_is_configurable(make):
    learner = make.learner(degree="MBBS")
    only_us = Rules(**{**RULES.__dict__, "physician_degrees": frozenset({"MD", "DO"})})
    assert Blocker.NOT_PHYSICIAN in assess(make.completion(learner), learner, only_us).blockers


@pytest.mark.parametrize("today,expected", [
    (dt.date(2026, 3, 31), dt.date(2025, 1, 1)),
    (dt.date(2026, 4, 1), dt.date(2026, 1, 1)),
    (dt.date(2026, 11, 27), dt.date(2026, 1, 1)),
])
def test_open_from_agrees_with_year_closed(make, today, expected):
    rules = Rules(**{**RULES.__dict__, "today": today})
    assert rules.open_from() == expected
    learner = make.learner()
    last_open = make.completion(learner, date=expected)
    assert Blocker.YEAR_CLOSED not in assess(last_open, learner, rules).blockers
    closed = make.completion(learner, date=expected - dt.timedelta(days=1))
    assert Blocker.YEAR_CLOSED in assess(closed, learner, rules).blockers
