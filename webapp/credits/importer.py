"""Loading the provider's credit export, all or nothing, in flat memory.

1. Every row is checked on its own and written to ``import_rows`` inside the
   import's transaction (nothing is held in memory but the current chunk).
2. SQL over those rows finds what no single row shows: learners, activities
   and completions whose rows disagree, a board ID that changes, repeated
   board lines.
3. If anything was wrong, the transaction is rolled back and every error is
   reported; otherwise the staged rows are merged into the transcript in
   chunks and the staging rows are deleted in the same transaction.
"""

from __future__ import annotations

import csv
import datetime as dt
import uuid
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import IO, Any

from sqlalchemy import Row, delete, distinct, func, insert, select, tuple_
from sqlalchemy.orm import Session, selectinload

from webapp import audit
from webapp.credits.validation import (
    ACTIVITY_COLUMNS,
    COLUMNS,
    COMPLETION_COLUMNS,
    LEARNER_COLUMNS,
    RowError,
    check_header,
    check_row,
)
from webapp.db import utcnow
from webapp.models import (
    Activity,
    BoardCertification,
    BoardCredit,
    Completion,
    ConsentEvent,
    ConsentSource,
    ImportRow,
    Learner,
    License,
)
from webapp.pars import outbox
from webapp.pars.policy import Policy

STAGE_CHUNK = 1000
MERGE_CHUNK = 500
#: Errors kept for the report; a file wrong on every row still says how many there were.
MAX_REPORTED_ERRORS = 5000
#: A row of the export is a few hundred bytes; these bound what one line or one
#: record (quoted line breaks included) may make the reader hold.
MAX_LINE_BYTES = 16 * 1024
MAX_RECORD_BYTES = 64 * 1024

Progress = Callable[[int], None]
#: A staged row as the merge reads it back: a plain ``import_rows`` row with the
#: columns of ``ImportRow`` as attributes, not an ORM object.
StagedRow = Row


class ImportRejected(Exception):
    """The file was not imported; ``errors`` says every reason, by line and column."""

    def __init__(self, errors: list[RowError], total: int | None = None) -> None:
        self.errors = errors
        self.total = total if total is not None else len(errors)
        super().__init__(f"{self.total} error(s); nothing was imported")


@dataclass
class ImportSummary:
    rows: int = 0
    learners: int = 0
    learners_created: int = 0
    learners_updated: int = 0
    activities: int = 0
    activities_created: int = 0
    activities_updated: int = 0
    completions_created: int = 0
    completions_updated: int = 0
    completions_unchanged: int = 0

    def line(self) -> str:
        return (
            f"{self.rows} rows read; {self.learners} learners "
            f"({self.learners_created} new, {self.learners_updated} updated); "
            f"{self.activities} activities ({self.activities_created} new, "
            f"{self.activities_updated} updated); completions: {self.completions_created} created, "
            f"{self.completions_updated} updated, {self.completions_unchanged} unchanged"
        )


class _Errors:
    def __init__(self) -> None:
        self.kept: list[RowError] = []
        self.total = 0

    def add(self, errors: Iterable[RowError]) -> None:
        for error in errors:
            self.total += 1
            if len(self.kept) < MAX_REPORTED_ERRORS:
                self.kept.append(error)


class _TooLong(Exception):
    """A line or a record over the limits: the file is not read any further."""

    def __init__(self, error: RowError) -> None:
        self.error = error
        super().__init__(str(error))


