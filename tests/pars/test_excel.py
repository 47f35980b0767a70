"""ACCME's Excel learner file: the layout, the template, files per batch, and PARS's answer."""

from __future__ import annotations

import datetime as dt

import pytest
from openpyxl import Workbook, load_workbook
from sqlalchemy import select

from tests.pars.conftest import recent
from webapp.boards import REGISTRY
from webapp.extensions import db
from webapp.models import (
    AuditEvent,
    Batch,
    BatchState,
    Completion,
    DeliveryEvent,
    DeliveryState,
    EngineRun,
    License,
)
from webapp.pars import excel, outbox, workbook
from webapp.pars.engine import EXIT_OK, sync
from webapp.pars.policy import Policy

S = DeliveryState

#: Row 2 of ACCME's template, as published (note the space that ends "Credit Type ").
ACCME_HEADER = [
    "Record Action", "ACCME Activity ID", "Completion Date", "First Name", "Last Name",
    "Date of Birth", "Licensing State", "Licensing ID or NPI", "Number of CME Credits",
    "Certifying Board", "Certifying Board ID", "Total Board Credits", "Credit Type ",
    "Credits Awarded for Credit Type",
]


def export(env, path):
    result = env.app.test_cli_runner().invoke(args=["pars", "export", "--out", str(path)])
    db.session.remove()
    return result


def confirm(env, batch_id, *rejected):
    args = ["pars", "confirm-batch", str(batch_id)]
    for value in rejected:
        args += ["--rejected", value]
    result = env.app.test_cli_runner().invoke(args=args)
    db.session.remove()
    return result


def sheet(path, name="Sheet1"):
    """The data sheet, read back in full (cell types included)."""
    return load_workbook(path)[name]


def values(ws, row):
    return [c.value for c in ws[row]]


def by_header(ws, row):
    """A data row as {header: value}, headers taken from row 2 as written."""
    return {h: v for h, v in zip(values(ws, 2), values(ws, row), strict=False) if h is not None}


# -- the layout --------------------------------------------------------------------------


def test_row_2_is_accmes_header_list_exactly(env, tmp_path):
    make = env.make()
    learner = make.learner()
    make.board(learner, "ABIM", "123456")
    make.completion(learner, date=recent(2), board_lines=[("ABIM", "Medical Knowledge", "1"),
                                                          ("ABIM", "Practice Assessment", "2")])
    db.session.commit()
    result = export(env, tmp_path / "b.xlsx")
    assert result.exit_code == 0, result.output

    book = load_workbook(tmp_path / "b.xlsx")
    assert book.sheetnames == ["Sheet1"]
    ws = book["Sheet1"]
    assert ws["A1"].value.startswith("ACCME learner upload")
    # Two credit types for one board: the first pair, then one further pair.
    assert values(ws, 2) == ACCME_HEADER + ["Additional Credit Type",
                                            "Credits Awarded for Additional Credit Type"]
    assert values(ws, 3)[12:] == ["Medical Knowledge", 1, "Practice Assessment", 2]
    assert ws.max_row == 3


def test_the_own_workbook_has_a_pair_for_each_credit_type_a_board_awards(make_env, tmp_path):
    env = make_env()
    env.make().completion(env.make().learner())  # no board credit at all
    db.session.commit()
    assert export(env, tmp_path / "b.xlsx").exit_code == 0
    ws = sheet(tmp_path / "b.xlsx")
    pairs = max(len(b.credit_types) for b in REGISTRY.values())
    assert pairs >= 2  # ABIM: Medical Knowledge, Practice Assessment
    assert values(ws, 2) == ACCME_HEADER + ["Additional Credit Type",
                                            "Credits Awarded for Additional Credit Type"] * (
        pairs - 1)
    assert values(ws, 3)[9:] == [None] * (3 + 2 * pairs)


