"""``flask faq check``: fail the build when FAQ content would show a broken page."""

from __future__ import annotations

import click
from flask import current_app
from flask.cli import with_appcontext
from werkzeug.exceptions import HTTPException
from werkzeug.routing import RequestRedirect

from webapp.faq import services
from webapp.faq.checks import check
from webapp.transcript.statuses import faq_slugs


@click.group("faq", help="FAQ content.")
def faq_group() -> None:
    pass


@faq_group.command("check")
@with_appcontext
def check_command() -> None:
    """Check every question file; exit with status 1 and list the problems if there are any."""
    settings = services.Settings.from_config(current_app.config)
    library = services.load(settings)  # always fresh from disk, never the web cache
    problems = check(
        library,
        dict(settings.values),
        required_slugs=faq_slugs(),
        portal_url=current_app.config["PORTAL_URL"].rstrip("/"),
        route_exists=_route_exists,
        directory=settings.directory,
    )
    if problems:
        for problem in problems:
            click.echo(f"error: {problem}", err=True)
        click.echo(f"FAQ check failed: {len(problems)} problem(s) in {settings.directory}",
                   err=True)
        raise SystemExit(1)
    click.echo(f"FAQ check passed: {len(library.questions)} questions in "
               f"{len(library.categories)} categories ({settings.directory})")


def _route_exists(path: str) -> bool:
    adapter = current_app.url_map.bind("localhost")
    try:
        adapter.match(path, method="GET")
    except RequestRedirect:
        return True  # e.g. a missing trailing slash: the page exists
    except HTTPException:
        return False
    return True


commands = [faq_group]