class _Lines:
    """The file's lines, decoded one at a time so a wrong encoding is reported with its
    line number, and never longer than ``MAX_LINE_BYTES`` (or a record than
    ``MAX_RECORD_BYTES``), so a hostile file cannot make the reader hold it whole."""

    def __init__(self, stream: IO[bytes], errors: _Errors, progress: Progress | None) -> None:
        self.stream, self.errors, self.progress = stream, errors, progress
        self.number = 0
        #: Bytes read since the CSV reader last returned a record.
        self.record_bytes = 0

    def __iter__(self) -> Iterator[str]:
        while True:
            raw = self.stream.readline(MAX_LINE_BYTES + 1)
            if not raw:
                return
            self.number += 1
            if self.progress:
                self.progress(len(raw))
            if len(raw) > MAX_LINE_BYTES:
                raise _TooLong(RowError(self.number, "", f"the line is longer than {MAX_LINE_BYTES:,} "
                                        "bytes; the file is not a credit export"))
            self.record_bytes += len(raw)
            if self.record_bytes > MAX_RECORD_BYTES:
                raise _TooLong(RowError(self.number, "", f"the record is longer than "
                                        f"{MAX_RECORD_BYTES:,} bytes (an unclosed quote?)"))
            if self.number == 1 and raw.startswith(b"\xef\xbb\xbf"):
                raw = raw[3:]
            try:
                yield raw.decode("utf-8")
            except UnicodeDecodeError:
                self.errors.add([RowError(self.number, "",
                                          "not UTF-8 text; export the file as UTF-8 (CSV UTF-8)")])
                yield raw.decode("utf-8", errors="replace")


def import_credits(
    session: Session,
    stream: IO[bytes],
    *,
    policy: Policy,
    actor: str = "import",
    source_name: str | None = None,
    today: dt.date | None = None,
    read_progress: Progress | None = None,
    merge_progress: Progress | None = None,
) -> ImportSummary:
    """Import ``stream`` (a binary CSV file) and commit, or raise ``ImportRejected``.

    To keep memory flat the session is emptied between chunks: objects the
    caller loaded before are detached afterwards and must be loaded again.
    """
    key = str(uuid.uuid4())
    errors = _Errors()
    summary = ImportSummary()
    try:
        summary.rows = _stage(session, key, stream, errors, today or dt.date.today(), read_progress)
        if errors.total == 0 and summary.rows == 0:
            errors.add([RowError(0, "", "the file has a header but no rows")])
        errors.add(_cross_checks(session, key))
        if errors.total:
            raise ImportRejected(sorted(errors.kept, key=lambda e: (e.line, e.column)), errors.total)
        _merge(session, key, summary, merge_progress, policy)
        session.execute(delete(ImportRow).where(ImportRow.import_key == key))
        audit.record(
            "credits.imported", actor=actor, session=session, file=source_name,
            rows=summary.rows, completions_created=summary.completions_created,
            completions_updated=summary.completions_updated,
        )
        session.commit()
    except BaseException:
        session.rollback()
        raise
    return summary


def _stage(
    session: Session, key: str, stream: IO[bytes], errors: _Errors, today: dt.date,
    progress: Progress | None,
) -> int:
    lines = _Lines(stream, errors, progress)
    reader = csv.reader(lines, strict=True)
    try:
        header = [h.strip() for h in next(reader)]
    except StopIteration:
        raise ImportRejected([RowError(0, "", "the file is empty; expected a header row")]) from None
    except csv.Error as exc:
        raise ImportRejected([RowError(1, "", f"not a readable CSV header: {exc}")]) from None
    except _TooLong as exc:
        raise ImportRejected([exc.error]) from None
    header_errors = check_header(header)
    if header_errors:
        errors.add(header_errors)
        raise ImportRejected(errors.kept, errors.total)

    rows = 0
    pending: list[dict[str, Any]] = []
    while True:
        lines.record_bytes = 0
        try:
            cells = next(reader)
        except StopIteration:
            break
        except csv.Error as exc:
            errors.add([RowError(reader.line_num, "", f"not readable as CSV: {exc}")])
            break
        except _TooLong as exc:
            errors.add([exc.error])
            break
        if not any(c.strip() for c in cells):
            continue  # blank line
        rows += 1
        line = reader.line_num
        if len(cells) != len(header):
            errors.add([RowError(line, "", f"has {len(cells)} cells; the header has {len(header)}")])
            continue
        values, row_errors = check_row(line, dict(zip(header, cells, strict=True)), today)
        if row_errors:
            errors.add(row_errors)
            continue
        values.update(import_key=key, line=line)
        pending.append(values)
        if len(pending) >= STAGE_CHUNK:
            session.execute(insert(ImportRow), pending)
            pending = []
    if pending:
        session.execute(insert(ImportRow), pending)
    return rows


