"""The manual route: ACCME's Excel learner file, and the batch rules staff follow.

``export`` claims due records exactly as the web-service engine does (every
rule re-checked in the claiming transaction) but marks them ``exported`` and
writes them to Excel files (``webapp.pars.workbook``: the project's own
streamed workbook, or a copy of ACCME's template). A file holds at most
``PARS_EXCEL_MAX_ROWS`` data rows; each file is a batch of its own, confirmed
or cancelled on its own, and a completion's rows are never split between two
files. Each record remembers the row it starts on, so staff can name the rows
PARS refused. Files are written under temporary names and renamed only after
the batches are committed: a failure leaves no batch and no file.

Until staff record PARS's answer to an uploaded file (``confirm_batch``) its
records are not in PARS. PARS checks every uploaded row at once and lists the
rows it refused: those records become ``rejected`` with PARS's message, the
others ``accepted`` on that day. ``cancel_batch`` puts a file's records back
in the queue.
"""

from __future__ import annotations

import datetime as dt
import os
import re
import secrets
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, delete, exists, func, select, update
from sqlalchemy.orm import Session, aliased

from webapp import audit
from webapp.db import utcnow
from webapp.models import (
    Action,
    Batch,
    BatchKind,
    BatchState,
    BoardCredit,
    Completion,
    Delivery,
    DeliveryState,
    EngineRun,
    EventKind,
    Learner,
    RunKind,
    RunOutcome,
)
from webapp.pars import lifecycle as life
from webapp.pars import runs, workbook
from webapp.pars.claiming import claim, due_now
from webapp.pars.codes import EngineCode
from webapp.pars.eligibility import Rules
from webapp.pars.outbox import plan
from webapp.pars.policy import Policy
from webapp.pars.store import engine_session, new_token
from webapp.pars.workbook import FIRST_DATA_ROW, ExcelSettings, ExportRefused, Template

S = DeliveryState
CHUNK = 500
#: The longest message kept for one refused row.
MAX_MESSAGE = 500

__all__ = [
    "ConfirmResult", "ExportRefused", "ExportResult", "batch_file", "cancel_batch",
    "confirm_batch", "discard_file", "export", "new_batch_path", "parse_refused",
]


@dataclass(frozen=True)
class ExportResult:
    #: One batch per file written, in order; empty when nothing was due.
    batches: list[Batch]
    #: How a template was read (headers matched loosely, further credit-type pairs, what
    #: openpyxl could not keep), for the person exporting.
    notes: list[str] = field(default_factory=list)

    @property
    def records(self) -> int:
        return sum(b.record_count for b in self.batches)


@dataclass(frozen=True)
class ConfirmResult:
    #: Records PARS accepted (no refused row).
    records: int
    #: Records with a row PARS refused, now rejected.
    rejected: int = 0
    #: Records whose physician withdrew permission after the file was written, among the
    #: accepted ones (to be removed in PARS by hand).
    withdrawn_consent: int = 0


def _check_target(out: Path) -> None:
    if out.suffix.lower() != ".xlsx":
        raise ExportRefused(f"{out}: the file name must end in .xlsx")
    if not out.parent.is_dir():
        raise ExportRefused(f"{out.parent}: no such folder")
    if out.exists():
        raise ExportRefused(f"{out}: the file exists already; choose a new name")


def file_path(out: Path, number: int) -> Path:
    """The ``number``-th file of an export to ``out``: ``out`` itself, then ``<stem>-2.xlsx``..."""
    return out if number == 1 else out.with_name(f"{out.stem}-{number}{out.suffix}")


def export(engine: Engine, config: Mapping[str, Any], out: Path, *, actor: str,
           today: dt.date | None = None) -> ExportResult:
    """Write every due record to ``out`` (and further files when there are more rows than
    one file takes). Refused before anything is claimed when the settings or the template
    do not allow a file PARS can read."""
    out = Path(out)
    _check_target(out)
    settings = ExcelSettings.from_config(config)
    template = workbook.read_template(settings.template, settings) if settings.template else None
    policy = Policy.from_config(config, today)
    notes = list(template.notes) if template else []
    with engine_session(engine) as session:
        plan(session, policy, commit=True)
        # Nothing due is no run: a press of "Create Excel batch" with nothing to write
        # must not show up as an export on the dashboard.
        if not session.scalar(select(exists().where(*due_now(utcnow(), web=False)))):
            session.commit()
            return ExportResult([], notes)
        run_id = runs.start(session, RunKind.EXPORT)
        job = _Export(session, policy.rules, settings, template, out, run_id, actor)
        try:
            batches = job.run()
        except ExportRefused as exc:
            session.rollback()
            job.discard()
            runs.finish(session, run_id, RunOutcome.STOPPED, None, str(exc))
            raise
        except BaseException:
            session.rollback()
            job.discard()
            runs.finish(session, run_id, RunOutcome.FAILED, None,
                        "export failed; nothing was exported")
            raise
        if not batches:
            # Every due record was set aside when claimed (and that was rolled back):
            # nothing was exported, so the run leaves no trace either.
            session.execute(delete(EngineRun).where(EngineRun.id == run_id))
            session.commit()
            return ExportResult([], notes)
        # Committed first, renamed second: a batch without its file can be cancelled,
        # a file without its batch could be uploaded and never recorded.
        for part in job.files:
            os.replace(part.tmp, part.path)
        records = sum(b.record_count for b in batches)
        runs.finish(session, run_id, RunOutcome.OK, {"exported": records, "files": len(batches)},
                    None)
        return ExportResult(batches, notes)


