"""ACCME's Excel learner file: the rows a record becomes, and the two ways of writing them.

``docs/pars-excel.md`` describes the layout and every detail ACCME has not
published, with the setting that covers it. In short: data sheet ``Sheet1``,
guidance in row 1, the headers in row 2, data from row 3; one row per
completion and certifying board, that board's credit types in column pairs.

* ``StreamWriter`` writes the project's own workbook with that header row, in
  openpyxl's write-only mode, so memory stays flat however long the file.
* ``TemplateWriter`` fills a copy of the template a provider downloaded from
  ACCME (``PARS_EXCEL_TEMPLATE``): columns are found by their header text in
  row 2, everything else in the workbook is kept.

Every text value is written as an explicit string cell: a name such as
``=SUM(A1)`` stays text and is never turned into a formula.
"""

from __future__ import annotations

import datetime as dt
import warnings
import zipfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any, Protocol

from openpyxl import Workbook, load_workbook
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE, Cell, WriteOnlyCell
from openpyxl.utils import get_column_letter
from openpyxl.utils.exceptions import InvalidFileException

from webapp.boards import REGISTRY
from webapp.identifiers import STATE_NAMES
from webapp.models import Action

SHEET = "Sheet1"
GUIDANCE_ROW, HEADER_ROW, FIRST_DATA_ROW = 1, 2, 3
DATE_FORMAT = "mm/dd/yyyy"
GUIDANCE = (
    "ACCME learner upload. Row 2 holds the column headers, data starts in row 3: one row per "
    "completion and certifying board. Completion Date is a date (MM/DD/YYYY), Date of Birth "
    "is MM/DD, Licensing State is the full state name."
)

TEXT, NUMBER, DATE = "text", "number", "date"
#: The fixed columns, in ACCME's order: (key, header exactly as in row 2, kind).
FIXED: tuple[tuple[str, str, str], ...] = (
    ("action", "Record Action", TEXT),
    ("activity", "ACCME Activity ID", TEXT),
    ("completed", "Completion Date", DATE),
    ("first_name", "First Name", TEXT),
    ("last_name", "Last Name", TEXT),
    ("birth", "Date of Birth", TEXT),
    ("state", "Licensing State", TEXT),
    ("license_or_npi", "Licensing ID or NPI", TEXT),
    ("cme", "Number of CME Credits", NUMBER),
    ("board", "Certifying Board", TEXT),
    ("board_id", "Certifying Board ID", TEXT),
    ("board_total", "Total Board Credits", NUMBER),
)
#: The first credit-type pair (note the space that ends ACCME's ``Credit Type ``).
FIRST_PAIR = ("Credit Type ", "Credits Awarded for Credit Type")
#: Text that a spreadsheet may read as the start of a formula, or as an error value
#: (``#N/A``): always written as an explicit string cell.
FORMULA_START = ("=", "+", "-", "@", "#")


class ExportRefused(Exception):
    """Bad input for an Excel batch action; nothing was changed."""


@dataclass(frozen=True)
class ExcelSettings:
    """The Excel file's settings (``PARS_EXCEL_*``); see docs/pars-excel.md."""

    #: ACCME's template to fill, or None for the project's own workbook.
    template: Path | None = None
    #: Data rows per file at most; a completion's rows are never split between files.
    max_rows: int = 5000
    #: ``Record Action`` of a delete row (``Add`` is ACCME's own spelling).
    delete_action: str = "Delete"
    #: Header of the second and further credit-type columns, and of their amount columns.
    extra_type_header: str = "Additional Credit Type"
    extra_amount_header: str = "Credits Awarded for Additional Credit Type"
    #: Board codes written differently from the project's, e.g. ``{"ABPATH": "ABPath"}``.
    board_spelling: Mapping[str, str] = field(default_factory=dict)
    #: CME credits on every board's row of a completion, not only the first (unknown which
    #: PARS wants: the first only is the guard against counting them twice).
    cme_on_every_row: bool = False
    #: ``0`` rather than a blank cell for a completion with board credit only (unknown
    #: which PARS accepts).
    zero_cme_as_number: bool = False

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> ExcelSettings:
        template = (config.get("PARS_EXCEL_TEMPLATE") or "").strip()
        try:
            max_rows = int(config.get("PARS_EXCEL_MAX_ROWS") or 5000)
        except ValueError:
            raise ExportRefused("PARS_EXCEL_MAX_ROWS must be a whole number") from None
        if max_rows < 1:
            raise ExportRefused(f"PARS_EXCEL_MAX_ROWS must be at least 1, got {max_rows}")
        settings = cls(
            template=Path(template) if template else None,
            max_rows=max_rows,
            delete_action=(config.get("PARS_EXCEL_DELETE_ACTION") or "Delete").strip(),
            extra_type_header=config.get("PARS_EXCEL_EXTRA_TYPE_HEADER")
            or "Additional Credit Type",
            extra_amount_header=config.get("PARS_EXCEL_EXTRA_AMOUNT_HEADER")
            or "Credits Awarded for Additional Credit Type",
            board_spelling=_pairs("PARS_EXCEL_BOARD_SPELLING",
                                  config.get("PARS_EXCEL_BOARD_SPELLING") or ""),
            cme_on_every_row=bool(config.get("PARS_EXCEL_CME_ON_EVERY_ROW")),
            zero_cme_as_number=bool(config.get("PARS_EXCEL_ZERO_CME_AS_NUMBER")),
        )
        return settings