def _group_rows(session: Session, key: str, group_cols: tuple[str, ...], having: Any):
    """The staged rows of every group (by ``group_cols``) that matches ``having``, in order."""
    group = tuple(getattr(ImportRow, c) for c in group_cols)
    bad_groups = (
        select(*group).where(ImportRow.import_key == key).group_by(*group).having(having)
    )
    rows = session.execute(
        select(ImportRow)
        .where(ImportRow.import_key == key, tuple_(*group).in_(bad_groups))
        .order_by(*group, ImportRow.line)
    ).scalars()
    first: dict[tuple[Any, ...], ImportRow] = {}
    for row in rows:
        ref = first.setdefault(tuple(getattr(row, c) for c in group_cols), row)
        if ref is not row:
            yield ref, row


def _conflicts(
    session: Session, key: str, group_cols: tuple[str, ...], digest_col: str,
    compared: tuple[str, ...], what: str, *, ignore_blank: bool = False,
) -> list[RowError]:
    """Rows of one learner, activity or completion whose values disagree with its first row."""
    having = func.count(distinct(getattr(ImportRow, digest_col))) > 1
    errors = []
    for ref, row in _group_rows(session, key, group_cols, having):
        for column in compared:
            mine, theirs = getattr(row, column), getattr(ref, column)
            if ignore_blank and (mine is None or theirs is None):
                continue
            if mine != theirs:
                errors.append(RowError(row.line, column, f"differs from line {ref.line} for the same {what}"))
    session.expunge_all()
    return errors


def _cross_checks(session: Session, key: str) -> list[RowError]:
    errors = _conflicts(session, key, ("learner_id",), "learner_digest", LEARNER_COLUMNS,
                        "learner_id")
    errors += _conflicts(session, key, ("activity_id",), "activity_digest", ACTIVITY_COLUMNS,
                         "activity_id")
    errors += _conflicts(
        session, key, ("learner_id", "activity_id", "completion_date"), "completion_digest",
        COMPLETION_COLUMNS, "completion (learner_id, activity_id, completion_date)",
    )
    errors += _conflicts(session, key, ("learner_id", "board"), "board_id", ("board_id",),
                         "learner_id and board", ignore_blank=True)
    line_cols = ("learner_id", "activity_id", "completion_date", "board", "board_credit_type")
    for ref, row in _group_rows(session, key, line_cols, func.count() > 1):
        errors.append(RowError(row.line, "board_credit_type",
                               f"repeats the board credit line of line {ref.line}"))
    session.expunge_all()
    return errors


def _merge(session: Session, key: str, summary: ImportSummary, progress: Progress | None,
           policy: Policy) -> None:
    counts = session.execute(
        select(func.count(distinct(ImportRow.learner_id)), func.count(distinct(ImportRow.activity_id)))
        .where(ImportRow.import_key == key)
    ).one()
    summary.learners, summary.activities = counts
    # Plain rows, not ORM objects: the merge empties the session between chunks.
    staged = ImportRow.__table__
    _merge_activities(session, key, summary)
    rows = session.execute(
        select(staged)
        .where(staged.c.import_key == key)
        .order_by(staged.c.learner_id, staged.c.activity_id, staged.c.completion_date,
                  staged.c.line)
        .execution_options(yield_per=2000)
    )
    merger = _Merger(session, summary, policy)
    chunk: list[StagedRow] = []
    for row in rows:
        if len(chunk) >= MERGE_CHUNK and _completion_key(chunk[-1]) != _completion_key(row):
            merger.merge(chunk)
            if progress:
                progress(len(chunk))
            chunk = []
        chunk.append(row)
    if chunk:
        merger.merge(chunk)
        if progress:
            progress(len(chunk))


