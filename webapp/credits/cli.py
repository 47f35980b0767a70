"""``flask credits import`` and ``flask demo``."""

from __future__ import annotations

import os
import sys
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import click
from flask.cli import with_appcontext
from sqlalchemy import func, select

from webapp.credits import demo
from webapp.credits.importer import ImportRejected, ImportSummary, import_credits
from webapp.extensions import db, db_session
from webapp.models import Learner
from webapp.pars import outbox
from webapp.pars import policy as pars_policy


@contextmanager
def _bar(label: str, length: int) -> Iterator[Callable[[int], None] | None]:
    """A progress bar on a terminal; nothing when output goes to a file or cron mail."""
    if not sys.stderr.isatty():
        yield None
        return
    with click.progressbar(length=length, label=label, file=sys.stderr) as bar:
        yield bar.update


def run_import(path: Path, actor: str) -> ImportSummary:
    size = path.stat().st_size
    with path.open("rb") as stream, _bar("Checking ", size) as read_progress:
        # The merge bar's length is known only after checking; an estimate from size is fine.
        try:
            return import_credits(
                db_session(), stream, policy=pars_policy.from_app(), actor=actor,
                source_name=path.name,
                read_progress=read_progress,
            )
        except ImportRejected as rejected:
            for error in rejected.errors:
                click.echo(str(error), err=True)
            more = rejected.total - len(rejected.errors)
            if more:
                click.echo(f"... and {more} more error(s)", err=True)
            raise click.ClickException(
                f"{path.name}: {rejected.total} error(s); nothing was imported"
            ) from None


@click.group("credits")
def credits_cli() -> None:
    """Credit data from the provider's learning system."""


@credits_cli.command("import")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@with_appcontext
def import_command(file: Path) -> None:
    """Import FILE, a CSV credit export. All or nothing; safe to repeat."""
    summary = run_import(file, actor="cli")
    click.echo(f"{file.name}: {summary.line()}")


@click.group("demo")
def demo_cli() -> None:
    """Synthetic demo data (no real people)."""


@demo_cli.command("generate")
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path), required=True)
@click.option("--physicians", default=36, show_default=True, help="Number of physicians.")
@click.option("--seed", default=2023, show_default=True)
def generate_command(out: Path, physicians: int, seed: int) -> None:
    """Write a synthetic credit export to OUT."""
    rows = demo.write_export(out, physicians=physicians, seed=seed)
    click.echo(f"wrote {rows} rows to {out}")


@demo_cli.command("load")
@click.option("--if-empty", is_flag=True, help="Do nothing when learners exist already.")
@click.option("--seed", default=2023, show_default=True)
@with_appcontext
def load_command(if_empty: bool, seed: int) -> None:
    """Generate the demo export and import it through `credits import`."""
    if if_empty and db.session.scalar(select(func.count()).select_from(Learner)):
        click.echo("demo data: learners exist already; nothing loaded")
        return
    fd, name = tempfile.mkstemp(suffix=".csv")
    os.close(fd)
    path = Path(name)
    try:
        demo.write_export(path, seed=seed)
        summary = run_import(path, actor="demo")
        click.echo(f"demo data: {summary.line()}")
        # Put what should go to PARS in the outbox, as the engine's first run would.
        planned = outbox.plan(db_session(), pars_policy.from_app())
        db.session.commit()
        click.echo(f"outbox: {planned.queued} queued, {planned.waiting} waiting for consent "
                   "or identifiers")
    finally:
        path.unlink(missing_ok=True)


commands = [credits_cli, demo_cli]