def _pairs(name: str, value: str) -> dict[str, str]:
    """``ABPATH=ABPath, ABOHNS=ABOto`` as a mapping."""
    found: dict[str, str] = {}
    for part in filter(None, (p.strip() for p in value.split(","))):
        code, sep, spelling = part.partition("=")
        if not sep or not code.strip() or not spelling.strip():
            raise ExportRefused(f"{name} must read like ABPATH=ABPath, ...; got {part!r}")
        found[code.strip()] = spelling.strip()
    return found


# -- rows -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Row:
    #: One value per ``FIXED`` column, in that order (None: blank cell).
    values: tuple[Any, ...]
    #: ``(credit type, credits)`` for each credit type of the row's board.
    pairs: tuple[tuple[str, float], ...] = ()


def _text(value: str | None) -> str:
    # Control characters cannot be stored in a workbook at all.
    return ILLEGAL_CHARACTERS_RE.sub("", value or "")


def _number(amount: Decimal) -> float:
    return float(amount)


def rows(record: Mapping[str, Any], settings: ExcelSettings) -> list[Row]:
    """The rows of one record (``webapp.pars.record`` form): one per certifying board, or
    one without a board. CME credit is on the first row only (every row with
    ``cme_on_every_row``), and blank when the completion earned board credit alone
    (``0`` with ``zero_cme_as_number``)."""
    month, _, day = (record.get("birth_month_day") or "").partition("-")
    npi = record.get("npi")
    state = record.get("license_state")
    cme = Decimal(record["cme_credits"])
    base = [
        settings.delete_action if record["action"] == Action.DELETE.value else "Add",
        _text(record["activity_id"]),
        dt.date.fromisoformat(record["completion_date"]),
        _text(record["first_name"]),
        _text(record["last_name"]),
        f"{month}/{day}" if month and day else None,
        None if npi or not state else STATE_NAMES.get(state, state),
        _text(npi) if npi else _text(record.get("license_number")) or None,
    ]
    by_board: dict[str, list[Mapping[str, Any]]] = {}
    for line in record.get("boards") or ():
        by_board.setdefault(line["board"], []).append(line)
    cme_cell = _number(cme) if cme or settings.zero_cme_as_number else None
    if not by_board:
        return [Row((*base, cme_cell, None, None, None))]
    out = []
    for i, (board, lines) in enumerate(by_board.items()):
        total = sum((Decimal(line["credits"]) for line in lines), Decimal(0))
        board_id = next((line.get("board_id") for line in lines if line.get("board_id")), None)
        out.append(Row(
            (*base, cme_cell if i == 0 or settings.cme_on_every_row else None,
             settings.board_spelling.get(board, board), _text(board_id) or None, _number(total)),
            tuple((_text(line["credit_type"]), _number(Decimal(line["credits"])))
                  for line in lines),
        ))
    return out


def header(settings: ExcelSettings, pairs: int) -> list[str]:
    """Row 2 of the project's own workbook, with ``pairs`` credit-type column pairs."""
    names = [h for _, h, _ in FIXED] + list(FIRST_PAIR)
    for _ in range(max(pairs, 1) - 1):
        names += [settings.extra_type_header, settings.extra_amount_header]
    return names


# -- writers ----------------------------------------------------------------------------


