"""Hostile import files: every one ends as errors by line and column, in bounded memory,
with nothing changed."""

from __future__ import annotations

import io
import tracemalloc

import pytest

from tests.credits.test_import import BASE, count, csv_bytes, run
from webapp.credits.importer import ImportRejected
from webapp.models import Activity, Completion, ImportRow, Learner


class Generated(io.RawIOBase):
    """``head`` then ``unit`` repeated up to ``size`` bytes, without holding them."""

    def __init__(self, head: bytes, unit: bytes, size: int) -> None:
        self.head, self.unit, self.left = head, unit, size
        self.pattern = unit * (65536 // len(unit) + 1)

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        if self.head:
            n = min(len(buffer), len(self.head))
            buffer[:n] = self.head[:n]
            self.head = self.head[n:]
            return n
        n = min(len(buffer), self.left, len(self.pattern))
        buffer[:n] = self.pattern[:n]
        self.left -= n
        return n


def rejected(session, data) -> ImportRejected:
    with pytest.raises(ImportRejected) as info:
        run(session, data) if isinstance(data, bytes) else _run_stream(session, data)
    for model in (Learner, Activity, Completion, ImportRow):
        assert count(session, model) == 0
    return info.value


def _run_stream(session, stream):
    import datetime as dt

    from flask import current_app

    from webapp.credits.importer import import_credits
    from webapp.pars.policy import Policy

    return import_credits(session, stream, policy=Policy.from_config(current_app.config),
                          today=dt.date(2026, 11, 27))


def messages(error: ImportRejected) -> list[str]:
    return [str(e) for e in error.errors]


@pytest.mark.parametrize("value", ["1e400", "1e-400", "-1e400", "9" * 5000, "NaN", "sNaN", "Infinity"])
def test_extreme_credit_amounts_are_line_and_column_errors(db_session, value):
    error = rejected(db_session, csv_bytes([BASE | {"cme_credits": value}]))
    assert [e.line for e in error.errors] == [2]
    assert error.errors[0].column == "cme_credits"


@pytest.mark.parametrize("column,value", [
    ("first_name", "Ana\x00"), ("last_name", "Di\x1b[31maz"), ("first_name", "\u202eanA"),
    ("activity_title", "Sepsis\u2066 Update"), ("license_number", "43\x00"),
    ("learner_id", "L\x7f1"), ("last_name", "Di\u2028az"),
])
def test_control_characters_are_refused(db_session, column, value):
    error = rejected(db_session, csv_bytes([BASE | {column: value}]))
    assert messages(error) == [f"line 2, {column}: contains a control or invisible formatting "
                               "character (such as NUL, a tab, a line break or a right-to-left "
                               "override)"]


def test_a_header_of_millions_of_columns_stays_small(db_session):
    stream = io.BufferedReader(Generated(b"learner_id", b",x", 50 * 1024 * 1024))
    tracemalloc.start()
    try:
        error = rejected(db_session, stream)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert messages(error) == ["line 1: the line is longer than 16,384 bytes; the file is not "
                               "a credit export"]
    assert peak < 5 * 1024 * 1024


def test_a_wide_header_within_the_line_limit_is_one_error(db_session):
    header = ",".join(f"c{i}" for i in range(2000)).encode()
    error = rejected(db_session, header + b"\n")
    assert len(error.errors) == 1
    assert "the header has 2000 columns; the export has 19" in str(error.errors[0])


def test_a_row_of_millions_of_short_cells_stays_small(db_session):
    head = csv_bytes([BASE])
    stream = io.BufferedReader(Generated(head, b"1,", 20 * 1024 * 1024))
    tracemalloc.start()
    try:
        error = rejected(db_session, stream)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert messages(error)[-1] == ("line 3: the line is longer than 16,384 bytes; the file is not "
                                   "a credit export")
    assert peak < 5 * 1024 * 1024


def test_a_record_spread_over_many_quoted_lines_is_cut_off(db_session):
    head = csv_bytes([BASE])
    stream = io.BufferedReader(Generated(head + b'"', b"1,\n", 5 * 1024 * 1024))
    error = rejected(db_session, stream)
    assert "the record is longer than 65,536 bytes (an unclosed quote?)" in messages(error)[-1]


def test_terminal_escapes_in_the_header_are_not_echoed_raw(db_session, runner, tmp_path):
    path = tmp_path / "escape.csv"
    header = list(BASE) + ["\x1b]0;owned\x07\x1b[2J"]
    path.write_bytes(csv_bytes([BASE | {header[-1]: ""}], header=header))
    result = runner.invoke(args=["credits", "import", str(path)])
    assert result.exit_code == 1
    assert "\x1b" not in result.output and "\x07" not in result.output
    assert "line 1, \\x1b]0;owned\\x07\\x1b[2J: column name contains a control character" \
        in result.output
    assert count(db_session, Learner) == 0


def test_a_very_long_cell_is_refused_without_echoing_it(db_session):
    error = rejected(db_session, csv_bytes([BASE | {"completion_date": "2" * 5000}]))
    assert messages(error) == ["line 2, completion_date: longer than 100 characters"]