@dataclass
class _File:
    batch_id: int
    path: Path
    tmp: Path
    writer: workbook.SheetWriter
    rows: int = 0
    records: int = 0
    saved: bool = False


class _Export:
    """One export: claims in chunks, starts a new file (and batch) when one is full."""

    def __init__(self, session: Session, rules: Rules, settings: ExcelSettings,
                 template: Template | None, out: Path, run_id: int, actor: str) -> None:
        self.session, self.rules, self.settings = session, rules, settings
        self.template, self.out, self.run_id, self.actor = template, out, run_id, actor
        self.files: list[_File] = []
        self.pairs = 1

    def run(self) -> list[Batch]:
        session = self.session
        self.pairs = _pairs_needed(session)
        if self.template is not None and self.pairs > len(self.template.pairs):
            raise ExportRefused(
                f"a due record has {self.pairs} credit types for one board, but the template's "
                f"row 2 has room for {len(self.template.pairs)}: add "
                f"'{self.settings.extra_type_header}' columns, each followed by its credits "
                "column; nothing was exported")
        if self.template is None:
            self.pairs = max(self.pairs, workbook.registry_pairs())
        now = utcnow()
        token = new_token()
        while True:
            result = claim(session, self.rules, limit=CHUNK, token=token, run_id=self.run_id,
                           now=now, transition=life.EXPORT)
            if not result.examined:
                break
            placed: list[dict[str, Any]] = []
            events: list[tuple[int, EventKind, str | None]] = []
            for item in result.items:
                rows = workbook.rows(item.record, self.settings)
                part = self._file_for(len(rows))
                first = FIRST_DATA_ROW + part.rows
                for row in rows:
                    part.writer.append(row)
                part.rows += len(rows)
                part.records += 1
                placed.append({"id": item.id, "batch_id": part.batch_id, "batch_row": first})
                where = f"row {first}" if len(rows) == 1 else \
                    f"rows {first} to {first + len(rows) - 1}"
                events.append((item.id, EventKind.EXPORTED, f"Written to Excel batch "
                               f"{part.batch_id} ({where}) for upload to PARS by CME staff."))
            if placed:
                session.execute(update(Delivery), placed)
                life.note(session, events, run_id=self.run_id, at=now)
            session.flush()
            session.expunge_all()
        if not self.files:
            session.rollback()
            return []
        self._save(self.files[-1])
        ids = []
        for part in self.files:
            session.execute(update(Batch).where(Batch.id == part.batch_id)
                            .values(record_count=part.records, row_count=part.rows))
            audit.record("pars.exported", actor=self.actor, subject_type="batch",
                         subject_id=part.batch_id, session=session, records=part.records,
                         rows=part.rows, template=self.template is not None)
            ids.append(part.batch_id)
        session.commit()
        return list(session.scalars(select(Batch).where(Batch.id.in_(ids)).order_by(Batch.id)))

    def _file_for(self, rows: int) -> _File:
        """The file the next record goes into: a completion's rows stay in one file, and a
        file holds at least one record."""
        current = self.files[-1] if self.files else None
        if current is not None and (current.rows == 0
                                    or current.rows + rows <= self.settings.max_rows):
            return current
        if current is not None:
            self._save(current)
        path = file_path(self.out, len(self.files) + 1)
        if path.exists():
            raise ExportRefused(f"{path}: the file exists already; choose a new name")
        batch = Batch(kind=BatchKind.EXCEL, state=BatchState.OPEN, created_by=self.actor,
                      file_name=path.name, run_id=self.run_id)
        self.session.add(batch)
        self.session.flush()
        part = _File(batch.id, path, path.with_name(f".{path.name}.{os.getpid()}.part"),
                     workbook.writer(self.settings, self.template, self.pairs))
        self.files.append(part)
        return part

    def _save(self, part: _File) -> None:
        part.writer.save(part.tmp)
        part.saved = True

    def discard(self) -> None:
        """After a failure: no file is left behind."""
        for part in self.files:
            if not part.saved:
                part.writer.discard()
            part.tmp.unlink(missing_ok=True)