def test_cells_board_only_two_boards_full_state_name_and_dates(env, tmp_path):
    make = env.make()
    surgeon = make.learner(first_name="Ana", last_name="Diaz", birth_month_day="09-10")
    make.board(surgeon, "ABS", None)
    make.board(surgeon, "ABIM", "999999")
    two_boards = make.completion(surgeon, date=dt.date.today() - dt.timedelta(days=3),
                                 credits="10.00",
                                 board_lines=[("ABIM", "Medical Knowledge", "5"),
                                              ("ABS", "Accredited CME", "2.5"),
                                              ("ABS", "Self-Assessment", "1")])
    board_only = make.completion(surgeon, date=recent(4), credits="0.00",
                                 board_lines=[("ABS", "Accredited CME", "1")])
    licensed = make.learner(npi=None, last_name="Licensed", licenses=[License(state="ME",
                                                                              number="1234567")])
    make.completion(licensed, date=recent(5), credits="1.25")
    db.session.commit()
    npi, activity_id = surgeon.npi, two_boards.activity.accme_activity_id
    board_only_activity = board_only.activity.accme_activity_id

    assert export(env, tmp_path / "b.xlsx").exit_code == 0
    ws = sheet(tmp_path / "b.xlsx")
    rows = [by_header(ws, r) for r in range(3, ws.max_row + 1)]
    assert len(rows) == 4  # two boards: two rows; board-only: one; no board: one

    abim, abs_ = [r for r in rows if r["ACCME Activity ID"] == activity_id]
    assert abim["Record Action"] == "Add"
    assert (abim["First Name"], abim["Last Name"], abim["Date of Birth"]) == ("Ana", "Diaz",
                                                                               "09/10")
    assert abim["Licensing ID or NPI"] == npi and abim["Licensing State"] is None
    # CME credit once per completion: on its first row only.
    assert abim["Number of CME Credits"] == 10 and abs_["Number of CME Credits"] is None
    assert (abim["Certifying Board"], abim["Certifying Board ID"], abim["Total Board Credits"],
            abim["Credit Type "], abim["Credits Awarded for Credit Type"]) == (
        "ABIM", "999999", 5, "Medical Knowledge", 5)
    assert (abs_["Certifying Board"], abs_["Certifying Board ID"], abs_["Total Board Credits"]) \
        == ("ABS", None, 3.5)
    abs_row = next(r for r in range(3, 7) if ws.cell(r, 10).value == "ABS"
                   and ws.cell(r, 2).value == activity_id)
    assert values(ws, abs_row)[12:16] == ["Accredited CME", 2.5, "Self-Assessment", 1]

    [only] = [r for r in rows if r["ACCME Activity ID"] == board_only_activity]
    assert only["Number of CME Credits"] is None and only["Total Board Credits"] == 1

    [lic] = [r for r in rows if r["Last Name"] == "Licensed"]
    assert (lic["Licensing State"], lic["Licensing ID or NPI"]) == ("Maine", "1234567")
    assert lic["Number of CME Credits"] == 1.25 and lic["Certifying Board"] is None

    # A real date cell shown as MM/DD/YYYY; the birth date stays text.
    date_cell = ws.cell(3, 3)
    assert date_cell.is_date and date_cell.number_format == "mm/dd/yyyy"
    assert isinstance(date_cell.value, dt.datetime)
    assert all(ws.cell(r, 6).data_type == "s" for r in range(3, 7) if ws.cell(r, 6).value)
    assert {ws.cell(r, 3).value.date() for r in range(3, 7) if ws.cell(r, 2).value == activity_id} \
        == {dt.date.today() - dt.timedelta(days=3)}


@pytest.mark.parametrize("mode", ["own", "template"])
def test_values_that_look_like_formulas_stay_text(make_env, tmp_path, mode):
    overrides = {}
    if mode == "template":
        overrides["PARS_EXCEL_TEMPLATE"] = str(template(tmp_path / "t.xlsx"))
    env = make_env(**overrides)
    make = env.make()
    names = {"=HYPERLINK(\"http://x.example\",\"y\")": "+Plus", "-Minus": "@At", "Err": "#N/A"}
    for first, last in names.items():
        make.completion(make.learner(first_name=first, last_name=last))
    make.completion(make.learner(npi=None, first_name="=1+1", last_name="Lic",
                                 licenses=[License(state="NY", number="=2+2")]))
    db.session.commit()

    assert export(env, tmp_path / "b.xlsx").exit_code == 0
    ws = sheet(tmp_path / "b.xlsx")
    found = {}
    for r in range(3, ws.max_row + 1):
        row = {h: ws.cell(r, c) for c, h in enumerate(values(ws, 2), start=1) if h}
        for header in ("First Name", "Last Name", "Licensing ID or NPI"):
            cell = row[header]
            assert cell.data_type == "s", (header, cell.value)
            found[cell.value] = cell.data_type
    assert {"=HYPERLINK(\"http://x.example\",\"y\")", "+Plus", "-Minus", "@At", "#N/A", "=1+1",
            "=2+2"} <= set(found)