def _merge_activities(session: Session, key: str, summary: ImportSummary) -> None:
    """Create and update activities first, a chunk at a time (rows agree, as checked)."""
    staged = ImportRow.__table__
    rows = session.execute(
        select(staged.c.activity_id, staged.c.activity_title, staged.c.accme_activity_id)
        .where(staged.c.import_key == key)
        .distinct()
        .order_by(staged.c.activity_id)
        .execution_options(yield_per=MERGE_CHUNK)
    )
    for chunk in rows.partitions():
        found = {
            a.source_id: a
            for a in session.execute(
                select(Activity).where(Activity.source_id.in_([r.activity_id for r in chunk]))
            ).scalars()
        }
        for row in chunk:
            activity = found.get(row.activity_id)
            if activity is None:
                session.add(Activity(source_id=row.activity_id, title=row.activity_title,
                                     accme_activity_id=row.accme_activity_id))
                summary.activities_created += 1
            elif (activity.title, activity.accme_activity_id) != (
                    row.activity_title, row.accme_activity_id):
                activity.title = row.activity_title
                activity.accme_activity_id = row.accme_activity_id
                summary.activities_updated += 1
        session.flush()
        session.expunge_all()


def _completion_key(row: StagedRow) -> tuple[str, str, dt.date]:
    return (row.learner_id, row.activity_id, row.completion_date)