def _pairs_needed(session: Session) -> int:
    """The most credit types one board has on any record that may be exported now.

    Adds report the completion as it stands; a delete repeats the record as first
    reported, which may have had other credit types."""
    queued_adds = select(Delivery.completion_id).where(Delivery.state == S.QUEUED,
                                                       Delivery.action == Action.ADD)
    per_board = (select(func.count().label("n")).select_from(BoardCredit)
                 .where(BoardCredit.completion_id.in_(queued_adds))
                 .group_by(BoardCredit.completion_id, BoardCredit.board).subquery())
    most = session.scalar(select(func.max(per_board.c.n))) or 1
    reported = aliased(Delivery)
    payloads = (select(reported.sent_payload)
                .join(Delivery, Delivery.withdraws_id == reported.id)
                .where(Delivery.state == S.QUEUED, Delivery.action == Action.DELETE)
                .execution_options(yield_per=CHUNK))
    for payload in session.scalars(payloads):
        if payload:
            most = max(most, workbook.needed_pairs([payload]))
    return most


# -- PARS's answer --------------------------------------------------------------------

_REFUSED_LINE = re.compile(r"^\s*(\d+)\s*[=:\t]\s*(.*?)\s*$", re.S)


def parse_refused(lines: Iterable[str], *, what: str = "line") -> dict[int, str]:
    """``{row: PARS's message}`` from lines like ``5: Learner not matched`` (also
    ``5=...`` or row and message separated by a tab, as pasted from a spreadsheet).
    Blank lines are skipped; anything else that does not read that way is refused."""
    found: dict[int, str] = {}
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        match = _REFUSED_LINE.match(line)
        message = match.group(2).strip().strip('"').strip() if match else ""
        if match is None or not message:
            raise ExportRefused(f"{what} {number}: write the row number, then = or : and "
                                f"PARS's message for that row, e.g. 5: Learner not matched")
        row = int(match.group(1))
        if row in found:
            raise ExportRefused(f"row {row} is given twice")
        found[row] = " ".join(message.split())[:MAX_MESSAGE]
    return found


def _excel_batch(session: Session, batch_id: int) -> Batch:
    batch = session.get(Batch, batch_id)
    if batch is None:
        raise ExportRefused(f"there is no batch {batch_id}")
    if batch.kind != BatchKind.EXCEL:
        raise ExportRefused(f"batch {batch_id} went through the web service; only Excel "
                            "batches are confirmed or cancelled by hand")
    if batch.state != BatchState.OPEN:
        raise ExportRefused(f"batch {batch_id} is {batch.state.value} already")
    return batch


def data_rows(batch: Batch) -> range | None:
    """The row numbers of a batch file's data rows; None for a file written before rows
    were kept."""
    if batch.row_count is None:
        return None
    return range(FIRST_DATA_ROW, FIRST_DATA_ROW + batch.row_count)


def _refused_records(session: Session, batch: Batch,
                     refused: Mapping[int, str]) -> dict[int, list[tuple[int, str]]]:
    """The records holding the refused rows, each with its rows and messages. Refuses a
    row number that is not a data row of the batch's file."""
    if not refused:
        return {}
    valid = data_rows(batch)
    if valid is None:
        raise ExportRefused(f"batch {batch.id} was written before row numbers were kept, so "
                            "its rows cannot be named: cancel it and export the records again")
    bad = sorted(r for r in refused if r not in valid)
    if bad:
        span = (f"its data rows are {valid.start} to {valid.stop - 1}" if len(valid) > 1
                else f"its only data row is {valid.start}")
        which = (f"row {bad[0]} is not a data row" if len(bad) == 1
                 else f"rows {', '.join(map(str, bad))} are not data rows")
        raise ExportRefused(f"{which} of batch {batch.id}: {span}")
    found: dict[int, list[tuple[int, str]]] = {}
    for row in sorted(refused):
        message = " ".join((refused[row] or "").split())
        if not message:
            raise ExportRefused(f"row {row}: give PARS's message for it")
        delivery_id = session.scalar(
            select(Delivery.id).where(Delivery.batch_id == batch.id, Delivery.state == S.EXPORTED,
                                      Delivery.batch_row <= row)
            .order_by(Delivery.batch_row.desc()).limit(1))
        if delivery_id is None:
            raise ExportRefused(f"row {row} of batch {batch.id} holds no record awaiting "
                                "PARS's answer")
        found.setdefault(delivery_id, []).append((row, message[:MAX_MESSAGE]))
    return found


