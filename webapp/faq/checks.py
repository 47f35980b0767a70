"""Content checks behind ``flask faq check``: everything that would show a reader a broken page.

Each problem names the file it is in; the command fails when there are any.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from urllib.parse import unquote, urlsplit

from webapp.faq import placeholders
from webapp.faq.content import Library, Problem, Question
from webapp.faq.placeholders import Value

FAQ_PREFIX = "/faq"
_FENCE_RE = re.compile(r"^\s*(```|~~~)")
_H1_RE = re.compile(r"^#(?!#)\s*\S")


def check(
    library: Library,
    known: Mapping[str, Value],
    *,
    required_slugs: Iterable[str],
    portal_url: str,
    route_exists: Callable[[str], bool],
    directory: Path,
) -> list[Problem]:
    """All problems in ``library``: load errors, placeholders, headings, links, missing slugs."""
    problems = list(library.problems)
    for question in library.questions:
        problems.extend(Problem(question.path, m) for m in placeholders.problems(question.source,
                                                                                  known))
        problems.extend(Problem(question.path, m) for m in _heading_problems(question.source))
        problems.extend(Problem(question.path, m) for m in question.body.dropped)
        problems.extend(
            Problem(question.path, m)
            for m in _link_problems(question, library, portal_url, route_exists)
        )
    for slug in sorted(set(required_slugs)):
        if library.get(slug) is None:
            problems.append(Problem(
                directory,
                f"no question with slug {slug!r}, which the transcript links to "
                "(webapp/statuses.py)",
            ))
    return problems


def _heading_problems(source: str) -> list[str]:
    """The page title is the only ``h1``; a ``#`` heading in a body would be dropped."""
    found, in_code = [], False
    for number, line in enumerate(source.splitlines(), start=1):
        if _FENCE_RE.match(line):
            in_code = not in_code
        elif not in_code and _H1_RE.match(line):
            found.append(f"line {number}: top-level heading {line.strip()!r}; "
                         "the title is the page heading, start sections at '##'")
    return found


def _link_problems(question: Question, library: Library, portal_url: str,
                   route_exists: Callable[[str], bool]) -> list[str]:
    found = []
    for href in question.body.links:
        parts = urlsplit(_on_this_site(href, portal_url))
        if parts.scheme or parts.netloc:
            continue  # another site: not ours to check
        path, anchor = unquote(parts.path), unquote(parts.fragment)
        if not path:
            if anchor and anchor not in question.body.ids:
                found.append(f"link {href!r}: no heading with id {anchor!r} in this question")
            continue
        if not path.startswith("/"):
            found.append(f"link {href!r} is relative; write site links from the root, "
                         f"such as {FAQ_PREFIX}/<slug>")
            continue
        if path.rstrip("/") == FAQ_PREFIX:
            continue
        if path.startswith(FAQ_PREFIX + "/"):
            slug = path[len(FAQ_PREFIX) + 1:].rstrip("/")
            target = library.get(slug)
            if target is None:
                found.append(f"link {href!r}: there is no question with slug {slug!r}")
            elif anchor and anchor not in target.body.ids:
                found.append(f"link {href!r}: question {slug!r} has no heading with id {anchor!r}")
            continue
        if not route_exists(path):
            found.append(f"link {href!r}: no page at {path!r} on this site")
    return found


def _on_this_site(href: str, portal_url: str) -> str:
    """``href`` as a root-relative link when it points into this portal's own address."""
    if portal_url and href.startswith(portal_url):
        rest = href[len(portal_url):]
        if rest == "" or rest[0] in "/?#":
            return rest or "/"
    return href