def test_rows_of_a_record_without_the_database():
    settings = workbook.ExcelSettings(delete_action="Remove",
                                      board_spelling={"ABPATH": "ABPath"})
    record = {
        "action": "delete", "activity_id": "202212345", "completion_date": "2026-01-05",
        "first_name": "All", "last_name": "Learner", "birth_month_day": "09-10", "npi": None,
        "license_state": "VI", "license_number": "7", "cme_credits": "0.00",
        "boards": [{"board": "ABPATH", "board_id": "1", "credit_type": "Lifelong Learning",
                    "credits": "1.00"}],
    }
    [row] = workbook.rows(record, settings)
    assert row.values == ("Remove", "202212345", dt.date(2026, 1, 5), "All", "Learner", "09/10",
                          "U.S. Virgin Islands", "7", None, "ABPath", "1", 1.0)
    assert row.pairs == (("Lifelong Learning", 1.0),)
    assert workbook.rows({**record, "action": "add"}, workbook.ExcelSettings())[0].values[0] \
        == "Add"


def test_cme_credit_placement_follows_the_settings_for_the_unknowns():
    record = {
        "action": "add", "activity_id": "A1", "completion_date": "2026-01-05",
        "first_name": "All", "last_name": "Learner", "birth_month_day": "09-10", "npi": "1",
        "license_state": None, "license_number": None, "cme_credits": "2.50",
        "boards": [{"board": "ABIM", "board_id": "1", "credit_type": "Medical Knowledge",
                    "credits": "2.50"},
                   {"board": "ABP", "board_id": "2", "credit_type": "Lifelong Learning",
                    "credits": "2.50"}],
    }
    cme = 8  # the Number of CME Credits column among the fixed values
    default = workbook.rows(record, workbook.ExcelSettings())
    assert [row.values[cme] for row in default] == [2.5, None]
    every = workbook.rows(record, workbook.ExcelSettings(cme_on_every_row=True))
    assert [row.values[cme] for row in every] == [2.5, 2.5]
    board_only = {**record, "cme_credits": "0.00"}
    assert [r.values[cme] for r in workbook.rows(board_only, workbook.ExcelSettings())] \
        == [None, None]
    zero = workbook.ExcelSettings(zero_cme_as_number=True)
    assert [r.values[cme] for r in workbook.rows(board_only, zero)] == [0.0, None]
    assert workbook.ExcelSettings.from_config(
        {"PARS_EXCEL_CME_ON_EVERY_ROW": True, "PARS_EXCEL_ZERO_CME_AS_NUMBER": True}) \
        == workbook.ExcelSettings(cme_on_every_row=True, zero_cme_as_number=True)


def test_the_own_workbook_is_streamed():
    writer = workbook.StreamWriter(workbook.ExcelSettings(), 1)
    try:
        assert writer.workbook.write_only
    finally:
        writer.discard()


# -- ACCME's template ---------------------------------------------------------------------


def template(path, *, order=None, drop=(), pairs=2, loose=True):
    """A template as a provider might download it: guidance, headers in row 2 (in another
    order), an example row, and the ValidValues and Reference sheets."""
    headers = list(ACCME_HEADER)
    if loose:
        headers[12] = "Credit Type"  # the trailing space lost, as an editor might
    for _ in range(pairs - 1):
        headers += ["Additional Credit Type", "Additional Credits"]
    headers = [h for h in headers if h not in drop]
    if order is None:
        order = list(reversed(range(12))) + list(range(12, len(headers)))
        order = [i for i in order if i < len(headers)]
    book = Workbook()
    ws = book.active
    ws.title = "Sheet1"
    ws["A1"] = "Please read the instructions on the Reference sheet."
    for col, i in enumerate(order, start=1):
        ws.cell(2, col, headers[i])
    for col in range(1, len(headers) + 1):
        ws.cell(3, col, "example")
    valid = book.create_sheet("ValidValues")
    valid.append(["Board", "Credit Type"])
    valid.append(["ABIM", "Medical Knowledge"])
    book.create_sheet("Reference")["B2"] = "How to fill in the template"
    book.save(path)
    return path