def _ids(session: Session, batch_id: int) -> Iterator[list[int]]:
    last = 0
    while True:
        ids = session.scalars(
            select(Delivery.id).where(Delivery.batch_id == batch_id, Delivery.state == S.EXPORTED,
                                      Delivery.id > last)
            .order_by(Delivery.id).limit(CHUNK)
        ).all()
        if not ids:
            return
        last = ids[-1]
        yield list(ids)


def confirm_batch(session: Session, batch_id: int, actor: str, *, consent_default: bool,
                  refused: Mapping[int, str] | None = None) -> ConfirmResult:
    """Staff uploaded the file and read PARS's upload report. The caller commits.

    ``refused`` maps each row PARS refused (its number in the file, 3 for the first
    data row) to PARS's message. Records with a refused row become ``rejected`` with
    that message; the others ``accepted`` today. Nothing changes when a row number is
    not a data row of the file. ``consent_default`` is the sharing of physicians who
    never chose, to count records whose physician withdrew permission after the file
    was written.
    """
    batch = _excel_batch(session, batch_id)
    found = _refused_records(session, batch, refused or {})
    now = utcnow()
    rejected = 0
    for delivery_id, lines in found.items():
        rows = ", ".join(str(row) for row, _ in lines)
        rejected += len(life.move_many(
            session, life.REJECT, [delivery_id],
            f"PARS refused it (row {rows} of Excel batch {batch_id}) when CME staff uploaded "
            "the file; CME staff will review it.", at=now, sent_at=now, settled_at=now,
            claim_token=None, error_code=EngineCode.EXCEL_ROW_REJECTED.value,
            error_message="; ".join(f"Row {row}: {message}" for row, message in lines)[:2000]))
    records = withdrawn = 0
    for ids in _ids(session, batch_id):
        removals = session.scalars(select(Delivery.withdraws_id).where(
            Delivery.id.in_(ids), Delivery.action == Action.DELETE)).all()
        for granted in session.scalars(
            select(Learner.consent_granted).select_from(Delivery).join(Delivery.completion)
            .join(Completion.learner)
            .where(Delivery.id.in_(ids), Delivery.action == Action.ADD)
        ):
            if not (consent_default if granted is None else granted):
                withdrawn += 1
        life.move_many(session, life.CONFIRM, ids, f"Uploaded to PARS by CME staff in Excel "
                       f"batch {batch_id}; PARS refused none of its rows, so PARS accepted it.",
                       at=now, sent_at=now, settled_at=now, claim_token=None, error_code=None,
                       error_message=None)
        life.remove_replaced(session, [a for a in removals if a is not None], at=now)
        records += len(ids)
    batch.state = BatchState.CONFIRMED
    batch.confirmed_at, batch.confirmed_by = now, actor
    # Row numbers only: PARS's messages may name the physician and stay on the records.
    audit.record("pars.batch_confirmed", actor=actor, subject_type="batch", subject_id=batch_id,
                 session=session, records=records, rejected=rejected,
                 refused_rows=sorted(refused or {}), withdrawn_consent=withdrawn)
    session.flush()
    return ConfirmResult(records, rejected, withdrawn)


def cancel_batch(session: Session, batch_id: int, actor: str) -> int:
    """The file will not be uploaded: its records go back to the queue. The caller commits."""
    batch = _excel_batch(session, batch_id)
    now = utcnow()
    count = 0
    for ids in _ids(session, batch_id):
        life.move_many(session, life.UNEXPORT, ids, f"Excel batch {batch_id} was cancelled; "
                       "queued for PARS again.", at=now, batch_id=None, batch_row=None,
                       claim_token=None, next_attempt_at=None)
        count += len(ids)
    batch.state = BatchState.CANCELLED
    batch.cancelled_at, batch.cancelled_by = now, actor
    audit.record("pars.batch_cancelled", actor=actor, subject_type="batch", subject_id=batch_id,
                 session=session, records=count)
    session.flush()
    return count


# -- batch files ----------------------------------------------------------------------


def new_batch_path(directory: Path, now: dt.datetime | None = None) -> Path:
    """A fresh file name for a batch made in the staff console, in ``directory``."""
    directory.mkdir(parents=True, exist_ok=True)
    stamp = (now or utcnow()).strftime("%Y%m%d-%H%M%S")
    return directory / f"pars-learners-{stamp}-{secrets.token_hex(3)}.xlsx"


def batch_file(directory: Path, batch: Batch) -> Path | None:
    """The file of an open batch. Confirmed and cancelled batches are not downloadable:
    uploading one again would report its records twice."""
    if not batch.file_name or batch.state != BatchState.OPEN:
        return None
    path = directory / Path(batch.file_name).name
    return path if path.is_file() else None


def discard_file(directory: Path, file_name: str | None) -> None:
    """Delete a finished batch's file: it holds physicians' identifiers and must not be
    uploaded again."""
    if file_name:
        (directory / Path(file_name).name).unlink(missing_ok=True)
