"""``flask notify send``: e-mail what is due to physicians and CME staff."""

from __future__ import annotations

import sys

import click
from flask import current_app
from flask.cli import with_appcontext

from webapp.extensions import db
from webapp.notify import engine as engine_module
from webapp.progress import progress_bar


@click.group("notify")
def notify_group() -> None:
    """E-mail notices to physicians and CME staff."""


@notify_group.command("send")
@with_appcontext
def send_command() -> None:
    """Plan due notices, gather them (one e-mail per physician per day) and send them.

    Exit status: 0 done; 1 messages failed or their outcome is unknown (see the
    staff console); 3 the mail server failed for now (the next run sends the rest);
    4 not run or stopped (mail settings).
    """
    try:
        with progress_bar("Sending e-mail") as progress:
            report = engine_module.send(db.engine, current_app._get_current_object(),  # type: ignore[attr-defined]
                                        progress=progress)
    except engine_module.NotConfigured as exc:
        click.echo(f"notify send: not run: {exc}", err=True)
        sys.exit(engine_module.EXIT_STOPPED)
    click.echo(report.line())
    sys.exit(report.exit_code)


commands = [notify_group]