def test_a_template_is_filled_by_header_name_and_its_other_sheets_kept(make_env, tmp_path):
    path = template(tmp_path / "917_Learner_Excel_CME_MOC_Template.xlsx")
    env = make_env(PARS_EXCEL_TEMPLATE=str(path))
    make = env.make()
    learner = make.learner(first_name="Ana", last_name="Diaz", birth_month_day="04-17")
    make.board(learner, "ABIM", "123456")
    completion = make.completion(learner, date=recent(2), credits="1.50",
                                 board_lines=[("ABIM", "Medical Knowledge", "1.00"),
                                              ("ABIM", "Practice Assessment", "0.50")])
    db.session.commit()
    activity_id, npi = completion.activity.accme_activity_id, learner.npi

    result = export(env, tmp_path / "b.xlsx")
    assert result.exit_code == 0, result.output
    # The loosely matched header is reported with its exact expected name.
    assert "'Credit Type', taken for 'Credit Type '" in result.output
    assert "'Additional Credits'" in result.output

    book = load_workbook(tmp_path / "b.xlsx")
    assert book.sheetnames == ["Sheet1", "ValidValues", "Reference"]
    assert [list(r) for r in book["ValidValues"].iter_rows(values_only=True)] == [
        ["Board", "Credit Type"], ["ABIM", "Medical Knowledge"]]
    assert book["Reference"]["B2"].value == "How to fill in the template"
    ws = book["Sheet1"]
    assert ws["A1"].value == "Please read the instructions on the Reference sheet."
    assert ws.cell(2, 1).value == "Total Board Credits"  # the template's order is kept
    assert ws.max_row == 3  # the example row is gone, one data row in its place
    row = by_header(ws, 3)
    assert row["Record Action"] == "Add" and row["ACCME Activity ID"] == activity_id
    assert (row["First Name"], row["Last Name"], row["Date of Birth"]) == ("Ana", "Diaz", "04/17")
    assert row["Licensing ID or NPI"] == npi and row["Number of CME Credits"] == 1.5
    assert (row["Certifying Board"], row["Certifying Board ID"], row["Total Board Credits"]) == (
        "ABIM", "123456", 1.5)
    assert (row["Credit Type"], row["Credits Awarded for Credit Type"]) == (
        "Medical Knowledge", 1)
    assert (row["Additional Credit Type"], row["Additional Credits"]) == (
        "Practice Assessment", 0.5)
    date_cell = ws.cell(3, values(ws, 2).index("Completion Date") + 1)
    assert date_cell.is_date and date_cell.value.date() == recent(2)


def _nothing_claimed(env, tmp_path):
    # Refused before planning (a bad header) or before claiming (no room): nothing exported.
    assert {d.state for d in env.deliveries()} <= {S.QUEUED}
    assert all(d.batch_id is None for d in env.deliveries())
    assert db.session.scalar(select(Batch)) is None
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(("b", ".b"))] == []


def test_a_template_lacking_a_column_is_refused_naming_it(make_env, tmp_path):
    path = template(tmp_path / "t.xlsx", drop=("Licensing State", "Date of Birth"))
    env = make_env(PARS_EXCEL_TEMPLATE=str(path))
    env.make().completion(env.make().learner())
    db.session.commit()

    result = export(env, tmp_path / "b.xlsx")
    assert result.exit_code == 1
    assert "lacks the column(s) 'Date of Birth', 'Licensing State'" in result.output
    _nothing_claimed(env, tmp_path)


def test_a_template_without_room_for_a_boards_credit_types_is_refused(make_env, tmp_path):
    env = make_env(PARS_EXCEL_TEMPLATE=str(template(tmp_path / "t.xlsx", pairs=1)))
    make = env.make()
    learner = make.learner()
    make.board(learner, "ABIM", "1")
    make.completion(learner, board_lines=[("ABIM", "Medical Knowledge", "1"),
                                          ("ABIM", "Practice Assessment", "1")])
    db.session.commit()

    result = export(env, tmp_path / "b.xlsx")
    assert result.exit_code == 1
    assert "room for 1" in result.output and "'Additional Credit Type'" in result.output
    _nothing_claimed(env, tmp_path)
    run = db.session.scalar(select(EngineRun).where(EngineRun.kind == "export"))
    assert run.outcome == "stopped"


