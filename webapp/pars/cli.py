"""``flask pars ...``: transmit, sync, status, and the Excel route staff use by hand."""

from __future__ import annotations

import gc
import signal
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import click
from flask import current_app
from flask.cli import with_appcontext

from webapp.extensions import db, db_session
from webapp.pars import engine as engine_module
from webapp.pars import excel
from webapp.pars.report import status as status_report
from webapp.pars.settings import SettingsError
from webapp.progress import progress_bar


@contextmanager
def _heap_frozen() -> Iterator[None]:
    """Keep the cycle collector off what the process loaded before the run.

    A run makes and drops many short-lived objects, and each full collection would
    walk every module, model and compiled statement loaded at start-up as well:
    a tenth or more of a run's CPU time. Frozen objects stay alive, as they would
    anyway; they are unfrozen afterwards (the command is also run inside tests).
    """
    gc.freeze()
    try:
        yield
    finally:
        gc.unfreeze()


def _terminate_gracefully() -> None:
    # SIGTERM (a scheduler stopping the job) unwinds like an error: the run is
    # recorded as ended and what it was sending is left for the status look-up.
    def handler(signum: int, _frame: Any) -> None:
        raise SystemExit(128 + signum)

    signal.signal(signal.SIGTERM, handler)


@click.group("pars")
def pars_group() -> None:
    """Reporting credit to ACCME's PARS."""


@pars_group.command("transmit")
@with_appcontext
def transmit_command() -> None:
    """Send every due record to the PARS web service, each exactly once.

    Exit status: 0 done; 1 records need attention; 3 incomplete (PARS failing,
    the next run finishes); 4 stopped (credentials or configuration).
    """
    _terminate_gracefully()
    try:
        with _heap_frozen(), progress_bar("Sending to PARS") as progress:
            report = engine_module.transmit(db.engine, current_app.config, progress=progress)
    except SettingsError as exc:
        click.echo(f"pars transmit: not run: {exc}", err=True)
        sys.exit(engine_module.EXIT_STOPPED)
    click.echo(report.line())
    sys.exit(report.exit_code)


@pars_group.command("sync")
@with_appcontext
def sync_command() -> None:
    """Settle unknown outcomes and fetch the certifying boards' decisions."""
    _terminate_gracefully()
    try:
        with _heap_frozen(), progress_bar("Checking with PARS") as progress:
            report = engine_module.sync(db.engine, current_app.config, progress=progress)
    except SettingsError as exc:
        click.echo(f"pars sync: not run: {exc}", err=True)
        sys.exit(engine_module.EXIT_STOPPED)
    click.echo(engine_module.sync_line(report))
    sys.exit(report.exit_code)


@pars_group.command("status")
@with_appcontext
def status_command() -> None:
    """Counts by state, records past or near their deadline, and the last runs."""
    report = status_report(db_session())
    for line in report.lines():
        click.echo(line)


@pars_group.command("export")
@click.option("--out", "out", required=True, type=click.Path(dir_okay=False, path_type=Path),
              help="The .xlsx file to write (must not exist yet); further files, when there "
                   "are more rows than PARS_EXCEL_MAX_ROWS, get -2, -3, ... before .xlsx.")
@with_appcontext
def export_command(out: Path) -> None:
    """Write due records as ACCME's Excel learner file(s) for upload by hand.

    Each file is a batch of its own: after uploading it, record PARS's answer with
    `flask pars confirm-batch ID [--rejected ROW=MESSAGE ...]`, or cancel it.
    """
    try:
        result = excel.export(db.engine, current_app.config, out, actor="cli")
    except excel.ExportRefused as exc:
        raise click.ClickException(str(exc)) from None
    for note in result.notes:
        click.echo(f"note: {note}", err=True)
    if not result.batches:
        click.echo("pars export: nothing is due; no file written")
        return
    for batch in result.batches:
        rows = f" in rows 3 to {2 + batch.row_count}" if batch.row_count else ""
        click.echo(f"pars export: batch {batch.id}: {batch.record_count} records{rows} written "
                   f"to {out.with_name(batch.file_name or out.name)}")
    first = result.batches[0].id
    click.echo(f"After uploading a file to PARS, record PARS's answer: `flask pars confirm-batch "
               f"{first}`, adding `--rejected ROW=MESSAGE` for each row PARS's upload report "
               f"refused; if a file will not be uploaded, `flask pars cancel-batch {first}`.")


def _refused_option(values: tuple[str, ...]) -> dict[int, str]:
    return excel.parse_refused(values, what="--rejected value")


@pars_group.command("confirm-batch")
@click.argument("batch_id", type=int)
@click.option("--rejected", "rejected", multiple=True, metavar="ROW=MESSAGE",
              help="A row PARS's upload report refused: its number in the file as Excel shows "
                   "it (3 is the first data row) and PARS's message, e.g. "
                   "--rejected 5=\"Learner not matched\". Repeat for each refused row.")
@with_appcontext
def confirm_batch_command(batch_id: int, rejected: tuple[str, ...]) -> None:
    """Record PARS's answer to Excel batch BATCH_ID, which staff uploaded.

    Records with a refused row become rejected (they need attention), all others
    accepted by PARS today. A row number that is not a data row of the file is
    refused and nothing changes.
    """
    try:
        refused = _refused_option(rejected)
        result = excel.confirm_batch(db_session(), batch_id, actor="cli",
                                     consent_default=current_app.config["CONSENT_DEFAULT"],
                                     refused=refused)
    except excel.ExportRefused as exc:
        db.session.rollback()
        raise click.ClickException(f"{exc}; nothing was recorded") from None
    db.session.commit()
    line = f"pars confirm-batch: batch {batch_id}: {result.records} records accepted by PARS"
    if result.rejected:
        line += (f", {result.rejected} rejected (rows {', '.join(map(str, sorted(refused)))}); "
                 "they are in the staff console's Needs attention list")
    click.echo(line)
    if result.withdrawn_consent:
        click.echo(f"warning: {result.withdrawn_consent} of them belong to physicians who "
                   "withdrew permission after the file was written", err=True)


@pars_group.command("cancel-batch")
@click.argument("batch_id", type=int)
@with_appcontext
def cancel_batch_command(batch_id: int) -> None:
    """Cancel Excel batch BATCH_ID (not uploaded); its records go back to the queue."""
    try:
        count = excel.cancel_batch(db_session(), batch_id, actor="cli")
    except excel.ExportRefused as exc:
        db.session.rollback()
        raise click.ClickException(str(exc)) from None
    db.session.commit()
    click.echo(f"pars cancel-batch: batch {batch_id} cancelled; {count} records queued again")


commands = [pars_group]