class _Merger:
    """Applies staged rows to learners, activities and completions, a chunk at a time."""

    def __init__(self, session: Session, summary: ImportSummary, policy: Policy) -> None:
        self.session = session
        self.policy = policy
        self.summary = summary
        #: Rows come ordered by learner: a learner's first row is where the ID changes.
        self.last_learner: str | None = None
        self.now = utcnow()
        self.consent_changes: list[tuple[Learner, bool]] = []
        #: Existing learners whose name or identifiers changed in this chunk.
        self.matching_changed: list[Learner] = []

    def merge(self, rows: list[StagedRow]) -> None:
        session = self.session
        learners = self._learners(rows)
        activities = self._activities(rows)
        session.flush()
        for learner, granted in self.consent_changes:
            self._consent(learner, granted)
        self.consent_changes = []
        for learner in self.matching_changed:
            # What PARS matches on changed: records rejected for a mismatch go again.
            outbox.on_identifiers_changed(session, learner, self.policy, actor="import")
        self.matching_changed = []
        keys = {(learners[r.learner_id].id, activities[r.activity_id].id, r.completion_date)
                for r in rows}
        existing = {
            (c.learner_id, c.activity_id, c.completion_date): c
            for c in session.execute(
                select(Completion)
                .options(selectinload(Completion.board_credits))
                .where(tuple_(Completion.learner_id, Completion.activity_id,
                              Completion.completion_date).in_(list(keys)))
            ).scalars()
        }
        group: list[StagedRow] = []
        for row in rows:
            if group and _completion_key(group[-1]) != _completion_key(row):
                self._completion(group, learners, activities, existing)
                group = []
            group.append(row)
        if group:
            self._completion(group, learners, activities, existing)
        session.flush()
        # Keep the identity map (and so memory) to one chunk; the staged rows the
        # outer query still yields are loaded afresh, not from this map.
        session.expunge_all()

    def _learners(self, rows: list[StagedRow]) -> dict[str, Learner]:
        ids = {r.learner_id for r in rows}
        found = {
            lr.source_id: lr
            for lr in self.session.execute(
                select(Learner)
                .options(selectinload(Learner.licenses), selectinload(Learner.board_certifications))
                .where(Learner.source_id.in_(ids))
            ).scalars()
        }
        for row in rows:
            learner = found.get(row.learner_id)
            first_time = row.learner_id != self.last_learner
            self.last_learner = row.learner_id
            if learner is None:
                learner = Learner(source_id=row.learner_id, first_name=row.first_name,
                                  last_name=row.last_name, email=row.email, degree=row.degree)
                self.session.add(learner)
                found[row.learner_id] = learner
                self.summary.learners_created += 1
            elif first_time and self._update_learner(learner, row):
                self.summary.learners_updated += 1
                self.matching_changed.append(learner)
            if self._identifiers(learner, row) and learner.id is not None \
                    and learner not in self.matching_changed:
                self.matching_changed.append(learner)
            if first_time and row.consent is not None \
                    and self._consent_applies(learner, row.consent):
                self.consent_changes.append((learner, row.consent))
        return found

    @staticmethod
    def _update_learner(learner: Learner, row: StagedRow) -> bool:
        changed = False
        for attr in ("first_name", "last_name", "email", "degree"):
            if getattr(learner, attr) != getattr(row, attr):
                setattr(learner, attr, getattr(row, attr))
                changed = True
        return changed

    def _identifiers(self, learner: Learner, row: StagedRow) -> bool:
        """Fill in identifiers the portal lacks; never overwrite what is there
        (the physician may have corrected it in the portal)."""
        changed = False
        if row.npi and not learner.npi:
            learner.npi = row.npi
            changed = True
        if row.birth_month_day and not learner.birth_month_day:
            learner.birth_month_day = row.birth_month_day
            changed = True
        if row.license_state and row.license_number and not any(
            lic.state == row.license_state and lic.number == row.license_number
            for lic in learner.licenses
        ):
            # Primary only as the learner's first license: never overrides the physician's choice.
            learner.licenses.append(License(state=row.license_state, number=row.license_number,
                                            primary=not learner.licenses))
            changed = True
        if row.board:
            cert = next((c for c in learner.board_certifications if c.board == row.board), None)
            if cert is None:
                learner.board_certifications.append(
                    BoardCertification(board=row.board, board_id=row.board_id))
                changed = True
            elif row.board_id and not cert.board_id:
                cert.board_id = row.board_id
                changed = True
        return changed

    @staticmethod
    def _consent_applies(learner: Learner, granted: bool) -> bool:
        """An import's consent counts only for learners who never chose in the portal."""
        if learner.chose_personally:
            return False
        return learner.consent_granted != granted

    def _consent(self, learner: Learner, granted: bool) -> None:
        learner.consent_granted = granted
        learner.consent_source = ConsentSource.IMPORT
        self.session.add(ConsentEvent(learner_id=learner.id, granted=granted,
                                      source=ConsentSource.IMPORT))
        audit.record("consent.granted" if granted else "consent.withdrawn", actor="import",
                     subject_type="learner", subject_id=learner.id, session=self.session,
                     source=ConsentSource.IMPORT)

    def _activities(self, rows: list[StagedRow]) -> dict[str, Activity]:
        ids = {r.activity_id for r in rows}
        return {
            a.source_id: a
            for a in self.session.execute(
                select(Activity).where(Activity.source_id.in_(ids))
            ).scalars()
        }

    def _completion(
        self, group: list[StagedRow], learners: dict[str, Learner],
        activities: dict[str, Activity], existing: dict[tuple[int, int, dt.date], Completion],
    ) -> None:
        first = group[0]
        learner, activity = learners[first.learner_id], activities[first.activity_id]
        lines = {(r.board, r.board_credit_type): r.board_credits for r in group if r.board}
        completion = existing.get((learner.id, activity.id, first.completion_date))
        if completion is None:
            completion = Completion(
                learner_id=learner.id, activity_id=activity.id,
                completion_date=first.completion_date, cme_credits=first.cme_credits,
                board_credits=[BoardCredit(board=b, credit_type=t, credits=c)
                               for (b, t), c in sorted(lines.items())],
            )
            self.session.add(completion)
            self.summary.completions_created += 1
            return
        current = {(b.board, b.credit_type): b.credits for b in completion.board_credits}
        if completion.cme_credits == first.cme_credits and current == lines:
            self.summary.completions_unchanged += 1
            return
        completion.cme_credits = first.cme_credits
        for line in list(completion.board_credits):
            wanted = lines.get((line.board, line.credit_type))
            if wanted is None:
                completion.board_credits.remove(line)
            else:
                line.credits = wanted
        for (board, credit_type), amount in sorted(lines.items()):
            if (board, credit_type) not in current:
                completion.board_credits.append(
                    BoardCredit(board=board, credit_type=credit_type, credits=amount))
        completion.revision += 1
        self.summary.completions_updated += 1


__all__ = ["COLUMNS", "ImportRejected", "ImportSummary", "RowError", "import_credits"]