def test_a_template_that_is_not_a_workbook_is_refused(make_env, tmp_path):
    (tmp_path / "t.xlsx").write_bytes(b"not a workbook")
    env = make_env(PARS_EXCEL_TEMPLATE=str(tmp_path / "t.xlsx"))
    env.make().completion(env.make().learner())
    db.session.commit()
    result = export(env, tmp_path / "b.xlsx")
    assert result.exit_code == 1 and "not a workbook that can be read" in result.output
    _nothing_claimed(env, tmp_path)


# -- rows per file ------------------------------------------------------------------------


def test_a_batch_larger_than_max_rows_is_split_and_no_completion_is_split(make_env, tmp_path):
    env = make_env(PARS_EXCEL_MAX_ROWS=3)
    make = env.make()
    activity = make.activity()
    # Due first, the oldest first: One, Two, then Both (two rows); the rest are newer.
    for name, days, boards in (("One", 20, ["ABIM"]), ("Two", 19, ["ABIM"]),
                               ("Both", 18, ["ABIM", "ABS"])):
        learner = make.learner(last_name=name)
        for board in boards:
            make.board(learner, board, "1")
        make.completion(learner, activity, date=recent(days),
                        board_lines=[(b, "Medical Knowledge", "1") for b in boards])
    for i in range(5):
        make.completion(make.learner(last_name=f"Solo{i}"), activity, date=recent(10))
    db.session.commit()

    result = export(env, tmp_path / "b.xlsx")
    assert result.exit_code == 0, result.output
    batches = list(db.session.scalars(select(Batch).order_by(Batch.id)))
    assert [(b.file_name, b.record_count, b.row_count) for b in batches] == [
        ("b.xlsx", 2, 2), ("b-2.xlsx", 2, 3), ("b-3.xlsx", 3, 3), ("b-4.xlsx", 1, 1)]
    assert f"batch {batches[2].id}: 3 records in rows 3 to 5 written to" in result.output
    names = []
    for b in batches:
        ws = sheet(tmp_path / b.file_name)
        assert values(ws, 2)[:14] == ACCME_HEADER
        names.append([ws.cell(r, 5).value for r in range(3, ws.max_row + 1)])
    # Records go earliest deadline first, then in the order they were queued.
    solos = [d.completion.learner.last_name for d in sorted(
        env.deliveries(), key=lambda d: (d.due_date, d.id)) if d.completion.learner.last_name
        .startswith("Solo")]
    # "Both" did not fit after One and Two: its two rows start the next file together.
    assert names == [["One", "Two"], ["Both", "Both", solos[0]], solos[1:4], solos[4:]]
    # Every record knows its batch and its first row.
    rows = sorted((d.batch_id, d.batch_row) for d in env.deliveries())
    ids = [b.id for b in batches]
    assert rows == [(ids[0], 3), (ids[0], 4), (ids[1], 3), (ids[1], 5), (ids[2], 3),
                    (ids[2], 4), (ids[2], 5), (ids[3], 3)]
    events = list(db.session.scalars(select(DeliveryEvent.detail).where(
        DeliveryEvent.kind == "exported")))
    assert f"Written to Excel batch {ids[1]} (rows 3 to 4) for upload to PARS by CME " \
        "staff." in events
    # Each file is confirmed or cancelled on its own.
    assert confirm(env, ids[1], "4=Board ID not found").exit_code == 0
    assert env.app.test_cli_runner().invoke(
        args=["pars", "cancel-batch", str(ids[3])]).exit_code == 0
    states = sorted(d.state.value for d in env.deliveries())
    assert states == sorted(["exported"] * 5 + ["rejected", "accepted", "queued"])


def test_a_file_that_exists_stops_the_export_and_leaves_nothing(make_env, tmp_path):
    env = make_env(PARS_EXCEL_MAX_ROWS=1)
    for _ in range(2):
        env.make().completion(env.make().learner())
    db.session.commit()
    (tmp_path / "b-2.xlsx").write_bytes(b"keep")
    result = export(env, tmp_path / "b.xlsx")
    assert result.exit_code == 1 and "b-2.xlsx: the file exists already" in result.output
    assert {d.state for d in env.deliveries()} == {S.QUEUED}
    assert sorted(p.name for p in tmp_path.iterdir() if "xlsx" in p.name) == ["b-2.xlsx"]
    assert (tmp_path / "b-2.xlsx").read_bytes() == b"keep"


