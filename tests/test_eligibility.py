import datetime as dt

import pytest

from webapp.dates import MonthDay
from webapp.pars.eligibility import Blocker, Rules, assess

RULES = Rules(reporting_start=dt.date(2023, 7, 1), year_close=MonthDay(3, 31), board_days=30,
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
    result = assess(abim, learner, RULES)
    assert result.blockers == (Blocker.MISSING_BOARD_ID,) and result.boards_missing_id == ("ABIM",)
    assert assess(abs_, learner, RULES).sendable


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


def test_due_dates(make):
    learner = make.learner()
    board = make.completion(learner, date=dt.date(2026, 11, 1),
                            board_lines=[("ABS", "Accredited CME", "1")])
    plain = make.completion(learner, date=dt.date(2026, 11, 2))
    assert RULES.due_date(board) == dt.date(2026, 12, 1)
    assert RULES.due_date(plain) == dt.date(2027, 3, 31)


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