class SheetWriter(Protocol):
    #: How many credit types of one board a row can hold.
    pairs: int

    def append(self, row: Row) -> None: ...

    def save(self, path: Path) -> None: ...

    def discard(self) -> None: ...


def _too_many_types(row: Row, pairs: int) -> ExportRefused:
    return ExportRefused(
        f"a record has {len(row.pairs)} credit types for {row.values[9]}, but the file has "
        f"room for {pairs}; nothing was exported, run the export again")


def _kinds() -> list[str]:
    return [kind for _, _, kind in FIXED]


class StreamWriter:
    """The project's own workbook, streamed (openpyxl write-only mode)."""

    def __init__(self, settings: ExcelSettings, pairs: int) -> None:
        self.pairs = max(pairs, 1)
        self.workbook = Workbook(write_only=True)
        self.sheet = self.workbook.create_sheet(SHEET)
        self.sheet.append([GUIDANCE])
        self.sheet.append([self._cell(h, TEXT) for h in header(settings, self.pairs)])
        self.kinds = _kinds() + [TEXT, NUMBER] * self.pairs

    def _cell(self, value: Any, kind: str) -> Any:
        if value is None:
            return None
        if kind == DATE:
            cell = WriteOnlyCell(self.sheet, value)
            cell.number_format = DATE_FORMAT
            return cell
        if isinstance(value, str) and value.startswith(FORMULA_START):
            cell = WriteOnlyCell(self.sheet, value)
            # openpyxl takes a leading "=" for a formula, and "#N/A" for an error, otherwise.
            cell.data_type = "s"
            return cell
        return value

    def append(self, row: Row) -> None:
        if len(row.pairs) > self.pairs:
            raise _too_many_types(row, self.pairs)
        values = [*row.values, *(v for pair in row.pairs for v in pair)]
        self.sheet.append([self._cell(v, k) for v, k in zip(values, self.kinds, strict=False)])

    def save(self, path: Path) -> None:
        self.workbook.save(path)

    def discard(self) -> None:
        if not self.sheet.closed:
            # Not saved: finish the sheet's temporary stream so nothing is left open.
            self.sheet.close()


# -- ACCME's template -------------------------------------------------------------------


def _norm(value: Any) -> str:
    return " ".join(str(value).split()).casefold() if value is not None else ""


def _quote(name: str) -> str:
    return f"'{name}'"


@dataclass(frozen=True)
class Template:
    """Where each column is in a provider's copy of ACCME's template."""

    path: Path
    sheet: str
    #: ``FIXED`` key -> column number (1-based).
    columns: dict[str, int]
    #: (credit type column, credits column) for each pair, the first pair first.
    pairs: list[tuple[int, int]]
    #: What staff should know about how the template was read.
    notes: list[str]


def read_template(path: Path, settings: ExcelSettings) -> Template:
    """Find every column the export writes in row 2 of the template; refuse a template that
    lacks one, naming it."""
    if path.suffix.lower() != ".xlsx":
        raise ExportRefused(f"PARS_EXCEL_TEMPLATE {path}: the template must be an .xlsx file")
    if not path.is_file():
        raise ExportRefused(f"PARS_EXCEL_TEMPLATE {path}: no such file")
    notes: list[str] = []
    workbook = _load(path, notes)
    try:
        sheet = _data_sheet(workbook, path)
        found = {col: cell.value for col, cell in enumerate(sheet[HEADER_ROW], start=1)
                 if cell.value is not None and str(cell.value).strip()}
    finally:
        workbook.close()

    by_norm: dict[str, list[int]] = {}
    for col, value in found.items():
        by_norm.setdefault(_norm(value), []).append(col)

    def locate(name: str, missing: list[str]) -> int:
        cols = by_norm.get(_norm(name), [])
        if not cols:
            missing.append(_quote(name))
            return 0
        if len(cols) > 1:
            letters = " and ".join(get_column_letter(c) for c in cols)
            raise ExportRefused(f"the template's row 2 has {_quote(name)} more than once "
                                f"(columns {letters}); nothing was exported")
        if str(found[cols[0]]) != name:
            notes.append(f"column {get_column_letter(cols[0])} is headed "
                         f"{_quote(str(found[cols[0]]))}, taken for {_quote(name)}")
        return cols[0]

    missing: list[str] = []
    columns = {key: locate(name, missing) for key, name, _ in FIXED}
    first = (locate(FIRST_PAIR[0], missing), locate(FIRST_PAIR[1], missing))
    if missing:
        raise ExportRefused(
            f"the template's row 2 (sheet {sheet.title}) lacks the column(s) "
            f"{', '.join(missing)}; nothing was exported")
    pairs = [first]
    taken = set(columns.values()) | set(first)
    for col in by_norm.get(_norm(settings.extra_type_header), []):
        amount = col + 1
        if amount not in found or amount in taken or \
                _norm(found[amount]) == _norm(settings.extra_type_header):
            raise ExportRefused(
                f"column {get_column_letter(col)} of the template ({_quote(str(found[col]))}) "
                "has no credits column right after it; nothing was exported")
        pairs.append((col, amount))
        taken |= {col, amount}
    if len(pairs) > 1:
        amounts = sorted({str(found[a]) for _, a in pairs[1:]})
        notes.append(f"{len(pairs) - 1} further credit-type pair(s) "
                     f"{_quote(settings.extra_type_header)} with credits column(s) headed "
                     + ", ".join(_quote(a) for a in amounts))
    return Template(path, sheet.title, columns, pairs, notes)


