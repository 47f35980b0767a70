"""The manual route: ACCME's Excel learner batch file, and the batch rules staff follow.

``export`` claims due records exactly as the web-service engine does (every
rule re-checked in the claiming transaction) but marks them ``exported`` in an
Excel batch, and streams them into the workbook (openpyxl write-only mode), so
memory does not grow with the batch. The file is written under a temporary
name and renamed only after the batch is committed: a failure leaves no batch
and no file. Until staff confirm the upload (``confirm_batch``) the records are
not "sent"; ``cancel_batch`` puts them back in the queue.
"""

from __future__ import annotations

import datetime as dt
import os
import secrets
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

from openpyxl import Workbook
from sqlalchemy import Engine, select, update
from sqlalchemy.orm import Session

from webapp import audit
from webapp.db import utcnow
from webapp.models import (
    Action,
    Batch,
    BatchKind,
    BatchState,
    Completion,
    Delivery,
    DeliveryState,
    Learner,
    RunKind,
    RunOutcome,
)
from webapp.pars import lifecycle as life
from webapp.pars import runs
from webapp.pars.claiming import claim
from webapp.pars.eligibility import Rules
from webapp.pars.outbox import plan
from webapp.pars.policy import Policy
from webapp.pars.store import engine_session, new_token

S = DeliveryState
CHUNK = 500

HEADER = (
    "Record Action", "ACCME Activity ID", "Completion Date", "First Name", "Last Name",
    "Date of Birth", "Licensing State", "Licensing ID or NPI", "Number of CME Credits",
    "Certifying Board", "Certifying Board ID", "Total Board Credits", "Credit Type",
    "Credits Awarded for Credit Type",
)
GUIDANCE = (
    "ACCME learner batch upload. Row 2 holds the column headers; one row per credit line. "
    "Dates: completion MM/DD/YYYY, birth MM/DD. Record Action: Add or Delete."
)


class ExportRefused(Exception):
    """Bad input for an Excel batch action; nothing was changed."""


@dataclass(frozen=True)
class ConfirmResult:
    records: int
    #: Records whose physician withdrew permission after the file was written.
    withdrawn_consent: int


def rows(record: dict[str, Any]) -> Iterator[list[Any]]:
    """The spreadsheet rows for one record: one per credit line."""
    month, day = (record["birth_month_day"] or "-").partition("-")[::2]
    completed = dt.date.fromisoformat(record["completion_date"])
    uses_license = not record.get("npi")
    base = [
        "Delete" if record["action"] == Action.DELETE.value else "Add",
        record["activity_id"],
        completed.strftime("%m/%d/%Y"),
        record["first_name"],
        record["last_name"],
        f"{month}/{day}" if record["birth_month_day"] else "",
        (record.get("license_state") or "") if uses_license else "",
        (record.get("license_number") or "") if uses_license else record["npi"],
        float(Decimal(record["cme_credits"])),
    ]
    if not record["boards"]:
        yield base + ["", "", None, "", None]
        return
    totals: dict[str, Decimal] = {}
    for line in record["boards"]:
        totals[line["board"]] = totals.get(line["board"], Decimal(0)) + Decimal(line["credits"])
    for line in record["boards"]:
        yield base + [line["board"], line.get("board_id") or "", float(totals[line["board"]]),
                      line["credit_type"], float(Decimal(line["credits"]))]


def _check_target(out: Path) -> None:
    if out.suffix.lower() != ".xlsx":
        raise ExportRefused(f"{out}: the file name must end in .xlsx")
    if not out.parent.is_dir():
        raise ExportRefused(f"{out.parent}: no such folder")
    if out.exists():
        raise ExportRefused(f"{out}: the file exists already; choose a new name")


def export(engine: Engine, config: Mapping[str, Any], out: Path, *, actor: str,
           today: dt.date | None = None) -> Batch | None:
    """Write every due record to ``out``; the batch, or None when nothing is due."""
    out = Path(out)
    _check_target(out)
    policy = Policy.from_config(config, today)
    rules = policy.rules
    with engine_session(engine) as session:
        plan(session, policy, commit=True)
        run_id = runs.start(session, RunKind.EXPORT)
        tmp = out.with_name(f".{out.name}.{os.getpid()}.part")
        try:
            batch = _write(session, rules, out, tmp, run_id, actor)
        except BaseException:
            session.rollback()
            tmp.unlink(missing_ok=True)
            runs.finish(session, run_id, RunOutcome.FAILED, None,
                        "export failed; nothing was exported")
            raise
        if batch is None:
            runs.finish(session, run_id, RunOutcome.OK, {"exported": 0}, "nothing was due")
            return None
        # Committed first, renamed second: a batch without its file can be cancelled,
        # a file without its batch could be uploaded and never recorded.
        os.replace(tmp, out)
        runs.finish(session, run_id, RunOutcome.OK, {"exported": batch.record_count}, None)
        return batch


def _write(session: Session, rules: Rules, out: Path, tmp: Path, run_id: int,
           actor: str) -> Batch | None:
    now = utcnow()
    token = new_token()
    batch = Batch(kind=BatchKind.EXCEL, state=BatchState.OPEN, created_by=actor,
                  file_name=out.name, run_id=run_id)
    session.add(batch)
    session.flush()
    batch_id = batch.id
    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet("Learners")
    try:
        sheet.append([GUIDANCE])
        sheet.append(list(HEADER))
        count = 0
        while True:
            result = claim(session, rules, limit=CHUNK, token=token, run_id=run_id, now=now,
                           transition=life.EXPORT, batch_id=batch_id)
            if not result.examined:
                break
            for item in result.items:
                for row in rows(item.record):
                    sheet.append(row)
            count += len(result.items)
            session.flush()
            session.expunge_all()
        if count == 0:
            session.rollback()
            return None
        session.execute(update(Batch).where(Batch.id == batch_id).values(record_count=count))
        audit.record("pars.exported", actor=actor, subject_type="batch", subject_id=batch_id,
                     session=session, records=count)
        workbook.save(tmp)
    finally:
        if not sheet.closed:
            # Not saved: finish the sheet's temporary stream so nothing is left open.
            sheet.close()
    session.commit()
    return session.get(Batch, batch_id)


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


def confirm_batch(session: Session, batch_id: int, actor: str, *,
                  consent_default: bool) -> ConfirmResult:
    """Staff uploaded the file: its records are sent. The caller commits.

    ``consent_default`` is the sharing of physicians who never chose, to count
    records whose physician withdrew permission after the file was written.
    """
    batch = _excel_batch(session, batch_id)
    now = utcnow()
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
                       f"batch {batch_id}.", at=now, sent_at=now, claim_token=None)
        life.remove_replaced(session, [a for a in removals if a is not None], at=now)
        records += len(ids)
    batch.state = BatchState.CONFIRMED
    batch.confirmed_at, batch.confirmed_by = now, actor
    audit.record("pars.batch_confirmed", actor=actor, subject_type="batch", subject_id=batch_id,
                 session=session, records=records, withdrawn_consent=withdrawn)
    session.flush()
    return ConfirmResult(records, withdrawn)


def cancel_batch(session: Session, batch_id: int, actor: str) -> int:
    """The file will not be uploaded: its records go back to the queue. The caller commits."""
    batch = _excel_batch(session, batch_id)
    now = utcnow()
    count = 0
    for ids in _ids(session, batch_id):
        life.move_many(session, life.UNEXPORT, ids, f"Excel batch {batch_id} was cancelled; "
                       "queued for PARS again.", at=now, batch_id=None, claim_token=None,
                       next_attempt_at=None)
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
