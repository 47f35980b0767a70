"""The board registry: one entry per board, every fact in one place."""

import dataclasses
import datetime as dt
from decimal import Decimal

from webapp.boards import BOARDS, REGISTRY, YearBasis, board


def test_each_entry_is_complete_and_names_only_real_facts_as_unconfirmed():
    fields = {f.name for f in dataclasses.fields(next(iter(REGISTRY.values())))}
    assert set(REGISTRY) == {"ABA", "ABIM", "ABOHNS", "ABOS", "ABP", "ABPATH", "ABPMR", "ABS",
                             "ABTS"}
    for code, entry in REGISTRY.items():
        assert entry.code == code and entry.name and BOARDS[code] == entry.name
        assert entry.unconfirmed <= fields, code
        # A board with unconfirmed credit types takes any; one with confirmed types, only those.
        assert ("credit_types" in entry.unconfirmed) == (not entry.credit_types), code


def test_the_board_rules_the_engine_relies_on():
    surgery = board("ABS")
    assert surgery is not None
    assert not surgery.needs_board_id and surgery.daily_cap == Decimal(12)
    assert surgery.counts_year_by == YearBasis.COMPLETION_DATE
    assert surgery.report_by(dt.date(2026, 5, 1)) is None
    assert not surgery.takes(dt.date(2021, 2, 28)) and surgery.takes(dt.date(2021, 3, 1))
    pediatrics = board("ABP")
    assert pediatrics is not None and pediatrics.same_points_per_activity
    assert pediatrics.report_by(dt.date(2026, 5, 1)) == dt.date(2026, 12, 1)
    medicine = board("ABIM")
    assert medicine is not None and medicine.needs_board_id
    assert medicine.report_by(dt.date(2026, 5, 1)) == dt.date(2026, 12, 31)
    assert medicine.takes_credit_type("Medical Knowledge")
    assert not medicine.takes_credit_type("Accredited CME")
    assert board("ABX") is None