def _load(path: Path, notes: list[str]) -> Any:
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            workbook = load_workbook(path)
        except (InvalidFileException, zipfile.BadZipFile, KeyError, ValueError, OSError) as exc:
            raise ExportRefused(f"PARS_EXCEL_TEMPLATE {path}: not a workbook that can be read "
                                f"({exc.__class__.__name__})") from None
    # openpyxl keeps cells, styles, data validation and other sheets; it says what it drops.
    notes += sorted({f"reading the template: {w.message}" for w in caught})
    return workbook


def _data_sheet(workbook: Any, path: Path) -> Any:
    if SHEET in workbook.sheetnames:
        return workbook[SHEET]
    for sheet in workbook.worksheets:
        if any(_norm(c.value) == _norm(FIXED[0][1]) for c in sheet[HEADER_ROW]):
            return sheet
    raise ExportRefused(f"PARS_EXCEL_TEMPLATE {path}: no sheet {SHEET!r}, and no sheet with "
                        f"{_quote(FIXED[0][1])} in row 2; nothing was exported")


class TemplateWriter:
    """A copy of the provider's template, filled from row 3 by header name."""

    def __init__(self, template: Template) -> None:
        self.template = template
        self.pairs = len(template.pairs)
        notes: list[str] = []
        self.workbook = _load(template.path, notes)
        self.sheet = self.workbook[template.sheet]
        # Whatever the template holds below the header (an example row) is not uploaded.
        for line in self.sheet.iter_rows(min_row=FIRST_DATA_ROW):
            for cell in line:
                cell.value = None
        self.next_row = FIRST_DATA_ROW

    def _put(self, column: int, value: Any, kind: str) -> None:
        cell: Cell = self.sheet.cell(row=self.next_row, column=column)
        cell.value = value
        if isinstance(value, str):
            cell.data_type = "s"
        elif kind == DATE and value is not None:
            cell.number_format = DATE_FORMAT

    def append(self, row: Row) -> None:
        if len(row.pairs) > self.pairs:
            raise _too_many_types(row, self.pairs)
        for (key, _, kind), value in zip(FIXED, row.values, strict=True):
            self._put(self.template.columns[key], value, kind)
        for (type_col, amount_col), (credit_type, amount) in zip(self.template.pairs, row.pairs,
                                                                 strict=False):
            self._put(type_col, credit_type, TEXT)
            self._put(amount_col, amount, NUMBER)
        self.next_row += 1

    def save(self, path: Path) -> None:
        self.workbook.save(path)

    def discard(self) -> None:
        self.workbook.close()


def writer(settings: ExcelSettings, template: Template | None, pairs: int) -> SheetWriter:
    return TemplateWriter(template) if template is not None else StreamWriter(settings, pairs)


def registry_pairs() -> int:
    """The most credit types any board in the registry awards: the project's own workbook
    has at least that many pairs, so its columns stay the same from file to file."""
    return max((len(b.credit_types) for b in REGISTRY.values()), default=1) or 1


def needed_pairs(records: Sequence[Mapping[str, Any]]) -> int:
    """The most credit types one board has in any of ``records``."""
    most = 1
    for record in records:
        counts: dict[str, int] = {}
        for line in record.get("boards") or ():
            counts[line["board"]] = counts.get(line["board"], 0) + 1
        most = max([most, *counts.values()])
    return most