# -- PARS's answer ------------------------------------------------------------------------


def _batch_of_four(env, tmp_path):
    """Four records in rows 3 to 7; P2 has two boards, so two rows."""
    make = env.make()
    activity = make.activity()
    people = []
    for i in range(4):
        learner = make.learner(last_name=f"P{i}")
        lines = []
        if i == 2:
            make.board(learner, "ABIM", "1")
            make.board(learner, "ABS", None)
            lines = [("ABIM", "Medical Knowledge", "1"), ("ABS", "Accredited CME", "1")]
        completion = make.completion(learner, activity, date=recent(20 - i), board_lines=lines)
        people.append(completion.id)
    db.session.commit()
    assert export(env, tmp_path / "b.xlsx").exit_code == 0
    ws = sheet(tmp_path / "b.xlsx")
    rows = {ws.cell(r, 5).value: r for r in range(7, 2, -1)}
    return people, rows


def test_confirm_with_refused_rows_rejects_those_and_accepts_the_rest(env, tmp_path):
    people, rows = _batch_of_four(env, tmp_path)
    # P2 has two rows, one after the other.
    second = rows["P2"] + 1
    assert sorted([*rows.values(), second]) == [3, 4, 5, 6, 7]
    by_completion = {d.completion_id: d for d in env.deliveries()}
    assert by_completion[people[2]].batch_row == rows["P2"]
    row = rows["P0"]

    result = confirm(env, 1, f'{row}="Learner not matched"', f"{second}=Board ID not valid for ABS")
    assert result.exit_code == 0, result.output
    assert (f"2 records accepted by PARS, 2 rejected (rows "
            f"{', '.join(map(str, sorted([row, second])))})") in result.output

    records = {d.completion_id: d for d in env.deliveries()}
    today = dt.datetime.now(dt.UTC).date()
    rejected = {cid: d for cid, d in records.items() if d.state == S.REJECTED}
    assert set(rejected) == {people[2], people[0]}
    assert rejected[people[2]].error_code == "EXCEL_ROW_REJECTED"
    assert rejected[people[2]].error_message == f"Row {second}: Board ID not valid for ABS"
    assert rejected[people[0]].error_message == f"Row {row}: Learner not matched"
    accepted = [d for d in records.values() if d.state == S.ACCEPTED]
    assert {d.completion_id for d in accepted} == {people[1], people[3]}
    assert all(d.settled_at.date() == today and d.error_code is None for d in accepted)
    batch = db.session.get(Batch, 1)
    assert batch.state == BatchState.CONFIRMED
    audit = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "pars.batch_confirmed"))
    assert audit.details["rejected"] == 2
    assert audit.details["refused_rows"] == sorted([row, second])
    assert "Learner not matched" not in str(audit.details)  # messages stay on the records
    timeline = list(db.session.scalars(select(DeliveryEvent.detail).where(
        DeliveryEvent.delivery_id == rejected[people[0]].id, DeliveryEvent.kind == "rejected")))
    assert timeline == [f"PARS refused it (row {row} of Excel batch 1) when CME staff uploaded "
                        "the file; CME staff will review it."]

    # Staff retry a rejected record: it is queued again under a new CreditID.
    old = rejected[people[0]]
    replacement = outbox.retry(db.session, db.session.merge(old), "test",
                               Policy.from_config(env.app.config))
    db.session.commit()
    assert replacement.state == S.QUEUED and replacement.credit_id != old.credit_id


