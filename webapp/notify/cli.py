"""``flask notify send``: e-mail what is due to physicians and CME staff."""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import click
from flask import current_app
from flask.cli import with_appcontext

from webapp.extensions import db
from webapp.notify import engine as engine_module


@contextmanager
def _progress(label: str) -> Iterator[Callable[[int, int], None] | None]:
    """A progress bar on a terminal; nothing for cron (a summary line follows anyway)."""
    if not sys.stderr.isatty():
        yield None
        return
    state: dict[str, Any] = {}

    def update(done: int, total: int) -> None:
        bar = state.get("bar")
        if bar is None:
            bar = click.progressbar(length=max(total, 1), label=label, file=sys.stderr)
            bar.__enter__()
            state["bar"] = bar
        bar.length = max(total, done, 1)
        bar.update(done - bar.pos)

    try:
        yield update
    finally:
        if "bar" in state:
            state["bar"].__exit__(None, None, None)


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
        with _progress("Sending e-mail") as progress:
            report = engine_module.send(db.engine, current_app._get_current_object(),  # type: ignore[attr-defined]
                                        progress=progress)
    except engine_module.NotConfigured as exc:
        click.echo(f"notify send: not run: {exc}", err=True)
        sys.exit(engine_module.EXIT_STOPPED)
    click.echo(report.line())
    sys.exit(report.exit_code)


commands = [notify_group]