@pytest.mark.parametrize("rejected,message", [
    (["2=Header"], "row 2 is not a data row of batch 1: its data rows are 3 to 7"),
    (["8=Too far", "0=x"], "rows 0, 8 are not data rows of batch 1"),
    (["5="], "--rejected value 1: write the row number"),
    (["five=Learner not matched"], "--rejected value 1: write the row number"),
    (["5=a", "5=b"], "row 5 is given twice"),
])
def test_bad_row_numbers_are_refused_and_nothing_changes(env, tmp_path, rejected, message):
    _batch_of_four(env, tmp_path)
    result = confirm(env, 1, *rejected)
    assert result.exit_code == 1 and message in result.output, result.output
    assert {d.state for d in env.deliveries()} == {S.EXPORTED}
    assert db.session.get(Batch, 1).state == BatchState.OPEN
    assert db.session.scalar(select(AuditEvent).where(
        AuditEvent.action == "pars.batch_confirmed")) is None


def test_refused_rows_as_staff_paste_them():
    text = "5: Learner not matched\n\n 9\tBoard ID not valid \n12=\"Activity not found\""
    assert excel.parse_refused(text.splitlines()) == {
        5: "Learner not matched", 9: "Board ID not valid", 12: "Activity not found"}
    with pytest.raises(excel.ExportRefused, match="line 2: write the row number"):
        excel.parse_refused(["5: ok", "Learner not matched"])


def test_a_batch_written_before_rows_were_kept(env, tmp_path):
    _batch_of_four(env, tmp_path)
    batch = db.session.get(Batch, 1)
    batch.row_count = None
    db.session.commit()
    result = confirm(env, 1, "5=Learner not matched")
    assert result.exit_code == 1 and "cancel it and export the records again" in result.output
    assert {d.state for d in env.deliveries()} == {S.EXPORTED}
    assert confirm(env, 1).exit_code == 0
    assert {d.state for d in env.deliveries()} == {S.ACCEPTED}


# -- after the upload: corrections and board look-ups ------------------------------------


def test_a_correction_of_uploaded_credit_goes_by_excel(make_env, tmp_path):
    env = make_env(PARS_EXCEL_DELETE_ACTION="Remove")
    make = env.make()
    learner = make.learner(last_name="Corrected")
    completion = make.completion(learner, credits="1.00")
    db.session.commit()
    completion_id = completion.id
    assert export(env, tmp_path / "one.xlsx").exit_code == 0
    assert confirm(env, 1).exit_code == 0

    completion = db.session.get(Completion, completion_id)
    completion.cme_credits, completion.revision = completion.cme_credits + 1, completion.revision + 1
    outbox.plan(db.session, Policy.from_config(env.app.config))
    db.session.commit()
    # The web service cannot remove a record PARS holds without a CreditID: it leaves it.
    assert env.transmit().exit_code == EXIT_OK
    assert env.fake.posts == []
    states = [(d.action.value, d.state.value) for d in env.deliveries()]
    assert states == [("add", "accepted"), ("delete", "queued"), ("add", "queued")]

    assert export(env, tmp_path / "two.xlsx").exit_code == 0
    ws = sheet(tmp_path / "two.xlsx")
    assert ws.max_row == 3  # only the removal: the corrected add waits for it
    assert (ws.cell(3, 1).value, ws.cell(3, 5).value, ws.cell(3, 9).value) == (
        "Remove", "Corrected", 1)
    # The newest batch (on PostgreSQL a rolled-back insert leaves a gap in the IDs).
    second = db.session.scalar(select(Batch.id).order_by(Batch.id.desc()).limit(1))
    assert confirm(env, second).exit_code == 0
    states = [(d.action.value, d.state.value) for d in env.deliveries()]
    assert states == [("add", "removed"), ("delete", "accepted"), ("add", "queued")]
    # The corrected record may now go by either route; here, the web service.
    assert env.transmit().exit_code == EXIT_OK
    assert [p.actions for p in env.fake.posts] == [["add"]]


def test_sync_never_looks_up_uploaded_records(env, tmp_path):
    make = env.make()
    learner = make.learner()
    make.board(learner, "ABIM", "123456")
    make.completion(learner, date=recent(3), board_lines=[("ABIM", "Medical Knowledge", "1")])
    db.session.commit()
    assert export(env, tmp_path / "b.xlsx").exit_code == 0
    assert confirm(env, 1).exit_code == 0
    [record] = env.deliveries()
    assert record.state == S.ACCEPTED

    report = sync(db.engine, env.app.config)
    db.session.remove()
    assert report.exit_code == EXIT_OK, report.message
    assert record.credit_id not in str(env.fake.lookups)
    assert [d.state for d in env.deliveries()] == [S.ACCEPTED]
